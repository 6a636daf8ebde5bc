//! `jira-auth`: thin entry point. Parsing, running and error reporting live in the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    jira_auth::run::main()
}
