//! The `tests` package: end-to-end tests of the `jira-auth` binary, in `tests/*.rs` below this
//! folder (`cargo test -p tests`). They get the binary from `jira_auth_test::binary`.
