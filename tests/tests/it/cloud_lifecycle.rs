//! After `cloud login`: `token`, `refresh`, `sites`, `status`, `export`, `logout`, end to end.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::{CloudEnv, FILTERS};
use jira_auth_test::cloud::FakeConfig;
use jira_auth_test::context::now;
use serde_json::json;
use std::time::Duration;

async fn logged_in(config: FakeConfig) -> CloudEnv {
    let env = CloudEnv::start(config).await;
    env.logged_in(&["--preset", "psoxy"]).await;
    env
}

#[tokio::test]
async fn token_with_a_valid_token_makes_no_call_and_is_fast() {
    let env = logged_in(FakeConfig::default()).await;
    let before = env.fake.api_call_count().await;
    let stored = env.profile("default")["cloud"]["access_token"].clone();
    let mut fastest = Duration::MAX;
    for _ in 0..5 {
        let run = env.run(&["cloud", "token"], None);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert_eq!(run.stdout, format!("{}\n", stored.as_str().unwrap()));
        assert_eq!(run.stderr, "");
        fastest = fastest.min(run.elapsed);
    }
    assert_eq!(env.fake.api_call_count().await, before, "0 network calls");
    println!("measured: `cloud token` with a valid token, fastest of 5 process runs: {fastest:?}");
}

#[tokio::test]
async fn token_refreshes_once_when_under_five_minutes_remain_and_persists_the_rotation() {
    let env = logged_in(FakeConfig::default()).await;
    let old = env.profile("default")["cloud"].clone();
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() + 120));
    let before = env.fake.token_requests().await.len();
    let run = env.run(&["cloud", "token"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        env.fake.token_requests().await.len(),
        before + 1,
        "exactly 1 token request"
    );
    assert_eq!(
        env.fake.api_requests().await.len(),
        1,
        "only login's accessible-resources"
    );
    let new = env.profile("default")["cloud"].clone();
    assert_eq!(
        run.stdout,
        format!("{}\n", new["access_token"].as_str().unwrap())
    );
    assert_ne!(new["access_token"], old["access_token"]);
    assert_ne!(new["refresh_token"], old["refresh_token"]);
    assert!(
        env.fake
            .refresh_token_is_live(new["refresh_token"].as_str().unwrap())
    );
    let body = String::from_utf8(env.fake.token_requests().await.pop().unwrap().body).unwrap();
    assert_eq!(
        body,
        format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
            old["refresh_token"].as_str().unwrap(),
            env.fake.client_id(),
            env.fake.client_secret()
        )
    );
    // And now it is valid again: no further call.
    env.run(&["cloud", "token"], None);
    assert_eq!(env.fake.token_requests().await.len(), before + 1);
}

#[tokio::test]
async fn refresh_rotates_and_says_so() {
    let env = logged_in(FakeConfig::default()).await;
    let run = env.run(&["cloud", "refresh"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 0);
}

#[tokio::test]
async fn refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let env = logged_in(FakeConfig {
        omit_refresh_token_on_refresh: true,
        ..FakeConfig::default()
    })
    .await;
    let old = env.profile("default")["cloud"]["refresh_token"].clone();
    let run = env.run(&["cloud", "refresh"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "", "narration goes to stderr");
    assert!(
        run.stderr
            .ends_with("the server sent no new refresh token, the old one stays\n"),
        "{}",
        run.transcript()
    );
    assert_eq!(env.profile("default")["cloud"]["refresh_token"], old);
}

#[tokio::test]
async fn a_reused_refresh_token_past_ten_minutes_ends_the_family_with_exit_3() {
    let env = logged_in(FakeConfig::default()).await;
    let old = env.profile("default")["cloud"].clone();
    assert_eq!(env.run(&["cloud", "refresh"], None).code, 0);
    // Someone restores an old copy of the profile (a backup, a copied secret) 11 minutes later.
    env.fake.advance(Duration::from_secs(11 * 60));
    env.edit_profile("default", |c| *c = old.clone());
    let run = env.run(&["cloud", "refresh"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 3);
    assert!(
        env.fake
            .family_revoked(old["refresh_token"].as_str().unwrap())
    );
}

#[tokio::test]
async fn unauthorized_client_on_refresh_is_the_same_family_error() {
    let env = logged_in(FakeConfig::default()).await;
    env.fake.set_refresh_error(Some((
        403,
        json!({"error": "unauthorized_client", "error_description": "refresh_token is invalid"}),
    )));
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    let run = env.run(&["cloud", "token"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout, "", "no token printed");
}

#[tokio::test]
async fn sites_lists_a_table_or_json() {
    let env = logged_in(FakeConfig::default()).await;
    env.fake.set_sites_scenario("sites-three");
    let run = env.run(&["cloud", "sites"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    let run = env.run(&["cloud", "sites", "--json"], None);
    let sites: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(sites.as_array().unwrap().len(), 3);
    assert_eq!(sites[2]["id"], "c0ffee00-1234-4abc-8def-0123456789ab");
}

/// `profiles` lists every profile with its login, state and expiry, and marks the one
/// `JIRA_AUTH_PROFILE` selects; a profile that cannot be read is shown, not fatal.
#[tokio::test]
async fn profiles_lists_every_login_and_marks_the_active_one() {
    let env = logged_in(FakeConfig::default()).await;
    env.logged_in(&["--scope", "read:jira-work", "--profile", "g2"])
        .await;
    env.edit_profile("g2", |c| {
        c["family_started_at"] = json!(now() - 366 * 86_400);
    });
    let family_end = env.profile("default")["cloud"]["family_started_at"]
        .as_i64()
        .unwrap()
        + 365 * 86_400;
    let mut cmd = env.command(&["profiles", "--json"]);
    cmd.env("JIRA_AUTH_PROFILE", "g2");
    let run = jira_auth_test::context::run(cmd, None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["active"], "g2");
    let names: Vec<_> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].clone(), p["active"].clone()))
        .collect();
    assert_eq!(
        names,
        [(json!("default"), json!(false)), (json!("g2"), json!(true))]
    );
    let default = &v["profiles"][0]["sections"][0];
    assert_eq!(default["section"], "cloud");
    assert_eq!(default["kind"], "OAuth 2.0 (3LO)");
    assert_eq!(default["site"], "https://acme.atlassian.net");
    assert_eq!(default["state"], "usable");
    let end = default["expires_at"].as_str().unwrap().to_owned();
    assert!(
        end.ends_with('Z') && end.len() == 20,
        "{end} for {family_end}"
    );
    assert_eq!(v["profiles"][1]["sections"][0]["state"], "new login needed");

    let text = env.run(&["profiles", "--profile", "g2"], None);
    assert_eq!(text.code, 0);
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(
        lines[0].starts_with("  PROFILE  SECTION  KIND"),
        "{}",
        text.stdout
    );
    assert!(
        lines[1]
            .starts_with("  default  cloud    OAuth 2.0 (3LO)  https://acme.atlassian.net  usable"),
        "{}",
        text.stdout
    );
    assert!(
        lines[2].starts_with(
            "* g2       cloud    OAuth 2.0 (3LO)  https://acme.atlassian.net  new login needed"
        ),
        "{}",
        text.stdout
    );
    assert_eq!(
        lines[3],
        "active profile: g2 (`--profile NAME` or `JIRA_AUTH_PROFILE` chooses another)"
    );

    std::fs::write(env.config_dir().join("profiles/broken.json"), "{").unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(
        env.config_dir().join("profiles/broken.json"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let run = env.run(&["profiles", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["profiles"][0]["name"], "broken");
    assert!(
        v["profiles"][0]["error"]
            .as_str()
            .unwrap()
            .contains("is not a valid jira-auth profile")
    );
}

/// `--json` without a login is still JSON on stdout, with the exit code of the error.
#[tokio::test]
async fn status_json_without_a_login_prints_a_json_error_and_keeps_the_exit_code() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let run = env.run(&["cloud", "status", "--json", "--profile", "g2"], None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        v,
        json!({
            "profile": "g2",
            "error": "profile `g2` has no Jira Cloud login: run `jira-auth cloud login --profile g2`",
            "exit_code": 2
        })
    );
    assert_eq!(
        run.stderr,
        "error: profile `g2` has no Jira Cloud login: run `jira-auth cloud login --profile g2`\n"
    );
}

/// Sites JSON marks the site the profile stores.
#[tokio::test]
async fn sites_json_marks_the_stored_site() {
    let env = logged_in(FakeConfig::default()).await;
    env.fake.set_sites_scenario("sites-three");
    let stored = env.profile("default")["cloud"]["cloud_id"].clone();
    let run = env.run(&["cloud", "sites", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let sites: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let marked: Vec<_> = sites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].clone(), s["stored"].clone()))
        .collect();
    assert!(
        marked.contains(&(stored.clone(), json!(true))),
        "{marked:?}"
    );
    assert_eq!(marked.iter().filter(|(_, m)| *m == json!(true)).count(), 1);
}

/// A refused access token is refreshed once and the request retried; without a refresh token
/// the error names the command that fixes it, with the profile in use.
#[tokio::test]
async fn sites_with_a_refused_access_token_refreshes_once_or_says_how_to_fix_it() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy", "--profile", "g2"])
        .await;
    env.edit_profile("g2", |c| {
        c["access_token"] = json!("at-revoked-by-an-admin")
    });
    let before = env.fake.token_requests().await.len();
    let run = env.run(&["cloud", "sites", "--profile", "g2"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("acme"), "{}", run.stdout);
    assert_eq!(
        env.fake.token_requests().await.len(),
        before + 1,
        "one refresh"
    );

    env.edit_profile("g2", |c| {
        c["access_token"] = json!("at-revoked-by-an-admin");
        c["refresh_token"] = serde_json::Value::Null;
    });
    let run = env.run(&["cloud", "sites", "--profile", "g2"], None);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "error: Atlassian refused the stored access token of profile `g2` (401) and there is no refresh token to get another: run `jira-auth cloud login --profile g2 --preset psoxy` again\n"
    );
    assert!(!run.stderr.contains("\"code\":401"));
}

#[tokio::test]
async fn status_reports_expiry_limits_and_missing_scopes() {
    let env = CloudEnv::start(FakeConfig {
        app_scopes: Some(vec!["read:jira-work".into(), "read:jira-user".into()]),
        ..FakeConfig::default()
    })
    .await;
    env.logged_in(&["--preset", "psoxy"]).await;
    // 340 days into the family, last refreshed 70 days ago: both warnings fire.
    env.edit_profile("default", |c| {
        c["family_started_at"] = json!(now() - 340 * 86_400);
        c["last_refreshed_at"] = json!(now() - 70 * 86_400);
    });
    let run = env.run(&["cloud", "status"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 0);
    let json = env.run(&["cloud", "status", "--json"], None);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["family_days_left"], 25);
    assert_eq!(v["inactivity_days_left"], 20);
    assert_eq!(
        v["missing_scopes"],
        json!([
            "read:account",
            "read:group:jira",
            "read:avatar:jira",
            "read:user:jira"
        ])
    );
    assert_eq!(v["usable"], true);
}

#[tokio::test]
async fn status_exits_1_when_the_login_cannot_be_used_any_more() {
    let env = logged_in(FakeConfig::default()).await;
    env.edit_profile("default", |c| {
        c["family_started_at"] = json!(now() - 366 * 86_400);
        c["access_expires_at"] = json!(now() - 60);
    });
    let run = env.run(&["cloud", "status"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 1);
}

/// A family past a limit cannot be refreshed: even with an hour's access token left, the next
/// step is a new login, and the status says so with exit code 1 (`docs/exit-codes.md`).
#[tokio::test]
async fn status_exits_1_past_the_365_day_family_limit_with_a_valid_access_token() {
    let env = logged_in(FakeConfig::default()).await;
    env.edit_profile("default", |c| {
        c["family_started_at"] = json!(now() - 366 * 86_400);
    });
    let run = env.run(&["cloud", "status"], None);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("state          a new login is needed: run `jira-auth cloud login --preset psoxy` again\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        "warning: the token family passed its 365-day limit: run `jira-auth cloud login --preset psoxy` again\n"
    );
    let json = env.run(&["cloud", "status", "--json"], None);
    assert_eq!(json.code, 1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        (v["usable"].clone(), v["access_expired"].clone()),
        (json!(false), json!(false))
    );
}

/// A command suggested in a warning carries the profile and the login's preset, so copying it
/// renews this login and not `default`'s.
#[tokio::test]
async fn suggested_commands_carry_the_profile_and_preset_in_use() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    env.logged_in(&["--preset", "psoxy", "--profile", "g2"])
        .await;
    env.edit_profile("g2", |c| {
        c["family_started_at"] = json!(now() - 366 * 86_400);
    });
    let run = env.run(&["cloud", "status", "--profile", "g2"], None);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout.contains(
            "state          a new login is needed: run `jira-auth cloud login --profile g2 --preset psoxy` again\n"
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        "warning: the token family passed its 365-day limit: run `jira-auth cloud login --profile g2 --preset psoxy` again\n"
    );
}

#[tokio::test]
async fn status_exits_1_past_the_90_day_inactivity_limit_with_a_valid_access_token() {
    let env = logged_in(FakeConfig::default()).await;
    env.edit_profile("default", |c| {
        c["family_started_at"] = json!(now() - 100 * 86_400);
        c["last_refreshed_at"] = json!(now() - 91 * 86_400);
    });
    let run = env.run(&["cloud", "status"], None);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stdout
            .contains("state          a new login is needed: run `jira-auth cloud login --preset psoxy` again\n"),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stderr,
        "warning: the refresh token was unused for 90 days and has expired: run `jira-auth cloud login --preset psoxy` again\n"
    );
}

#[tokio::test]
async fn export_psoxy_and_env_print_secrets_to_stdout_only() {
    let env = logged_in(FakeConfig::default()).await;
    let run = env.run(&["cloud", "export", "--format", "psoxy"], None);
    jira_auth_test::assert_transcript!("export_psoxy", env, run, FILTERS);
    assert_eq!(run.code, 0);
    let c = env.profile("default")["cloud"].clone();
    assert!(run.stdout.contains(&format!(
        "PSOXY_JIRA_CLOUD_REFRESH_TOKEN={}\n",
        c["refresh_token"].as_str().unwrap()
    )));
    assert!(!run.stderr.contains(c["access_token"].as_str().unwrap()));
    let run = env.run(&["cloud", "export", "--format", "env"], None);
    jira_auth_test::assert_transcript!("export_env", env, run, FILTERS);
    let run = env.run(&["cloud", "export", "--format", "tfvars"], None);
    assert!(
        run.stdout
            .contains("jira_cloud_id = \"1324a887-45db-1bf4-1e99-ef0ff456d421\"\n")
    );
    let run = env.run(&["cloud", "export", "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(v["client_secret"], env.fake.client_secret());
}

#[tokio::test]
async fn export_output_writes_a_private_file_atomically_and_nothing_to_stdout() {
    use std::os::unix::fs::PermissionsExt;
    let env = logged_in(FakeConfig::default()).await;
    let printed = env.run(&["cloud", "export", "--format", "env"], None);
    assert_eq!(printed.code, 0);
    let path = env.home().join("out/creds.env");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    // An older file with loose permissions is replaced, not rewritten in place.
    std::fs::write(&path, "old").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let path_arg = path.to_str().unwrap();
    let run = env.run(
        &["cloud", "export", "--format", "env", "--output", path_arg],
        None,
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        format!("Wrote the env export of profile `default` to `{path_arg}` (mode 0600)\n")
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), printed.stdout);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let temp_files = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(temp_files, 1, "no temporary file left");
}

/// Whether some process waits for a lock on `inode` (a `->` line of `/proc/locks`).
fn someone_waits_on(inode: u64) -> bool {
    std::fs::read_to_string("/proc/locks").is_ok_and(|locks| {
        locks.lines().any(|l| {
            l.contains("->")
                && l.split_whitespace()
                    .any(|field| field.rsplit(':').next() == Some(&inode.to_string()))
        })
    })
}

#[tokio::test]
async fn export_waits_for_a_refresh_holding_the_lock_and_hands_out_its_token() {
    use std::io::Read;
    use std::os::unix::fs::MetadataExt;
    let env = logged_in(FakeConfig::default()).await;
    let lock_path = env.config_dir().join("profiles/default.lock");
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(&lock_path)
        .unwrap();
    let inode = lock.metadata().unwrap().ino();
    lock.lock().unwrap(); // as a refresh in another process does
    let mut child = env
        .command(&["cloud", "export", "--format", "env"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: the export blocks on the lock within moments, or the test fails.
    let mut waited = false;
    for _ in 0..2000 {
        if someone_waits_on(inode) {
            waited = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // The "refresh" rotates the token while the export waits.
    env.edit_profile("default", |c| {
        c["refresh_token"] = serde_json::json!("rt-rotated-under-lock")
    });
    lock.unlock().unwrap();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(waited, "the export never waited for the lock");
    assert_eq!(status.code(), Some(0));
    assert!(
        stdout.contains("JIRA_CLOUD_REFRESH_TOKEN=rt-rotated-under-lock\n"),
        "{stdout}"
    );
}

#[tokio::test]
async fn logout_removes_a_write_ahead_record_too() {
    let env = logged_in(FakeConfig::default()).await;
    let record = env.config_dir().join("profiles/default.pending");
    // A record a newer jira-auth left: logging out forgets it with the login.
    std::fs::write(&record, "{\"version\": 9}\n").unwrap();
    std::fs::set_permissions(&record, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let run = env.run(&["cloud", "logout"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!record.exists());
    assert!(!env.config_dir().join("profiles/default.json").exists());
}

#[tokio::test]
async fn logout_forgets_and_then_commands_say_how_to_log_in() {
    let env = logged_in(FakeConfig::default()).await;
    let run = env.run(&["cloud", "logout"], None);
    assert_eq!(run.code, 0);
    assert!(!env.config_dir().join("profiles/default.json").exists());
    let run = env.run(&["cloud", "token"], None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 2);
    let run = env.run(&["cloud", "logout"], None);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "Profile `default` had no Jira Cloud login\n")
    );
}

#[tokio::test]
async fn refresh_and_logout_narrate_on_stderr_and_quiet_silences_them() {
    let env = logged_in(FakeConfig::default()).await;
    let old = env.profile("default")["cloud"]["refresh_token"].clone();
    let run = env.run(&["cloud", "refresh", "--quiet"], None);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", ""),
        "{}",
        run.transcript()
    );
    assert_ne!(
        env.profile("default")["cloud"]["refresh_token"],
        old,
        "it did refresh"
    );

    let run = env.run(&["cloud", "logout"], None);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (
            0,
            "",
            "Forgot the Jira Cloud login of profile `default`. To revoke the app's access too, remove it under your Atlassian account's Connected apps\n"
        )
    );
    let run = env.run(&["cloud", "logout", "-q"], None);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
}

#[tokio::test]
async fn profiles_are_separate() {
    let env = logged_in(FakeConfig::default()).await;
    let run = env.run(&["--profile", "other", "cloud", "status"], None);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: profile `other` has no Jira Cloud login: run `jira-auth cloud login --profile other`\n"
    );
}
