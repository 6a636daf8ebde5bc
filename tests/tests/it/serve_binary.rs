//! `jira-auth cloud serve` as a deployed service: the real binary, a browser with a cookie jar,
//! the fake Atlassian; then the CLI on the same store sees the connected site.

#![allow(clippy::unwrap_used)]

use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use jira_auth_test::context::{TestContext, free_port};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_connects_jira_through_the_service_and_the_cli_sees_it() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let ctx = TestContext::new();
    let public = format!("http://127.0.0.1:{}", free_port());
    let listen = public.trim_start_matches("http://").to_owned();

    // Configured the container way: environment only, no arguments but the subcommand.
    let mut service = tokio::process::Command::from(ctx.command(&["cloud", "serve"]))
        .env("JIRA_AUTH_LISTEN", &listen)
        .env("JIRA_AUTH_PUBLIC_URL", &public)
        .env("JIRA_AUTH_CLIENT_ID", fake.client_id())
        .env("JIRA_AUTH_CLIENT_SECRET", fake.client_secret())
        .env("JIRA_AUTH_AUTH_URL", fake.auth_url())
        .env("JIRA_AUTH_API_URL", fake.api_url())
        .env("JIRA_AUTH_PRESET", "psoxy")
        .env("JIRA_AUTH_ALLOW_SITES", "acme")
        .env(
            "JIRA_AUTH_COOKIE_KEY",
            "0123456789abcdef0123456789abcdef-test-key",
        )
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait for the service to say it listens, not for a fixed time. With a cookie key and an
    // allow list configured, the only warning left is the plain-http public URL.
    let mut stderr = BufReader::new(service.stderr.take().unwrap()).lines();
    let mut next = async || {
        tokio::time::timeout(Duration::from_secs(30), stderr.next_line())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        next().await,
        format!(
            " WARN the public URL is not https: the state cookie is sent without `Secure`; serve behind HTTPS in production public_url=\"{public}\""
        )
    );
    assert_eq!(
        next().await,
        format!("Serving on {public} (stop with Ctrl-C or SIGTERM)")
    );
    assert_eq!(
        next().await,
        format!("Callback URL to register in the developer console: {public}/oauth/callback")
    );

    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let health = browser
        .get(format!("{public}/health-check"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    let start = browser
        .get(format!("{public}/initiate-oauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 302);
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        authorize.starts_with(&format!("{}/authorize?", fake.auth_url())),
        "{authorize}"
    );
    assert!(
        authorize.contains("redirect_uri=http%3A%2F%2F127.0.0.1"),
        "{authorize}"
    );

    // The user clicks Accept; Atlassian sends the browser back to the service.
    let callback = fake.consent(&authorize).unwrap();
    let result = browser.get(&callback).send().await.unwrap();
    assert_eq!(result.status(), 200);
    let page = result.text().await.unwrap();
    assert!(page.contains("acme"), "{page}");
    assert!(
        page.contains("1324a887-45db-1bf4-1e99-ef0ff456d421"),
        "{page}"
    );
    for secret in [fake.client_secret(), "at-0", "rt-0"] {
        assert!(!page.contains(secret), "the result page shows {secret}");
    }

    // The same store, through the CLI, as after `cloud login`.
    let status = ctx.run(&["cloud", "status", "--json"], None);
    assert_eq!(status.code, 0, "{}", status.transcript());
    let json: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        json["cloud_id"], "1324a887-45db-1bf4-1e99-ef0ff456d421",
        "{json}"
    );

    service.kill().await.unwrap();
}

#[test]
fn an_empty_allow_list_refuses_to_start() {
    let ctx = TestContext::new();
    for empty in ["", " ", ","] {
        let out = assert_cmd::Command::from_std(ctx.command(&[
            "cloud",
            "serve",
            "--listen",
            "127.0.0.1:0",
        ]))
        .env("JIRA_AUTH_PUBLIC_URL", "https://jira-auth.example.com")
        .env("JIRA_AUTH_CLIENT_ID", "CID")
        .env("JIRA_AUTH_CLIENT_SECRET", "s3cret")
        .env("JIRA_AUTH_SCOPES", "read:jira-work")
        .env("JIRA_AUTH_ALLOW_SITES", empty)
        .assert()
        .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(
            stderr,
            "error: `--allow-site` / `JIRA_AUTH_ALLOW_SITES` is set but names no site: name the sites to allow (e.g. `--allow-site acme`), or remove it to allow any site\n",
            "JIRA_AUTH_ALLOW_SITES={empty:?}"
        );
    }
}
