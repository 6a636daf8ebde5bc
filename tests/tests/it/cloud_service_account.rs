//! Jira Cloud service accounts through the binary: `cloud login --client-credentials`, the
//! profile it writes, `cloud token` re-minting under the lock, `status`, `refresh`, `export`,
//! `audit --profile`, and every error with its message and exit code, against the fake's client
//! credentials grant (RFC 6749 §4.4) and a site host serving `/_edge/tenant_info`.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::{CloudEnv, FILTERS};
use jira_auth_test::cloud::service_account::ACME_CLOUD_ID;
use jira_auth_test::cloud::{FakeConfig, SA_CLIENT_ID, SA_CLIENT_SECRET, ServiceAccount};
use jira_auth_test::context;
use jira_auth_test::context::{Run, now};
use jira_auth_test::jira_site::{JiraSite, Site};
use jira_auth_test::journal;
use serde_json::{Value, json};
use std::process::{Child, Stdio};
use std::time::Instant;

/// The cloud id of a scenario site that the default service account was not given.
const BETA_CLOUD_ID: &str = "c0ffee00-1234-4abc-8def-0123456789ab";

/// The fake with the service account's credential in the environment instead of the 3LO app's.
fn run(env: &CloudEnv, args: &[&str]) -> Run {
    context::run(sa_command(env, args), None)
}

fn sa_command(env: &CloudEnv, args: &[&str]) -> std::process::Command {
    let mut cmd = env.command(args);
    cmd.env("JIRA_AUTH_CLIENT_ID", SA_CLIENT_ID)
        .env("JIRA_AUTH_CLIENT_SECRET", SA_CLIENT_SECRET);
    cmd
}

fn login(env: &CloudEnv, site: &str, extra: &[&str]) -> Run {
    let mut args = vec!["cloud", "login", "--client-credentials", "--site", site];
    args.extend_from_slice(extra);
    run(env, &args)
}

/// Snapshots `text` as `name`, with the fake's ports, times and tokens filtered.
fn snapshot(env: &CloudEnv, name: &str, text: &str) {
    env.settings(FILTERS)
        .bind(|| insta::assert_snapshot!(name, text));
}

async fn started(config: FakeConfig) -> CloudEnv {
    CloudEnv::start(config).await
}

fn sa_profile(env: &CloudEnv, name: &str) -> Value {
    env.profile(name)["cloud"].clone()
}

/// Every secret the fake handed out or knows, none of which may appear in `run`'s output
/// (stdout is allowed the access token only where the command's job is to print it).
async fn assert_no_secret_in_stderr(env: &CloudEnv, run: &Run) {
    for secret in env
        .fake
        .issued_tokens()
        .into_iter()
        .chain([SA_CLIENT_SECRET.to_owned()])
    {
        assert!(!run.stderr.contains(&secret), "{}", run.transcript());
    }
}

#[tokio::test]
async fn login_with_a_site_url_looks_up_the_cloud_id_mints_checks_the_site_and_stores_the_account()
{
    let env = started(FakeConfig::default()).await;
    let site = env.fake.start_site(ACME_CLOUD_ID).await;
    // Built (or found up to date) before the clock starts.
    jira_auth_test::binary::jira_auth();
    let started = Instant::now();
    let run = login(&env, &site.uri(), &[]);
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "", "a login has no data for stdout");
    snapshot(&env, "login_with_a_site_url", &run.transcript());
    assert_no_secret_in_stderr(&env, &run).await;

    // On the wire: tenant_info on the site's host, one client credentials request, one site check.
    assert_eq!(journal::lines(&site).await, ["GET /_edge/tenant_info"]);
    let tokens = env.fake.token_requests().await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&tokens[0].body),
        format!(
            "grant_type=client_credentials&client_id={SA_CLIENT_ID}&client_secret={SA_CLIENT_SECRET}"
        ),
        "RFC 6749 §4.4.2 with the client authenticated in the body, no scope"
    );
    assert_eq!(
        tokens[0].headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let api = env.fake.api_requests().await;
    assert_eq!(api.len(), 1);
    assert_eq!(
        api[0].url.path(),
        format!("/ex/jira/{ACME_CLOUD_ID}/rest/api/3/serverInfo")
    );
    let stored = sa_profile(&env, "default");
    let bearer = format!("Bearer {}", stored["access_token"].as_str().unwrap());
    assert_eq!(
        api[0].headers.get("authorization").unwrap(),
        bearer.as_str()
    );

    // On disk: a service account, its secret kept for the next mint, no refresh token.
    assert_eq!(stored["kind"], "service_account");
    assert_eq!(stored["client_id"], SA_CLIENT_ID);
    assert_eq!(stored["client_secret"], SA_CLIENT_SECRET);
    assert_eq!(stored["refresh_token"], Value::Null);
    assert_eq!(stored["cloud_id"], ACME_CLOUD_ID);
    assert_eq!(stored["site_url"], "https://acme.atlassian.net");
    assert_eq!(
        stored["scopes"],
        json!(["read:jira-work", "read:jira-user"])
    );
    assert_eq!(stored["requested_scopes"], json!([]));
    let lifetime = stored["access_expires_at"].as_i64().unwrap() - now();
    assert!((3590..=3600).contains(&lifetime), "{lifetime}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let path = env.config_dir().join("profiles/default.json");
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    println!(
        "measured: `cloud login --client-credentials` with a site URL: {elapsed:?}, 3 requests"
    );
}

#[tokio::test]
async fn login_with_a_cloud_id_and_scopes_sends_them_and_status_shows_the_kind() {
    let env = started(FakeConfig::default()).await;
    let run = login(
        &env,
        ACME_CLOUD_ID,
        &["--scope", "read:jira-work", "--profile", "sa"],
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let tokens = env.fake.token_requests().await;
    assert_eq!(
        tokens.len(),
        1,
        "no tenant_info for a cloud id: one mint, one check"
    );
    assert_eq!(env.fake.api_requests().await.len(), 1);
    assert_eq!(
        String::from_utf8_lossy(&tokens[0].body),
        format!(
            "grant_type=client_credentials&scope=read%3Ajira-work&client_id={SA_CLIENT_ID}&client_secret={SA_CLIENT_SECRET}"
        )
    );
    let stored = sa_profile(&env, "sa");
    assert_eq!(stored["scopes"], json!(["read:jira-work"]));
    assert_eq!(stored["requested_scopes"], json!(["read:jira-work"]));

    let status = context::run(env.command(&["--profile", "sa", "cloud", "status"]), None);
    assert_eq!(status.code, 0, "{}", status.transcript());
    snapshot(&env, "status_text", &status.transcript());
    assert_eq!(status.stderr, "");

    // Expired, it is still usable: the next `cloud token` mints. No request to find that out.
    env.edit_profile("sa", |c| c["access_expires_at"] = json!(now() - 10));
    let before = env.fake.api_call_count().await;
    let status = context::run(
        env.command(&["--profile", "sa", "cloud", "status", "--json"]),
        None,
    );
    assert_eq!(status.code, 0, "{}", status.transcript());
    let v: Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(v["kind"], "service_account");
    assert_eq!(v["access_expired"], true);
    assert_eq!(v["usable"], true);
    assert_eq!(v["has_refresh_token"], false);
    assert_eq!(v["family_expires_at"], Value::Null);
    assert_eq!(v["inactivity_days_left"], Value::Null);
    assert_eq!(v["warnings"], json!([]));
    assert_eq!(env.fake.api_call_count().await, before);
}

#[tokio::test]
async fn token_reuses_a_valid_token_and_mints_a_new_one_when_under_five_minutes_remain() {
    let env = started(FakeConfig::default()).await;
    assert_eq!(login(&env, ACME_CLOUD_ID, &[]).code, 0);
    let first = sa_profile(&env, "default");
    let before = env.fake.api_call_count().await;
    let run = context::run(env.command(&["cloud", "token"]), None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        run.stdout,
        format!("{}\n", first["access_token"].as_str().unwrap())
    );
    assert_eq!(env.fake.api_call_count().await, before, "no request");

    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() + 299));
    let run = context::run(env.command(&["cloud", "token"]), None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stderr, "");
    let second = sa_profile(&env, "default");
    let token = second["access_token"].as_str().unwrap();
    assert_ne!(token, first["access_token"].as_str().unwrap());
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(env.fake.mint_requests().await.len(), 2, "one new mint");
    assert!(second["access_expires_at"].as_i64().unwrap() >= now() + 3590);
    assert_eq!(second["kind"], "service_account");
    assert_eq!(second["refresh_token"], Value::Null);
    // The minted token works on the site.
    let ok = reqwest::Client::new()
        .get(format!(
            "{}/ex/jira/{ACME_CLOUD_ID}/rest/api/3/serverInfo",
            env.fake.api_url()
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

fn spawn(env: &CloudEnv, args: &[&str]) -> Child {
    let mut cmd = env.command(args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

#[tokio::test]
async fn sixteen_racing_token_processes_make_exactly_one_mint_request() {
    let env = started(FakeConfig::default()).await;
    assert_eq!(login(&env, ACME_CLOUD_ID, &[]).code, 0);
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    let started = Instant::now();
    let children: Vec<Child> = (0..16).map(|_| spawn(&env, &["cloud", "token"])).collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let elapsed = started.elapsed();
    assert_eq!(
        env.fake.mint_requests().await.len(),
        2,
        "the login's mint and exactly one re-mint"
    );
    let token = sa_profile(&env, "default")["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for out in outputs {
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{token}\n"));
        assert_eq!(String::from_utf8(out.stderr).unwrap(), "");
    }
    println!(
        "measured: 16 concurrent `cloud token` on an expired service account: {elapsed:?}, 1 mint"
    );
}

#[tokio::test]
async fn refresh_mints_now_and_export_has_no_refresh_token() {
    let env = started(FakeConfig::default()).await;
    assert_eq!(login(&env, ACME_CLOUD_ID, &[]).code, 0);
    let old = sa_profile(&env, "default")["access_token"].clone();
    let run = context::run(env.command(&["cloud", "refresh"]), None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    snapshot(&env, "refresh", &run.transcript());
    let stored = sa_profile(&env, "default");
    assert_ne!(stored["access_token"], old);
    assert_eq!(env.fake.mint_requests().await.len(), 2);

    let run = context::run(env.command(&["cloud", "export", "--format", "env"]), None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stdout.contains("REFRESH"), "{}", run.stdout);
    snapshot(&env, "export_env", &run.transcript());
    let run = context::run(env.command(&["cloud", "export", "--format", "json"]), None);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(v.get("refresh_token").is_none(), "{v}");

    let run = context::run(env.command(&["cloud", "export", "--format", "psoxy"]), None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: profile `default` is a Jira Cloud service account, which has no refresh token, and the psoxy Jira Cloud connector needs one: log that connector in with OAuth 2.0 (3LO) (`jira-auth cloud login --preset psoxy`), or export the access token and client credentials with `--format env`, `json` or `tfvars`\n"
    );
}

#[tokio::test]
async fn audit_profile_audits_the_site_with_the_service_accounts_token() {
    let env = started(FakeConfig::default()).await;
    // The gateway's own serverInfo and myself (which check the bearer and the site) answer
    // first; the scenario site serves the rest of the audit below /ex/jira/{cloudId}.
    let mut site = Site::scenario("cloud-healthy");
    // The scenario expects an API token; the bearer is checked by the gateway's own resources.
    site.authorization = None;
    let _site = JiraSite::attach(
        site,
        &env.fake.api,
        &format!("/ex/jira/{ACME_CLOUD_ID}"),
        10,
    )
    .await;
    assert_eq!(login(&env, ACME_CLOUD_ID, &[]).code, 0);
    env.edit_profile("default", |c| c["access_expires_at"] = json!(now() - 10));
    let run = context::run(
        env.command(&["audit", "--profile", "default", "--format", "json"]),
        None,
    );
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.transcript()));
    // The default preset asks for 34 scopes; the credential has 2: findings, nothing refused.
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(report["summary"]["error"], 0, "{report}");
    assert_eq!(report["target"]["credential"], "OAuth 2.0 bearer token");
    let stored = sa_profile(&env, "default");
    assert!(
        stored["access_expires_at"].as_i64().unwrap() > now(),
        "re-minted first"
    );
    let bearer = format!("Bearer {}", stored["access_token"].as_str().unwrap());
    let api = env.fake.api_requests().await;
    let audit: Vec<_> = api.iter().skip(1).collect();
    assert!(audit.len() > 3, "{}", audit.len());
    for r in &audit {
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            bearer.as_str(),
            "{}",
            r.url
        );
    }
    assert_eq!(
        report["target"]["user"]["display_name"], "Connector Bot",
        "{report}"
    );
    assert_no_secret_in_stderr(&env, &run).await;
}

/// Each refusal, its exact message and exit code, and nothing stored.
#[tokio::test]
async fn every_refusal_is_named_with_its_exit_code_and_stores_nothing() {
    let env = started(FakeConfig {
        sites_scenario: "sites-three".into(),
        service_accounts: vec![
            ServiceAccount::default(),
            ServiceAccount {
                client_id: "fakeServiceAccountNoSitesXXXXXXX".into(),
                client_secret: "fake-sa-secret-no-sites".into(),
                sites: vec![],
                ..ServiceAccount::default()
            },
        ],
        ..FakeConfig::default()
    })
    .await;
    let mut transcript = String::new();
    let mut case = |title: &str, run: Run| {
        transcript.push_str(&format!("## {title}\n{}\n", run.transcript()));
        run
    };

    let mut cmd = sa_command(
        &env,
        &[
            "cloud",
            "login",
            "--client-credentials",
            "--site",
            ACME_CLOUD_ID,
        ],
    );
    cmd.env("JIRA_AUTH_CLIENT_SECRET", "wrong-secret");
    let r = case("wrong secret", context::run(cmd, None));
    assert_eq!(r.code, 3);
    assert!(!r.stderr.contains("wrong-secret"));

    let mut cmd = env.command(&[
        "cloud",
        "login",
        "--client-credentials",
        "--site",
        ACME_CLOUD_ID,
    ]);
    cmd.env("JIRA_AUTH_CLIENT_ID", env.fake.client_id());
    let r = case("the id and secret of a 3LO app", context::run(cmd, None));
    assert_eq!(r.code, 3);

    let r = case(
        "a scope the credential does not have",
        login(
            &env,
            ACME_CLOUD_ID,
            &["--scope", "manage:jira-configuration"],
        ),
    );
    assert_eq!(r.code, 3);

    let r = case(
        "a site the service account has no access to",
        login(&env, BETA_CLOUD_ID, &[]),
    );
    assert_eq!(r.code, 3);

    let mut cmd = sa_command(
        &env,
        &[
            "cloud",
            "login",
            "--client-credentials",
            "--site",
            ACME_CLOUD_ID,
        ],
    );
    cmd.env("JIRA_AUTH_CLIENT_ID", "fakeServiceAccountNoSitesXXXXXXX")
        .env("JIRA_AUTH_CLIENT_SECRET", "fake-sa-secret-no-sites");
    let r = case(
        "a service account without access to any site",
        context::run(cmd, None),
    );
    assert_eq!(r.code, 3);

    // The gateway cannot tell a site that does not exist from one the token does not reach.
    let r = case(
        "a cloud id no site has",
        login(&env, "00000000-0000-4000-8000-000000000000", &[]),
    );
    assert_eq!(r.code, 3);

    // A host that is not a Jira Cloud site: no /_edge/tenant_info there.
    let not_cloud = jira_auth_test::wiremock::MockServer::start().await;
    let r = case(
        "a site URL that is not Jira Cloud",
        login(&env, &format!("{}/jira", not_cloud.uri()), &[]),
    );
    assert_eq!(r.code, 2);

    // tenant_info answering something that is not a cloud id.
    let odd = jira_auth_test::wiremock::MockServer::start().await;
    jira_auth_test::wiremock::Mock::given(jira_auth_test::wiremock::matchers::path(
        "/_edge/tenant_info",
    ))
    .respond_with(
        jira_auth_test::wiremock::ResponseTemplate::new(200)
            .set_body_json(json!({"cloudId": "../admin"})),
    )
    .mount(&odd)
    .await;
    let r = case(
        "tenant_info with a cloudId that is not one",
        login(&env, &odd.uri(), &[]),
    );
    assert_eq!(r.code, 4);

    let r = case("a site that is neither", login(&env, "acme", &[]));
    assert_eq!(r.code, 2);

    let r = case(
        "--client-credentials without --site",
        run(&env, &["cloud", "login", "--client-credentials"]),
    );
    assert_eq!(r.code, 2);

    let r = case(
        "--client-credentials with a 3LO flag",
        run(
            &env,
            &[
                "cloud",
                "login",
                "--client-credentials",
                "--site",
                ACME_CLOUD_ID,
                "--preset",
                "psoxy",
            ],
        ),
    );
    assert_eq!(r.code, 2);

    assert!(
        !env.config_dir().join("profiles/default.json").exists(),
        "a refused login stores nothing"
    );

    // Later, the credential's secret is rotated in admin.atlassian.com: the re-mint says so.
    assert_eq!(login(&env, ACME_CLOUD_ID, &[]).code, 0);
    env.edit_profile("default", |c| {
        c["access_expires_at"] = json!(now() - 10);
        c["client_secret"] = json!("rotated-away");
    });
    let before = sa_profile(&env, "default");
    let r = case(
        "cloud token after the secret was rotated",
        context::run(env.command(&["cloud", "token"]), None),
    );
    assert_eq!(r.code, 3);
    assert_eq!(r.stdout, "");
    assert_eq!(
        sa_profile(&env, "default"),
        before,
        "the profile is unchanged"
    );

    for secret in env.fake.issued_tokens() {
        assert!(!transcript.contains(&secret));
    }
    assert!(!transcript.contains(SA_CLIENT_SECRET));
    snapshot(&env, "refusals", &transcript);
}
