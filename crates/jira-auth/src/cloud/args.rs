//! Flags of `jira-auth cloud …`.
//!
//! The client secret is never a flag value (it would show in `ps`): it comes from
//! `JIRA_AUTH_CLIENT_SECRET`, `--client-secret-file`, `--client-secret-stdin` or a hidden prompt.
//! Every flag of `cloud serve` ([`ServeArgs`]) also has an environment variable, so a container
//! runs it with no arguments.

use clap::{Args, Subcommand, ValueEnum};
use jira_auth_cloud::{DEFAULT_API_URL, DEFAULT_AUTH_URL, DEFAULT_REDIRECT_URI};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Jira Cloud OAuth 2.0 (3LO): log in, keep the rotating refresh token, export credentials.
///
/// Typical use: `jira-auth cloud login --client-id ID --preset psoxy`, then
/// `curl -H "Authorization: Bearer $(jira-auth cloud token)" …` or
/// `jira-auth cloud export --format psoxy`. See `docs/cloud.md` (https://github.com/jira-auth/jira-auth/blob/main/docs/cloud.md).
#[derive(Debug, Args)]
pub struct CloudArgs {
    #[command(subcommand)]
    pub command: CloudCommand,
}

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Log in through the browser and store the token set under the profile.
    ///
    /// Opens the authorize URL, receives the callback on the loopback redirect URI (or asks you
    /// to paste the URL the browser landed on), exchanges the code, picks the site and stores
    /// client id and secret, access and refresh tokens, scopes and cloud id.
    ///
    /// A service account logs in without a browser:
    /// `jira-auth cloud login --client-credentials --site https://acme.atlassian.net`.
    Login(Box<LoginArgs>),
    /// List the sites the stored token reaches (accessible-resources).
    Sites(JsonArgs),
    /// Redeem the refresh token now; the rotated one is stored before anything else happens.
    Refresh,
    /// Print a valid access token, refreshing first when less than 5 minutes remain.
    ///
    /// Example: `curl -H "Authorization: Bearer $(jira-auth cloud token)" https://api.atlassian.com/ex/jira/CLOUD_ID/rest/api/3/myself`
    Token,
    /// Show site, scopes, token expiry and the token family's 365-day and 90-day limits.
    ///
    /// Exits 1 when the stored credentials can no longer produce an access token
    /// (`jira-auth cloud login` is needed).
    Status(StatusArgs),
    /// Print the credentials for another tool (secrets, to stdout only).
    Export(ExportArgs),
    /// Forget the profile's Jira Cloud tokens.
    Logout,
    /// Run the consent flow as a small web service, for tokens minted on a server.
    ///
    /// Serves `GET /` (a "Connect Jira" page), `/initiate-oauth`, `/oauth/callback` and
    /// `/health-check`; the redirect URI to register is `{public-url}/oauth/callback`. Every flag
    /// has an environment variable so it deploys as a container with no arguments. See
    /// `docs/serve.md` (https://github.com/jira-auth/jira-auth/blob/main/docs/serve.md).
    Serve(Box<ServeArgs>),
}

/// Where Atlassian's endpoints are (the defaults are Atlassian's; tests and demos use a fake).
#[derive(Debug, Clone, Args)]
pub struct EndpointArgs {
    /// The authorization server (`/authorize`, `/oauth/token`).
    #[arg(long, env = "JIRA_AUTH_AUTH_URL", default_value = DEFAULT_AUTH_URL, value_name = "URL")]
    pub auth_url: String,

    /// The API gateway (`/oauth/token/accessible-resources`, `/ex/jira/{cloudId}`).
    #[arg(long, env = "JIRA_AUTH_API_URL", default_value = DEFAULT_API_URL, value_name = "URL")]
    pub api_url: String,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The OAuth 2.0 (3LO) app's client id (developer console → the app → Settings).
    // Not `required`: clap's "required argument" error cannot name the variable, ours does.
    #[arg(
        long,
        env = "JIRA_AUTH_CLIENT_ID",
        value_name = "ID",
        default_value = "",
        hide_default_value = true
    )]
    pub client_id: String,

    /// Read the client secret from this file (first line). Else `JIRA_AUTH_CLIENT_SECRET`, else
    /// a hidden prompt on a terminal.
    #[arg(long, value_name = "PATH", conflicts_with = "client_secret_stdin")]
    pub client_secret_file: Option<PathBuf>,

    /// Read the client secret from the first line of standard input.
    #[arg(long)]
    pub client_secret_stdin: bool,

    /// Request the scopes of this preset (`psoxy`, `raytion`, `audit`, or one of `--preset-file`).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,

    /// A TOML file of extra presets (same shape as the built-in `presets.toml`).
    #[arg(long, value_name = "PATH")]
    pub preset_file: Option<PathBuf>,

    /// Request this scope too (repeatable; spaces or commas separate several).
    #[arg(long = "scope", value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// Do not request `offline_access`: no refresh token, the login lasts one hour.
    #[arg(long)]
    pub no_refresh: bool,

    /// The callback URL exactly as registered in the developer console (Authorization →
    /// OAuth 2.0 (3LO) → Callback URL). A loopback URL is served by jira-auth itself.
    #[arg(long, env = "JIRA_AUTH_REDIRECT_URI", default_value = DEFAULT_REDIRECT_URI, value_name = "URL")]
    pub redirect_uri: String,

    /// How long to wait for the browser to come back.
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub timeout: humantime::Duration,

    /// Do not listen: paste the URL the browser landed on (or the bare code) on standard input.
    #[arg(long)]
    pub paste: bool,

    /// Do not open a browser: print the authorize URL alone on one line of stderr.
    #[arg(long)]
    pub no_browser: bool,

    /// The site to use when the token reaches several: its name, URL or cloud id. With
    /// `--client-credentials` (required there): the site's URL, whose cloud id is looked up,
    /// or its cloud id.
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,

    /// Log in a service account with OAuth 2.0 client credentials instead of a user through a
    /// browser: `--client-id` and the secret are its OAuth 2.0 credential's (admin.atlassian.com
    /// → Directory → Service accounts). Access tokens last 60 minutes and there is no refresh
    /// token: `cloud token` mints the next one with the stored secret.
    #[arg(
        long,
        requires = "site",
        conflicts_with_all = ["preset", "preset_file", "no_refresh", "paste", "no_browser"]
    )]
    pub client_credentials: bool,

    #[command(flatten)]
    pub endpoints: EndpointArgs,
}

#[derive(Debug, Args)]
pub struct JsonArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// A TOML file of extra presets, to compare the grant with a preset defined there.
    #[arg(long, value_name = "PATH")]
    pub preset_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// `env`: `JIRA_CLOUD_*` lines; `json`; `tfvars`: `jira_cloud_*` for terraform;
    /// `psoxy`: the four `PSOXY_JIRA_CLOUD_*` secrets and `jira_cloud_id`.
    #[arg(long, value_enum, default_value_t = ExportFormat::Env)]
    pub format: ExportFormat,

    /// Write the export to this file (created 0600, replaced atomically) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Env,
    Json,
    Tfvars,
    Psoxy,
}

/// Run the hosted consent service: a web page that mints and stores a Jira Cloud token set.
///
/// Routes: `/` (the app, its scopes and the connected site), `/initiate-oauth` (to Atlassian),
/// `/oauth/callback` (register `{public-url}/oauth/callback` in the developer console),
/// `/health-check` (JSON). No route returns a token: read it on the host with
/// `jira-auth cloud token --profile NAME`. Without `--listen`, listens on `0.0.0.0:$PORT` when
/// `PORT` is set (container platforms), else `127.0.0.1:8080`.
///
/// Example: `JIRA_AUTH_CLIENT_SECRET=… jira-auth cloud serve --public-url https://jira-auth.example.com --client-id ID --preset psoxy --allow-site acme`
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "JIRA_AUTH_LISTEN", value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,

    /// The HTTPS origin browsers reach the service at; the callback is `{URL}/oauth/callback`.
    #[arg(long, env = "JIRA_AUTH_PUBLIC_URL", value_name = "URL")]
    pub public_url: String,

    /// The OAuth 2.0 (3LO) app's client id (developer console → the app → Settings).
    // Not `required`: clap's "required argument" error cannot name the variable, ours does.
    #[arg(
        long,
        env = "JIRA_AUTH_CLIENT_ID",
        value_name = "ID",
        default_value = "",
        hide_default_value = true
    )]
    pub client_id: String,

    /// Read the client secret from this file (first line, e.g. a mounted secret). Else
    /// `JIRA_AUTH_CLIENT_SECRET`.
    #[arg(long, env = "JIRA_AUTH_CLIENT_SECRET_FILE", value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,

    /// Read the cookie-signing key (32 bytes or more) from this file. Else
    /// `JIRA_AUTH_COOKIE_KEY`, else a random key per process (consents in progress then fail
    /// across restarts).
    #[arg(long, env = "JIRA_AUTH_COOKIE_KEY_FILE", value_name = "PATH")]
    pub cookie_key_file: Option<PathBuf>,

    /// Request the scopes of this preset (`psoxy`, `raytion`, `audit`, or one of `--preset-file`).
    #[arg(long, env = "JIRA_AUTH_PRESET", value_name = "NAME")]
    pub preset: Option<String>,

    /// A TOML file of extra presets (same shape as the built-in `presets.toml`).
    #[arg(long, env = "JIRA_AUTH_PRESET_FILE", value_name = "PATH")]
    pub preset_file: Option<PathBuf>,

    /// Request this scope too (repeatable; spaces or commas separate several).
    /// `offline_access` is always requested.
    #[arg(long = "scope", env = "JIRA_AUTH_SCOPES", value_name = "SCOPE")]
    pub scopes: Vec<String>,

    /// Connect only this site: its name, URL or cloud id (repeatable; the variable takes a comma
    /// list). Consent for any other site is refused, so a public endpoint cannot attach a
    /// stranger's Jira.
    #[arg(
        long = "allow-site",
        env = "JIRA_AUTH_ALLOW_SITES",
        value_delimiter = ',',
        value_name = "NAME|URL|ID"
    )]
    pub allow_sites: Vec<String>,

    /// Seconds a connection has to send a request's headers; a kept-alive connection idle this
    /// long is closed too (slow or silent clients cannot hold descriptors).
    #[arg(
        long,
        env = "JIRA_AUTH_SERVE_HEADER_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub header_timeout: u64,

    /// Seconds to answer one request, its body included; past it the answer is a 503 page.
    #[arg(
        long,
        env = "JIRA_AUTH_SERVE_RESPONSE_TIMEOUT",
        value_name = "SECONDS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub response_timeout: u64,

    /// Connections open at once; past it new connections are closed at once.
    #[arg(
        long,
        env = "JIRA_AUTH_SERVE_MAX_CONNECTIONS",
        value_name = "N",
        default_value_t = 256,
        value_parser = clap::value_parser!(u64).range(1..=65_536)
    )]
    pub max_connections: u64,

    /// Requests handled at once; past it the answer is a 503 "Service busy" page.
    #[arg(
        long,
        env = "JIRA_AUTH_SERVE_MAX_REQUESTS",
        value_name = "N",
        default_value_t = 64,
        value_parser = clap::value_parser!(u64).range(1..=65_536)
    )]
    pub max_requests: u64,

    /// Code exchanges with Atlassian per minute (each spends the client secret); past it a
    /// callback gets a 429 page asking to try again in a minute.
    #[arg(
        long,
        env = "JIRA_AUTH_SERVE_EXCHANGES_PER_MINUTE",
        value_name = "N",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=10_000)
    )]
    pub exchanges_per_minute: u32,

    #[command(flatten)]
    pub endpoints: EndpointArgs,
}
