//! The auditor against the fake Jira site: paging, bulk calls, request counts, check selection.

#![allow(clippy::unwrap_used)]

use jira_auth_audit::{AuditOptions, CheckId, MAX_PAGES, Status, audit, cloud_minimum_requests};
use jira_auth_core::auth::BasicApiToken;
use jira_auth_core::http::HttpClient;
use jira_auth_core::jira::{Deployment, JiraClient};
use jira_auth_core::presets::Presets;
use jira_auth_test::jira_site::{Behaviour, JiraSite, Paging, Site};
use std::sync::Arc;

fn client(site: &JiraSite, deployment: Deployment) -> JiraClient {
    JiraClient::new(
        HttpClient::builder().build().unwrap(),
        site.url().parse().unwrap(),
        deployment,
        Arc::new(BasicApiToken {
            email: "bot@example.com".into(),
            token: jira_auth_core::ApiToken::new("test-api-token"),
        }),
    )
}

fn raytion() -> AuditOptions {
    AuditOptions::from_preset("raytion", Presets::builtin().get("raytion").unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_site_is_read_completely_with_the_minimum_requests() {
    // 1234 projects: 13 pages of project/search, 2 bulk permission checks; 60 schemes of 5
    // levels with 3 holders each: 2 pages of schemes, 6 pages of levels, 18 pages of members.
    let site = JiraSite::start(Site::synthetic(1234, 60, 5, 4)).await;
    for concurrency in [1, 8] {
        let before = site.requests();
        let mut options = raytion();
        options.concurrency = concurrency;
        let report = audit(client(&site, Deployment::Cloud), &options, None)
            .await
            .unwrap();
        let statuses: Vec<(CheckId, Status)> =
            report.checks.iter().map(|c| (c.id, c.status)).collect();
        assert_eq!(
            statuses,
            [
                (CheckId::Scopes, Status::Skipped),
                (CheckId::GlobalAdminister, Status::Pass),
                (CheckId::ProductAccess, Status::Pass),
                (CheckId::ProjectsBrowse, Status::Pass),
                (CheckId::SecurityLevels, Status::Pass),
                (CheckId::VisibilityRoles, Status::Pass),
                (CheckId::ServerInfo, Status::Pass),
            ]
        );
        let browse = &report.checks[3];
        assert_eq!(browse.summary, "the user can browse all 1234 projects");
        assert_eq!(
            report.checks[4].summary,
            "the user is a member of all 300 security levels in 60 schemes in use"
        );
        let minimum = cloud_minimum_requests(1234, 60, 60 * 5, 60 * 5 * 3);
        assert_eq!(minimum, 4 + 13 + 2 + 1234 + 2 + 6 + 18);
        assert_eq!(report.requests, minimum);
        assert_eq!(site.requests() - before, minimum);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_levels_alone_read_roles_only_where_a_level_names_a_role() {
    let site = JiraSite::start(Site::scenario("cloud-healthy")).await;
    let mut options = raytion();
    options.checks = vec![CheckId::SecurityLevels];
    let report = audit(client(&site, Deployment::Cloud), &options, None)
        .await
        .unwrap();
    assert_eq!(
        report.checks[0].status,
        Status::Pass,
        "{:?}",
        report.checks[0]
    );
    let mut paths: Vec<String> = jira_auth_test::journal::requests(&site.server)
        .await
        .iter()
        .map(|r| match r.url.query() {
            Some(q) => format!("{}?{q}", r.url.path()),
            None => r.url.path().to_owned(),
        })
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            // levels and members only of the schemes some project uses
            "/rest/api/3/issuesecurityschemes/level/member?schemeId=10100&schemeId=10101&startAt=0&maxResults=50",
            "/rest/api/3/issuesecurityschemes/level?schemeId=10100&schemeId=10101&startAt=0&maxResults=50",
            "/rest/api/3/issuesecurityschemes/search?startAt=0&maxResults=50",
            "/rest/api/3/myself?expand=groups,applicationRoles",
            // only HR uses the scheme whose level is held by a project role
            "/rest/api/3/project/HR/roledetails?currentMember=true",
            "/rest/api/3/project/search?action=view&orderBy=key&startAt=0&maxResults=100",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_level_held_through_a_role_fails_where_the_role_is_missing() {
    let mut site = Site::scenario("cloud-healthy");
    // HR's "HR only" level is held by Administrators (10002); drop that role in HR.
    site.projects
        .iter_mut()
        .find(|p| p.key == "HR")
        .unwrap()
        .roles = vec![10003, 10004];
    let site = JiraSite::start(site).await;
    let report = audit(client(&site, Deployment::Cloud), &raytion(), None)
        .await
        .unwrap();
    let levels = report
        .checks
        .iter()
        .find(|c| c.id == CheckId::SecurityLevels)
        .unwrap();
    assert_eq!(levels.status, Status::Fail);
    assert_eq!(
        levels.findings,
        ["HR confidential / HR only: not in the level's project roles in HR"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_roles_are_matched_on_actors() {
    let mut site = Site::scenario("dc-healthy");
    site.authorization = None;
    site.projects[2].roles = vec![10002];
    let site = JiraSite::start(site).await;
    let report = audit(client(&site, Deployment::DataCenter), &raytion(), None)
        .await
        .unwrap();
    let roles = report
        .checks
        .iter()
        .find(|c| c.id == CheckId::VisibilityRoles)
        .unwrap();
    assert_eq!(roles.status, Status::Fail);
    assert_eq!(roles.findings, ["DOCS: Developers"]);
}

#[test]
fn an_unknown_check_in_a_preset_is_a_usage_error() {
    let preset = jira_auth_core::presets::Preset {
        description: String::new(),
        scopes: vec![],
        checks: vec!["projects.browse".into(), "project.browse".into()],
    };
    let err = AuditOptions::from_preset("mine", &preset).unwrap_err();
    assert_eq!(
        err.to_string(),
        "preset `mine` names an unknown check `project.browse`; known checks: scopes, global.administer, product.access, projects.browse, security.levels, visibility.roles, server.info"
    );
    use jira_auth_core::Categorize;
    assert_eq!(err.category(), jira_auth_core::Category::Usage);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_scans_every_worklog_page_and_names_groups_the_user_is_not_in() {
    let mut site = Site::scenario("cloud-healthy");
    site.worklogs = (1..=2500)
        .map(|id| {
            let visibility = match id {
                7 => serde_json::json!({"type": "group", "value": "connector-readers"}),
                1500 | 2500 => {
                    serde_json::json!({"type": "group", "value": "hr-team", "identifier": "g-hr"})
                }
                2222 => serde_json::json!({"type": "role", "value": "Developers"}),
                _ => serde_json::Value::Null,
            };
            let mut w = serde_json::json!({"id": id, "issueId": "10100"});
            if !visibility.is_null() {
                w["visibility"] = visibility;
            }
            w
        })
        .collect();
    let site = JiraSite::start(site).await;
    let mut options = raytion();
    options.checks = vec![CheckId::VisibilityRoles];
    options.deep = true;
    let report = audit(client(&site, Deployment::Cloud), &options, None)
        .await
        .unwrap();
    let roles = &report.checks[0];
    assert_eq!(roles.status, Status::Fail, "{roles:?}");
    assert_eq!(
        roles.summary,
        "the user is not in 1 group used to restrict worklogs; those worklogs stay hidden"
    );
    assert_eq!(roles.findings, ["worklogs restricted to group hr-team"]);
    assert_eq!(
        roles.evidence.last().unwrap(),
        "--deep: scanned 2500 worklogs with GET /rest/api/3/worklog/updated and POST /rest/api/3/worklog/list; restrictions in use: group connector-readers (1), group hr-team (2), role Developers (1)"
    );
    let requests = jira_auth_test::journal::requests(&site.server).await;
    let mut updated: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/worklog/updated"))
        .map(|r| r.url.query().unwrap_or("").to_owned())
        .collect();
    updated.sort();
    assert_eq!(updated, ["since=0", "since=1000", "since=2000"]);
    let mut lists: Vec<usize> = requests
        .iter()
        .filter(|r| r.url.path().ends_with("/worklog/list"))
        .map(|r| {
            r.body_json::<serde_json::Value>().unwrap()["ids"]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    lists.sort();
    assert_eq!(lists, [500, 1000, 1000]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clock_skew_warns_and_fails_on_data_center_beyond_oauth1_tolerance() {
    let cases = [
        (
            "cloud-healthy",
            Deployment::Cloud,
            90,
            Status::Warn,
            "+90 s",
        ),
        (
            "cloud-healthy",
            Deployment::Cloud,
            -400,
            Status::Warn,
            "-400 s",
        ),
        (
            "dc-healthy",
            Deployment::DataCenter,
            30,
            Status::Pass,
            "+30 s",
        ),
        (
            "dc-healthy",
            Deployment::DataCenter,
            -400,
            Status::Fail,
            "-400 s",
        ),
    ];
    for (scenario, deployment, skew, status, shown) in cases {
        let mut site = Site::scenario(scenario);
        site.authorization = None;
        site.clock_skew_seconds = skew;
        let site = JiraSite::start(site).await;
        let mut options = raytion();
        options.checks = vec![CheckId::ServerInfo];
        let report = audit(client(&site, deployment), &options, None)
            .await
            .unwrap();
        let check = &report.checks[0];
        assert_eq!(check.status, status, "{skew}: {check:?}");
        assert!(
            check.summary.ends_with(&format!("clock skew {shown}")),
            "{}",
            check.summary
        );
        if status == Status::Fail {
            assert!(
                check
                    .fix
                    .as_deref()
                    .unwrap()
                    .contains("`timestamp_refused`"),
                "{:?}",
                check.fix
            );
        }
    }
}

/// With 50 ms per response and at most 4 requests in flight, 40 `roledetails` calls take at
/// least 10 rounds, plus `myself` and the project list: 12 rounds, 600 ms. Five in flight
/// would finish in 10 rounds, so the lower bound pins the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_never_exceed_the_concurrency() {
    use jira_auth_test::jira_site::Behaviour;
    let site = JiraSite::start_with(
        Site::synthetic(40, 0, 0, 1),
        Behaviour {
            latency: std::time::Duration::from_millis(50),
            ..Behaviour::default()
        },
    )
    .await;
    let mut options = raytion();
    options.checks = vec![CheckId::VisibilityRoles];
    options.concurrency = 4;
    let started = std::time::Instant::now();
    let report = audit(client(&site, Deployment::Cloud), &options, None)
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(report.checks[0].status, Status::Pass);
    assert_eq!(report.requests, 1 + 1 + 1 + 40);
    assert!(
        elapsed >= std::time::Duration::from_millis(600),
        "{elapsed:?}: more than 4 requests were in flight"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_center_levels_are_partial_and_an_unreadable_scheme_is_a_warning() {
    let mut site = Site::scenario("dc-healthy");
    site.authorization = None;
    site.forbidden = vec!["/project/ENG/issuesecuritylevelscheme".into()];
    let site = JiraSite::start(site).await;
    let mut options = raytion();
    options.checks = vec![CheckId::SecurityLevels];
    let report = audit(client(&site, Deployment::DataCenter), &options, None)
        .await
        .unwrap();
    let check = &report.checks[0];
    assert_eq!(check.status, Status::Warn, "{check:?}");
    assert!(check.partial);
    assert_eq!(
        check.summary,
        "the issue security scheme of 1 project cannot be read, so its levels cannot be compared"
    );
    assert_eq!(check.findings, ["ENG"]);
}

/// Audits `site` served with `paging`: every check, or only `only` when it is not empty.
async fn audit_paged(
    site: Site,
    paging: Paging,
    max_pages: usize,
    only: &[CheckId],
) -> (
    Result<jira_auth_audit::Report, jira_auth_audit::AuditError>,
    u64,
) {
    let fake = JiraSite::start_with(
        site,
        Behaviour {
            paging,
            ..Behaviour::default()
        },
    )
    .await;
    let mut options = raytion();
    options.max_pages = max_pages;
    if !only.is_empty() {
        options.checks = only.to_vec();
    }
    let report = audit(client(&fake, Deployment::Cloud), &options, None).await;
    (report, fake.requests())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_ignore_start_at_end_the_list_as_incomplete_never_as_a_pass() {
    // 250 projects; every page is the first 100 again, `isLast: false`, no total.
    let (report, requests) = audit_paged(
        Site::synthetic(250, 2, 2, 2),
        Paging::IgnoreStartAt,
        MAX_PAGES,
        &[],
    )
    .await;
    let report = report.unwrap();
    let browse = &report.checks[3];
    assert_eq!(browse.status, Status::Warn, "{browse:?}");
    assert_eq!(
        browse.summary,
        "the user can browse all 100 projects listed, but Jira stopped the project list short, so some projects were not checked"
    );
    assert!(
        browse.evidence.iter().any(|e| e
            == "GET /rest/api/3/project/search answered startAt=100 with no item it had not already sent although the page was not the last; the list stops at 100 items"),
        "{:?}",
        browse.evidence
    );
    for check in &report.checks[4..6] {
        assert_ne!(check.status, Status::Pass, "{check:?}");
    }
    // Bounded: one page, one repeat of each list, no runaway.
    assert!(requests < 200, "{requests} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_that_never_end_stop_the_audit_with_an_error_naming_the_endpoint() {
    // Only `projects.browse`, so `project/search` is the one paged list.
    let (report, requests) = audit_paged(
        Site::synthetic(3, 1, 1, 1),
        Paging::Endless,
        50,
        &[CheckId::ProjectsBrowse],
    )
    .await;
    let error = report.unwrap_err();
    assert_eq!(
        error.to_string(),
        "GET /rest/api/3/project/search kept paging past 51 pages and 53 items (the limits are 50 pages and 1000000 items): the server is not ending the list; the audit stopped, because a list it cannot finish proves nothing: check that the URL points at Jira and not at a proxy or mock that repeats pages"
    );
    assert_eq!(
        jira_auth_core::Categorize::category(&error),
        jira_auth_core::Category::Network
    );
    assert!(requests < 200, "{requests} requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_total_sizes_nothing() {
    // `total: 10000000000` on every page: the audit reads the real 250 projects with the
    // pages it needs plus at most one wave of empty ones.
    let (report, requests) = audit_paged(
        Site::synthetic(250, 2, 2, 2),
        Paging::HugeTotal,
        MAX_PAGES,
        &[],
    )
    .await;
    let report = report.unwrap();
    assert_eq!(
        report.checks[3].summary,
        "the user can browse all 250 projects"
    );
    assert_eq!(report.checks[3].status, Status::Pass);
    let minimum = cloud_minimum_requests(250, 2, 4, 12);
    assert!(
        requests <= minimum + 2 * 8,
        "{requests} requests, minimum {minimum}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_is_not_a_page_is_an_error_naming_the_operation() {
    let (report, _) = audit_paged(
        Site::synthetic(5, 1, 1, 1),
        Paging::NotAPage,
        MAX_PAGES,
        &[],
    )
    .await;
    let report = report.unwrap();
    for check in &report.checks[3..6] {
        assert_eq!(check.status, Status::Error, "{check:?}");
    }
    let security = &report.checks[4];
    assert_eq!(
        security.summary,
        "could not read the issue security schemes and the projects using them"
    );
    assert!(
        security.evidence[0].starts_with("http://127.0.0.1:")
            && security.evidence[0].contains(
                "/rest/api/3/issuesecurityschemes/search?startAt=0&maxResults=50 answered 200 with a body that is not the JSON expected (missing field `values`"
            ),
        "{:?}",
        security.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_that_verified_nothing_warns() {
    // No project at all, no role: nothing was verified, so nothing may pass on it.
    let mut site = Site::synthetic(0, 0, 0, 0);
    site.projects.clear();
    let (report, _) = audit_paged(site, Paging::Honest, MAX_PAGES, &[]).await;
    let report = report.unwrap();
    let statuses: Vec<(CheckId, Status, &str)> = report
        .checks
        .iter()
        .map(|c| (c.id, c.status, c.summary.as_str()))
        .collect();
    assert_eq!(
        statuses[3..6],
        [
            (
                CheckId::ProjectsBrowse,
                Status::Warn,
                "Jira listed no project for the user, so nothing was verified"
            ),
            (
                CheckId::SecurityLevels,
                Status::Pass,
                "the site has no issue security schemes, so no level hides issues"
            ),
            (
                CheckId::VisibilityRoles,
                Status::Warn,
                "Jira listed no project, so no role membership was verified"
            ),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemes_in_use_with_no_level_warn() {
    let site = Site::synthetic(4, 2, 0, 1);
    let (report, _) = audit_paged(site, Paging::Honest, MAX_PAGES, &[]).await;
    let security = &report.unwrap().checks[4];
    assert_eq!(security.status, Status::Warn, "{security:?}");
    assert_eq!(
        security.summary,
        "Jira listed no security level in the 2 issue security schemes in use, so nothing was verified"
    );
    assert_eq!(
        security.coverage_line().as_deref(),
        Some("verified 0 of 0 security levels, 4 of 4 projects")
    );
}
