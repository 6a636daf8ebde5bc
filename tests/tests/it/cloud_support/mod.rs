//! Shared set-up for the `cloud_*` end-to-end tests: the fake Atlassian, a test context whose runs
//! point at it, and a "browser" that completes the consent.

#![allow(clippy::unwrap_used)]

use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use jira_auth_test::context::{Run, Running, TestContext, free_port};
use std::time::Duration;

/// The fake Atlassian and a test context whose runs point at it.
pub struct CloudEnv {
    pub fake: FakeAtlassian,
    pub ctx: TestContext,
}

impl std::ops::Deref for CloudEnv {
    type Target = TestContext;

    fn deref(&self) -> &TestContext {
        &self.ctx
    }
}

/// Filters for cloud snapshots: the fake's token shapes, URL-encoded ports and minute counts that
/// depend on timing (the harness's own filters come with the context's settings).
pub const FILTERS: &[(&str, &str)] = &[
    (r"\b(at|rt|code)-\d{4}-[0-9a-f]{16}\b", "[$1]"),
    (r"127\.0\.0\.1%3A\d+", "[LOCALHOST]"),
    (r"\d+ min left", "[N] min left"),
];

impl CloudEnv {
    pub async fn start(config: FakeConfig) -> Self {
        let fake = FakeAtlassian::start(config).await;
        let mut ctx = TestContext::new();
        ctx.env("JIRA_AUTH_AUTH_URL", fake.auth_url())
            .env("JIRA_AUTH_API_URL", fake.api_url())
            .env("JIRA_AUTH_CLIENT_ID", fake.client_id())
            .env("JIRA_AUTH_CLIENT_SECRET", fake.client_secret());
        Self { fake, ctx }
    }

    /// Rewrites the stored cloud section of `name` with `edit` (e.g. to expire the access token).
    pub fn edit_profile(&self, name: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut v = self.profile(name);
        edit(&mut v["cloud"]);
        std::fs::write(
            self.profile_path(name),
            serde_json::to_vec_pretty(&v).unwrap(),
        )
        .unwrap();
    }

    /// Starts `cloud login --no-browser …`, reads the authorize URL from stderr, lets `browser`
    /// act on it (with the child still running), then waits for the end.
    pub async fn login<F, Fut>(&self, args: &[&str], browser: F) -> Run
    where
        F: FnOnce(String, std::process::ChildStdin) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let mut full = vec!["cloud", "login", "--no-browser"];
        full.extend_from_slice(args);
        let mut running = Running::start(self.command(&full));
        // Bounded: the binary prints the URL at once or fails.
        if let Some(url) = running.wait_for_line(|l| l.starts_with("http"), Duration::from_secs(20))
        {
            browser(url, running.take_stdin()).await;
        }
        running.finish().await
    }

    /// A full successful login with the default flags plus `args`, via the loopback listener.
    pub async fn logged_in(&self, args: &[&str]) -> Run {
        let port = free_port();
        let redirect = format!("http://127.0.0.1:{port}/callback");
        let mut full = vec!["--redirect-uri", redirect.as_str()];
        full.extend_from_slice(args);
        let fake = &self.fake;
        let run = self
            .login(&full, |url, _stdin| async move {
                let visit = fake.browse(&url, true).await.unwrap();
                assert_eq!(visit.status, 200, "{}", visit.body);
            })
            .await;
        assert_eq!(run.code, 0, "{}", run.transcript());
        run
    }
}
