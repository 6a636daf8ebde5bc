//! `jira-auth audit`: resolve the target ([`target`]), run the auditor library, present the
//! report in every asked format ([`present`]), and turn `--fail-on` into the exit code.

pub mod args;
pub mod present;
mod progress;
pub mod run;
pub mod target;
