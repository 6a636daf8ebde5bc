//! Crash safety of refresh-token rotation: `cloud refresh` and `cloud token` are SIGKILLed at
//! each step of a rotation (the binary's debug-only pause points, see
//! `jira_auth_cloud::fault`), then run again, right away or 11 minutes later on the fake's clock
//! (past Atlassian's 10-minute reuse window). After every run the profile must be whole JSON
//! and, whenever the new token set reached the disk, the family must still work.
//!
//! The one exposed window is between the arrival of the token response and the end of the
//! write-ahead record (`after-response`, `mid-pending-write`): there only the old refresh token
//! is on disk, so a rerun inside the reuse window recovers and a rerun after it finds the family
//! revoked. Both outcomes are asserted, so a change in either direction fails this test.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::CloudEnv;
use jira_auth_test::cloud::FakeConfig;
use jira_auth_test::context::now;
use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

/// Runs `args` with the pause point `step`, waits for its marker on stderr, then SIGKILLs it.
/// Returns the stderr read up to the marker.
fn kill_at(env: &CloudEnv, args: &[&str], step: &str) -> String {
    let mut cmd = env.command(args);
    cmd.env("JIRA_AUTH_TEST_PAUSE_AT", step)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap(); // held open: the child blocks on it
    let marker = format!("jira-auth: paused at {step}");
    let mut seen = String::new();
    let mut reached = false;
    // Bounded: either the marker comes or the child exits and stderr ends.
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line == marker {
            reached = true;
            break;
        }
    }
    assert!(
        reached,
        "`{}` never reached `{step}`:\n{seen}",
        args.join(" ")
    );
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "killed by a signal");
    drop(stdin);
    seen
}

/// The profile file parses and its cloud section has every field; the profiles directory holds
/// nothing but `<name>.json` and `<name>.lock` (no write-ahead record, no temp file).
fn assert_whole(env: &CloudEnv) -> serde_json::Value {
    let text = std::fs::read_to_string(env.config_dir().join("profiles/default.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).expect("the profile is whole JSON");
    for field in ["access_token", "refresh_token", "client_secret", "cloud_id"] {
        assert!(v["cloud"][field].is_string(), "{field} in {text}");
    }
    v
}

fn leftovers(env: &CloudEnv) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(env.config_dir().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "default.json" && n != "default.lock")
        .collect();
    names.sort();
    names
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The rerun succeeded and the stored refresh token is the live one of a working family.
    Working,
    /// The rerun failed with exit 3: the family is revoked (only inside the exposed window,
    /// rerun after the reuse window).
    FamilyLost,
}

struct Row {
    command: &'static str,
    step: &'static str,
    later: bool,
    recovered_by: &'static str,
    outcome: Outcome,
    token_requests: usize,
}

/// What each kill point must end in, and how.
fn expected(step: &str, later: bool) -> (Outcome, &'static str) {
    match (step, later) {
        ("before-request", _) => (Outcome::Working, "old token, never spent"),
        ("after-response" | "mid-pending-write", false) => {
            (Outcome::Working, "old token reused inside the window")
        }
        ("after-response" | "mid-pending-write", true) => (Outcome::FamilyLost, "-"),
        ("pending-written", _) => (Outcome::Working, "write-ahead record"),
        ("profile-saved", _) => (Outcome::Working, "profile already saved"),
        _ => unreachable!("{step}"),
    }
}

async fn scenario(command: &'static str, step: &'static str, later: bool) -> Row {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy"]).await;
    if command == "token" {
        env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    }
    let before = assert_whole(&env);
    let requests_before = env.fake.token_requests().await.len();

    let stderr = kill_at(&env, &["cloud", command], step);
    // What was on disk when the process died: the old profile or the new, never a mix.
    let after_kill = assert_whole(&env);
    if matches!(
        step,
        "before-request" | "after-response" | "mid-pending-write" | "pending-written"
    ) {
        assert_eq!(
            after_kill, before,
            "{step}: the profile is untouched until it is replaced"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");

    if later {
        env.fake.advance(Duration::from_secs(11 * 60));
    }
    let args = ["cloud", command];
    let rerun = env.run(&args, None);
    let after = assert_whole(&env);
    assert_eq!(
        leftovers(&env),
        Vec::<String>::new(),
        "{step}: no record or temp file left"
    );
    let (want, recovered_by) = expected(step, later);
    let outcome = if rerun.code == 0 {
        let rt = after["cloud"]["refresh_token"].as_str().unwrap();
        assert!(
            env.fake.refresh_token_is_live(rt),
            "{step}: stored token is live"
        );
        if command == "token" {
            assert_eq!(
                rerun.stdout,
                format!("{}\n", after["cloud"]["access_token"].as_str().unwrap())
            );
        }
        // The family really works: one more rotation succeeds.
        let again = env.run(&["cloud", "refresh"], None);
        assert_eq!(again.code, 0, "{step}: {}", again.transcript());
        Outcome::Working
    } else {
        assert_eq!(rerun.code, 3, "{}", rerun.transcript());
        assert_eq!(
            rerun.stderr,
            "error: the token family is no longer valid (expired, revoked or reused): run `jira-auth cloud login` again (server said invalid_grant: Unknown or invalid refresh token.)\n"
        );
        assert_eq!(
            after, before,
            "a failed refresh leaves the profile as it was"
        );
        Outcome::FamilyLost
    };
    assert_eq!(
        outcome,
        want,
        "`cloud {command}` killed at {step}, rerun {}: {}",
        if later { "after 11 min" } else { "at once" },
        rerun.transcript()
    );
    Row {
        command,
        step,
        later,
        recovered_by,
        outcome,
        token_requests: env.fake.token_requests().await.len() - requests_before,
    }
}

async fn all_steps(command: &'static str) {
    let mut rows = Vec::new();
    for step in jira_auth_cloud::fault::STEPS {
        for later in [false, true] {
            rows.push(scenario(command, step, later).await);
        }
    }
    println!("measured: SIGKILL during `cloud {command}`, then a rerun");
    println!(
        "{:<18} {:<14} {:<11} {:<38} token requests",
        "killed at", "rerun", "outcome", "recovered by"
    );
    for r in &rows {
        println!(
            "{:<18} {:<14} {:<11} {:<38} {}",
            r.step,
            if r.later { "after 11 min" } else { "at once" },
            format!("{:?}", r.outcome),
            r.recovered_by,
            r.token_requests
        );
        assert_eq!(r.command, command);
    }
    assert_eq!(rows.len(), 10);
}

#[tokio::test]
async fn refresh_killed_at_every_step_leaves_a_whole_profile_and_a_working_family() {
    all_steps("refresh").await;
}

#[tokio::test]
async fn token_killed_at_every_step_leaves_a_whole_profile_and_a_working_family() {
    all_steps("token").await;
}

#[tokio::test]
async fn a_record_left_by_a_killed_refresh_is_used_without_a_token_request() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy"]).await;
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    kill_at(&env, &["cloud", "token"], "pending-written");
    let record = env.config_dir().join("profiles/default.pending");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&record).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the record holds secrets");
    }
    let pending: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let requests = env.fake.token_requests().await.len();
    env.fake.advance(Duration::from_secs(60 * 60));
    let run = env.run(&["cloud", "token"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        run.stdout,
        format!("{}\n", pending["cloud"]["access_token"].as_str().unwrap())
    );
    assert_eq!(
        env.fake.token_requests().await.len(),
        requests,
        "no token request"
    );
    assert_eq!(env.profile("default")["cloud"], pending["cloud"]);
    assert!(!record.exists());
}

#[tokio::test]
async fn export_after_a_killed_refresh_hands_out_the_new_refresh_token_not_the_spent_one() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy"]).await;
    let spent = env.profile("default")["cloud"]["refresh_token"].clone();
    kill_at(&env, &["cloud", "refresh"], "pending-written");
    let run = env.run(&["cloud", "export", "--format", "env"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let live = env.profile("default")["cloud"]["refresh_token"].clone();
    assert_ne!(live, spent);
    assert!(env.fake.refresh_token_is_live(live.as_str().unwrap()));
    assert!(
        run.stdout.contains(live.as_str().unwrap()),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains(spent.as_str().unwrap()),
        "{}",
        run.stdout
    );
    assert_eq!(leftovers(&env), Vec::<String>::new());
}

/// The store's own write cannot be paused from here (it is the core crate's `write_atomically`):
/// a kill inside it leaves the old profile and a half-written `.default.json.<12 hex>.tmp`
/// beside it. Recreate exactly that state and check the next run.
#[tokio::test]
async fn a_half_written_profile_temp_file_is_ignored_then_removed() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy"]).await;
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    let before = assert_whole(&env);
    let profiles = env.config_dir().join("profiles");
    let text = std::fs::read(profiles.join("default.json")).unwrap();
    let tmp = profiles.join(".default.json.0123456789ab.tmp");
    std::fs::write(&tmp, &text[..text.len() / 2]).unwrap();
    let run = env.run(&["cloud", "token"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let after = assert_whole(&env);
    assert_ne!(
        after["cloud"]["refresh_token"],
        before["cloud"]["refresh_token"]
    );
    assert!(
        env.fake
            .refresh_token_is_live(after["cloud"]["refresh_token"].as_str().unwrap())
    );
    assert_eq!(leftovers(&env), Vec::<String>::new());
}

/// The config dir on a small filesystem that a test can fill: a real 512 KiB tmpfs when this
/// process may mount one (root on Linux), else the binary's simulated full disk
/// (`JIRA_AUTH_TEST_DISK_FULL_AT`, debug builds), which fails every write needing new space.
enum Disk {
    Tmpfs { dir: std::path::PathBuf },
    Simulated,
}

impl Disk {
    /// Both kinds where this machine allows a tmpfs, else the simulated one alone.
    fn kinds() -> Vec<bool> {
        vec![true, false]
    }

    fn under(env: &CloudEnv, real: bool) -> Self {
        let dir = env.config_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = real
            && std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs"])
                .arg(&dir)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if mounted {
            Disk::Tmpfs { dir }
        } else {
            if real {
                println!("cannot mount a tmpfs here: using the simulated full disk");
            }
            Disk::Simulated
        }
    }

    /// Fills the filesystem (tmpfs) or asks the binary to behave as on a full disk from `step`.
    fn fill_from(&self, cmd: &mut std::process::Command, step: &str) {
        match self {
            Disk::Tmpfs { .. } if step == "start" => self.fill(),
            Disk::Tmpfs { .. } => {}
            Disk::Simulated => {
                cmd.env("JIRA_AUTH_TEST_DISK_FULL_AT", step);
            }
        }
    }

    fn fill(&self) {
        use std::io::Write;
        let Disk::Tmpfs { dir } = self else { return };
        let mut f = std::fs::File::create(dir.join("filler")).unwrap();
        let chunk = [0u8; 4096];
        // Bounded by the filesystem's 512 KiB.
        while f.write_all(&chunk).and_then(|()| f.sync_all()).is_ok() {}
        // What is left is smaller than one block.
        while f
            .write_all(&chunk[..64])
            .and_then(|()| f.sync_all())
            .is_ok()
        {}
    }

    fn free(&self) {
        if let Disk::Tmpfs { dir } = self {
            std::fs::remove_file(dir.join("filler")).unwrap();
        }
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        if let Disk::Tmpfs { dir } = self {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(dir)
                .status();
        }
    }
}

/// Runs `cmd` to its end, pausing at `step` first when given (then filling the disk), and returns
/// the exit code and stderr.
fn run_filling_at(disk: &Disk, mut cmd: std::process::Command, step: &str) -> (i32, String) {
    use std::io::Read;
    disk.fill_from(&mut cmd, step);
    if step == "start" {
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        return (
            out.status.code().unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
    }
    cmd.env("JIRA_AUTH_TEST_PAUSE_AT", step)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut marker = String::new();
    stderr.read_line(&mut marker).unwrap();
    assert_eq!(marker, format!("jira-auth: paused at {step}\n"));
    disk.fill();
    drop(stdin); // the run goes on
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    (child.wait().unwrap().code().unwrap(), rest)
}

/// The profile's refresh token and the whole file.
fn stored_refresh_token(env: &CloudEnv) -> (String, String) {
    let text = std::fs::read_to_string(env.config_dir().join("profiles/default.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    (
        v["cloud"]["refresh_token"].as_str().unwrap().to_owned(),
        text,
    )
}

#[tokio::test]
async fn on_a_full_disk_refresh_spends_no_token_and_says_the_login_is_still_good() {
    for real in Disk::kinds() {
        on_a_full_disk_refresh_spends_no_token_and_says_the_login_is_still_good_on(real).await;
    }
}

async fn on_a_full_disk_refresh_spends_no_token_and_says_the_login_is_still_good_on(real: bool) {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let disk = Disk::under(&env, real);
    env.logged_in(&["--preset", "psoxy"]).await;
    let (rt, before) = stored_refresh_token(&env);
    let requests = env.fake.token_requests().await.len();

    let (code, stderr) = run_filling_at(&disk, env.command(&["cloud", "refresh"]), "start");
    assert_eq!(code, 2, "{stderr}");
    let mut lines = stderr.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "error: jira-auth cannot reserve the disk space to keep a rotated refresh token, so none was requested: the stored login of profile `default` is unchanged and still good; free disk space under `{}` and run the command again",
            env.config_dir().display()
        )
    );
    assert_eq!(
        lines.next().unwrap(),
        format!(
            "  caused by: reserving space for `{}/profiles/default.pending` failed: No space left on device (os error 28)",
            env.config_dir().display()
        )
    );
    assert_eq!(lines.next(), None, "{stderr}");
    assert_eq!(
        env.fake.token_requests().await.len(),
        requests,
        "no token request"
    );
    assert_eq!(stored_refresh_token(&env).1, before);
    assert!(env.fake.refresh_token_is_live(&rt));

    // `cloud token` with an expired access token takes the same path.
    disk.free();
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    let (code, stderr) = run_filling_at(&disk, env.command(&["cloud", "token"]), "start");
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with("error: jira-auth cannot reserve the disk space to keep a rotated refresh token, so none was requested"),
        "{stderr}"
    );
    assert_eq!(
        env.fake.token_requests().await.len(),
        requests,
        "no token request"
    );
    assert!(env.fake.refresh_token_is_live(&rt));

    disk.free();
    let run = env.run(&["cloud", "refresh"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        env.fake
            .refresh_token_is_live(&stored_refresh_token(&env).0)
    );
    assert_eq!(leftovers(&env), Vec::<String>::new());
}

#[tokio::test]
async fn a_disk_that_fills_after_the_response_still_keeps_the_rotated_token() {
    for real in Disk::kinds() {
        a_disk_that_fills_after_the_response_still_keeps_the_rotated_token_on(real).await;
    }
}

async fn a_disk_that_fills_after_the_response_still_keeps_the_rotated_token_on(real: bool) {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let disk = Disk::under(&env, real);
    env.logged_in(&["--preset", "psoxy"]).await;
    let (rt, _) = stored_refresh_token(&env);

    let (code, stderr) =
        run_filling_at(&disk, env.command(&["cloud", "refresh"]), "after-response");
    assert_eq!(code, 0, "{stderr}");
    let (new_rt, _) = stored_refresh_token(&env);
    assert_ne!(new_rt, rt);
    assert!(env.fake.refresh_token_is_live(&new_rt));
    disk.free();
    assert_eq!(leftovers(&env), Vec::<String>::new());
}

#[tokio::test]
async fn a_rotated_token_that_cannot_be_saved_is_an_error_naming_the_reuse_window() {
    for real in Disk::kinds() {
        a_rotated_token_that_cannot_be_saved_is_an_error_naming_the_reuse_window_on(real).await;
    }
}

async fn a_rotated_token_that_cannot_be_saved_is_an_error_naming_the_reuse_window_on(real: bool) {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let disk = Disk::under(&env, real);
    env.logged_in(&["--preset", "psoxy"]).await;
    let (rt, before) = stored_refresh_token(&env);
    // Tokens far larger than the ones stored: the space held for them is not enough.
    env.fake.pad_tokens(64 * 1024);

    let started = now();
    let (code, stderr) =
        run_filling_at(&disk, env.command(&["cloud", "refresh"]), "after-response");
    let ended = now();
    assert_eq!(code, 2, "{stderr}");
    let first = stderr.lines().next().unwrap();
    let (head, tail) = first
        .split_once("usable until about ")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(
        head,
        "error: Atlassian rotated the refresh token but jira-auth could not save the new one (4 attempts): the stored refresh token stays "
    );
    let (until, advice) = tail.split_once(' ').unwrap();
    let until = humantime::parse_rfc3339(until).unwrap();
    let until = until
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((started + 600..=ended + 600).contains(&until), "{stderr}");
    assert_eq!(
        advice,
        format!(
            "(Atlassian's 10-minute reuse window); free disk space under `{}` and run `jira-auth cloud refresh` before then, else `jira-auth cloud login` again",
            env.config_dir().display()
        )
    );
    assert!(
        stderr.contains("No space left on device (os error 28)"),
        "{stderr}"
    );
    assert!(!stderr.contains("rt-"), "no token in the message: {stderr}");
    assert_eq!(stored_refresh_token(&env).1, before, "the old login stays");

    // Inside the window the old token still works once space is free.
    disk.free();
    assert!(env.fake.refresh_token_is_live(&rt));
    let run = env.run(&["cloud", "refresh"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        env.fake
            .refresh_token_is_live(&stored_refresh_token(&env).0)
    );
}

#[tokio::test]
async fn on_a_full_disk_login_spends_no_code() {
    for real in Disk::kinds() {
        let env = CloudEnv::start(FakeConfig::default()).await;
        let disk = Disk::under(&env, real);
        let mut cmd = env.command(&[
            "cloud",
            "login",
            "--no-browser",
            "--paste",
            "--preset",
            "psoxy",
        ]);
        disk.fill_from(&mut cmd, "start");
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(b"code-pasted-0123456789\n").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        let error = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert_eq!(
            error,
            format!(
                "error: jira-auth cannot reserve the disk space to save a login, so the consent was not used: free disk space under `{}` and run `jira-auth cloud login --preset psoxy` again",
                env.config_dir().display()
            )
        );
        assert!(
            env.fake.token_requests().await.is_empty(),
            "the code was not exchanged"
        );
        disk.free();
    }
}
