//! `cargo xtask fake-atlassian` and `cargo xtask fake-jira-server` as a newcomer runs them: the
//! fake started as its own process with its options, then the `jira-auth` binary pointed at the
//! addresses its banner prints. The fakes check credentials like the real services, so a garbage
//! token is refused, and they show the failures a newcomer should be able to provoke: a missing
//! scope, several sites, a callback URL that does not match.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{Run, Running, TestContext, free_port};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
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

/// The user: `jira-auth` in its own [`TestContext`] with `envs` set.
fn user_with(envs: &[(&str, &str)]) -> TestContext {
    let mut ctx = TestContext::new();
    for (key, value) in envs {
        ctx.env(key, value);
    }
    ctx
}

/// Runs a `--no-browser` login, hands the authorize URL it prints to `browser`, and waits for it
/// to end.
fn login(user: &TestContext, args: &[&str], browser: impl FnOnce(&str)) -> Run {
    let mut running = Running::start(user.command(args));
    // Bounded: the binary prints the URL at once or fails.
    if let Some(url) = running.wait_for_line(
        |l| l.trim().starts_with("http") && l.contains("/authorize?"),
        Duration::from_secs(60),
    ) {
        browser(url.trim());
    }
    running.finish_blocking()
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
fn atlassian(extra: &[&str]) -> (Fake, TestContext, String) {
    let callback = format!("http://127.0.0.1:{}/callback", free_port());
    let mut args = vec!["fake-atlassian", "--callback-url", &callback];
    args.extend_from_slice(extra);
    let fake = Fake::start(&args);
    assert_eq!(fake.get("callback URL"), callback);
    let user = user_with(&[
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
    let login = login(&user, &cloud_login(&callback, &[]), accept);
    assert_eq!(login.code, 0, "{}", login.transcript());

    // The right login reaches the demo site: the audit runs and finds its two planted gaps.
    let audit = user.run(&["audit", "--preset", "raytion"], None);
    assert_eq!(audit.code, 1, "{}", audit.transcript());
    assert!(audit.stdout.contains("FAIL"), "{}", audit.transcript());

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
    let profile = user.profile_path("default");
    replace_access_token(&profile, "garbage-token-0123456789abcdef");
    let before = std::fs::read(&profile).unwrap();
    let audit = user.run(&["audit", "--preset", "raytion"], None);
    assert_eq!(audit.code, 3, "{}", audit.transcript());
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
    let login = login(&user, &cloud_login(&callback, &[]), accept);
    assert_eq!(login.code, 0, "{}", login.transcript());
    let warning = login
        .stderr
        .lines()
        .find(|l| l.starts_with("warning: not granted: "))
        .unwrap_or_else(|| panic!("{}", login.transcript()));
    // Every scope of the preset but the two granted (and offline_access, always grantable).
    assert_eq!(
        warning,
        "warning: not granted: manage:jira-configuration read:application-role:jira read:attachment:jira read:audit-log:jira read:avatar:jira read:comment.property:jira read:comment:jira read:field-configuration:jira read:field:jira read:group:jira read:issue-details:jira read:issue-meta:jira read:issue-security-level:jira read:issue-security-scheme:jira read:issue-type-hierarchy:jira read:issue-type:jira read:issue.changelog:jira read:issue.vote:jira read:issue:jira read:permission-scheme:jira read:permission:jira read:project-category:jira read:project-role:jira read:project-type:jira read:project-version:jira read:project.component:jira read:project.feature:jira read:project.property:jira read:project:jira read:status:jira read:user.property:jira read:user:jira; add them in the developer console (your app → Permissions → Jira API → Configure), then run `jira-auth cloud login --preset raytion` again"
    );

    let status = user.run(&["cloud", "status"], None);
    assert!(
        status.stdout.contains("not granted"),
        "{}",
        status.transcript()
    );

    let audit = user.run(&["audit", "--preset", "raytion", "--format", "json"], None);
    assert_eq!(audit.code, 1, "{}", audit.transcript());
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
    let login = login(
        &user,
        &cloud_login(&callback, &["--site", "beta-corp"]),
        accept,
    );
    assert_eq!(login.code, 0, "{}", login.transcript());
    assert!(
        login
            .stderr
            .contains("Logged in to beta-corp (https://beta-corp.atlassian.net)"),
        "{}",
        login.transcript()
    );
    let sites = user.run(&["cloud", "sites"], None);
    assert_eq!(sites.code, 0, "{}", sites.transcript());
    assert!(
        sites.stdout.contains("acme") && sites.stdout.contains("beta-corp"),
        "{}",
        sites.transcript()
    );
    let audit = user.run(&["audit", "--preset", "raytion"], None);
    assert_eq!(audit.code, 1, "{}", audit.transcript());
    assert!(
        audit.stdout.contains("https://beta-corp.atlassian.net"),
        "{}",
        audit.transcript()
    );
}

#[test]
fn fake_atlassian_shows_an_error_page_for_another_callback_url() {
    let (fake, user, callback) = atlassian(&[]);
    let other = format!("http://127.0.0.1:{}/callback", free_port());
    assert_ne!(other, callback);
    let mut page = None;
    let login = login(&user, &cloud_login(&other, &["--timeout", "3s"]), |url| {
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
    assert_eq!(login.code, 3, "{}", login.transcript());
    let id = fake.get("client id");
    assert!(
        login.stderr.ends_with(&format!(
            "error: no browser callback arrived on {} within 3 s: if Atlassian showed an error page instead of a consent screen, check the client id `{id}` and that the app's Callback URL is exactly `{other}` (developer console → your app → Authorization); otherwise finish the consent in the browser sooner, raise `--timeout`, or use `--paste`\n",
            other.trim_start_matches("http://").trim_end_matches("/callback")
        )),
        "{}",
        login.transcript()
    );
}

#[test]
fn fake_jira_server_accepts_only_its_personal_access_token() {
    let fake = Fake::start(&["fake-jira-server"]);
    let url = fake.get("URL").to_owned();
    let pat = fake.get("personal access token").to_owned();

    let user = user_with(&[("JIRA_AUTH_PAT", "garbage-pat")]);
    let audit = user.run(&["audit", "--url", &url, "--pat"], None);
    assert_eq!(audit.code, 3, "{}", audit.transcript());
    assert_eq!(
        audit.stderr,
        format!(
            "error: cannot ask {url}/rest/api/2/serverInfo which Jira this is, so nothing was audited: check the URL and the credential, or pass `--deployment cloud` or `--deployment data-center`\n  caused by: GET {url}/rest/api/2/serverInfo answered 401: You are not authenticated. Authentication required to perform this operation.\n"
        )
    );

    let user = user_with(&[("JIRA_AUTH_PAT", &pat)]);
    let audit = user.run(&["audit", "--url", &url, "--pat"], None);
    assert!(audit.code == 0 || audit.code == 1, "{}", audit.transcript());
    assert!(
        audit.stdout.contains("PASS") || audit.stdout.contains("FAIL"),
        "{}",
        audit.transcript()
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
