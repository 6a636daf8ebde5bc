//! `jira-auth server status`, `logout` and `keygen`.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{self, Run, TestContext};
use jira_auth_test::server::{FakeJiraServer, FakeJiraServerConfig};

#[tokio::test(flavor = "multi_thread")]
async fn status_checks_the_credential_and_logout_forgets_it() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = crate::server_support::logged_in(&fake).await;

    let ok = home.run(&["server", "status"], None);
    assert_eq!(ok.code, 0, "{}", ok.transcript());
    let ok_json = home.run(&["server", "status", "--json"], None);
    assert_eq!(
        (ok_json.code, ok_json.stderr.as_str()),
        (0, ""),
        "{}",
        ok_json.transcript()
    );
    let offline = home.run(&["server", "status", "--offline"], None);
    assert_eq!(offline.code, 0);
    let offline_json = home.run(&["server", "status", "--offline", "--json"], None);
    assert_eq!(offline_json.code, 0, "{}", offline_json.transcript());
    fake.revoke_access_tokens();
    let rejected = home.run(&["server", "status"], None);
    assert_eq!(rejected.code, 1, "{}", rejected.transcript());
    let rejected_json = home.run(&["server", "status", "--json"], None);
    assert_eq!(
        (rejected_json.code, rejected_json.stderr.as_str()),
        (1, ""),
        "{}",
        rejected_json.transcript()
    );

    // The JSON, exactly: what the text shows, and the check with its outcome.
    let stored: serde_json::Value = serde_json::from_str(&home.profile_text("default")).unwrap();
    let expected = |check: serde_json::Value| {
        serde_json::json!({
            "profile": "default",
            "store": "file",
            "path": home.profile_path("default"),
            "url": fake.url(),
            "credential": {
                "kind": "oauth1",
                "description": "OAuth 1.0a (RSA-SHA1)",
                "consumer_key": "jira-auth-test",
                "private_key": {
                    "path": home.home().join("test-key.pkcs8.pem"),
                    "bits": 2048,
                    "error": null
                }
            },
            "user": {"name": "jsmith", "display_name": "Jane Smith"},
            "logged_in_at": stored["server"]["logged_in_at"],
            "check": check
        })
    };
    let json = |run: &Run| -> serde_json::Value { serde_json::from_str(&run.stdout).unwrap() };
    assert_eq!(
        json(&ok_json),
        expected(serde_json::json!({
            "request": "GET /rest/api/2/myself",
            "outcome": "ok",
            "user": "jsmith",
            "error": null
        }))
    );
    assert_eq!(json(&offline_json), expected(serde_json::Value::Null));
    assert_eq!(
        json(&rejected_json),
        expected(serde_json::json!({
            "request": "GET /rest/api/2/myself",
            "outcome": "failed",
            "user": null,
            "error": "Jira refused the signed request: oauth_problem=token_rejected; Jira does not know the access token (it was revoked, or the Application Link was deleted and recreated): run `jira-auth server login` again"
        }))
    );

    let logout = home.run(&["server", "logout"], None);
    assert_eq!(logout.code, 0, "{}", logout.transcript());
    assert!(!home.profile_path("default").exists());
    let again = home.run(&["server", "logout"], None);
    assert_eq!(again.code, 0);
    let status_after = home.run(&["server", "status"], None);
    assert_eq!(status_after.code, 2);

    home.settings(&[]).bind(|| {
        insta::assert_snapshot!("status_ok", ok.transcript());
        insta::assert_snapshot!("status_offline", offline.transcript());
        insta::assert_snapshot!("status_rejected", rejected.transcript());
        insta::assert_snapshot!("status_ok_json", ok_json.transcript());
        insta::assert_snapshot!("status_rejected_json", rejected_json.transcript());
        insta::assert_snapshot!("logout", logout.transcript());
        insta::assert_snapshot!("logout_again", again.transcript());
        insta::assert_snapshot!("status_after_logout", status_after.transcript());
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_keeps_other_sections_of_the_profile() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let path = home.profile_path("ci");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let url = fake.url();
    let login = home.run(
        &["--profile", "ci", "server", "login", "--url", &url, "--pat"],
        Some("pat-test-token-0001"),
    );
    assert_eq!(login.code, 0, "{}", login.transcript());
    // another owner's section beside ours
    let text = home.profile_text("ci");
    let with_cloud = text.replacen(
        "\"version\": 1,",
        "\"version\": 1,\n  \"cloud\": {\"x\": 1},",
        1,
    );
    std::fs::write(&path, with_cloud).unwrap();
    let logout = home.run(&["--profile", "ci", "server", "logout", "--quiet"], None);
    assert_eq!(
        (logout.code, logout.stdout.as_str(), logout.stderr.as_str()),
        (0, "", ""),
        "{}",
        logout.transcript()
    );
    assert_eq!(
        home.profile_text("ci"),
        "{\n  \"version\": 1,\n  \"cloud\": {\n    \"x\": 1\n  }\n}\n"
    );
}

/// A PAT profile has no consumer or key; an unreachable Jira exits 4 in both forms, and the JSON
/// still says what is stored, with the check `unreachable`.
#[tokio::test(flavor = "multi_thread")]
async fn status_of_a_pat_and_of_an_unreachable_jira() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let url = fake.url();
    let login = home.run(
        &["server", "login", "--url", &url, "--pat"],
        Some("pat-test-token-0001"),
    );
    assert_eq!(login.code, 0, "{}", login.transcript());
    let ok_json = home.run(&["server", "status", "--json"], None);
    assert_eq!(ok_json.code, 0, "{}", ok_json.transcript());
    let ok: serde_json::Value = serde_json::from_str(&ok_json.stdout).unwrap();
    assert_eq!(
        ok["credential"],
        serde_json::json!({
            "kind": "pat",
            "description": "personal access token",
            "consumer_key": null,
            "private_key": null
        })
    );
    assert_eq!(ok["check"]["outcome"], "ok");

    // Nothing listens on a port just released: Jira is unreachable (the profile now says so).
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let moved = home.profile_text("default").replace(&url, &closed);
    std::fs::write(home.profile_path("default"), moved).unwrap();
    let text = home.run(&["server", "status"], None);
    assert_eq!(text.code, 4, "{}", text.transcript());
    let json = home.run(&["server", "status", "--json"], None);
    assert_eq!(json.code, 4, "{}", json.transcript());
    let unreachable: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(unreachable["check"]["outcome"], "unreachable");
    assert_eq!(unreachable["check"]["user"], serde_json::Value::Null);
    assert_eq!(unreachable["url"], closed.as_str());
    // The same error on stderr for both forms.
    assert_eq!(json.stderr, text.stderr);
    home.settings(&[]).bind(|| {
        insta::assert_snapshot!("status_pat_json", ok_json.transcript());
        insta::assert_snapshot!("status_unreachable", text.transcript());
        insta::assert_snapshot!("status_unreachable_json", json.transcript());
    });
}

/// Without `--out` the pair goes into the config directory, not the current one (often a git
/// checkout): `keys/<profile>/`, directories 0700, private key 0600, and the narration says where.
#[test]
fn keygen_without_out_writes_into_the_config_directory() {
    let home = TestContext::new();
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = home.base_command();
    cmd.current_dir(cwd.path());
    let run = context::run_with(cmd, &["server", "keygen", "--profile", "dc"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        std::fs::read_dir(cwd.path()).unwrap().count(),
        0,
        "nothing in the current directory"
    );
    let dir = home.config_dir().join("keys/dc");
    let private = dir.join("jira_privatekey.pem");
    assert!(
        run.stderr.contains(&format!(
            "Wrote the private key to `{}` (PKCS#8 PEM, mode 0600: keep it secret)\n",
            private.display()
        )),
        "{}",
        run.stderr
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&home.config_dir().join("keys")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&private), 0o600);
    }
    assert!(
        run.stdout
            .contains(&format!("--private-key {}\n", private.display()))
    );
}

#[test]
fn keygen_writes_a_usable_pair_and_never_overwrites() {
    let home = TestContext::new();
    let out = home.home().join("keys");
    let run = home.run(&["server", "keygen", "--out", out.to_str().unwrap()], None);
    assert_eq!(run.code, 0, "{}", run.transcript());

    let private = std::fs::read_to_string(out.join("jira_privatekey.pem")).unwrap();
    let public = std::fs::read_to_string(out.join("jira_publickey.pem")).unwrap();
    let key = jira_auth_server::key::parse_private_key_pem(&private).unwrap();
    assert_eq!(jira_auth_server::key::bits(&key), 2048);
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert_eq!(jira_auth_server::key::public_key_pem(&key).unwrap(), public);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| std::fs::metadata(out.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("jira_privatekey.pem"), 0o600);
        assert_eq!(mode("jira_publickey.pem"), 0o644);
    }
    // the printed public key is the file's body on one line
    let one_line = jira_auth_server::key::public_key_for_jira(&public);
    assert!(run.stdout.contains(&format!("Public Key:    {one_line}\n")));
    let shown = run.stdout.replace(&one_line, "[PUBLIC KEY]");

    let again = home.run(&["server", "keygen", "--out", out.to_str().unwrap()], None);
    assert_eq!(again.code, 2);
    assert_eq!(
        std::fs::read_to_string(out.join("jira_privatekey.pem")).unwrap(),
        private
    );
    let bad_bits = home.run(&["server", "keygen", "--bits", "1024"], None);
    assert_eq!(bad_bits.code, 2);
    // `--quiet` silences the narration, not the instructions: they are what the command is for.
    let quiet_out = home.home().join("quiet-keys");
    let quiet = home.run(
        &[
            "-q",
            "server",
            "keygen",
            "--out",
            quiet_out.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        (quiet.code, quiet.stderr.as_str()),
        (0, ""),
        "{}",
        quiet.transcript()
    );
    let quiet_key = std::fs::read_to_string(quiet_out.join("jira_publickey.pem")).unwrap();
    let quiet_one_line = jira_auth_server::key::public_key_for_jira(&quiet_key);
    assert_eq!(
        quiet
            .stdout
            .replace(&quiet_one_line, "[PUBLIC KEY]")
            .replace("quiet-keys", "keys"),
        shown
    );

    home.settings(&[]).bind(|| {
        insta::assert_snapshot!(
            "keygen",
            format!(
                "exit code: {}\n----- stdout -----\n{shown}----- stderr -----\n{}",
                run.code, run.stderr
            )
        );
        insta::assert_snapshot!("keygen_exists", again.transcript());
        insta::assert_snapshot!("keygen_bad_bits", bad_bits.transcript());
    });
}
