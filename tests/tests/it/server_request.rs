//! `jira-auth server request`: curl-like calls signed with the stored credentials; the fake
//! Jira Server verifies each signature (form bodies included) before answering.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::TestContext;
use jira_auth_test::server::{Endpoint, FakeJiraServer, FakeJiraServerConfig};
use jira_auth_test::wiremock::ResponseTemplate;

/// The requests after the login, rendered exactly, with the OAuth header reduced to its stable
/// parts (nonce, timestamp and signature change on every run).
async fn journal_after_login(fake: &FakeJiraServer) -> String {
    let requests = jira_auth_test::journal::requests(fake.mock_server()).await;
    requests
        .iter()
        .skip(4)
        .map(|r| {
            let rendered = jira_auth_test::journal::render(r);
            rendered
                .lines()
                .map(|line| match line.strip_prefix("authorization: OAuth ") {
                    Some(params) => {
                        let kept: Vec<&str> = params
                            .split(", ")
                            .filter(|p| {
                                !p.starts_with("oauth_nonce=")
                                    && !p.starts_with("oauth_timestamp=")
                                    && !p.starts_with("oauth_signature=")
                            })
                            .collect();
                        format!(
                            "authorization: OAuth {} (+ nonce, timestamp, signature)",
                            kept.join(", ")
                        )
                    }
                    None => line.to_owned(),
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect::<Vec<_>>()
        .join("\n---\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_get_post_json_and_form_bodies() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = crate::server_support::logged_in(&fake).await;
    fake.mount_rest(
        "POST",
        "/rest/api/2/search",
        ResponseTemplate::new(200).set_body_raw(r#"{"total":0,"issues":[]}"#, "application/json"),
    )
    .await;
    fake.mount_rest("POST", "/rest/api/2/form", ResponseTemplate::new(204))
        .await;

    let get = home.run(
        &["server", "request", "/rest/api/2/myself?expand=groups"],
        None,
    );
    assert_eq!(get.code, 0, "{}", get.transcript());
    // not a terminal: the raw bytes, exactly as Jira sent them
    let expected = serde_json::to_string(&FakeJiraServerConfig::default().user).unwrap();
    assert_eq!(get.stdout, expected);

    let post = home.run(
        &[
            "server",
            "request",
            "/rest/api/2/search",
            "-d",
            r#"{"jql":"project = ABC"}"#,
            "-H",
            "X-Atlassian-Token: no-check",
        ],
        None,
    );
    assert_eq!(post.code, 0, "{}", post.transcript());
    assert_eq!(post.stdout, r#"{"total":0,"issues":[]}"#);

    // a form body takes part in the signature: the fake recomputes it from the body it received
    let form = home.run(
        &[
            "server",
            "request",
            "-X",
            "post",
            "/rest/api/2/form",
            "-d",
            "name=caf%C3%A9+au+lait&x=1",
        ],
        None,
    );
    assert_eq!(form.code, 0, "{}", form.transcript());
    assert_eq!(form.stdout, "");

    let journal = journal_after_login(&fake).await;
    home.settings(&[])
        .bind(|| insta::assert_snapshot!("signed_requests_journal", journal));
}

#[tokio::test(flavor = "multi_thread")]
async fn non_2xx_answers_give_the_server_message_and_exit_3_or_4() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = crate::server_support::logged_in(&fake).await;
    fake.mount_rest(
        "GET",
        "/rest/api/2/project/SECRET",
        ResponseTemplate::new(403).set_body_raw(
            r#"{"errorMessages":["You do not have permission to browse project SECRET."],"errors":{}}"#,
            "application/json",
        ),
    )
    .await;
    let mut transcript = String::new();
    let mut case = |name: &str, args: &[&str], code: i32| {
        let run = home.run(args, None);
        assert_eq!(run.code, code, "{name}: {}", run.transcript());
        assert!(run.stdout.is_empty(), "{name}");
        transcript.push_str(&format!("## {name} (exit {code})\n{}\n", run.stderr));
    };
    case(
        "403 with Jira's message",
        &["server", "request", "/rest/api/2/project/SECRET"],
        3,
    );
    case("404", &["server", "request", "/rest/api/2/issue/NOPE-1"], 4);
    fake.fail_next(Endpoint::Rest, "token_expired");
    case(
        "token_expired",
        &["server", "request", "/rest/api/2/myself"],
        3,
    );
    fake.fail_next(Endpoint::Rest, "timestamp_refused");
    case(
        "timestamp_refused",
        &["server", "request", "/rest/api/2/myself"],
        3,
    );
    case(
        "another site",
        &[
            "server",
            "request",
            "https://evil.example.com/rest/api/2/myself",
        ],
        2,
    );
    case(
        "Authorization header",
        &[
            "server",
            "request",
            "/rest/api/2/myself",
            "-H",
            "Authorization: Basic eA==",
        ],
        2,
    );
    fake.revoke_access_tokens();
    case(
        "revoked token",
        &["server", "request", "/rest/api/2/myself"],
        3,
    );
    home.settings(&[])
        .bind(|| insta::assert_snapshot!("request_errors", transcript));
}

#[tokio::test(flavor = "multi_thread")]
async fn pat_profile_requests_use_bearer() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let url = fake.url();
    let login = home.run(
        &["server", "login", "--url", &url, "--pat"],
        Some("pat-test-token-0001"),
    );
    assert_eq!(login.code, 0, "{}", login.transcript());
    let run = home.run(&["server", "request", "/rest/api/2/serverInfo"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("\"deploymentType\":\"Server\""),
        "{}",
        run.stdout
    );
    let requests = jira_auth_test::journal::requests(fake.mock_server()).await;
    let last = requests.last().unwrap();
    assert_eq!(last.url.path(), "/rest/api/2/serverInfo");
    assert_eq!(
        last.headers["authorization"].to_str().unwrap(),
        "Bearer pat-test-token-0001"
    );
}

#[test]
fn request_without_login_exits_2() {
    let home = TestContext::new();
    let run = home.run(&["server", "request", "/rest/api/2/myself"], None);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: no Jira Server credentials in profile `default`: run `jira-auth server login` first\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_beside_the_context_path_are_not_the_site() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let home = crate::server_support::logged_in(&fake).await;
    let sibling = format!("{}x/rest/api/2/myself", fake.url());
    let run = home.run(&["server", "request", &sibling], None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let inside = format!("{}/rest/api/2/myself", fake.url());
    let run = home.run(&["server", "request", &inside], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
}

/// The key a stored OAuth 1.0a profile signs with is checked on every use: made readable by
/// others after the login, it is refused before anything is signed.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_stored_profiles_key_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = crate::server_support::logged_in(&fake).await;
    let key = home.home().join("test-key.pkcs8.pem");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = jira_auth_test::journal::requests(fake.mock_server())
        .await
        .len();
    let run = home.run(&["server", "request", "/rest/api/2/myself"], None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!(
            "error: the private key `{key}` is accessible to group or others (mode 640); refusing to use it, as ssh does: run `chmod 600 {key}` (and if someone else may have copied it, make a new pair with `jira-auth server keygen`)\n",
            key = key.display()
        )
    );
    assert_eq!(
        jira_auth_test::journal::requests(fake.mock_server())
            .await
            .len(),
        before,
        "nothing was signed or sent"
    );
}

/// Like curl, `-d` takes a body that starts with `-` as the body, not as a flag; the fake
/// checks the signature over the form body it received.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_starting_with_a_dash_is_sent_as_given() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = crate::server_support::logged_in(&fake).await;
    fake.mount_rest("POST", "/rest/api/2/dash", ResponseTemplate::new(204))
        .await;
    for (flag, body) in [("-d", "-x=1"), ("--data", "-foo"), ("-d", "-42")] {
        let run = home.run(&["server", "request", "/rest/api/2/dash", flag, body], None);
        assert_eq!(run.code, 0, "{flag} {body}: {}", run.transcript());
        let requests = jira_auth_test::journal::requests(fake.mock_server()).await;
        let last = requests.last().unwrap();
        assert_eq!(
            (last.method.as_str(), last.url.path()),
            ("POST", "/rest/api/2/dash")
        );
        assert_eq!(String::from_utf8_lossy(&last.body), body, "{flag}");
    }
}
