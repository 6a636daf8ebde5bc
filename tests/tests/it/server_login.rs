//! `jira-auth server login`: the OAuth 1.0a dance against the fake Jira Server (which verifies
//! every RSA-SHA1 signature independently), PATs, and every error users hit.

#![allow(clippy::unwrap_used)]

use crate::server_support::ServerHome;
use jira_auth_test::context::{self, Run, TestContext};
use jira_auth_test::server::{Endpoint, FakeJiraServer, FakeJiraServerConfig};
use jira_auth_test::wiremock::{Mock, ResponseTemplate, matchers};

fn oauth_args<'a>(url: &'a str, key: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "server",
        "login",
        "--url",
        url,
        "--consumer-key",
        "jira-auth-test",
        "--private-key",
        key,
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_login_under_a_context_path_stores_the_tokens() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let url = fake.url();
    let run = home
        .login(
            &fake,
            &oauth_args(&url, key.to_str().unwrap(), &["--no-browser"]),
        )
        .await;
    home.settings(&[]).bind(|| {
        insta::assert_snapshot!("loopback_login", run.transcript());
        insta::assert_snapshot!("loopback_login_profile", home.profile_text("default"));
    });
    assert_eq!(run.code, 0);
    assert_eq!(
        jira_auth_test::journal::lines(fake.mock_server()).await,
        [
            "POST /jira/plugins/servlet/oauth/request-token",
            "GET /jira/plugins/servlet/oauth/authorize",
            "POST /jira/plugins/servlet/oauth/access-token",
            "GET /jira/rest/api/2/myself",
        ]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(home.profile_path("default"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        fake.access_tokens().into_iter().collect::<Vec<_>>(),
        [("access-token-3".to_owned(), "access-secret-3".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn oob_login_with_a_pkcs1_key_reads_the_typed_code() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs1.pem");
    let url = fake.url();
    let run = home
        .login(
            &fake,
            &oauth_args(&url, key.to_str().unwrap(), &["--oob", "--no-browser"]),
        )
        .await;
    home.settings(&[])
        .bind(|| insta::assert_snapshot!("oob_login", run.transcript()));
    assert_eq!(run.code, 0);
    assert!(
        home.profile_text("default")
            .contains("\"access_token\": \"access-token-3\"")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn denied_approval_exits_3() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        deny: true,
        ..Default::default()
    })
    .await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let url = fake.url();
    let run = home
        .login(
            &fake,
            &oauth_args(&url, key.to_str().unwrap(), &["--no-browser"]),
        )
        .await;
    home.settings(&[])
        .bind(|| insta::assert_snapshot!("denied", run.transcript()));
    assert_eq!(run.code, 3);
    assert!(!home.profile_path("default").exists());
}

/// Each `oauth_problem` a login can meet, provoked for real where possible, with its message.
#[tokio::test(flavor = "multi_thread")]
async fn every_oauth_problem_has_an_actionable_message() {
    let mut transcript = String::new();
    let home = TestContext::new();
    let good = home.key("test-key.pkcs8.pem");
    let other = home.key("other-key.pkcs8.pem");

    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let url = fake.url();
    let mut case = |name: &str, run: Run| {
        assert_eq!(run.code, 3, "{name}: {}", run.transcript());
        assert!(run.stdout.is_empty(), "{name}");
        transcript.push_str(&format!("## {name}\n{}\n", run.stderr));
    };

    let mut args = oauth_args(&url, good.to_str().unwrap(), &["--oob", "--no-browser"]);
    args[5] = "no-such-consumer";
    case("consumer_key_unknown (real)", home.run(&args, None));

    let args = oauth_args(&url, other.to_str().unwrap(), &["--oob", "--no-browser"]);
    case(
        "signature_invalid (real: another key pair)",
        home.run(&args, None),
    );

    let args = oauth_args(&url, good.to_str().unwrap(), &["--oob", "--no-browser"]);
    for problem in ["signature_method_rejected", "nonce_used"] {
        fake.fail_next(Endpoint::RequestToken, problem);
        case(&format!("{problem} (request token)"), home.run(&args, None));
    }

    // a code typed without approving the request token
    case(
        "permission_unknown (real: code typed without approving)",
        home.run(&args, Some("123456\n")),
    );

    // the request token expires between approval and exchange, or is refused there
    for problem in ["token_expired", "token_rejected"] {
        fake.fail_next(Endpoint::AccessToken, problem);
        case(
            &format!("{problem} (access-token exchange)"),
            home.login(&fake, &args).await,
        );
    }

    let skewed = FakeJiraServer::start(FakeJiraServerConfig {
        clock_offset_seconds: -900,
        ..Default::default()
    })
    .await;
    let skewed_url = skewed.url();
    let args = oauth_args(
        &skewed_url,
        good.to_str().unwrap(),
        &["--oob", "--no-browser"],
    );
    case(
        "timestamp_refused (real: Jira's clock 15 min behind)",
        home.run(&args, None),
    );

    home.settings(&[])
        .bind(|| insta::assert_snapshot!("oauth_problems", transcript));
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_url_and_sso_page_are_explained() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let key = key.to_str().unwrap();
    let root = fake.url().trim_end_matches("/jira").to_owned();

    let missing_context = home.run(&oauth_args(&root, key, &["--oob"]), None);
    assert_eq!(missing_context.code, 2, "{}", missing_context.transcript());

    Mock::given(matchers::path("/sso/plugins/servlet/oauth/request-token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html><html><head><title>Sign in - Corporate SSO</title></head><body></body></html>",
            "text/html",
        ))
        .mount(fake.mock_server())
        .await;
    let sso_url = format!("{root}/sso");
    let sso = home.run(&oauth_args(&sso_url, key, &["--oob"]), None);
    assert_eq!(sso.code, 3, "{}", sso.transcript());

    home.settings(&[]).bind(|| {
        insta::assert_snapshot!("missing_context_path", missing_context.transcript());
        insta::assert_snapshot!("sso_page", sso.transcript());
    });
}

/// A request-token answer without `oauth_callback_confirmed=true` (OAuth 1.0, RFC 5849 §2.1)
/// ends the login before any approval page is shown.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_does_not_confirm_the_callback_is_refused_with_exit_4() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    Mock::given(matchers::path(
        "/oauth10/plugins/servlet/oauth/request-token",
    ))
    .respond_with(ResponseTemplate::new(200).set_body_raw(
        "oauth_token=request-token-x&oauth_token_secret=request-secret-x",
        "text/plain",
    ))
    .mount(fake.mock_server())
    .await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let url = format!("{}/oauth10", fake.url());
    let run = home.run(
        &oauth_args(&url, key.to_str().unwrap(), &["--oob", "--no-browser"]),
        None,
    );
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: cannot start the OAuth login\n  caused by: {url}/plugins/servlet/oauth/request-token answered without `oauth_callback_confirmed=true` (RFC 5849 §2.1): that is OAuth 1.0, whose approval can be redirected to someone else, not the OAuth 1.0a Jira speaks; check that `--url` reaches Jira Server or Data Center directly, not a proxy or another service\n"
        )
    );
    assert!(!run.stderr.contains("request-secret-x"));
    assert!(!home.profile_path("default").exists());
}

/// Like ssh, a private key that group or others may read is refused before any request.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_private_key_readable_by_others_is_refused_with_the_chmod_to_run() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let url = fake.url();
    let run = home.run(
        &oauth_args(&url, key.to_str().unwrap(), &["--oob", "--no-browser"]),
        None,
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: the private key `{key}` is accessible to group or others (mode 644); refusing to use it, as ssh does: run `chmod 600 {key}` (and if someone else may have copied it, make a new pair with `jira-auth server keygen`)\n",
            key = key.display()
        )
    );
    assert!(
        jira_auth_test::journal::requests(fake.mock_server())
            .await
            .is_empty(),
        "no request was sent"
    );
    // The advice works: after the chmod, the same key is accepted.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let after = home
        .login(
            &fake,
            &oauth_args(&url, key.to_str().unwrap(), &["--oob", "--no-browser"]),
        )
        .await;
    assert_eq!(after.code, 0, "{}", after.transcript());
}

#[test]
fn unusable_private_keys_exit_2_before_any_request() {
    let home = TestContext::new();
    let mut transcript = String::new();
    for name in [
        "test-key.encrypted.pem",
        "test-key.pub.pem",
        "ec-key.pem",
        "truncated-key.pem",
    ] {
        let key = home.key(name);
        let run = home.run(
            &oauth_args("http://127.0.0.1:9", key.to_str().unwrap(), &["--oob"]),
            None,
        );
        assert_eq!(run.code, 2, "{}", run.transcript());
        transcript.push_str(&run.stderr);
    }
    home.settings(&[])
        .bind(|| insta::assert_snapshot!("unusable_keys", transcript));
}

#[tokio::test(flavor = "multi_thread")]
async fn pat_login_from_env_and_stdin_and_a_rejected_pat() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let url = fake.url();
    let args = ["server", "login", "--url", &url, "--pat"];

    let mut cmd = home.base_command();
    cmd.env("JIRA_AUTH_PAT", fake.pat().unwrap());
    let from_env = context::run_with(cmd, &args, None);
    assert_eq!(from_env.code, 0, "{}", from_env.transcript());

    let from_stdin = home.run(&args, Some("pat-test-token-0001\n"));
    assert_eq!(from_stdin.code, 0, "{}", from_stdin.transcript());

    let requests = jira_auth_test::journal::requests(fake.mock_server()).await;
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!(r.url.path(), "/rest/api/2/myself");
        assert_eq!(
            r.headers["authorization"].to_str().unwrap(),
            "Bearer pat-test-token-0001"
        );
    }

    let rejected = home.run(&args, Some("wrong-token\n"));
    assert_eq!(rejected.code, 3);
    let empty = home.run(&args, Some("\n"));
    assert_eq!(empty.code, 2);

    home.settings(&[]).bind(|| {
        insta::assert_snapshot!("pat_login", from_env.transcript());
        insta::assert_snapshot!("pat_profile", home.profile_text("default"));
        insta::assert_snapshot!("pat_rejected", rejected.transcript());
        insta::assert_snapshot!("pat_empty", empty.transcript());
    });
    assert_eq!(from_env.stderr, from_stdin.stderr);
    assert_eq!(
        (from_env.stdout.as_str(), from_stdin.stdout.as_str()),
        ("", "")
    );

    let mut args = args.to_vec();
    args.push("--quiet");
    let quiet = home.run(&args, Some("pat-test-token-0001\n"));
    assert_eq!(
        (quiet.code, quiet.stdout.as_str(), quiet.stderr.as_str()),
        (0, "", ""),
        "{}",
        quiet.transcript()
    );
}

/// A PAT sent to the site root of a Jira served under `/jira` meets a 404: that is a wrong URL
/// (exit 2, naming the context path), not a refused token (exit 3), and OAuth is not mentioned.
#[tokio::test(flavor = "multi_thread")]
async fn pat_login_without_the_context_path_is_a_wrong_url_not_a_refused_token() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let home = TestContext::new();
    let root = fake.url().trim_end_matches("/jira").to_owned();
    let token = format!("{}\n", fake.pat().unwrap());
    let run = home.run(&["server", "login", "--url", &root, "--pat"], Some(&token));
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr.replace(&root, "[ROOT]"),
        "error: [ROOT]/rest/api/2/myself answered 404: there is no Jira REST API there; check `--url` (include the context path, e.g. `https://host/jira`, when Jira is served under one) and that this is Jira Server or Data Center, not Cloud\n"
    );
    let url = fake.url();
    let refused = home.run(
        &["server", "login", "--url", &url, "--pat"],
        Some("wrong-token\n"),
    );
    assert_eq!(refused.code, 3, "{}", refused.transcript());
    assert!(
        refused
            .stderr
            .starts_with("error: Jira did not accept the personal access token\n")
    );
    assert!(!home.profile_path("default").exists());
}

/// Nobody approves: the loopback wait ends at `--timeout` (1 s here) with advice, nothing stored.
#[tokio::test(flavor = "multi_thread")]
async fn unapproved_login_times_out() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let url = fake.url();
    let run = home.run(
        &oauth_args(
            &url,
            key.to_str().unwrap(),
            &["--no-browser", "--timeout", "1"],
        ),
        None,
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.ends_with(
            "error: no approval arrived within 1 s; run `jira-auth server login` again (or raise `--timeout`)\n"
        ),
        "{}",
        run.stderr
    );
    assert!(!home.profile_path("default").exists());
}
