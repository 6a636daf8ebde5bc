//! The binary's frame: help, version, completions, usage errors and their exit codes.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use jira_auth_test::context::TestContext;

fn jira_auth(ctx: &TestContext) -> Command {
    Command::from_std(ctx.base_command())
}

#[test]
fn version_names_the_tool() {
    let ctx = TestContext::new();
    let out = jira_auth(&ctx)
        .arg("--version")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("jira-auth {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_lists_the_command_groups_and_exit_codes() {
    let ctx = TestContext::new();
    let out = jira_auth(&ctx)
        .arg("--help")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "cloud",
        "server",
        "audit",
        "completions",
        "--profile",
        "Exit codes: 0 ok, 1 findings",
    ] {
        assert!(text.contains(needle), "--help lacks {needle}:\n{text}");
    }
}

/// A newcomer's `--help`: where profiles live, the variables, the docs online; a command's own
/// options apart from the global ones, which are listed once under their own heading.
#[test]
fn help_says_where_profiles_live_and_keeps_global_options_apart() {
    let ctx = TestContext::new();
    let help = |args: &[&str]| {
        let out = jira_auth(&ctx)
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let top = help(&["--help"]);
    for needle in [
        "Files:\n  $JIRA_AUTH_CONFIG_DIR/profiles/<profile>.json\n",
        "else $XDG_CONFIG_HOME/jira-auth, else ~/.config/jira-auth",
        "Environment:\n  JIRA_AUTH_PROFILE         the profile to use, like `--profile` (default `default`)\n",
        "  JIRA_AUTH_CLIENT_ID       `cloud login`: the OAuth 2.0 app's client id\n",
        "  HTTPS_PROXY               proxy for `https://` requests (also `https_proxy`; see docs/network.md)\n",
        "  NO_PROXY                  hosts, domains and CIDR ranges reached directly (also `no_proxy`)\n",
        "  SSL_CERT_FILE             a PEM bundle trusted instead of the OS store (with the bundled roots)\n",
        "https://github.com/jira-auth/jira-auth/blob/main/docs",
        "profiles",
    ] {
        assert!(top.contains(needle), "--help lacks {needle:?}:\n{top}");
    }
    let login = help(&["cloud", "login", "--help"]);
    let (own, global) = login.split_once("Global options:\n").expect(&login);
    assert!(own.contains("--client-id <ID>"), "{login}");
    assert!(own.contains("[env: JIRA_AUTH_CLIENT_ID"), "{login}");
    assert!(!own.contains("--request-timeout"), "{login}");
    assert!(global.contains("--profile <PROFILE>"), "{login}");
    assert_eq!(login.matches("--profile <PROFILE>").count(), 1, "{login}");
    let cloud = help(&["cloud", "--help"]);
    assert!(
        cloud.contains("(https://github.com/jira-auth/jira-auth/blob/main/docs/cloud.md)"),
        "{cloud}"
    );
}

#[test]
fn completions_generate_for_every_shell() {
    let ctx = TestContext::new();
    for (shell, marker) in [
        ("bash", "complete -F _jira__auth"),
        ("zsh", "#compdef jira-auth"),
        ("fish", "complete -c jira-auth"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = jira_auth(&ctx)
            .args(["completions", shell])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(marker), "{shell} completion lacks {marker}");
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error_with_exit_2() {
    let ctx = TestContext::new();
    let assert = jira_auth(&ctx).arg("frobnicate").assert().code(2);
    let err = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
}

#[test]
fn bad_shell_name_is_a_usage_error_with_exit_2() {
    let ctx = TestContext::new();
    jira_auth(&ctx)
        .args(["completions", "tcsh"])
        .assert()
        .code(2);
}
