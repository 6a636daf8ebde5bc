//! `jira-auth cloud …`: Jira Cloud OAuth 2.0 (3LO). Owned by the cloud issue.

pub mod args;
pub mod run;
