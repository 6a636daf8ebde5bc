//! Flags of `jira-auth server …`.

use clap::{Args, Subcommand};

/// Jira Server / Data Center: OAuth 1.0a (RSA-SHA1) or personal access tokens.
#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(subcommand)]
    pub command: ServerCommand,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {}
