//! Flags of `jira-auth audit`.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Prove the technical user can see everything a connector needs
///
/// Runs the checks of a preset (default `raytion`) against the stored profile (`--profile`), or
/// ad hoc against `--url` with `--email` (Jira Cloud; API token in `JIRA_AUTH_API_TOKEN`) or
/// `--pat` (Data Center; token in `JIRA_AUTH_PAT`). See `docs/audit.md` (https://github.com/jira-auth/jira-auth/blob/main/docs/audit.md) for every check.
///
/// Exit codes: 0 no finding at or above `--fail-on`, 1 findings, 2 usage or configuration,
/// 3 credential refused, 4 network or server error.
///
/// Examples:
///   JIRA_AUTH_API_TOKEN=… jira-auth audit --url https://acme.atlassian.net --email bot@acme.com
///   jira-auth audit --profile connector --format text,junit=audit.xml --fail-on warning
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct AuditArgs {
    /// Audit this site instead of a stored profile: a Jira Cloud site URL or a Data Center
    /// base URL (with its context path).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Jira Cloud account email for basic auth with an API token read from
    /// `JIRA_AUTH_API_TOKEN` (with `--url`).
    #[arg(long, value_name = "EMAIL", requires = "url", conflicts_with = "pat")]
    pub email: Option<String>,

    /// Use a Data Center personal access token read from `JIRA_AUTH_PAT` (with `--url`).
    #[arg(long, requires = "url")]
    pub pat: bool,

    /// Cloud or Data Center. Default: `cloud` when the URL ends with `atlassian.net`, else
    /// `data-center`; for a profile, the section it has.
    #[arg(long, value_enum, value_name = "KIND")]
    pub deployment: Option<DeploymentArg>,

    /// The preset whose checks (and scopes) to audit: built-in `raytion`, `psoxy`, `audit`, or
    /// one from `--preset-file`.
    #[arg(long, default_value = "raytion", value_name = "NAME")]
    pub preset: String,

    /// A TOML file of extra presets (same shape as the built-in ones; see `docs/audit.md`, https://github.com/jira-auth/jira-auth/blob/main/docs/audit.md).
    #[arg(long, value_name = "FILE")]
    pub preset_file: Option<PathBuf>,

    /// Output formats: text, json, junit, markdown, github. Repeat or comma-separate; give a
    /// file with `FORMAT=FILE` (e.g. `--format text,junit=report.xml`). At most one format
    /// goes to stdout.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "text",
        value_name = "FORMAT[=FILE]"
    )]
    pub format: Vec<String>,

    /// Write the stdout format to FILE instead.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The least severe result that makes the command exit 1.
    #[arg(long, value_enum, default_value_t = FailOn::Error, value_name = "LEVEL")]
    pub fail_on: FailOn,

    /// Also scan every worklog for the role and group restrictions actually in use
    /// (`worklog/updated`, then `worklog/list` 1000 ids a call); slow on big sites.
    #[arg(long)]
    pub deep: bool,

    /// Requests in flight at most (1 to 128). The audit starts with 8 and adapts: it sends more
    /// while Jira answers quickly, fewer when Jira throttles (`429`, `503`, rate-limit headers),
    /// and pauses every request for a `Retry-After`. See `docs/audit.md`.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=128))]
    pub concurrency: u16,

    /// Keep exactly `--concurrency` requests in flight instead of adapting; each throttled
    /// request waits on its own.
    #[arg(long)]
    pub fixed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeploymentArg {
    Cloud,
    DataCenter,
}

/// Which results fail the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// `fail` or `error` exit 1.
    Error,
    /// `warn`, `fail` or `error` exit 1.
    Warning,
    /// Always exit 0 once the audit ran.
    Never,
}
