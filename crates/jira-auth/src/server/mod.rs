//! `jira-auth server …`: Jira Server / Data Center OAuth 1.0a (RSA-SHA1), OAuth 2.0 and personal
//! access tokens. The protocol lives in `jira-auth-server`; this module parses, prompts and prints.

pub mod args;
mod keygen;
mod login;
mod oauth2;
mod request;
pub mod run;
mod status;

/// The personal access token of `server login --pat` and `audit --pat`.
pub const PAT_ENV: &str = "JIRA_AUTH_PAT";
