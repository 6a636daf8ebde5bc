//! Flags of `jira-auth audit`.

use clap::Args;

/// Prove the technical user can see everything a connector needs.
#[derive(Debug, Args)]
pub struct AuditArgs {}
