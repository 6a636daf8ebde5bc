//! Shared set-up for the `cloud_*` end-to-end tests: the fake Atlassian, a private config dir,
//! the binary with the right environment, and a "browser" that completes the consent.

#![allow(dead_code, clippy::unwrap_used)]

use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct CloudEnv {
    pub fake: FakeAtlassian,
    pub dir: tempfile::TempDir,
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// Exit code, stdout and stderr as one text for a snapshot.
    pub fn transcript(&self) -> String {
        format!(
            "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Filters for cloud snapshots: the harness's, plus the fake's token shapes, URL-encoded ports
/// and minute counts that depend on timing.
pub fn filters() -> Vec<(&'static str, &'static str)> {
    let mut f = jira_auth_test::filters::common();
    f.extend([
        (r"\b(at|rt|code)-\d{4}-[0-9a-f]{16}\b", "[$1]"),
        (r"127\.0\.0\.1%3A\d+", "[LOCALHOST]"),
        (r"\d+ min left", "[N] min left"),
    ]);
    f
}

/// A free loopback port (bound then released; good enough for tests).
/// Seconds since the Unix epoch, as the profile stores times.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl CloudEnv {
    pub async fn start(config: FakeConfig) -> Self {
        Self {
            fake: FakeAtlassian::start(config).await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    /// The stored profile file as JSON.
    pub fn profile(&self, name: &str) -> serde_json::Value {
        let path = self.config_dir().join(format!("profiles/{name}.json"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Rewrites the stored cloud section of `name` with `edit` (e.g. to expire the access token).
    pub fn edit_profile(&self, name: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let path = self.config_dir().join(format!("profiles/{name}.json"));
        let mut v = self.profile(name);
        edit(&mut v["cloud"]);
        std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }

    /// The binary with a clean environment pointing at the fake.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(jira_auth_test::binary::jira_auth());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("JIRA_AUTH_CONFIG_DIR", self.config_dir())
            .env("JIRA_AUTH_AUTH_URL", self.fake.auth_url())
            .env("JIRA_AUTH_API_URL", self.fake.api_url())
            .env("JIRA_AUTH_CLIENT_ID", self.fake.client_id())
            .env("JIRA_AUTH_CLIENT_SECRET", self.fake.client_secret())
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs to completion with `stdin` as input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Run {
        run_command(self.command(args), stdin)
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
        interactive(self.command(&full), browser).await
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

pub fn run_command(mut cmd: Command, stdin: &str) -> Run {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    }
}

/// Runs `cmd` (a `cloud login --no-browser`), reads the authorize URL from its stderr, lets
/// `browser` act on it (with the child still running), then waits for the end.
pub async fn interactive<F, Fut>(mut cmd: Command, browser: F) -> Run
where
    F: FnOnce(String, std::process::ChildStdin) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel::<String>();
    let err_reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut sent = false;
        for line in BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if !sent && line.starts_with("http") {
                url_tx.send(line.clone()).unwrap();
                sent = true;
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    // Bounded: the binary prints the URL at once or fails.
    if let Ok(url) = url_rx.recv_timeout(Duration::from_secs(20)) {
        browser(url, stdin).await;
    }
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
        elapsed: started.elapsed(),
    }
}
