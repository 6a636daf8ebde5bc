//! Shared by the `server_*` end-to-end tests: running the binary against the fake Jira Server,
//! playing the user in the browser, and snapshot filters.

#![allow(clippy::unwrap_used, dead_code)]

use jira_auth_test::server::{Approval, FakeJiraServer};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The exit code and both streams of one run.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// `exit: N`, then stdout and stderr, for one snapshot.
    pub fn render(&self) -> String {
        format!(
            "exit: {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A config dir in a temp dir, and the fixture keys copied next to it.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("cfg")
    }

    /// Copies `fixtures/server/<name>` into the temp dir with mode 0600, as a private key file
    /// must be, and returns its path.
    pub fn key(&self, name: &str) -> PathBuf {
        jira_auth_test::fixtures::private_key(name, self.dir.path())
    }

    pub fn profile_path(&self, name: &str) -> PathBuf {
        self.config_dir()
            .join("profiles")
            .join(format!("{name}.json"))
    }

    pub fn profile_text(&self, name: &str) -> String {
        std::fs::read_to_string(self.profile_path(name)).unwrap()
    }

    /// The binary with a clean environment pointing at this home.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(jira_auth_test::binary::jira_auth());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("JIRA_AUTH_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("JIRA_AUTH_CONFIG_DIR", self.config_dir())
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        cmd
    }

    /// Runs `args` to completion with `stdin` (empty when `None`).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Run {
        self.run_with(self.cmd(), args, stdin)
    }

    pub fn run_with(&self, mut cmd: Command, args: &[&str], stdin: Option<&str>) -> Run {
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Runs an interactive `server login`: waits for the authorize URL on stderr, lets `fake`
    /// approve it like a user clicking Allow, then delivers the answer the way a browser (or, for
    /// `--oob`, a user typing the code) would.
    pub async fn login(&self, fake: &FakeJiraServer, args: &[&str]) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args)
            .stdin(Stdio::piped())
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
        }
    }

    /// Logs in with OAuth (`--oob`) against `fake` with the fixture key; panics unless it works.
    pub async fn logged_in(fake: &FakeJiraServer) -> Self {
        let home = Self::new();
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
        assert_eq!(run.code, 0, "{}", run.render());
        home
    }

    /// insta settings: the harness filters plus this home's temp dir as `[TMP]`.
    pub fn settings(&self) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(&escape(self.dir.path()), "[TMP]");
        for (regex, replacement) in jira_auth_test::filters::common() {
            settings.add_filter(regex, replacement);
        }
        settings
    }
}

fn escape(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
