//! Shared by the `server_*` end-to-end tests: the fixture keys in a context's home, and an
//! interactive login against the fake Jira Server with the test playing the user in the browser.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{Run, Running, TestContext};
use jira_auth_test::server::{Approval, FakeJiraServer};
use std::path::PathBuf;
use std::time::Duration;

/// What the `server_*` tests do with a [`TestContext`] beyond running the binary.
#[allow(async_fn_in_trait)]
pub trait ServerHome {
    /// Copies `fixtures/server/<name>` into the home with mode 0600, as a private key file must
    /// be, and returns its path.
    fn key(&self, name: &str) -> PathBuf;

    /// Runs an interactive `server login`: waits for the authorize URL on stderr, lets `fake`
    /// approve it like a user clicking Allow, then delivers the answer the way a browser (or, for
    /// `--oob`, a user typing the code) would.
    async fn login(&self, fake: &FakeJiraServer, args: &[&str]) -> Run;
}

impl ServerHome for TestContext {
    fn key(&self, name: &str) -> PathBuf {
        jira_auth_test::fixtures::private_key(name, self.home())
    }

    async fn login(&self, fake: &FakeJiraServer, args: &[&str]) -> Run {
        let mut running = Running::start(self.command(args));
        // Bounded: the binary prints the URL right after the request-token call, or fails.
        let authorize = running.wait_for_line(
            |l| l.contains("/plugins/servlet/oauth/authorize?"),
            Duration::from_secs(60),
        );
        if let Some(url) = authorize {
            assert!(
                url.starts_with("http://"),
                "the URL is alone on its line: {url:?}"
            );
            match fake.approve(&url).await {
                Approval::Redirect(location) => {
                    FakeJiraServer::follow(&location).await;
                }
                Approval::Verifier(code) => running.write_line(&code),
            }
        }
        running.finish().await
    }
}

/// Logs in with OAuth (`--oob`) against `fake` with the fixture key; panics unless it works.
pub async fn logged_in(fake: &FakeJiraServer) -> TestContext {
    let home = TestContext::new();
    let key = home.key("test-key.pkcs8.pem");
    let run = home
        .login(
            fake,
            &[
                "server",
                "login",
                "--url",
                &fake.url(),
                "--consumer-key",
                fake.consumer_key(),
                "--private-key",
                key.to_str().unwrap(),
                "--oob",
                "--no-browser",
            ],
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    home
}
