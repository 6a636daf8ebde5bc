//! Execution of `jira-auth cloud …`.

use super::args::CloudArgs;
use crate::args::GlobalArgs;

pub async fn run(_global: &GlobalArgs, args: CloudArgs) -> anyhow::Result<u8> {
    match args.command {}
}
