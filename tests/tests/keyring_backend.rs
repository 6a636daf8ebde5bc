//! `JIRA_AUTH_STORE` through the binary as CI builds it (without the `keyring` feature): the
//! keyring is refused with a usage error that says how to get it, and nothing is written.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;

fn jira_auth(config: &std::path::Path, backend: &str) -> Command {
    let mut cmd = Command::new(jira_auth_test::binary::jira_auth());
    cmd.env_remove("JIRA_AUTH_PROFILE")
        .env("NO_COLOR", "1")
        .env("JIRA_AUTH_CONFIG_DIR", config)
        .env("JIRA_AUTH_STORE", backend);
    cmd
}

fn stderr_of(cmd: &mut Command, code: i32) -> String {
    let out = cmd.assert().code(code).get_output().clone();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn keyring_without_the_feature_exits_2_and_says_how_to_rebuild() {
    let config = tempfile::tempdir().unwrap();
    for args in [
        &["cloud", "status"][..],
        &["server", "status"],
        &["cloud", "logout"],
    ] {
        let stderr = stderr_of(jira_auth(config.path(), "keyring").args(args), 2);
        assert_eq!(
            stderr,
            "error: `JIRA_AUTH_STORE=keyring` asks for the OS keyring, but this jira-auth was built without it: rebuild with `--features keyring` (`cargo install --path crates/jira-auth --features keyring`) or unset `JIRA_AUTH_STORE`\n",
            "{args:?}"
        );
    }
    assert_eq!(std::fs::read_dir(config.path()).unwrap().count(), 0);
}

#[test]
fn an_unknown_backend_exits_2() {
    let config = tempfile::tempdir().unwrap();
    let stderr = stderr_of(
        jira_auth(config.path(), "vault").args(["cloud", "status"]),
        2,
    );
    assert_eq!(
        stderr,
        "error: `JIRA_AUTH_STORE` is `vault`: set it to `file` (the default), `keyring` or `auto`\n"
    );
}

#[test]
fn auto_without_a_keyring_warns_once_and_keeps_profiles_in_files() {
    let config = tempfile::tempdir().unwrap();
    let stderr = stderr_of(
        jira_auth(config.path(), "auto").args(["cloud", "status"]),
        2,
    );
    assert_eq!(
        stderr,
        format!(
            " WARN `JIRA_AUTH_STORE=auto` found no OS keyring (this jira-auth was built without the `keyring` feature); keeping profiles in files under `{}/profiles`: start a Secret Service (GNOME Keyring, KeePassXC) and a D-Bus session, or set `JIRA_AUTH_STORE=file` to silence this\nerror: profile `default` has no Jira Cloud login: run `jira-auth cloud login`\n",
            config.path().display()
        )
    );
}
