//! One test per exit code of `jira-auth audit` through the real binary, and a 429 storm.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{Run, TestContext};
use jira_auth_test::jira_site::{Behaviour, JiraSite, Site};
use jira_auth_test::wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

/// `jira-auth ARGS` in a fresh context with `token` as the API token.
async fn jira_auth(args: Vec<String>, token: &'static str) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut ctx = TestContext::new();
        ctx.env("JIRA_AUTH_API_TOKEN", token);
        ctx.run(&args, None)
    })
    .await
    .unwrap()
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
    let dc_run = tokio::task::spawn_blocking({
        let url = dc.url();
        move || {
            let mut ctx = TestContext::new();
            ctx.env("JIRA_AUTH_PAT", "test-pat");
            ctx.run(&["audit", "--url", &url, "--pat"], None)
        }
    })
    .await
    .unwrap();
    let stderr = &dc_run.stderr;
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

/// The hourly quota runs out after `myself`: every later request fails at once, the report is
/// still printed with what `myself` proved and every check that needed more `error` (none
/// `pass`), and the command exits 4 naming when the quota resets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_4_when_the_hourly_quota_is_spent_with_the_report_kept_as_errors() {
    let site = JiraSite::start_with(
        Site::scenario("cloud-healthy"),
        Behaviour {
            quota: Some(1),
            ..Behaviour::default()
        },
    )
    .await;
    let run = jira_auth(
        cloud_args(&site.url(), &["--format", "json"]),
        "test-api-token",
    )
    .await;
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["target"]["user"]["display_name"], "Connector Bot");
    for check in report["checks"].as_array().unwrap() {
        // `product.access` is decided from `myself`, read before the quota ran out.
        if check["id"] != "product.access" {
            assert!(
                check["status"] == "error" || check["status"] == "skipped",
                "{check}"
            );
        }
    }
    assert!(
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["status"] == "error"
                && c.to_string()
                    .contains("Jira's hourly API quota for this app is spent")),
        "{report}"
    );
    let reset = times_masked(&run.stderr, "resets at ");
    assert_eq!(
        reset,
        "error: Jira's hourly API quota for this app is spent (jira-quota-tenant-based): it resets at [TIME] (in 30 min); run the command again then; the report shows what was read before it, and every check that needed more is `error`, not `pass`\n"
    );
    // `myself` spent the quota; the five requests of the first wave were sent together and
    // refused; nothing was sent after.
    assert_eq!(site.requests(), 6, "{}", run.stderr);
}

/// The `2026-11-30T13:30:00Z` after each `before` as `[TIME]`.
fn times_masked(text: &str, before: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(before) {
        let (head, tail) = rest.split_at(i + before.len());
        out.push_str(head);
        out.push_str("[TIME]");
        rest = tail.get(20..).unwrap_or("");
    }
    out + rest
}

/// A site that refuses more than 6 requests in flight (Jira Cloud's burst limit): the audit
/// learns the limit from the first refusals instead of meeting it again, and passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_limit_is_learnt_once_and_every_check_passes() {
    let site = JiraSite::start_with(
        Site::synthetic(100, 2, 2, 2),
        Behaviour {
            latency: std::time::Duration::from_millis(20),
            burst_limit: Some(6),
            no_journal: true,
            ..Behaviour::default()
        },
    )
    .await;
    let run = jira_auth(
        cloud_args(&site.url(), &["--format", "json"]),
        "test-api-token",
    )
    .await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["fail"], 0);
    assert_eq!(report["summary"]["error"], 0);
    // Slow start can overshoot the limit once (up to 16 in flight against 6); a limiter that did
    // not learn would be refused again in every later window of the 100 `roledetails` calls.
    assert!(
        site.throttled() <= 10,
        "{} of {} requests throttled",
        site.throttled(),
        site.requests()
    );
}

/// The quota nearly spent by the end of the audit: it passes, and says so on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nearly_spent_quota_is_said_on_stderr() {
    let site = JiraSite::start_with(
        Site::scenario("cloud-healthy"),
        Behaviour {
            quota: Some(14),
            ..Behaviour::default()
        },
    )
    .await;
    let run = jira_auth(cloud_args(&site.url(), &[]), "test-api-token").await;
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(site.requests(), 13);
    assert_eq!(
        times_masked(&run.stderr, "resetting at "),
        "note: Jira reported this credential's hourly API quota nearly spent (1 of 14 points left), resetting at [TIME]; the audit slowed down to leave room for the connector\n"
    );
}
