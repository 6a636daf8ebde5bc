//! `jira-auth server …`: Jira Server / Data Center OAuth 1.0a (RSA-SHA1) and personal access
//! tokens. The protocol lives in `jira-auth-server`; this module parses, prompts and prints.

pub mod args;
mod keygen;
pub(crate) mod login;
mod request;
pub mod run;
