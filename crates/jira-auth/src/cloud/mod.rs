//! `jira-auth cloud …`: Jira Cloud OAuth 2.0 (3LO).
//!
//! [`args`] holds the clap structs, [`run`] dispatches, [`login`] runs the browser flow,
//! [`service_account`] a service account's login, and [`present`] renders reports. The protocol lives in the `jira-auth-cloud` crate.

pub mod args;
pub mod login;
pub mod present;
pub mod run;
pub mod serve;
pub mod service_account;

use crate::exit::Failure;

/// The client id `cloud login` and `cloud serve` were given, trimmed; a missing one names the
/// flag and the variable (clap's "required argument" error cannot name the variable).
fn client_id(given: &str) -> crate::exit::Result<String> {
    let id = given.trim();
    if id.is_empty() {
        return Err(Failure::usage(
            "no client id: pass `--client-id ID` or set `JIRA_AUTH_CLIENT_ID` (developer console → your app → Settings)",
        )
        .into());
    }
    Ok(id.to_owned())
}
