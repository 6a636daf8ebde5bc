//! Shared by the `server_*` end-to-end tests: the fixture keys in a context's home, and an
//! interactive login against the fake Jira Server with the test playing the user in the browser.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{Run, TestContext};
use jira_auth_test::server::{Approval, FakeJiraServer};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
        let started = Instant::now();
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut all = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                all.push_str(&line);
                all.push('\n');
                let _ = tx.send(line);
            }
            all
        });
        let mut authorize = None;
        // Bounded: the binary prints the URL right after the request-token call, or fails.
        while let Ok(line) = rx.recv_timeout(Duration::from_secs(60)) {
            if line.contains("/plugins/servlet/oauth/authorize?") {
                authorize = Some(line);
                break;
            }
        }
        let mut stdin = child.stdin.take().unwrap();
        if let Some(url) = authorize {
            assert!(
                url.starts_with("http://"),
                "the URL is alone on its line: {url:?}"
            );
            match fake.approve(&url).await {
                Approval::Redirect(location) => {
                    FakeJiraServer::follow(&location).await;
                }
                Approval::Verifier(code) => {
                    stdin.write_all(format!("{code}\n").as_bytes()).unwrap();
                }
            }
        }
        drop(stdin);
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let stderr = reader.join().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr,
            elapsed: started.elapsed(),
        }
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
