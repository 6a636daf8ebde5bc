//! `JIRA_AUTH_STORE` through the binary as CI builds it (without the `keyring` feature): the
//! keyring is refused with a usage error that says how to get it, and nothing is written.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use jira_auth_test::context::TestContext;

fn jira_auth(ctx: &TestContext, backend: &str) -> Command {
    let mut cmd = Command::from_std(ctx.base_command());
    cmd.env("JIRA_AUTH_STORE", backend);
    cmd
}

fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn keyring_without_the_feature_exits_2_and_says_how_to_rebuild() {
    let ctx = TestContext::new();
    for args in [
        &["cloud", "status"][..],
        &["server", "status"],
        &["cloud", "logout"],
    ] {
        let stderr = stderr_of(jira_auth(&ctx, "keyring").args(args), 2);
        assert_eq!(
            stderr,
            "error: `JIRA_AUTH_STORE=keyring` asks for the OS keyring, but this jira-auth was built without it: rebuild with `--features keyring` (`cargo install --path crates/jira-auth --features keyring`) or unset `JIRA_AUTH_STORE`\n",
            "{args:?}"
        );
    }
    assert!(!ctx.config_dir().exists(), "nothing is written");
}

#[test]
fn an_unknown_backend_exits_2() {
    let ctx = TestContext::new();
    let stderr = stderr_of(jira_auth(&ctx, "vault").args(["cloud", "status"]), 2);
    assert_eq!(
        stderr,
        "error: `JIRA_AUTH_STORE` is `vault`: set it to `file` (the default), `keyring` or `auto`\n"
    );
}

#[test]
fn auto_without_a_keyring_warns_once_and_keeps_profiles_in_files() {
    let ctx = TestContext::new();
    let stderr = stderr_of(jira_auth(&ctx, "auto").args(["cloud", "status"]), 2);
    assert_eq!(
        stderr,
        format!(
            " WARN `JIRA_AUTH_STORE=auto` found no OS keyring (this jira-auth was built without the `keyring` feature); keeping profiles in files under `{}/profiles`: start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=file` to silence this\nerror: profile `default` has no Jira Cloud login: run `jira-auth cloud login`\n",
            ctx.config_dir().display()
        )
    );
}
