//! The end-to-end tests of `jira-auth`: the real binary, run through one
//! [`TestContext`](jira_auth_test::context::TestContext) each, against the harness's fakes.
//! One test binary (as uv's `tests/it`): one link for every test, modules by area.

mod audit_exit_codes;
mod audit_scenarios;
mod cli_basics;
mod cloud_lifecycle;
mod cloud_login;
mod cloud_service_account;
mod cloud_support;
mod hardening_concurrency;
mod hardening_crash;
mod hardening_errors;
mod hardening_hostile;
mod hardening_secrets;
mod journey;
mod keyring_backend;
mod loopback_hostility;
mod network;
mod serve_binary;
mod server_login;
mod server_oauth2;
mod server_request;
mod server_status;
mod server_support;
