//! Jira Cloud service accounts in the fake Atlassian: the client credentials grant and a site's
//! own host.
//!
//! Written from RFC 6749 §4.4 and §2.3.1 and Atlassian's "Create OAuth 2.0 credential for service
//! accounts" (support.atlassian.com/user-management): an admin creates a credential (client id
//! and secret) with a set of scopes; `POST https://auth.atlassian.com/oauth/token` with
//! `grant_type=client_credentials` answers an access token valid for 60 minutes; calls go through
//! `https://api.atlassian.com/ex/jira/{cloudId}`; a site's cloud id is at
//! `https://SITE.atlassian.net/_edge/tenant_info` (`{"cloudId": "…"}`).
//!
//! The token endpoint, strictly:
//! - the client authenticates with `client_id` and `client_secret` in the body (form or JSON, as
//!   Atlassian's examples show) or with HTTP Basic (§2.3.1, which a server must support), never
//!   both (§2.3: one method per request, else `400 invalid_request`);
//! - an unknown id or a wrong secret is `401 invalid_client` (§5.2; `WWW-Authenticate: Basic`
//!   when Basic was used); the id of a 3LO app is `400 unauthorized_client`;
//! - `scope` is optional (§4.4.2): absent, the token carries all the credential's scopes; present,
//!   each must be one of them, else `400 invalid_scope` (so is `offline_access`: no refresh token
//!   for this grant);
//! - the answer (§5.1) is `access_token`, `token_type: Bearer`, `expires_in: 3600`, `scope`, no
//!   `refresh_token` (§4.4.3), with `Cache-Control: no-store`;
//! - the token reaches the credential's sites only: the gateway answers any other
//!   `/ex/jira/{cloudId}/…` 401 `{"code":401,"message":"Unauthorized"}`.

use super::{FakeAtlassian, Shared, answer, bearer_ok, oauth_error};
use base64::Engine as _;
use serde_json::{Value, json};
use std::collections::HashMap;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The client id of the default fake service account's OAuth 2.0 credential.
pub const SA_CLIENT_ID: &str = "fakeServiceAccountId0123456789AB";
/// Its client secret.
pub const SA_CLIENT_SECRET: &str = "fake-sa-secret-ATATT3xFfGF0";
/// The cloud id of the `sites-one` site (`acme`), the one the default service account reaches.
pub const ACME_CLOUD_ID: &str = "1324a887-45db-1bf4-1e99-ef0ff456d421";

/// A service account's OAuth 2.0 credential, as an admin created it.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub client_id: String,
    pub client_secret: String,
    /// The scopes chosen when the credential was created.
    pub scopes: Vec<String>,
    /// The cloud ids of the sites whose Jira the account may use.
    pub sites: Vec<String>,
}

impl Default for ServiceAccount {
    fn default() -> Self {
        Self {
            client_id: SA_CLIENT_ID.to_owned(),
            client_secret: SA_CLIENT_SECRET.to_owned(),
            scopes: vec!["read:jira-work".to_owned(), "read:jira-user".to_owned()],
            sites: vec![ACME_CLOUD_ID.to_owned()],
        }
    }
}

/// `POST /oauth/token` with `grant_type=client_credentials`; `body` is the parsed form or JSON.
pub(super) fn token(
    shared: &Shared,
    request: &Request,
    body: &HashMap<String, String>,
) -> ResponseTemplate {
    let in_body = body.contains_key("client_id") || body.contains_key("client_secret");
    let basic = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(decode_basic);
    let (id, secret) = match (basic, in_body) {
        (Some(_), true) => {
            return oauth_error(
                400,
                "invalid_request",
                "more than one client authentication method",
            );
        }
        (Some(Some(pair)), false) => pair,
        (Some(None), false) => return invalid_client(true),
        (None, _) => (
            body.get("client_id").cloned().unwrap_or_default(),
            body.get("client_secret").cloned().unwrap_or_default(),
        ),
    };
    let config = &shared.config;
    let Some(account) = config
        .service_accounts
        .iter()
        .find(|a| a.client_id == id && a.client_secret == secret)
    else {
        if id == config.client_id && secret == config.client_secret {
            return oauth_error(
                400,
                "unauthorized_client",
                "The client is not authorized to use this grant type",
            );
        }
        return invalid_client(request.headers.contains_key("authorization"));
    };
    let granted: Vec<String> = match body.get("scope").map(|s| s.trim()) {
        None | Some("") => account.scopes.clone(),
        Some(requested) => {
            let requested: Vec<&str> = requested.split(' ').filter(|s| !s.is_empty()).collect();
            if let Some(bad) = requested
                .iter()
                .find(|s| !account.scopes.iter().any(|a| a == *s))
            {
                return oauth_error(
                    400,
                    "invalid_scope",
                    &format!("The requested scope is invalid: {bad}"),
                );
            }
            requested.into_iter().map(str::to_owned).collect()
        }
    };
    let mut state = shared.lock();
    let now = state.now();
    let access = state.next("at");
    state.issued.push(access.clone());
    state.access.insert(
        access.clone(),
        super::Access {
            expires: now + config.expires_in,
            sites: Some(account.sites.clone()),
        },
    );
    let body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": config.expires_in,
        "scope": granted.join(" "),
    });
    answer(&state, body).insert_header("Cache-Control", "no-store")
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1); `None` when malformed.
fn decode_basic(credentials: &str) -> Option<(String, String)> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(credentials.trim())
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

fn invalid_client(basic: bool) -> ResponseTemplate {
    let answer = oauth_error(401, "invalid_client", "Client authentication failed");
    if basic {
        answer.insert_header("WWW-Authenticate", "Basic realm=\"auth.atlassian.com\"")
    } else {
        answer
    }
}

/// `GET /ex/jira/{cloudId}/rest/api/3/serverInfo` (Atlassian's `ServerInfo` shape) for a site of
/// the scenario; a token that does not reach the site is 401, an unknown cloud id 404.
pub(super) fn server_info(shared: &Shared, request: &Request) -> ResponseTemplate {
    if let Err(r) = bearer_ok(shared, request) {
        return *r;
    }
    let cloud_id = request.url.path().split('/').nth(3).unwrap_or_default();
    let site = shared.lock().sites.as_array().and_then(|sites| {
        sites
            .iter()
            .find(|s| s.get("id").and_then(Value::as_str) == Some(cloud_id))
            .cloned()
    });
    let Some(site) = site else {
        return ResponseTemplate::new(404)
            .set_body_json(json!({"errorMessages": ["Site not found"], "errors": {}}));
    };
    ResponseTemplate::new(200).set_body_json(json!({
        "baseUrl": site["url"],
        "displayUrl": site["url"],
        "version": "1001.0.0-SNAPSHOT",
        "versionNumbers": [1001, 0, 0],
        "deploymentType": "Cloud",
        "buildNumber": 100_287,
        "buildDate": "2026-11-24T08:13:51.000+0000",
        "serverTime": "2026-11-30T12:00:00.000+0000",
        "scmInfo": "9f3c1a2b4d5e6f708192a3b4c5d6e7f8091a2b3c",
        "serverTitle": site["name"],
        "serverTimeZone": "Etc/UTC",
    }))
}

impl FakeAtlassian {
    /// A Jira Cloud site's own host (what `https://SITE.atlassian.net` is to jira-auth):
    /// `GET /_edge/tenant_info` answers `{"cloudId": cloud_id}`, anything else 404. Pass its
    /// [`MockServer::uri`] as `--site`.
    pub async fn start_site(&self, cloud_id: &str) -> MockServer {
        let site = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/_edge/tenant_info"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "cloudId": cloud_id })))
            .mount(&site)
            .await;
        site
    }

    /// Client credentials token requests so far (`grant_type=client_credentials`).
    pub async fn mint_requests(&self) -> Vec<Request> {
        self.token_requests()
            .await
            .into_iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("client_credentials"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{FakeAtlassian, FakeConfig};
    use super::*;

    async fn post(
        fake: &FakeAtlassian,
        basic: Option<&str>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut request = reqwest::Client::new()
            .post(format!("{}/oauth/token", fake.auth_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(b) = basic {
            request = request.header("authorization", format!("Basic {b}"));
        }
        let r = request.send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    #[tokio::test]
    async fn client_credentials_mint_a_token_for_the_credentials_sites_only() {
        let fake = FakeAtlassian::start(FakeConfig {
            sites_scenario: "sites-three".into(),
            ..FakeConfig::default()
        })
        .await;
        let grant = ("grant_type", "client_credentials");
        let (status, body) = post(
            &fake,
            None,
            &[
                grant,
                ("client_id", SA_CLIENT_ID),
                ("client_secret", SA_CLIENT_SECRET),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "read:jira-work read:jira-user");
        assert!(body.get("refresh_token").is_none(), "{body}");
        let token = body["access_token"].as_str().unwrap();
        let info = |cloud: &str| {
            reqwest::Client::new()
                .get(format!(
                    "{}/ex/jira/{cloud}/rest/api/3/serverInfo",
                    fake.api_url()
                ))
                .bearer_auth(token)
                .send()
        };
        let ok = info(ACME_CLOUD_ID).await.unwrap();
        assert_eq!(ok.status(), 200);
        let ok: Value = ok.json().await.unwrap();
        assert_eq!(ok["baseUrl"], "https://acme.atlassian.net");
        // Another site of the scenario that this account was not given.
        let other = info("c0ffee00-1234-4abc-8def-0123456789ab").await.unwrap();
        assert_eq!(other.status(), 401);

        // HTTP Basic (RFC 6749 §2.3.1), with a scope subset.
        let basic = base64::engine::general_purpose::STANDARD
            .encode(format!("{SA_CLIENT_ID}:{SA_CLIENT_SECRET}"));
        let (status, body) = post(&fake, Some(&basic), &[grant, ("scope", "read:jira-work")]).await;
        assert_eq!(
            (status, body["scope"].clone()),
            (200, json!("read:jira-work"))
        );
        // Both methods at once.
        let (status, body) = post(&fake, Some(&basic), &[grant, ("client_id", SA_CLIENT_ID)]).await;
        assert_eq!(
            (status, body["error"].clone()),
            (400, json!("invalid_request"))
        );
    }

    #[tokio::test]
    async fn client_credentials_errors_are_rfc_6749_section_5_2() {
        let fake = FakeAtlassian::start(FakeConfig::default()).await;
        let grant = ("grant_type", "client_credentials");
        let wrong = post(
            &fake,
            None,
            &[
                grant,
                ("client_id", SA_CLIENT_ID),
                ("client_secret", "nope"),
            ],
        )
        .await;
        assert_eq!(
            (wrong.0, wrong.1["error"].clone()),
            (401, json!("invalid_client"))
        );
        let app = post(
            &fake,
            None,
            &[
                grant,
                ("client_id", super::super::CLIENT_ID),
                ("client_secret", super::super::CLIENT_SECRET),
            ],
        )
        .await;
        assert_eq!(
            (app.0, app.1["error"].clone()),
            (400, json!("unauthorized_client"))
        );
        let ok = [
            grant,
            ("client_id", SA_CLIENT_ID),
            ("client_secret", SA_CLIENT_SECRET),
        ];
        for scope in ["manage:jira-configuration", "read:jira-work offline_access"] {
            let mut form = ok.to_vec();
            form.push(("scope", scope));
            let (status, body) = post(&fake, None, &form).await;
            assert_eq!(
                (status, body["error"].clone()),
                (400, json!("invalid_scope")),
                "{scope}"
            );
        }
        let site = fake.start_site(ACME_CLOUD_ID).await;
        let info: Value = reqwest::get(format!("{}/_edge/tenant_info", site.uri()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(info, json!({ "cloudId": ACME_CLOUD_ID }));
    }
}
