//! Secrets never leak: every command runs at the most verbose level (`-vv` with
//! `RUST_LOG=trace`, or `-vvv` where the harness sets the environment itself), and no known test
//! secret (client secret, access and refresh tokens, OAuth 1.0a token secret and access token,
//! private key lines, PAT) may appear on stderr (logs, warnings, errors, panics), nor on stdout
//! except where the user asked for it: `cloud token` (the access token) and `cloud export`.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::CloudEnv;
use crate::server_support::ServerHome;
use jira_auth_test::cloud::FakeConfig;
use jira_auth_test::context::now;
use jira_auth_test::context::{self, TestContext};
use jira_auth_test::server::{FakeJiraServer, FakeJiraServerConfig};
use serde_json::json;
use std::process::Command;

/// The known secrets, labelled for the failure message.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, label: &str, value: &str) {
        assert!(
            value.len() >= 8,
            "{label} is too short to search for: {value}"
        );
        if !self.0.iter().any(|(_, v)| v == value) {
            self.0.push((label.to_owned(), value.to_owned()));
        }
    }

    fn leaks<'a>(&'a self, text: &str) -> Vec<&'a str> {
        self.0
            .iter()
            .filter(|(_, v)| text.contains(v.as_str()))
            .map(|(l, _)| l.as_str())
            .collect()
    }
}

/// One run's output, and whether its stdout may carry secrets (the user asked for them).
struct Seen {
    what: String,
    stdout: String,
    stderr: String,
    stdout_may_hold_secrets: bool,
}

fn check_all(secrets: &Secrets, seen: &[Seen]) {
    let mut failures = Vec::new();
    for s in seen {
        let leaks = secrets.leaks(&s.stderr);
        if !leaks.is_empty() {
            failures.push(format!(
                "`{}` stderr shows {leaks:?}:\n{}",
                s.what, s.stderr
            ));
        }
        if s.stderr.contains("panicked") {
            failures.push(format!("`{}` panicked:\n{}", s.what, s.stderr));
        }
        if !s.stdout_may_hold_secrets {
            let leaks = secrets.leaks(&s.stdout);
            if !leaks.is_empty() {
                failures.push(format!(
                    "`{}` stdout shows {leaks:?}:\n{}",
                    s.what, s.stdout
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(seen.len() >= 10);
}

fn cloud_secrets(env: &CloudEnv, secrets: &mut Secrets) {
    if let Ok(text) = std::fs::read_to_string(env.config_dir().join("profiles/default.json")) {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let c = &v["cloud"];
        secrets.add("client secret", c["client_secret"].as_str().unwrap());
        secrets.add("access token", c["access_token"].as_str().unwrap());
        if let Some(rt) = c["refresh_token"].as_str() {
            secrets.add("refresh token", rt);
        }
    }
}

fn traced(mut cmd: Command) -> Command {
    cmd.env("RUST_LOG", "trace");
    cmd
}

#[tokio::test]
async fn cloud_commands_at_trace_level_show_no_secret_outside_token_and_export_stdout() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let mut secrets = Secrets::default();
    secrets.add("client secret", env.fake.client_secret());
    let mut seen = Vec::new();

    // The login helper sets its own environment: `-vvv` is the same filter as RUST_LOG=trace.
    let login = env.logged_in(&["-vvv", "--preset", "psoxy"]).await;
    assert!(
        login.stderr.contains("TRACE"),
        "trace logging is on:\n{}",
        login.stderr
    );
    seen.push(Seen {
        what: "cloud login -vvv".into(),
        stdout: login.stdout,
        stderr: login.stderr,
        stdout_may_hold_secrets: false,
    });
    cloud_secrets(&env, &mut secrets);

    let run = |args: &[&str], asked: bool, expect: i32, seen: &mut Vec<Seen>| {
        let mut full = vec!["-vv"];
        full.extend_from_slice(args);
        let r = jira_auth_test::context::run(traced(env.command(&full)), None);
        assert_eq!(r.code, expect, "{}", r.transcript());
        seen.push(Seen {
            what: full.join(" "),
            stdout: r.stdout,
            stderr: r.stderr,
            stdout_may_hold_secrets: asked,
        });
    };
    run(&["cloud", "token"], true, 0, &mut seen);
    run(&["cloud", "refresh"], false, 0, &mut seen);
    cloud_secrets(&env, &mut secrets);
    run(&["cloud", "sites"], false, 0, &mut seen);
    run(&["cloud", "sites", "--json"], false, 0, &mut seen);
    run(&["cloud", "status"], false, 0, &mut seen);
    run(&["cloud", "status", "--json"], false, 0, &mut seen);
    for format in ["env", "json", "tfvars", "psoxy"] {
        run(&["cloud", "export", "--format", format], true, 0, &mut seen);
    }
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    run(&["cloud", "token"], true, 0, &mut seen);
    cloud_secrets(&env, &mut secrets);
    // Failures: an HTML 500 from the token endpoint, then a revoked family.
    env.fake
        .set_refresh_error(Some((500, json!({"error": "server_error"}))));
    run(&["cloud", "refresh"], false, 4, &mut seen);
    env.fake.set_refresh_error(None);
    env.fake.revoke_all();
    run(&["cloud", "refresh"], false, 3, &mut seen);
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    run(&["cloud", "token"], false, 3, &mut seen);
    run(&["cloud", "sites"], false, 3, &mut seen);
    run(&["cloud", "logout"], false, 0, &mut seen);
    println!(
        "measured: {} cloud runs at trace level checked against {} secrets",
        seen.len(),
        secrets.0.len()
    );
    check_all(&secrets, &seen);
    // The user-requested places do carry them, so the search itself works.
    let token = seen.iter().find(|s| s.what == "-vv cloud token").unwrap();
    assert!(!secrets.leaks(&token.stdout).is_empty());
}

#[tokio::test]
async fn urls_with_credentials_are_masked_in_error_messages() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let mut cmd = env.command(&["-vv", "cloud", "login", "--no-browser", "--preset", "psoxy"]);
    cmd.env(
        "JIRA_AUTH_AUTH_URL",
        "ftp://user:hunter2-secret@auth.example",
    );
    let run = jira_auth_test::context::run(traced(cmd), None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "error: `--auth-url` value `ftp://****:****@auth.example/` is not usable: only http and https URLs are supported\n"
    );

    let mut cmd = env.command(&["-vv", "cloud", "login", "--no-browser", "--preset", "psoxy"]);
    cmd.env(
        "JIRA_AUTH_API_URL",
        "http://user:hunter2-secret@127.0.0.1:9/",
    );
    let run = jira_auth_test::context::run(traced(cmd), None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "error: `--api-url` value `http://****:****@127.0.0.1:9/` is not usable: remove the user name and password from the URL\n"
    );

    // Server: refused before any request, so the HTTP stack never logs it either.
    let home = TestContext::new();
    let url = "http://user:hunter2-secret@127.0.0.1:9/jira";
    let mut cmd = traced(home.base_command());
    cmd.env("JIRA_AUTH_PAT", "pat-test-token-0001");
    let run = context::run_with(
        cmd,
        &["-vv", "server", "login", "--url", url, "--pat"],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    insta::assert_snapshot!(run.transcript());
}

#[tokio::test(flavor = "multi_thread")]
async fn server_commands_at_trace_level_show_no_secret() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let mut secrets = Secrets::default();
    for line in std::fs::read_to_string(&key).unwrap().lines() {
        if !line.starts_with("-----") && line.len() >= 16 {
            secrets.add("private key line", line);
        }
    }
    let mut seen = Vec::new();
    let url = fake.url();
    let login = home
        .login(
            &fake,
            &[
                "-vvv",
                "server",
                "login",
                "--url",
                &url,
                "--consumer-key",
                fake.consumer_key(),
                "--private-key",
                key.to_str().unwrap(),
                "--oob",
                "--no-browser",
            ],
        )
        .await;
    assert_eq!(login.code, 0, "{}", login.transcript());
    assert!(login.stderr.contains("TRACE"), "{}", login.stderr);
    seen.push(Seen {
        what: "server login -vvv".into(),
        stdout: login.stdout,
        stderr: login.stderr,
        stdout_may_hold_secrets: false,
    });
    let profile: serde_json::Value = serde_json::from_str(&home.profile_text("default")).unwrap();
    let credential = &profile["server"]["credential"];
    secrets.add("token secret", credential["token_secret"].as_str().unwrap());
    secrets.add(
        "OAuth access token",
        credential["access_token"].as_str().unwrap(),
    );

    let run = |args: &[&str],
               pat: Option<&str>,
               stdin: Option<&str>,
               expect: i32,
               seen: &mut Vec<Seen>| {
        let mut full = vec!["-vv"];
        full.extend_from_slice(args);
        let mut cmd = traced(home.base_command());
        if let Some(pat) = pat {
            cmd.env("JIRA_AUTH_PAT", pat);
        }
        let r = context::run_with(cmd, &full, stdin);
        assert_eq!(r.code, expect, "{}", r.transcript());
        seen.push(Seen {
            what: full.join(" "),
            stdout: r.stdout,
            stderr: r.stderr,
            stdout_may_hold_secrets: false,
        });
    };
    run(&["server", "status"], None, None, 0, &mut seen);
    run(&["server", "status", "--json"], None, None, 0, &mut seen);
    run(
        &["server", "request", "/rest/api/2/myself"],
        None,
        None,
        0,
        &mut seen,
    );
    fake.revoke_access_tokens();
    run(&["server", "status"], None, None, 1, &mut seen);
    run(&["server", "status", "--json"], None, None, 1, &mut seen);
    run(
        &["server", "request", "/rest/api/2/myself"],
        None,
        None,
        3,
        &mut seen,
    );
    run(&["server", "logout"], None, None, 0, &mut seen);

    let pat = fake.pat().unwrap();
    secrets.add("PAT", pat);
    run(
        &["server", "login", "--url", &url, "--pat"],
        Some(pat),
        None,
        0,
        &mut seen,
    );
    run(&["server", "status"], None, None, 0, &mut seen);
    run(
        &["server", "request", "/rest/api/2/myself"],
        None,
        None,
        0,
        &mut seen,
    );
    let wrong = "pat-wrong-token-9999";
    secrets.add("rejected PAT", wrong);
    run(
        &["server", "login", "--url", &url, "--pat"],
        None,
        Some(&format!("{wrong}\n")),
        3,
        &mut seen,
    );

    let keys = home.home().join("keys");
    run(
        &[
            "server",
            "keygen",
            "--out",
            keys.to_str().unwrap(),
            "--bits",
            "2048",
        ],
        None,
        None,
        0,
        &mut seen,
    );
    let private = std::fs::read_to_string(keys.join("jira_privatekey.pem")).unwrap();
    for line in private
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() >= 16)
    {
        secrets.add("generated private key line", line);
    }
    println!(
        "measured: {} server runs at trace level checked against {} secrets",
        seen.len(),
        secrets.0.len()
    );
    check_all(&secrets, &seen);
}
