//! `jira-auth server …`. Owned by the server issue.

pub mod args;
pub mod run;
