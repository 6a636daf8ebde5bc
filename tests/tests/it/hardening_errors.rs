//! Every bad input a user meets, with its exact message and exit code (listed in
//! `docs/errors.md`): a damaged or too-open store file, an expired family, HTML where JSON
//! belongs, a 500 page, DNS and TLS failures. The Atlassian endpoints a logged-in profile uses
//! are the ones stored in it, so each case points the profile at a wiremock server that answers
//! the way the failure looks in real life.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::{CloudEnv, FILTERS};
use jira_auth_test::cloud::{FakeConfig, TokenAnswer};
use jira_auth_test::context::{Run, now};
use jira_auth_test::wiremock::matchers::{method, path};
use jira_auth_test::wiremock::{Mock, MockServer, ResponseTemplate};
use serde_json::json;
use std::time::Duration;

async fn logged_in() -> CloudEnv {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy"]).await;
    env
}

fn snapshot(name: &str, env: &CloudEnv, run: &Run) {
    env.settings(FILTERS)
        .bind(|| insta::assert_snapshot!(name, run.transcript()));
}

const HTML_500: &str = "<!DOCTYPE html><html><head><title>Atlassian - 500 Internal Server Error</title></head><body><h1>Something went wrong</h1></body></html>";
const HTML_LOGIN: &str = "<!DOCTYPE html><html><head><title>Log in with Atlassian account</title></head><body><form action=\"/login\"></form></body></html>";

/// A server answering `POST /oauth/token` and `GET /oauth/token/accessible-resources` with
/// `response`.
async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(response.clone())
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/oauth/token/accessible-resources"))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_truncated_store_file_is_reported_and_left_untouched() {
    let env = logged_in().await;
    let path = env.config_dir().join("profiles/default.json");
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() / 2]).unwrap();
    let run = env.run(&["cloud", "token"], None);
    assert_eq!(run.code, 2);
    snapshot("truncated_store", &env, &run);
    assert_eq!(std::fs::read(&path).unwrap(), &full[..full.len() / 2]);
    // Refresh and login-free commands say the same; nothing is overwritten.
    assert_eq!(env.run(&["cloud", "refresh"], None).stderr, run.stderr);
}

#[cfg(unix)]
#[tokio::test]
async fn a_store_file_readable_by_others_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = logged_in().await;
    let path = env.config_dir().join("profiles/default.json");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let run = env.run(&["cloud", "token"], None);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    snapshot("insecure_store", &env, &run);
}

#[tokio::test]
async fn a_family_past_365_days_ends_with_exit_3() {
    let env = logged_in().await;
    env.fake.advance(Duration::from_secs(366 * 86_400));
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    let run = env.run(&["cloud", "token"], None);
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout, "");
    snapshot("family_expired", &env, &run);
}

#[tokio::test]
async fn html_instead_of_json_names_the_page() {
    let env = logged_in().await;
    let server = answering(ResponseTemplate::new(200).set_body_raw(HTML_LOGIN, "text/html")).await;
    env.edit_profile("default", |c| {
        c["auth_url"] = json!(server.uri());
        c["api_url"] = json!(server.uri());
    });
    let refresh = env.run(&["cloud", "refresh"], None);
    assert_eq!(refresh.code, 4);
    snapshot("html_token_response", &env, &refresh);
    let sites = env.run(&["cloud", "sites"], None);
    assert_eq!(sites.code, 4);
    snapshot("html_sites_response", &env, &sites);
}

#[tokio::test]
async fn a_500_with_an_html_body_is_a_server_error_with_exit_4() {
    let env = logged_in().await;
    let server = answering(ResponseTemplate::new(500).set_body_raw(HTML_500, "text/html")).await;
    env.edit_profile("default", |c| {
        c["auth_url"] = json!(server.uri());
        c["api_url"] = json!(server.uri());
    });
    let run = env.run(&["cloud", "refresh"], None);
    assert_eq!(run.code, 4);
    snapshot("html_500", &env, &run);
    let sites = env.run(&["cloud", "sites"], None);
    assert_eq!(sites.code, 4);
    snapshot("html_500_sites", &env, &sites);
}

#[tokio::test]
async fn an_unresolvable_host_is_a_network_error_with_exit_4() {
    let env = logged_in().await;
    // `.invalid` never resolves (RFC 2606).
    env.edit_profile("default", |c| {
        c["auth_url"] = json!("https://auth.jira-auth.invalid")
    });
    let run = env.run(&["cloud", "refresh"], None);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(
        run.stderr
            .starts_with("error: could not connect to https://auth.jira-auth.invalid/oauth/token"),
        "{}",
        run.stderr
    );
    println!("{}", run.stderr);
}

#[tokio::test]
async fn a_tls_failure_is_named_with_exit_4() {
    let env = logged_in().await;
    // A plain-HTTP server spoken to over https: the handshake fails.
    let server = MockServer::start().await;
    let https = server.uri().replace("http://", "https://");
    env.edit_profile("default", |c| c["auth_url"] = json!(https));
    let run = env.run(&["cloud", "refresh"], None);
    assert_eq!(run.code, 4, "{}", run.transcript());
    snapshot("tls_failure", &env, &run);
}

/// What `cloud refresh` and `cloud login` say when the token endpoint answers 200 with
/// form-encoded tokens: the size and type of the body, never the body.
fn form_answer_error(env: &CloudEnv) -> String {
    format!(
        "error: request to {}/oauth/token failed: answered 200 with 240 bytes of `application/x-www-form-urlencoded` instead of an `application/json` token response (not shown: it may hold credentials); is a proxy, a login page or a server other than Atlassian's in the way?\n",
        env.fake.auth_url()
    )
}

fn assert_no_issued_token(env: &CloudEnv, run: &Run) {
    let issued = env.fake.issued_tokens();
    assert!(!issued.is_empty());
    for token in issued {
        assert!(
            !run.stderr.contains(&token) && !run.stdout.contains(&token),
            "{token} shown:\n{}",
            run.transcript()
        );
    }
}

#[tokio::test]
async fn form_encoded_tokens_on_refresh_and_login_are_never_shown() {
    let env = logged_in().await;
    env.fake.set_token_answer(TokenAnswer::Form);

    let refresh = env.run(&["cloud", "refresh", "-vv"], None);
    assert_eq!(refresh.code, 4, "{}", refresh.transcript());
    assert_eq!(refresh.stdout, "");
    assert_eq!(
        refresh.stderr.lines().last().map(|l| format!("{l}\n")),
        Some(form_answer_error(&env)),
    );
    assert_no_issued_token(&env, &refresh);
    // Without `-v`, the error is all there is.
    let quiet = env.run(&["cloud", "refresh"], None);
    assert_eq!(
        (quiet.code, quiet.stderr.as_str()),
        (4, form_answer_error(&env).as_str())
    );

    let port = jira_auth_test::context::free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let fake = &env.fake;
    let login = env
        .login(
            &["--redirect-uri", &redirect, "--preset", "psoxy"],
            |url, _stdin| async move {
                fake.browse(&url, true).await.unwrap();
            },
        )
        .await;
    assert_eq!(login.code, 4, "{}", login.transcript());
    assert_eq!(login.stdout, "");
    assert!(
        login.stderr.ends_with(&form_answer_error(&env)),
        "{}",
        login.transcript()
    );
    assert_no_issued_token(&env, &login);
}

#[tokio::test]
async fn a_byte_order_mark_before_the_token_json_is_accepted() {
    let env = logged_in().await;
    env.fake.set_token_answer(TokenAnswer::JsonAfterBom);
    let refresh = env.run(&["cloud", "refresh"], None);
    assert_eq!(refresh.code, 0, "{}", refresh.transcript());
    let stored = env.profile("default");
    let rt = stored["cloud"]["refresh_token"].as_str().unwrap();
    assert!(env.fake.refresh_token_is_live(rt));
    assert_eq!(
        env.fake.issued_tokens().last().map(String::as_str),
        Some(rt)
    );
}
