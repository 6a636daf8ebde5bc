//! Flags of `jira-auth cloud …`.

use clap::{Args, Subcommand};

/// Jira Cloud OAuth 2.0 (3LO): log in, keep the rotating refresh token, export credentials.
#[derive(Debug, Args)]
pub struct CloudArgs {
    #[command(subcommand)]
    pub command: CloudCommand,
}

#[derive(Debug, Subcommand)]
pub enum CloudCommand {}
