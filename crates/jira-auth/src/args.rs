//! The clap definition of every command and flag, separate from what they do.
//!
//! Flag names and environment variables are a contract with users' scripts: rename only by
//! adding an alias.

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Gets, keeps and proves working credentials for Jira integrations.
///
/// `cloud` logs in to Jira Cloud with OAuth 2.0 (3LO) and keeps the rotating refresh token;
/// `server` does OAuth 1.0a (RSA-SHA1) or personal access tokens for Jira Server / Data Center;
/// `audit` proves the technical user can see everything a connector needs.
///
/// stdout carries only a command's data (tokens, exports, reports, JSON, tables, status);
/// narration, warnings and errors go to stderr.
///
/// Exit codes: 0 ok, 1 findings or failed check, 2 usage or configuration error,
/// 3 authentication or authorization error, 4 network or server error.
#[derive(Debug, Parser)]
#[command(
    name = "jira-auth",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = after_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Where jira-auth keeps its files, for `--help` and the man pages' FILES section.
pub const FILES: &[(&str, &str)] = &[
    (
        "$JIRA_AUTH_CONFIG_DIR/profiles/<profile>.json",
        "one profile (its `cloud` and `server` logins), 0600 in a 0700 directory; the config directory is $JIRA_AUTH_CONFIG_DIR, else $XDG_CONFIG_HOME/jira-auth, else ~/.config/jira-auth",
    ),
    (
        "$JIRA_AUTH_CONFIG_DIR/keys/<profile>/",
        "the key pair `jira-auth server keygen` writes when `--out` is not given",
    ),
];

/// The variables every command reads, for `--help` and the man pages' ENVIRONMENT section.
/// Command-specific ones (`JIRA_AUTH_CLIENT_ID`, …) are listed with their flags.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "JIRA_AUTH_PROFILE",
        "the profile to use, like `--profile` (default `default`)",
    ),
    (
        "JIRA_AUTH_CONFIG_DIR",
        "where profiles are kept (see FILES)",
    ),
    (
        "JIRA_AUTH_STORE",
        "`file` (default), `keyring` or `auto`: where a profile's secrets live",
    ),
    (
        "JIRA_AUTH_CLIENT_ID",
        "`cloud login`: the OAuth 2.0 app's client id",
    ),
    (
        "JIRA_AUTH_CLIENT_SECRET",
        "`cloud login`: the app's client secret (never a flag value)",
    ),
    (
        "JIRA_AUTH_PAT",
        "`server login --pat`, `audit --pat`: a personal access token",
    ),
    (
        "JIRA_AUTH_API_TOKEN",
        "`audit --email`: an Atlassian API token",
    ),
    ("JIRA_AUTH_REQUEST_TIMEOUT", "like `--request-timeout`"),
    ("JIRA_AUTH_DEADLINE", "like `--deadline`"),
    (
        "HTTPS_PROXY",
        "proxy for `https://` requests (also `https_proxy`; see docs/network.md)",
    ),
    (
        "HTTP_PROXY",
        "proxy for `http://` requests (also `http_proxy`)",
    ),
    (
        "ALL_PROXY",
        "proxy for either scheme whose own variable is unset (also `all_proxy`)",
    ),
    (
        "NO_PROXY",
        "hosts, domains and CIDR ranges reached directly (also `no_proxy`)",
    ),
    (
        "SSL_CERT_FILE",
        "a PEM bundle trusted instead of the OS store (with the bundled roots)",
    ),
    (
        "SSL_CERT_DIR",
        "a folder of PEM certificates trusted instead of the OS store",
    ),
    ("NO_COLOR", "no colour unless `--color always`"),
    ("RUST_LOG", "log filter, overrides `-v`/`-q`"),
];

/// Where the documentation lives online, for help texts that point to a page of `docs/`.
pub const DOCS_URL: &str = "https://github.com/jira-auth/jira-auth/blob/main/docs";

fn after_help() -> String {
    let mut text = String::from("Files:\n");
    for (path, what) in FILES {
        text.push_str(&format!("  {path}\n      {what}\n"));
    }
    text.push_str("\nEnvironment:\n");
    for (name, what) in ENVIRONMENT {
        text.push_str(&format!("  {name:<26}{what}\n"));
    }
    text.push_str(&format!(
        "\nEvery workflow is described in docs/ ({DOCS_URL}); `jira-auth profiles` lists what is stored."
    ));
    text
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Credential profile to use (one per connector or environment).
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_PROFILE",
        default_value = "default"
    )]
    pub profile: String,

    /// More log output on stderr (-v info, -vv debug, -vvv trace). `RUST_LOG` overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No narration or logs on stderr (errors still show); stdout, the command's data, is unchanged.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// When to colour output; `NO_COLOR` set means never unless `always` is given.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Give up on one HTTP request (connect, answer and body) after this many seconds.
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_REQUEST_TIMEOUT",
        default_value_t = 60,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=3600)
    )]
    pub request_timeout: u64,

    /// Give up on all of a command's HTTP requests after this many seconds, retries and
    /// slow answers included (0: no limit). Waiting for a browser does not count.
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_DEADLINE",
        default_value_t = 900,
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(0..=604_800)
    )]
    pub deadline: u64,

    /// Also trust the CA certificates in this PEM file (your organisation's CA, or a
    /// TLS-inspecting proxy's), besides the OS store and the bundled roots. A login remembers
    /// the path in its profile. See docs/network.md.
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_CA_FILE",
        value_name = "PATH",
        help_heading = "Network"
    )]
    pub ca_file: Option<std::path::PathBuf>,

    /// Client certificate (PEM) for servers that require mutual TLS; needs `--client-key`.
    /// A login remembers the path in its profile.
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_CLIENT_CERT",
        value_name = "PATH",
        requires = "client_key",
        help_heading = "Network"
    )]
    pub client_cert: Option<std::path::PathBuf>,

    /// The client certificate's private key (PEM, unencrypted, mode 0600); needs `--client-cert`.
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_CLIENT_KEY",
        value_name = "PATH",
        requires = "client_cert",
        help_heading = "Network"
    )]
    pub client_key: Option<std::path::PathBuf>,

    /// Allow plain `http://` to hosts other than this machine (credentials then cross the
    /// network in clear text). Without it such URLs are refused before any connection.
    #[arg(
        long,
        global = true,
        env = "JIRA_AUTH_ALLOW_INSECURE_HTTP",
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::SetTrue,
        help_heading = "Network"
    )]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    /// One JSON document on stdout: `active`, `config_dir` and `profiles`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Cloud(crate::cloud::args::CloudArgs),
    Server(crate::server::args::ServerArgs),
    Audit(crate::audit::args::AuditArgs),
    /// List every stored profile: its logins (cloud, server), kind, site, state and expiry.
    ///
    /// Reads the store only (no request). The active profile, the one `--profile` or
    /// `JIRA_AUTH_PROFILE` selects, is marked `*`. Example: `jira-auth profiles --json`.
    Profiles(ProfilesArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    ///
    /// Example: `jira-auth completions bash > ~/.local/share/bash-completion/completions/jira-auth`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}
