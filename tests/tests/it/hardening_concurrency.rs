//! Concurrency: many `cloud token` processes on one expired profile spend the refresh token
//! once; work on one profile never waits for another profile's lock.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::CloudEnv;
use jira_auth_test::cloud::FakeConfig;
use jira_auth_test::context::now;
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Stdio};
use std::time::Instant;

fn spawn(env: &CloudEnv, args: &[&str]) -> Child {
    let mut cmd = env.command(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

fn finish(child: Child) -> (i32, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Starts `args` paused at `step` (holding the profile lock there) and returns it with its
/// stdin: dropping the stdin lets it go on.
fn paused(env: &CloudEnv, args: &[&str], step: &str) -> (Child, std::process::ChildStdin) {
    let mut cmd = env.command(args);
    cmd.env("JIRA_AUTH_TEST_PAUSE_AT", step)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(line, format!("jira-auth: paused at {step}\n"));
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stderr.read_to_string(&mut rest);
    });
    (child, stdin)
}

/// `GET /ex/jira/{cloudId}/rest/api/3/myself` with the token: the fake answers 200 only for a
/// live access token.
fn myself_status(env: &CloudEnv, cloud_id: &str, token: &str) -> u16 {
    let url = url::Url::parse(&env.fake.api_url()).unwrap();
    let mut stream =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    write!(
        stream,
        "GET /ex/jira/{cloud_id}/rest/api/3/myself HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response[9..12].parse().unwrap()
}

async fn expired_login(env: &CloudEnv, profile: &str) {
    env.logged_in(&["--profile", profile, "--preset", "psoxy"])
        .await;
    env.edit_profile(profile, |c| c["access_expires_at"] = json!(now() - 10));
}

fn assert_sixteen_got_one_token(env: &CloudEnv, runs: Vec<(i32, String, String)>) {
    let stored = env.profile("default")["cloud"].clone();
    let token = stored["access_token"].as_str().unwrap();
    for (code, stdout, stderr) in &runs {
        assert_eq!(*code, 0, "{stderr}");
        assert_eq!(stdout, &format!("{token}\n"));
        assert_eq!(stderr, "", "no reuse error, no warning");
    }
    assert_eq!(runs.len(), 16);
    assert_eq!(
        myself_status(env, stored["cloud_id"].as_str().unwrap(), token),
        200,
        "the printed token works"
    );
    assert!(
        env.fake
            .refresh_token_is_live(stored["refresh_token"].as_str().unwrap())
    );
}

#[tokio::test]
async fn sixteen_simultaneous_token_processes_make_exactly_one_refresh_request() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    expired_login(&env, "default").await;
    let before = env.fake.token_requests().await.len();
    let started = Instant::now();
    let children: Vec<Child> = (0..16).map(|_| spawn(&env, &["cloud", "token"])).collect();
    let runs = children.into_iter().map(finish).collect();
    let elapsed = started.elapsed();
    assert_eq!(
        env.fake.token_requests().await.len() - before,
        1,
        "exactly one refresh request"
    );
    assert_sixteen_got_one_token(&env, runs);
    println!("measured: 16 concurrent `cloud token` on an expired token: {elapsed:?}, 1 refresh");
}

#[tokio::test]
async fn fifteen_processes_queued_behind_a_refresh_in_flight_reuse_its_result() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    expired_login(&env, "default").await;
    let before = env.fake.token_requests().await.len();
    // The first holds the lock with the request not yet sent; the others start meanwhile.
    let (first, stdin) = paused(&env, &["cloud", "token"], "before-request");
    let others: Vec<Child> = (0..15).map(|_| spawn(&env, &["cloud", "token"])).collect();
    assert_eq!(env.fake.token_requests().await.len(), before);
    drop(stdin);
    let mut runs = vec![finish(first)];
    // The first's stderr was taken; its stdout and exit code are what matter.
    runs[0].2 = String::new();
    runs.extend(others.into_iter().map(finish));
    assert_eq!(env.fake.token_requests().await.len() - before, 1);
    assert_sixteen_got_one_token(&env, runs);
}

#[tokio::test]
async fn a_refresh_stuck_on_one_profile_does_not_stall_another() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    expired_login(&env, "default").await;
    expired_login(&env, "other").await;
    // `default` holds its lock, stopped before its request, for as long as the test wants.
    let (stuck, stdin) = paused(&env, &["cloud", "token"], "before-request");
    let started = Instant::now();
    let run = env.run(&["--profile", "other", "cloud", "token"], None);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.transcript());
    let other = env.profile("other")["cloud"].clone();
    assert_eq!(
        run.stdout,
        format!("{}\n", other["access_token"].as_str().unwrap())
    );
    // And both profiles' families live: run them in parallel the other way round too.
    drop(stdin);
    let (code, stdout, _) = finish(stuck);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        format!(
            "{}\n",
            env.profile("default")["cloud"]["access_token"]
                .as_str()
                .unwrap()
        )
    );
    let a = spawn(&env, &["cloud", "refresh"]);
    let b = spawn(&env, &["--profile", "other", "cloud", "refresh"]);
    assert_eq!(finish(a).0, 0);
    assert_eq!(finish(b).0, 0);
    println!("measured: `cloud token --profile other` while `default` is locked: {elapsed:?}");
}
