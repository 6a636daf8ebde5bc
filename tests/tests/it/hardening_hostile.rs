//! Every command that talks to a server (logins included), against every way a hostile server can answer
//! (`jira_auth_test::hostile`): each run ends within its bound, with a documented exit code
//! (0 to 4, never a panic), and prints none of the credentials it sent; stderr shows none of
//! the tokens the server sent either.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{TestContext, now};
use jira_auth_test::hostile::{HostileServer, Misbehaviour};
use std::path::Path;
use std::time::{Duration, Instant};

const CLIENT_SECRET: &str = "cs-SENT-2f9c0d7e4b1a";
const ACCESS_TOKEN: &str = "at-SENT-8e1f2a3b4c5d";
const REFRESH_TOKEN: &str = "rt-SENT-7a6b5c4d3e2f";
const PAT: &str = "pat-SENT-1a2b3c4d5e6f";
const CODE: &str = "code-SENT-9f8e7d6c5b4a";
/// The command line's per-request timeout and deadline for these runs (seconds).
const REQUEST_TIMEOUT: u64 = 1;
const DEADLINE: u64 = 3;
/// A run's bound: the deadline, plus the start and end of a debug binary on a loaded machine.
const BOUND: Duration = Duration::from_secs(DEADLINE + 9);

fn write_profile(dir: &Path, name: &str, document: serde_json::Value) {
    let path = dir.join(format!("profiles/{name}.json"));
    jira_auth_core::store::create_private_dir(path.parent().unwrap()).unwrap();
    jira_auth_core::store::write_atomically(&path, document.to_string().as_bytes()).unwrap();
}

fn cloud_section(url: &str, access_expires_at: i64) -> serde_json::Value {
    serde_json::json!({
        "client_id": "cid-hostile",
        "client_secret": CLIENT_SECRET,
        "access_token": ACCESS_TOKEN,
        "access_expires_at": access_expires_at,
        "refresh_token": REFRESH_TOKEN,
        "scopes": ["read:jira-work", "read:jira-user", "offline_access"],
        "requested_scopes": ["read:jira-work", "read:jira-user", "offline_access"],
        "cloud_id": "c-1",
        "site_url": "https://hostile.atlassian.net",
        "site_name": "hostile",
        "family_started_at": now() - 60,
        "last_refreshed_at": now() - 60,
        "auth_url": url,
        "api_url": url,
        "redirect_uri": "http://localhost:13131"
    })
}

/// Profiles `expired` and `fresh` (Cloud) and `pat` (Data Center) pointing at `url`.
fn profiles(dir: &Path, url: &str) {
    write_profile(
        dir,
        "expired",
        serde_json::json!({"version": 1, "cloud": cloud_section(url, now() - 10)}),
    );
    write_profile(
        dir,
        "fresh",
        serde_json::json!({"version": 1, "cloud": cloud_section(url, now() + 3600)}),
    );
    write_profile(
        dir,
        "pat",
        serde_json::json!({"version": 1, "server": {
            "url": url,
            "credential": {"type": "pat", "token": PAT},
            "logged_in_at": "2026-11-30T00:00:00Z"
        }}),
    );
}

const COMMANDS: &[&[&str]] = &[
    &["--profile", "expired", "cloud", "token"],
    &["--profile", "fresh", "cloud", "refresh"],
    // With debug logs: log lines pass through the same masking as errors.
    &["-vv", "--profile", "fresh", "cloud", "sites"],
    &["--profile", "fresh", "audit", "--format", "json"],
    &["-vv", "--profile", "pat", "server", "status"],
    &[
        "--profile",
        "pat",
        "server",
        "request",
        "/rest/api/2/myself",
    ],
    &["--profile", "pat", "audit", "--format", "json"],
    // `{url}` is the hostile server's; the code is pasted on stdin.
    &[
        "--profile",
        "new-cloud",
        "cloud",
        "login",
        "--no-browser",
        "--paste",
        "--scope",
        "read:jira-work",
        "--auth-url",
        "{url}",
        "--api-url",
        "{url}",
    ],
    &[
        "--profile",
        "new-server",
        "server",
        "login",
        "--pat",
        "--url",
        "{url}",
    ],
];

struct Outcome {
    misbehaviour: Misbehaviour,
    command: String,
    code: Option<i32>,
    elapsed: Duration,
    stdout: String,
    stderr: String,
}

async fn run(misbehaviour: Misbehaviour, url: String, ctx: &TestContext, args: &[&str]) -> Outcome {
    let args: Vec<String> = args.iter().map(|a| a.replace("{url}", &url)).collect();
    let started = Instant::now();
    let mut child = tokio::process::Command::from(ctx.command(&args))
        .env("JIRA_AUTH_REQUEST_TIMEOUT", REQUEST_TIMEOUT.to_string())
        .env("JIRA_AUTH_DEADLINE", DEADLINE.to_string())
        .env("JIRA_AUTH_CLIENT_ID", "cid-hostile")
        .env("JIRA_AUTH_CLIENT_SECRET", CLIENT_SECRET)
        .env("JIRA_AUTH_PAT", PAT)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(format!("{CODE}\n").as_bytes()).await;
    }
    let out = child.wait_with_output();
    // Far past the bound: a hang fails the assertion below instead of the whole test binary.
    let out = tokio::time::timeout(BOUND * 3, out).await;
    let elapsed = started.elapsed();
    let (code, stdout, stderr) = match out {
        Ok(out) => {
            let out = out.unwrap();
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
        Err(_) => (None, String::new(), "(killed: no end)".to_owned()),
    };
    Outcome {
        misbehaviour,
        command: args.join(" "),
        code,
        elapsed,
        stdout,
        stderr,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_against_every_misbehaviour_ends_in_bound_with_a_documented_code_and_no_secret()
 {
    // Built (if need be) before anything is timed.
    let _ = jira_auth_test::binary::jira_auth();
    let mut outcomes = Vec::new();
    for chunk in Misbehaviour::ALL.chunks(4) {
        let mut servers = Vec::new();
        for &m in chunk {
            let server = HostileServer::start(m).await.unwrap();
            let ctx = TestContext::new();
            profiles(&ctx.config_dir(), &server.url());
            servers.push((m, server, ctx));
        }
        let runs = servers.iter().flat_map(|(m, server, ctx)| {
            COMMANDS
                .iter()
                .map(move |args| run(*m, server.url(), ctx, args))
        });
        // One at a time: the runs of one misbehaviour share its profiles.
        for r in runs {
            outcomes.push(r.await);
        }
    }

    println!("measured: {} runs", outcomes.len());
    println!(
        "{:<18} {:<48} {:>4} {:>8}",
        "misbehaviour", "command", "exit", "seconds"
    );
    let mut failures = Vec::new();
    for o in &outcomes {
        println!(
            "{:<18} {:<48} {:>4} {:>8.2}",
            format!("{:?}", o.misbehaviour),
            o.command,
            o.code.map_or("-".to_owned(), |c| c.to_string()),
            o.elapsed.as_secs_f64()
        );
        let mut problems = Vec::new();
        if !matches!(o.code, Some(0..=4)) {
            problems.push(format!("exit code {:?}", o.code));
        }
        if o.elapsed > BOUND {
            problems.push(format!("took {:?}", o.elapsed));
        }
        if o.stderr.contains("panicked") {
            problems.push("panicked".to_owned());
        }
        for secret in [CLIENT_SECRET, ACCESS_TOKEN, REFRESH_TOKEN, PAT, CODE] {
            if o.stdout.contains(secret) || o.stderr.contains(secret) {
                problems.push(format!("printed `{secret}`"));
            }
        }
        if o.stderr.contains("HOSTILE") {
            problems.push("stderr shows a token the server sent".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{:?} `{}`: {}\n--- stdout\n{}--- stderr\n{}",
                o.misbehaviour,
                o.command,
                problems.join(", "),
                o.stdout,
                o.stderr
            ));
        }
    }
    assert_eq!(
        outcomes.len(),
        Misbehaviour::ALL.len() * COMMANDS.len(),
        "every pair ran"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
