//! `jira-auth audit …`. Owned by the audit issue.

pub mod args;
pub mod run;
