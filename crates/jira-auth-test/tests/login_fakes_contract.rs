//! The Jira REST answers of the login fakes fit Atlassian's documents too: `cloud login` and
//! `cloud status` read `GET /rest/api/3/myself` through the API gateway, `server login` and
//! `server request` read `GET /rest/api/2/myself` and `serverInfo` from Data Center.

#![allow(clippy::unwrap_used)]

use jira_auth_test::contract::{Contract, Document, Exchange};
use jira_auth_test::server::{FakeJiraServer, FakeJiraServerConfig};

fn get(path: &str, body: serde_json::Value) -> Exchange {
    Exchange {
        method: "GET".into(),
        path: path.into(),
        query: Vec::new(),
        request_body: None,
        status: 200,
        response_body: Some(body),
    }
}

#[test]
fn the_cloud_fakes_myself_fits_the_cloud_document() {
    let body = jira_auth_test::fixtures::json("cloud/myself/myself.json");
    let ex = get("/rest/api/3/myself", body);
    assert_eq!(
        Contract::get(Document::CloudPlatformV3).violations(&ex),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn the_server_fakes_myself_and_server_info_fit_the_data_center_document() {
    let config = FakeJiraServerConfig::default();
    let ex = get("/rest/api/2/myself", config.user.clone());
    let contract = Contract::get(Document::DataCenter10_3);
    assert_eq!(contract.violations(&ex), Vec::<String>::new());

    let fake = FakeJiraServer::start(config).await;
    let info: serde_json::Value = reqwest::get(format!("{}/rest/api/2/serverInfo", fake.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        contract.violations(&get("/rest/api/2/serverInfo", info)),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn the_cloud_fakes_server_info_for_a_service_account_fits_the_cloud_document() {
    use jira_auth_test::cloud::service_account::ACME_CLOUD_ID;
    use jira_auth_test::cloud::{FakeAtlassian, FakeConfig, SA_CLIENT_ID, SA_CLIENT_SECRET};
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let minted: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/oauth/token", fake.auth_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={SA_CLIENT_ID}&client_secret={SA_CLIENT_SECRET}"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let info: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/ex/jira/{ACME_CLOUD_ID}/rest/api/3/serverInfo",
            fake.api_url()
        ))
        .bearer_auth(minted["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["deploymentType"], "Cloud");
    assert_eq!(
        Contract::get(Document::CloudPlatformV3).violations(&get("/rest/api/3/serverInfo", info)),
        Vec::<String>::new()
    );
}

/// What a fake answers `path` with `credential` (an `Authorization` value): status and body.
async fn refused(url: &str, credential: &str) -> (u16, Option<serde_json::Value>) {
    let response = reqwest::Client::new()
        .get(url)
        .header("authorization", credential)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.ok())
}

/// The fakes' credential checks (the gateway's in front of an attached Cloud site, Jira's in
/// front of a Data Center site) refuse a credential they never issued with a status Atlassian's
/// documents declare for the operation asked, and the gateway with the body its OAuth 2.0 (3LO)
/// page shows.
#[tokio::test]
async fn the_fakes_refuse_a_foreign_credential_with_a_declared_status() {
    use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
    use jira_auth_test::jira_site::{JiraSite, Site};
    use jira_auth_test::journey::{demo_site, first_site_id};

    let atlassian = FakeAtlassian::start(FakeConfig::default()).await;
    let cloud_id = first_site_id().unwrap();
    let prefix = format!("/ex/jira/{cloud_id}");
    let _site = JiraSite::attach(
        Site::from_file(&demo_site("cloud-site.json")),
        &atlassian.api,
        &prefix,
        1,
        atlassian.gate(),
    )
    .await;
    let cloud = Contract::get(Document::CloudPlatformV3);
    for path in [
        "/rest/api/3/myself",
        "/rest/api/3/serverInfo",
        "/rest/api/3/project/search",
    ] {
        let url = format!("{}{prefix}{path}", atlassian.api_url());
        let (status, body) = refused(&url, "Bearer not-a-token-it-issued").await;
        assert_eq!(
            (status, body.clone()),
            (
                401,
                Some(serde_json::json!({"code": 401, "message": "Unauthorized"}))
            ),
            "{path}"
        );
        let ex = Exchange {
            status,
            response_body: body,
            ..get(path, serde_json::Value::Null)
        };
        assert_eq!(cloud.violations(&ex), Vec::<String>::new(), "{path}");
    }

    let jira = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let _site = JiraSite::attach(
        Site::from_file(&demo_site("dc-site.json")),
        jira.mock_server(),
        "",
        10,
        jira.gate(),
    )
    .await;
    let data_center = Contract::get(Document::DataCenter10_3);
    for path in ["/rest/api/2/myself", "/rest/api/2/project"] {
        let url = format!("{}{path}", jira.url());
        let (status, body) = refused(&url, "Bearer not-its-personal-access-token").await;
        assert_eq!(status, 401, "{path}");
        let ex = Exchange {
            status,
            response_body: body,
            ..get(path, serde_json::Value::Null)
        };
        assert_eq!(data_center.violations(&ex), Vec::<String>::new(), "{path}");
    }
}
