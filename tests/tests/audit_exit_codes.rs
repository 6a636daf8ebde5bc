//! One test per exit code of `jira-auth audit` through the real binary, and a 429 storm.

#![allow(clippy::unwrap_used)]

use jira_auth_test::jira_site::{Behaviour, JiraSite, Site};
use jira_auth_test::wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn jira_auth(args: Vec<String>, token: &'static str) -> Run {
    let config = tempfile::tempdir().unwrap();
    let dir = config.path().to_owned();
    let output = tokio::task::spawn_blocking(move || {
        assert_cmd::Command::new(jira_auth_test::binary::jira_auth())
            .args(&args)
            .env("JIRA_AUTH_CONFIG_DIR", &dir)
            .env("JIRA_AUTH_API_TOKEN", token)
            .env("NO_COLOR", "1")
            .env_remove("JIRA_AUTH_PAT")
            .env_remove("JIRA_AUTH_PROFILE")
            .env_remove("RUST_LOG")
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn cloud_args(url: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "audit",
        "--url",
        url,
        "--deployment",
        "cloud",
        "--email",
        "bot@example.com",
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_0_when_every_check_passes() {
    let site = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let run = jira_auth(cloud_args(&site.url(), &[]), "test-api-token").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .ends_with("PASS: 6 passed, 1 skipped (7 checks, preset `raytion`, --fail-on error)\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_1_on_a_failed_check_and_0_with_fail_on_never() {
    let site = JiraSite::start(Site::scenario("cloud-unbrowsable-projects")).await;
    let run = jira_auth(cloud_args(&site.url(), &[]), "test-api-token").await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let run = jira_auth(
        cloud_args(&site.url(), &["--fail-on", "never"]),
        "test-api-token",
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.ends_with(
        "PASS with findings: 1 failed, 5 passed, 1 skipped (7 checks, preset `raytion`, --fail-on never)\n"
    ), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_2_on_usage_errors_before_any_request() {
    let site = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let url = site.url();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            ["audit", "--url", &url].map(str::to_owned).to_vec(),
            "error: `--url` needs a credential: `--email EMAIL` (Jira Cloud, API token in `JIRA_AUTH_API_TOKEN`) or `--pat` (Data Center, token in `JIRA_AUTH_PAT`)\n",
        ),
        (
            ["audit", "--url", &url, "--pat"]
                .map(str::to_owned)
                .to_vec(),
            "error: no personal access token of the technical user: set `JIRA_AUTH_PAT` (create one in Jira under Profile → Personal Access Tokens) (never as an argument: it would show in `ps`)\n",
        ),
        (
            cloud_args(&url, &["--format", "yaml"]),
            "error: unknown format `yaml`; known formats: text, json, junit, markdown, github\n",
        ),
        (
            cloud_args(&url, &["--format", "text,json"]),
            "error: only one format can go to stdout; give the others a file, e.g. `--format text,junit=report.xml`\n",
        ),
        (
            cloud_args(&url, &["--preset", "nope"]),
            "error: unknown preset `nope`; known presets: audit, psoxy, raytion\n",
        ),
        (
            ["audit", "--url", "jira.example.com", "--pat"]
                .map(str::to_owned)
                .to_vec(),
            "error: `jira.example.com` is not a URL (relative URL without a base); pass the site root, e.g. `https://acme.atlassian.net` or `https://jira.example.com/jira`\n",
        ),
        (
            cloud_args(
                &url,
                &["--format", "text,json=/nonexistent-dir/report.json"],
            ),
            "error: cannot write the report to `/nonexistent-dir/report.json`, so nothing was audited: choose a file in a directory that exists and that you may write to\n  caused by: No such file or directory (os error 2)\n",
        ),
        (
            cloud_args(&url, &["-o", "/nonexistent-dir/report.txt"]),
            "error: cannot write the report to `/nonexistent-dir/report.txt`, so nothing was audited: choose a file in a directory that exists and that you may write to\n  caused by: No such file or directory (os error 2)\n",
        ),
        (["audit"].map(str::to_owned).to_vec(), ""),
    ];
    for (args, expected) in cases {
        let run = jira_auth(args.clone(), "test-api-token").await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        if !expected.is_empty() {
            assert_eq!(run.stderr, expected, "{args:?}");
        } else {
            assert!(
                run.stderr.starts_with("error: no profile `default` in `"),
                "{}",
                run.stderr
            );
        }
        assert_eq!(run.stdout, "");
    }
    assert_eq!(site.requests(), 0, "usage errors must not reach Jira");
}

/// A site outside `atlassian.net` is not assumed to be Data Center: without `--deployment`,
/// `serverInfo` decides, and the narration says what was chosen. A 404 there is a wrong URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_deployment_server_info_decides_and_says_so() {
    let site = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let args = |url: &str| {
        ["audit", "--url", url, "--email", "bot@example.com"]
            .map(str::to_owned)
            .to_vec()
    };
    let run = jira_auth(args(&site.url()), "test-api-token").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "Auditing {}/ as Jira Cloud (`serverInfo` says `Cloud`; `--deployment` overrides)\n",
            site.url().trim_end_matches('/')
        )),
        "{}",
        run.stderr
    );
    let dc = JiraSite::start(Site::scenario("dc-healthy")).await;
    let config = tempfile::tempdir().unwrap();
    let dc_run = tokio::task::spawn_blocking({
        let url = dc.url();
        let dir = config.path().to_owned();
        move || {
            assert_cmd::Command::new(jira_auth_test::binary::jira_auth())
                .args(["audit", "--url", &url, "--pat"])
                .env("JIRA_AUTH_CONFIG_DIR", &dir)
                .env("JIRA_AUTH_PAT", "test-pat")
                .env("NO_COLOR", "1")
                .env_remove("JIRA_AUTH_PROFILE")
                .timeout(std::time::Duration::from_secs(60))
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&dc_run.stderr);
    assert!(
        stderr
            .contains("as Jira Data Center (`serverInfo` says `Server`; `--deployment` overrides)"),
        "{stderr}"
    );

    let wrong = format!("{}/nope", site.url().trim_end_matches('/'));
    let run = jira_auth(args(&wrong), "test-api-token").await;
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr,
        format!(
            "error: {wrong}/rest/api/3/serverInfo answered 404: there is no Jira REST API there; check `--url` (include the context path, e.g. `https://host/jira`, when Jira is served under one)\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_3_when_jira_refuses_the_credential() {
    let site = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let run = jira_auth(cloud_args(&site.url(), &[]), "wrong-token").await;
    assert_eq!(run.code, 3, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr.replace(&site.url(), "[SITE]"),
        "error: cannot read the technical user from Jira, so nothing was audited: check the URL, `--deployment` and the credential\n  caused by: GET [SITE]/rest/api/3/myself?expand=groups%2CapplicationRoles answered 401: You are not authenticated. Authentication required to perform this operation.\n"
    );
    assert!(!run.stderr.contains("wrong-token"));
    assert_eq!(site.requests(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_4_when_jira_fails() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500).set_body_string(
            "<html><head><title>Internal error</title></head><body></body></html>",
        ))
        .mount(&server)
        .await;
    let run = jira_auth(cloud_args(&server.uri(), &[]), "test-api-token").await;
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stderr.replace(&server.uri(), "[SITE]"),
        "error: cannot read the technical user from Jira, so nothing was audited: check the URL, `--deployment` and the credential\n  caused by: GET [SITE]/rest/api/3/myself?expand=groups%2CapplicationRoles answered 500: an HTML page titled \"Internal error\"\n"
    );
}

/// Every first attempt answered 429: the shared retry policy repeats each request once and the
/// report is the same as without the storm.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_is_survived_with_the_same_report() {
    let calm = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let storm = JiraSite::start_with(
        Site::scenario("cloud-healthy"),
        Behaviour {
            rate_limit_storm: true,
            ..Behaviour::default()
        },
    )
    .await;
    let json = ["--format", "json"];
    let expected = jira_auth(cloud_args(&calm.url(), &json), "test-api-token").await;
    let run = jira_auth(cloud_args(&storm.url(), &json), "test-api-token").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let strip = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v["started_at"] = serde_json::Value::Null;
        v["target"]["url"] = serde_json::Value::Null;
        for c in v["checks"].as_array_mut().unwrap() {
            if c["id"] == "server.info" {
                c["evidence"] = serde_json::Value::Null;
            }
        }
        v
    };
    assert_eq!(strip(&run.stdout), strip(&expected.stdout));
    assert_eq!(storm.throttled(), 13, "every request was throttled once");
    assert_eq!(storm.requests(), 26);
    assert_eq!(calm.requests(), 13);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preset_file_defines_the_checks_and_a_bad_one_is_a_usage_error() {
    let site = JiraSite::start(Site::scenario("cloud-no-administer")).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[presets.mine]\nchecks = [\"product.access\", \"server.info\"]\n",
    )
    .unwrap();
    let run = jira_auth(
        cloud_args(
            &site.url(),
            &["--preset-file", good.to_str().unwrap(), "--preset", "mine"],
        ),
        "test-api-token",
    )
    .await;
    // ADMINISTER is missing on this site, but `mine` does not check it.
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .ends_with("PASS: 2 passed (2 checks, preset `mine`, --fail-on error)\n"),
        "{}",
        run.stdout
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[presets.mine]\nchecks = [\"project.browse\"]\n").unwrap();
    let run = jira_auth(
        cloud_args(
            &site.url(),
            &["--preset-file", bad.to_str().unwrap(), "--preset", "mine"],
        ),
        "test-api-token",
    )
    .await;
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: preset `mine` names an unknown check `project.browse`; known checks: scopes, global.administer, product.access, projects.browse, security.levels, visibility.roles, server.info\n"
    );
}
