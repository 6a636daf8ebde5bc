//! `cargo xtask fake-atlassian` and `cargo xtask fake-jira-server` as a newcomer runs them: the
//! fake started as its own process with its options, then the `jira-auth` binary pointed at the
//! addresses its banner prints. The fakes check credentials like the real services, so a garbage
//! token is refused, and they show the failures a newcomer should be able to provoke: a missing
//! scope, several sites, a callback URL that does not match.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A fake running as a child process; stopped with SIGTERM (as a user's `kill` would) on drop.
struct Fake {
    child: Child,
    /// `label → value` of the banner's aligned lines (`client id`, `API gateway`, …).
    banner: HashMap<String, String>,
    text: String,
}

impl Fake {
    fn start(args: &[&str]) -> Fake {
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                text.push_str(&line);
                text.push('\n');
                if line.starts_with("Try it") {
                    tx.send(text.clone()).unwrap();
                }
            }
        });
        // Bounded: the fake prints its banner at once or fails.
        let text = rx.recv_timeout(Duration::from_secs(60)).unwrap();
        let banner = text
            .lines()
            .filter_map(|l| {
                let (label, value) = l.trim().split_once("  ")?;
                let value = value.trim().split("   ").next()?.to_owned();
                Some((label.trim().to_owned(), value))
            })
            .collect();
        Fake {
            child,
            banner,
            text,
        }
    }

    fn get(&self, label: &str) -> &str {
        self.banner
            .get(label)
            .unwrap_or_else(|| panic!("no `{label}` in the banner:\n{}", self.text))
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `jira-auth` with a throw-away config directory and nothing from the caller's environment.
struct User {
    config: tempfile::TempDir,
    envs: Vec<(String, String)>,
}

impl User {
    fn new(envs: &[(&str, &str)]) -> User {
        User {
            config: tempfile::tempdir().unwrap(),
            envs: envs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(jira_auth_test::binary::jira_auth());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("JIRA_AUTH_CONFIG_DIR", self.config.path())
            .env("NO_COLOR", "1")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// Runs a `--no-browser` login, hands the authorize URL it prints to `browser`, and waits
    /// for it to end.
    fn login(&self, args: &[&str], browser: impl FnOnce(&str)) -> Run {
        let mut child = self.command(args).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut seen = String::new();
            for line in BufReader::new(stderr).lines() {
                let line = line.unwrap();
                if line.trim().starts_with("http") && line.contains("/authorize?") {
                    let _ = tx.send(line.trim().to_owned());
                }
                seen.push_str(&line);
                seen.push('\n');
            }
            seen
        });
        let url = rx.recv_timeout(Duration::from_secs(60));
        if let Ok(url) = url {
            browser(&url);
        }
        let output = child.wait_with_output().unwrap();
        let stderr = reader.join().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
        }
    }

    fn profile(&self, name: &str) -> PathBuf {
        self.config.path().join(format!("profiles/{name}.json"))
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// The browser: opens the authorize URL, clicks Accept, lands on jira-auth's loopback page.
fn accept(url: &str) {
    let visit = block_on(jira_auth_test::cloud::browse(url, true)).unwrap();
    assert_eq!(visit.status, 200, "{}", visit.body);
}

/// A fake Atlassian whose app's callback URL is free on this machine, and its user.
fn atlassian(extra: &[&str]) -> (Fake, User, String) {
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let mut args = vec!["fake-atlassian", "--callback-url", &callback];
    args.extend_from_slice(extra);
    let fake = Fake::start(&args);
    assert_eq!(fake.get("callback URL"), callback);
    let user = User::new(&[
        ("JIRA_AUTH_CLIENT_ID", fake.get("client id")),
        ("JIRA_AUTH_CLIENT_SECRET", fake.get("client secret")),
        ("JIRA_AUTH_AUTH_URL", fake.get("authorization server")),
        ("JIRA_AUTH_API_URL", fake.get("API gateway")),
    ]);
    (fake, user, callback)
}

fn cloud_login<'a>(callback: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "cloud",
        "login",
        "--no-browser",
        "--preset",
        "raytion",
        "--redirect-uri",
        callback,
    ];
    args.extend_from_slice(extra);
    args
}

fn replace_access_token(profile: &Path, token: &str) {
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(profile).unwrap()).unwrap();
    v["cloud"]["access_token"] = token.into();
    // Written in place: the file keeps its 0600 mode, which jira-auth insists on.
    std::fs::write(profile, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn fake_atlassian_accepts_only_the_tokens_it_issued() {
    let (fake, user, callback) = atlassian(&[]);
    let login = user.login(&cloud_login(&callback, &[]), accept);
    assert_eq!(login.code, 0, "{login}");

    // The right login reaches the demo site: the audit runs and finds its two planted gaps.
    let audit = user.run(&["audit", "--preset", "raytion"]);
    assert_eq!(audit.code, 1, "{audit}");
    assert!(audit.stdout.contains("FAIL"), "{audit}");

    // On the wire, the gateway answers a token it never issued as Atlassian documents.
    let api = fake.get("API gateway");
    let cloud_id = fake
        .get("sites")
        .split("cloud id ")
        .nth(1)
        .unwrap()
        .to_owned();
    let response = block_on(async {
        let r = reqwest::Client::new()
            .get(format!(
                "{api}/ex/jira/{cloud_id}/rest/api/3/project/search"
            ))
            .bearer_auth("garbage-token")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(
        response,
        (401, r#"{"code":401,"message":"Unauthorized"}"#.to_owned())
    );

    // A stored token the fake never issued is refused: exit 3, and the store keeps its login.
    let profile = user.profile("default");
    replace_access_token(&profile, "garbage-token-0123456789abcdef");
    let before = std::fs::read(&profile).unwrap();
    let audit = user.run(&["audit", "--preset", "raytion"]);
    assert_eq!(audit.code, 3, "{audit}");
    assert_eq!(audit.stdout, "");
    assert_eq!(
        audit.stderr,
        format!(
            "error: cannot read the technical user from Jira, so nothing was audited: check the URL, `--deployment` and the credential\n  caused by: GET {api}/ex/jira/{cloud_id}/rest/api/3/myself?expand=groups%2CapplicationRoles answered 401: {{\"code\":401,\"message\":\"Unauthorized\"}}\n"
        )
    );
    assert_eq!(std::fs::read(&profile).unwrap(), before);
}

#[test]
fn fake_atlassian_grants_only_the_scopes_it_was_given() {
    let (fake, user, callback) = atlassian(&["--granted-scopes", "read:jira-work read:jira-user"]);
    assert_eq!(
        fake.get("granted scopes"),
        "read:jira-work read:jira-user (and offline_access)"
    );
    let login = user.login(&cloud_login(&callback, &[]), accept);
    assert_eq!(login.code, 0, "{login}");
    let warning = login
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: not granted: "))
        .unwrap_or_else(|| panic!("{login}"));
    // Every scope of the preset but the two granted (and offline_access, always grantable).
    assert_eq!(
        warning,
        "warning: not granted: manage:jira-configuration read:application-role:jira read:attachment:jira read:audit-log:jira read:avatar:jira read:comment.property:jira read:comment:jira read:field-configuration:jira read:field:jira read:group:jira read:issue-details:jira read:issue-meta:jira read:issue-security-level:jira read:issue-security-scheme:jira read:issue-type-hierarchy:jira read:issue-type:jira read:issue.changelog:jira read:issue.vote:jira read:issue:jira read:permission-scheme:jira read:permission:jira read:project-category:jira read:project-role:jira read:project-type:jira read:project-version:jira read:project.component:jira read:project.feature:jira read:project.property:jira read:project:jira read:status:jira read:user.property:jira read:user:jira; add them in the developer console (your app → Permissions → Jira API → Configure), then run `jira-auth cloud login --preset raytion` again"
    );

    let status = user.run(&["cloud", "status"]);
    assert!(status.stdout.contains("not granted"), "{status}");

    let audit = user.run(&["audit", "--preset", "raytion", "--format", "json"]);
    assert_eq!(audit.code, 1, "{audit}");
    let report: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    let scopes = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"].as_str().is_some_and(|id| id.contains("scope")))
        .unwrap_or_else(|| panic!("no scope check: {report}"));
    assert_eq!(scopes["status"], "fail", "{scopes}");
}

#[test]
fn fake_atlassian_serves_several_sites() {
    let (fake, user, callback) = atlassian(&["--site", "acme", "--site", "beta-corp"]);
    assert!(fake.text.contains("beta-corp, cloud id "), "{}", fake.text);
    let login = user.login(&cloud_login(&callback, &["--site", "beta-corp"]), accept);
    assert_eq!(login.code, 0, "{login}");
    assert!(
        login
            .stderr
            .contains("Logged in to beta-corp (https://beta-corp.atlassian.net)"),
        "{login}"
    );
    let sites = user.run(&["cloud", "sites"]);
    assert_eq!(sites.code, 0, "{sites}");
    assert!(
        sites.stdout.contains("acme") && sites.stdout.contains("beta-corp"),
        "{sites}"
    );
    let audit = user.run(&["audit", "--preset", "raytion"]);
    assert_eq!(audit.code, 1, "{audit}");
    assert!(
        audit.stdout.contains("https://beta-corp.atlassian.net"),
        "{audit}"
    );
}

#[test]
fn fake_atlassian_shows_an_error_page_for_another_callback_url() {
    let (fake, user, callback) = atlassian(&[]);
    let other = format!("http://127.0.0.1:{}/callback", free_port());
    assert_ne!(other, callback);
    let mut page = None;
    let login = user.login(&cloud_login(&other, &["--timeout", "3s"]), |url| {
        page = Some(block_on(async {
            let r = reqwest::get(url).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }));
    });
    let (status, html) = page.unwrap();
    assert_eq!(status, 400, "{html}");
    assert!(
        html.contains(&format!(
            "redirect_uri `{other}` does not match the app's callback URL"
        )),
        "{html}"
    );
    // No consent, so no callback: the login ends at its timeout, naming what to check.
    assert_eq!(login.code, 3, "{login}");
    let id = fake.get("client id");
    assert!(
        login.stderr.ends_with(&format!(
            "error: no browser callback arrived on {} within 3 s: if Atlassian showed an error page instead of a consent screen, check the client id `{id}` and that the app's Callback URL is exactly `{other}` (developer console → your app → Authorization); otherwise finish the consent in the browser sooner, raise `--timeout`, or use `--paste`\n",
            other.trim_start_matches("http://").trim_end_matches("/callback")
        )),
        "{login}"
    );
}

#[test]
fn fake_jira_server_accepts_only_its_personal_access_token() {
    let fake = Fake::start(&["fake-jira-server"]);
    let url = fake.get("URL").to_owned();
    let pat = fake.get("personal access token").to_owned();

    let user = User::new(&[("JIRA_AUTH_PAT", "garbage-pat")]);
    let audit = user.run(&["audit", "--url", &url, "--pat"]);
    assert_eq!(audit.code, 3, "{audit}");
    assert_eq!(
        audit.stderr,
        format!(
            "error: cannot ask {url}/rest/api/2/serverInfo which Jira this is, so nothing was audited: check the URL and the credential, or pass `--deployment cloud` or `--deployment data-center`\n  caused by: GET {url}/rest/api/2/serverInfo answered 401: You are not authenticated. Authentication required to perform this operation.\n"
        )
    );

    let user = User::new(&[("JIRA_AUTH_PAT", &pat)]);
    let audit = user.run(&["audit", "--url", &url, "--pat"]);
    assert!(audit.code == 0 || audit.code == 1, "{audit}");
    assert!(
        audit.stdout.contains("PASS") || audit.stdout.contains("FAIL"),
        "{audit}"
    );

    // Every REST resource of the site checks it, not only `/myself`.
    let response = block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{url}/rest/api/2/project"))
            .bearer_auth("garbage-pat")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    });
    assert_eq!(response.0, 401, "{}", response.1);
    assert!(
        response.1.contains("You are not authenticated"),
        "{}",
        response.1
    );
}
