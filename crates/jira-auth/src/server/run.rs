//! Execution of `jira-auth server …`.

use super::args::ServerArgs;
use crate::args::GlobalArgs;

pub async fn run(_global: &GlobalArgs, args: ServerArgs) -> anyhow::Result<u8> {
    match args.command {}
}
