//! Execution of `jira-auth audit`.

use super::args::AuditArgs;
use crate::args::GlobalArgs;

pub async fn run(_global: &GlobalArgs, _args: AuditArgs) -> anyhow::Result<u8> {
    anyhow::bail!(crate::exit::Failure::usage(
        "`jira-auth audit` is not built yet"
    ))
}
