//! Flags of `jira-auth server …`.

use clap::{Args, Subcommand};
use std::path::PathBuf;

/// Jira Server / Data Center: OAuth 1.0a (RSA-SHA1) or personal access tokens.
#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: ServerCommand,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Make an RSA key pair for a Jira Application Link and print what to paste into Jira.
    ///
    /// Writes `jira_privatekey.pem` (PKCS#8, mode 0600) and `jira_publickey.pem` to `--out`.
    Keygen(KeygenArgs),
    /// Log in with OAuth 1.0a through an Application Link, with OAuth 2.0, or store a personal
    /// access token.
    ///
    /// OAuth 1.0a: `jira-auth server login --url https://jira.example.com --consumer-key KEY
    /// --private-key jira_privatekey.pem`; approve in the browser; the access token is stored.
    /// OAuth 2.0 (Data Center 8.22+): `JIRA_AUTH_CLIENT_SECRET=... jira-auth server login --oauth2
    /// --url https://jira.example.com --client-id ID --scope READ`; approve in the browser.
    /// Service account: `... server login --client-credentials --url URL --client-id ID`.
    /// PAT: `JIRA_AUTH_PAT=... jira-auth server login --url https://jira.example.com --pat`.
    Login(LoginArgs),
    /// Send a request signed with the stored credentials, like curl.
    ///
    /// Example: `jira-auth server request /rest/api/2/myself`,
    /// `jira-auth server request -X POST /rest/api/2/search -d '{"jql":"project = ABC"}'`.
    Request(RequestArgs),
    /// Show the stored Jira Server credentials and check them with `GET /rest/api/2/myself`.
    ///
    /// Exits 1 when the check fails (Jira refuses the credential, or its key file is unusable)
    /// and 4 when Jira cannot be reached, with text or `--json` alike.
    Status(StatusArgs),
    /// Print a valid OAuth 2.0 access token of the profile on stdout, renewing it first when
    /// less than 5 minutes remain.
    ///
    /// For logins made with `server login --oauth2` or `--client-credentials`. Example:
    /// `curl -H "Authorization: Bearer $(jira-auth server token)" https://jira.example.com/rest/api/2/myself`.
    Token,
    /// Renew the profile's OAuth 2.0 access token now (spending the single-use refresh token, or
    /// minting a new token for a service account).
    Refresh,
    /// Forget the stored Jira Server credentials of the profile.
    Logout,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Directory for the key files (created 0700 if missing). Default: `keys/<profile>/` in the
    /// config directory (`$JIRA_AUTH_CONFIG_DIR`, else `~/.config/jira-auth`), never the
    /// current directory, which may be a git checkout.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// RSA modulus size: 2048, 3072 or 4096.
    #[arg(long, default_value_t = 2048)]
    pub bits: usize,

    /// The consumer key to suggest for the Application Link. Default: `jira-auth-<profile>`.
    #[arg(long)]
    pub consumer_key: Option<String>,

    /// Overwrite existing key files.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The Jira site, with its context path if it has one (`https://host/jira`).
    #[arg(long, env = "JIRA_AUTH_SERVER_URL")]
    pub url: String,

    /// The consumer key of the Application Link's Incoming Authentication.
    #[arg(
        long,
        env = "JIRA_AUTH_SERVER_CONSUMER_KEY",
        required_unless_present_any = ["pat", "oauth2", "client_credentials"],
        conflicts_with_all = ["pat", "oauth2", "client_credentials"]
    )]
    pub consumer_key: Option<String>,

    /// The private key (PKCS#8 or PKCS#1 PEM) whose public key is in the Application Link.
    #[arg(
        long,
        value_name = "FILE",
        env = "JIRA_AUTH_SERVER_PRIVATE_KEY",
        required_unless_present_any = ["pat", "oauth2", "client_credentials"],
        conflicts_with_all = ["pat", "oauth2", "client_credentials"]
    )]
    pub private_key: Option<PathBuf>,

    /// Store a personal access token instead (Jira Data Center 8.14+), read from `JIRA_AUTH_PAT`,
    /// else standard input, else a hidden prompt.
    #[arg(long)]
    pub pat: bool,

    /// Out-of-band: Jira shows a verification code and you type it here (no local listener).
    #[arg(long, conflicts_with = "pat")]
    pub oob: bool,

    /// Do not open a browser; print the approval URL alone on one line of stderr.
    #[arg(long)]
    pub no_browser: bool,

    /// Seconds to wait for the approval.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,

    /// Port of the loopback callback listener on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0, conflicts_with_all = ["oob", "pat", "oauth2", "client_credentials"])]
    pub callback_port: u16,

    #[command(flatten)]
    pub oauth2: Oauth2LoginArgs,
}

/// The OAuth 2.0 flags of `server login` (Jira Data Center 8.22+).
#[derive(Debug, Args)]
pub struct Oauth2LoginArgs {
    /// Log in with OAuth 2.0 through an incoming application link: authorization code with PKCE,
    /// approved in the browser; the single-use refresh token is stored and renewed.
    #[arg(id = "oauth2", long = "oauth2", conflicts_with_all = ["pat", "oob", "client_credentials"])]
    pub enabled: bool,

    /// Log in as a Data Center service account (OAuth 2.0 client credentials): no browser, no
    /// refresh token; a new access token is minted when needed.
    #[arg(long, conflicts_with_all = ["pat", "oob", "no_browser", "paste", "redirect_uri"])]
    pub client_credentials: bool,

    /// The client id of the application link or service account.
    #[arg(long, env = "JIRA_AUTH_CLIENT_ID", value_name = "ID")]
    pub client_id: Option<String>,

    /// A scope to ask for, repeatable: READ, WRITE, ADMIN or SYSTEM_ADMIN (a service account:
    /// READ or WRITE). Default: READ, what a read-only connector needs.
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// The redirect URL registered in the application link, byte for byte. A loopback `http`
    /// URL is listened on; any other means paste mode. Default: http://127.0.0.1:13132/callback.
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,

    /// Do not listen: paste the URL the browser lands on (or its `code`) on standard input.
    #[arg(long)]
    pub paste: bool,

    /// Read the client secret from this file (first line). Else `JIRA_AUTH_CLIENT_SECRET`, else
    /// `--client-secret-stdin`, else a hidden prompt.
    #[arg(
        long,
        env = "JIRA_AUTH_CLIENT_SECRET_FILE",
        value_name = "PATH",
        conflicts_with = "client_secret_stdin"
    )]
    pub client_secret_file: Option<PathBuf>,

    /// Read the client secret from the first line of standard input.
    #[arg(long, conflicts_with = "paste")]
    pub client_secret_stdin: bool,
}

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// HTTP method. Default: GET, or POST when `-d` is given.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// A path under the site (`/rest/api/2/myself`) or a full URL on the same site.
    #[arg(value_name = "PATH_OR_URL")]
    pub target: String,

    /// Request body; `@FILE` reads a file, `@-` standard input. Sent as `application/json` when
    /// it parses as JSON, else as `application/x-www-form-urlencoded`, unless `-H` sets a type.
    /// As with curl, a body may start with `-` (`-d -1`).
    #[arg(
        short = 'd',
        long = "data",
        value_name = "BODY",
        allow_hyphen_values = true
    )]
    pub data: Option<String>,

    /// Extra header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only show what is stored; do not call Jira.
    #[arg(long)]
    pub offline: bool,

    /// Print JSON instead of text (the check's outcome is `ok`, `failed` or `unreachable`).
    #[arg(long)]
    pub json: bool,
}
