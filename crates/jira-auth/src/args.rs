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
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
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
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) to stdout.
    ///
    /// Example: `jira-auth completions bash > ~/.local/share/bash-completion/completions/jira-auth`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}
