//! `jira-auth audit` end to end: every fixture scenario in every format, through the real
//! binary against the fake Jira site (`jira_auth_test::jira_site`), with exact requests and
//! exit codes.

#![allow(clippy::unwrap_used)]

use jira_auth_test::context::{Run, TestContext};
use jira_auth_test::jira_site::{JiraSite, Site};
use std::path::Path;

const EMAIL: &str = "bot@example.com";
const API_TOKEN: &str = "test-api-token";
const PAT: &str = "test-pat";

/// A run of `jira-auth audit` and the report files it wrote, sorted by name.
struct Audited {
    output: Run,
    files: Vec<(String, String)>,
}

impl std::ops::Deref for Audited {
    type Target = Run;

    fn deref(&self) -> &Run {
        &self.output
    }
}

fn filters() -> Vec<(&'static str, &'static str)> {
    let mut f = jira_auth_test::filters::common();
    f.push((r"jira-auth \d+\.\d+\.\d+", "jira-auth [VERSION]"));
    f
}

/// How a scenario is audited: ad hoc basic (Cloud), ad hoc PAT (DC) or its stored profile.
fn target_args(scenario: &str, site: &JiraSite, config: &Path) -> Vec<String> {
    let dir = jira_auth_test::fixtures::dir().join("audit").join(scenario);
    let profile = dir.join("profile.json");
    if profile.exists() {
        let text = std::fs::read_to_string(&profile)
            .unwrap()
            .replace("{SITE}", &site.url());
        let profiles = config.join("profiles");
        std::fs::create_dir_all(&profiles).unwrap();
        let path = profiles.join("default.json");
        std::fs::write(&path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(config, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::fs::set_permissions(&profiles, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        return vec![];
    }
    if scenario.starts_with("dc-") {
        // The deployment is named, like Cloud's below: detecting it from `serverInfo` has its
        // own test (`audit_exit_codes::without_deployment_server_info_decides_and_says_so`).
        vec![
            "--url".into(),
            site.url(),
            "--deployment".into(),
            "data-center".into(),
            "--pat".into(),
        ]
    } else {
        vec![
            "--url".into(),
            site.url(),
            "--deployment".into(),
            "cloud".into(),
            "--email".into(),
            EMAIL.into(),
        ]
    }
}

async fn audit(site: &JiraSite, scenario: &str, extra: &[&str]) -> Audited {
    let mut ctx = TestContext::new();
    ctx.env("JIRA_AUTH_API_TOKEN", API_TOKEN)
        .env("JIRA_AUTH_PAT", PAT);
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["audit".to_owned()];
    args.extend(target_args(scenario, site, &ctx.config_dir()));
    args.extend(
        extra
            .iter()
            .map(|s| s.replace("{OUT}", out.path().to_str().unwrap())),
    );
    let output = tokio::task::spawn_blocking(move || ctx.run(&args, None))
        .await
        .unwrap();
    let mut files: Vec<(String, String)> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    Audited { output, files }
}

const ALL_FORMATS: &[&str] = &[
    "--format",
    "text,json={OUT}/report.json,junit={OUT}/report.xml,markdown={OUT}/report.md,github={OUT}/report.github",
];

/// Audits `scenario` once with every format and snapshots each rendering.
async fn scenario(name: &str, expected_code: i32) {
    let site = JiraSite::start(Site::scenario(name)).await;
    let run = audit(&site, name, ALL_FORMATS).await;
    assert_eq!(
        run.code, expected_code,
        "exit code of {name}\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.stderr, "", "{name} wrote to stderr");
    for secret in [API_TOKEN, PAT, "test-access-token"] {
        assert!(!run.stdout.contains(secret), "{name} printed a secret");
        assert!(
            run.files.iter().all(|(_, c)| !c.contains(secret)),
            "{name} wrote a secret"
        );
    }
    insta::with_settings!({filters => filters(), snapshot_suffix => name.to_owned(), prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("audit_text", run.stdout);
        assert_eq!(run.files.len(), 4);
        for (file, content) in &run.files {
            let fmt = file.rsplit('.').next().unwrap().to_owned();
            insta::assert_snapshot!(format!("audit_{fmt}"), content);
        }
    });
}

/// Every folder of `fixtures/audit/` is a scenario; its `exit-code` file says how the audit
/// must end (with `--fail-on error`). A new folder is tested without a line of code here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_scenario_ends_with_its_exit_code() {
    let root = jira_auth_test::fixtures::dir().join("audit");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 9, "{names:?}");
    for name in &names {
        let code = std::fs::read_to_string(root.join(name).join("exit-code"))
            .unwrap_or_else(|e| panic!("fixtures/audit/{name}/exit-code: {e}"));
        let code: i32 = code.trim().parse().unwrap();
        scenario(name, code).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dc_partial_fails_on_warning() {
    // …and fail under `--fail-on warning`.
    let site = JiraSite::start(Site::scenario("dc-partial")).await;
    let run = audit(&site, "dc-partial", &["--fail-on", "warning"]).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.ends_with(
            "FAIL: 1 warned, 5 passed, 1 skipped (7 checks, preset `raytion`, --fail-on warning)\n"
        ),
        "{}",
        run.stdout
    );
}

/// The exact requests of a healthy Cloud audit: paths, queries, the bulk permission body, the
/// credential header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloud_requests_are_exact_and_minimal() {
    let site = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let run = audit(&site, "cloud-healthy", &["--format", "json"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = jira_auth_test::journal::requests(&site.server).await;
    let mut lines: Vec<String> = requests
        .iter()
        .map(|r| {
            format!(
                "{} {}{}",
                r.method,
                r.url.path(),
                r.url.query().map(|q| format!("?{q}")).unwrap_or_default()
            )
        })
        .collect();
    lines.sort();
    insta::assert_snapshot!(lines.join("\n"), @r"
    GET /rest/api/3/issuesecurityschemes/level/member?schemeId=10100&schemeId=10101&startAt=0&maxResults=50
    GET /rest/api/3/issuesecurityschemes/level?schemeId=10100&schemeId=10101&startAt=0&maxResults=50
    GET /rest/api/3/issuesecurityschemes/search?startAt=0&maxResults=50
    GET /rest/api/3/mypermissions?permissions=ADMINISTER
    GET /rest/api/3/myself?expand=groups,applicationRoles
    GET /rest/api/3/project/ENG/roledetails?currentMember=true
    GET /rest/api/3/project/HR/roledetails?currentMember=true
    GET /rest/api/3/project/OPS/roledetails?currentMember=true
    GET /rest/api/3/project/SALES/roledetails?currentMember=true
    GET /rest/api/3/project/search?action=view&orderBy=key&startAt=0&maxResults=100
    GET /rest/api/3/role
    GET /rest/api/3/serverInfo
    POST /rest/api/3/permissions/check
    ");
    let check = requests
        .iter()
        .find(|r| r.url.path().ends_with("/permissions/check"))
        .unwrap();
    insta::with_settings!({filters => filters()}, {
        insta::assert_snapshot!(jira_auth_test::journal::render(check), @r#"
        POST /rest/api/3/permissions/check
        accept: application/json
        authorization: Basic Ym90QGV4YW1wbGUuY29tOnRlc3QtYXBpLXRva2Vu
        content-type: application/json
        user-agent: jira-auth/[VERSION]

        {"projectPermissions":[{"permissions":["BROWSE_PROJECTS"],"projects":[10000,10001,10002,10003]}]}
        "#);
    });
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["requests"], 13);
    assert_eq!(report["schema_version"], 2);
}
