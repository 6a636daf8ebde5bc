//! The `jira-auth` command line: argument parsing ([`args`]), execution, presentation and exit
//! codes. Only this crate prints; the libraries return data and typed errors.
//!
//! It is a library as well as a binary so `cargo xtask man` and the tests can reach the clap
//! definition ([`args::Cli`]) without running anything.

pub mod args;
pub mod audit;
pub mod browser;
pub mod cloud;
pub mod exit;
pub mod net;
pub mod output;
pub mod profiles;
pub mod run;
pub mod secret_input;
pub mod server;
pub mod suggest;
