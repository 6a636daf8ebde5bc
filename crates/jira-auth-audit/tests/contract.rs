//! Atlassian's contract is the arbiter: every request the auditor sends and every answer the
//! fake site gives, in every audit scenario, must fit Atlassian's OpenAPI document for the
//! deployment (`fixtures/atlassian/`, validated by `jira_auth_test::contract`). A fake that
//! answered what our client expects instead would let the auditor pass on nothing.

#![allow(clippy::unwrap_used)]

use jira_auth_audit::{AuditOptions, CheckId, Status, audit};
use jira_auth_core::auth::{Authorizer, Bearer, PatBearer};
use jira_auth_core::http::HttpClient;
use jira_auth_core::jira::{Deployment, JiraClient};
use jira_auth_core::presets::Presets;
use jira_auth_core::{AccessToken, PersonalAccessToken};
use jira_auth_test::contract::{Contract, Document};
use jira_auth_test::jira_site::{self, JiraSite, Site};
use std::sync::Arc;

/// The credential a scenario's fake expects, rebuilt from its `authorization` header.
fn credential(site: &Site) -> Arc<dyn Authorizer> {
    match site.authorization.as_deref() {
        Some(h) if h.starts_with("Basic ") => {
            let raw = base64_decode(&h["Basic ".len()..]);
            let (email, token) = raw.split_once(':').unwrap();
            Arc::new(jira_auth_core::auth::BasicApiToken {
                email: email.to_owned(),
                token: jira_auth_core::ApiToken::new(token),
            })
        }
        Some(h) if site.deployment == jira_site::Deployment::DataCenter => Arc::new(PatBearer(
            PersonalAccessToken::new(h.trim_start_matches("Bearer ")),
        )),
        Some(h) => Arc::new(Bearer(AccessToken::new(h.trim_start_matches("Bearer ")))),
        None => Arc::new(Bearer(AccessToken::new("any"))),
    }
}

fn base64_decode(text: &str) -> String {
    use base64::Engine as _;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

/// Audits `site` with every check and `--deep`, and returns the report and the exchanges.
async fn audit_everything(
    site: Site,
) -> (jira_auth_audit::Report, Vec<jira_site::Exchange>, Document) {
    let (deployment, document) = match site.deployment {
        jira_site::Deployment::Cloud => (Deployment::Cloud, Document::CloudPlatformV3),
        jira_site::Deployment::DataCenter => (Deployment::DataCenter, Document::DataCenter10_3),
    };
    let auth = credential(&site);
    let fake = JiraSite::start(site).await;
    let client = JiraClient::new(
        HttpClient::builder().build().unwrap(),
        fake.url().parse().unwrap(),
        deployment,
        auth,
    );
    let mut options =
        AuditOptions::from_preset("raytion", Presets::builtin().get("raytion").unwrap()).unwrap();
    options.checks = CheckId::ALL.to_vec();
    options.deep = true;
    options.granted_scopes = Some(options.required_scopes.clone());
    let report = audit(client, &options, None).await.unwrap();
    (report, fake.exchanges(), document)
}

fn assert_conforms(name: &str, exchanges: &[jira_site::Exchange], document: Document) {
    assert!(!exchanges.is_empty(), "{name}: no exchange recorded");
    let contract = Contract::get(document);
    let violations: Vec<String> = exchanges
        .iter()
        .flat_map(|ex| contract.violations(ex))
        .collect();
    assert!(
        violations.is_empty(),
        "{name}: {} of {} exchanges break {document}:\n{}",
        violations.len(),
        exchanges.len(),
        violations.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_conforms_to_atlassians_documents() {
    let dir = jira_auth_test::fixtures::dir().join("audit");
    let mut scenarios: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            e.path()
                .join("site.json")
                .exists()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 9, "{scenarios:?}");
    for name in &scenarios {
        let (_, exchanges, document) = audit_everything(Site::scenario(name)).await;
        assert_conforms(name, &exchanges, document);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_paged_site_conforms_too() {
    // Several pages of every paged endpoint, and more than one bulk permission call.
    let mut site = Site::synthetic(1234, 60, 5, 4);
    site.worklogs = (1..=2500)
        .map(|id| serde_json::json!({"id": id.to_string(), "issueId": "10100"}))
        .collect();
    let (report, exchanges, document) = audit_everything(site).await;
    assert_conforms("synthetic", &exchanges, document);
    let security = &report.checks[4];
    assert_eq!(security.status, Status::Pass, "{security:?}");
}

/// The fake itself answers a request for the levels of one scheme with that scheme's levels,
/// in the documented shape, and never puts levels in the scheme list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheme_list_carries_no_levels_as_atlassian_documents() {
    let site = Site::scenario("cloud-healthy");
    let auth = site.authorization.clone().unwrap();
    let fake = JiraSite::start(site).await;
    let get = |path: &str| {
        let url = format!("{}{path}", fake.url());
        let auth = auth.clone();
        async move {
            reqwest::Client::new()
                .get(url)
                .header("authorization", auth)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let list = get("/rest/api/3/issuesecurityschemes").await;
    assert!(
        list["issueSecuritySchemes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("levels").is_none()),
        "{list}"
    );
    let levels = get("/rest/api/3/issuesecurityschemes/level?schemeId=10101").await;
    let names: Vec<&str> = levels["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["HR only"]);
    assert_eq!(levels["values"][0]["issueSecuritySchemeId"], "10101");
    assert_conforms("direct", &fake.exchanges(), Document::CloudPlatformV3);
}
