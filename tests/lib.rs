//! End-to-end tests of the `jira-auth` binary live in `tests/*.rs` beside this file; they get the binary from `jira_auth_test::binary`.
