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
