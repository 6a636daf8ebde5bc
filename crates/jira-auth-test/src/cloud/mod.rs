//! The fake Atlassian for Jira Cloud OAuth 2.0 (3LO): an authorization server and an API gateway,
//! each a wiremock server on 127.0.0.1 with stateful responders.
//!
//! Authorization server (`auth_url`):
//! - `GET /authorize`: validates the request like Atlassian (known `client_id`,
//!   `response_type=code`, `audience=api.atlassian.com`, a `redirect_uri` that is the app's
//!   registered callback URL when one is set, and `state`) and answers
//!   an HTML consent page whose "Accept" link (`/authorize/accept?…`) answers 302 to
//!   `redirect_uri?code=…&state=…`, and whose "Cancel" link (`/authorize/deny?…`) answers 302 with
//!   `error=access_denied`. A request that fails validation gets an error page and no redirect
//!   (RFC 6749 §4.1.2.1: never redirect to an unverified `redirect_uri`). A real browser or an
//!   HTTP client acting as one can use it; [`browse`] is such a client.
//! - `POST /oauth/token`: `authorization_code` with single-use codes bound to the client id and
//!   `redirect_uri` (and expiring after 10 minutes); `refresh_token` with rotation, the 10-minute
//!   reuse tolerance, family revocation on a later reuse, the 90-day inactivity and 365-day family
//!   limits, and optionally no `refresh_token` in refresh responses. Client credentials are read
//!   from the form body (or JSON body, which Atlassian's docs show).
//! - Errors are Atlassian's: `403 {"error":"invalid_grant","error_description":"Unknown or invalid
//!   refresh token."}`, `401 {"error":"access_denied","error_description":"Unauthorized"}`.
//!
//! - `POST /oauth/token` with `client_credentials`: service accounts, see [`service_account`].
//!
//! API gateway (`api_url`): `GET /oauth/token/accessible-resources` (0, 1 or N sites from a
//! fixture scenario), `GET /ex/jira/{cloudId}/rest/api/3/myself` and `…/serverInfo`, all checking
//! the bearer (and, for a service account's token, that it reaches that site). A Jira site served
//! below `/ex/jira/{cloudId}` ([`crate::jira_site::JiraSite::attach`]) checks it too, with
//! [`FakeAtlassian::gate`]: an access token this fake issued and that has not expired, else
//! `401 {"code":401,"message":"Unauthorized"}`.
//!
//! Time is the fake's own: real time plus an offset that [`FakeAtlassian::advance`] moves, so a
//! test crosses the 10-minute reuse window or the 90-day limit without waiting.

mod routes;
pub mod service_account;
mod state;

use routes::{Kind, Responder, accept, answer, bearer_ok, deny, oauth_error};
use serde_json::Value;
use state::{Access, Shared, State, family_alive};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request};

pub use service_account::{SA_CLIENT_ID, SA_CLIENT_SECRET, ServiceAccount};

/// The client id of the default fake app.
pub const CLIENT_ID: &str = "fakeClientId0123456789ABCDEFGHIJ";
/// The client secret of the default fake app.
pub const CLIENT_SECRET: &str = "fake-client-secret-XYZ";
/// The reuse tolerance for a rotated refresh token.
pub const REUSE_INTERVAL: Duration = Duration::from_secs(10 * 60);
const DAY: u64 = 86_400;

/// How the fake behaves. `Default` is one app, one site, everything requested is granted.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub client_id: String,
    pub client_secret: String,
    /// The fixture scenario folder under `fixtures/cloud/` whose `accessible-resources.json` is
    /// served: `sites-none`, `sites-one` or `sites-three`.
    pub sites_scenario: String,
    /// The scopes configured on the app in the developer console: the grant is the request
    /// intersected with these (`offline_access` is always grantable). `None`: grant everything.
    pub app_scopes: Option<Vec<String>>,
    /// Refresh responses carry no `refresh_token` (the old one stays valid).
    pub omit_refresh_token_on_refresh: bool,
    /// `expires_in` of access tokens.
    pub expires_in: u64,
    /// The service accounts' OAuth 2.0 credentials the token endpoint knows.
    pub service_accounts: Vec<ServiceAccount>,
    /// The app's registered callback URL: an authorize request with another `redirect_uri` gets
    /// the error page. `None`: any `redirect_uri` (tests listen on random ports).
    pub callback_url: Option<String>,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            sites_scenario: "sites-one".to_owned(),
            app_scopes: None,
            omit_refresh_token_on_refresh: false,
            expires_in: 3600,
            service_accounts: vec![ServiceAccount::default()],
            callback_url: None,
        }
    }
}

/// How the token endpoint writes a successful answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TokenAnswer {
    /// `application/json`, as Atlassian answers.
    #[default]
    Json,
    /// The same JSON after a UTF-8 byte order mark.
    JsonAfterBom,
    /// `application/x-www-form-urlencoded` pairs (`access_token=…&refresh_token=…`), as some
    /// OAuth servers answer by default.
    Form,
}

/// The running fake: two wiremock servers and their shared state.
#[derive(Debug)]
pub struct FakeAtlassian {
    /// The authorization server (`/authorize`, `/oauth/token`).
    pub auth: MockServer,
    /// The API gateway (`/oauth/token/accessible-resources`, `/ex/jira/...`).
    pub api: MockServer,
    shared: Shared,
}

/// What the browser saw when it followed the consent to the redirect URI.
#[derive(Debug, Clone)]
pub struct BrowserVisit {
    /// Where the fake's 302 sent the browser (`redirect_uri?code=…&state=…`).
    pub location: String,
    /// The status the loopback listener answered.
    pub status: u16,
    /// The HTML the loopback listener answered.
    pub body: String,
}

impl FakeAtlassian {
    pub async fn start(config: FakeConfig) -> Self {
        Self::start_on(config, 0).await
    }

    /// Like [`start`](Self::start), with the authorization server on 127.0.0.1:`port` and the
    /// API gateway on `port + 1` (`0`: random ports), for `cargo xtask fake-atlassian --port`.
    ///
    /// # Panics
    /// When a port cannot be bound: this is a test and demo harness.
    pub async fn start_on(config: FakeConfig, port: u16) -> Self {
        let sites = crate::fixtures::json(&format!(
            "cloud/{}/accessible-resources.json",
            config.sites_scenario
        ));
        let shared = Shared {
            config: Arc::new(config),
            state: Arc::new(Mutex::new(State {
                sites,
                ..State::default()
            })),
        };
        let server_on = |port: u16| async move {
            if port == 0 {
                return MockServer::start().await;
            }
            let listener = std::net::TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
            MockServer::builder().listener(listener).start().await
        };
        let auth = server_on(port).await;
        let api = server_on(if port == 0 { 0 } else { port + 1 }).await;
        for (route, kind) in [
            ("/authorize", Kind::ConsentPage),
            ("/authorize/accept", Kind::Accept),
            ("/authorize/deny", Kind::Deny),
        ] {
            Mock::given(method("GET"))
                .and(path(route))
                .respond_with(Responder {
                    shared: shared.clone(),
                    kind,
                })
                .mount(&auth)
                .await;
        }
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(Responder {
                shared: shared.clone(),
                kind: Kind::Token,
            })
            .mount(&auth)
            .await;
        Mock::given(method("GET"))
            .and(path("/oauth/token/accessible-resources"))
            .respond_with(Responder {
                shared: shared.clone(),
                kind: Kind::Resources,
            })
            .mount(&api)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/ex/jira/[^/]+/rest/api/3/serverInfo$"))
            .respond_with(Responder {
                shared: shared.clone(),
                kind: Kind::ServerInfo,
            })
            .mount(&api)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(r"^/ex/jira/[^/]+/rest/api/3/myself$"))
            .respond_with(Responder {
                shared: shared.clone(),
                kind: Kind::Myself,
            })
            .mount(&api)
            .await;
        Self { auth, api, shared }
    }

    /// `http://127.0.0.1:PORT` of the authorization server (pass as `--auth-url`).
    pub fn auth_url(&self) -> String {
        self.auth.uri()
    }

    /// `http://127.0.0.1:PORT` of the API gateway (pass as `--api-url`).
    pub fn api_url(&self) -> String {
        self.api.uri()
    }

    pub fn client_id(&self) -> &str {
        &self.shared.config.client_id
    }

    pub fn client_secret(&self) -> &str {
        &self.shared.config.client_secret
    }

    /// The fake's "now" in Unix seconds.
    pub fn now(&self) -> u64 {
        self.shared.lock().now()
    }

    /// Moves the fake's clock forward.
    pub fn advance(&self, by: Duration) {
        self.shared.lock().offset += by;
    }

    /// Makes every token minted from now on `extra` characters longer (Atlassian's are JWTs of a
    /// few KiB; a test can make them outgrow what a client expected).
    pub fn pad_tokens(&self, extra: usize) {
        self.shared.lock().token_padding = extra;
    }

    /// The credential check of the API gateway, for a Jira site attached below
    /// `/ex/jira/{cloudId}`: a bearer access token this fake issued, not expired, and for a
    /// service account's token one that reaches that site.
    pub fn gate(&self) -> crate::jira_site::Gate {
        let shared = self.shared.clone();
        Arc::new(move |request: &Request| bearer_ok(&shared, request).map_err(|r| *r))
    }

    /// Replaces the sites served by accessible-resources (`[{"id", "url", "name", "scopes",
    /// "avatarUrl"}]`, as Atlassian documents them).
    pub fn set_sites(&self, sites: Value) {
        self.shared.lock().sites = sites;
    }

    /// Replaces the sites served by accessible-resources with another fixture scenario.
    pub fn set_sites_scenario(&self, scenario: &str) {
        self.shared.lock().sites =
            crate::fixtures::json(&format!("cloud/{scenario}/accessible-resources.json"));
    }

    /// Makes every refresh answer `status` with `body` (e.g. `unauthorized_client`) until reset.
    pub fn set_refresh_error(&self, error: Option<(u16, Value)>) {
        self.shared.lock().refresh_error = error;
    }

    /// Writes the token endpoint's successful answers as `answer` from now on.
    pub fn set_token_answer(&self, answer: TokenAnswer) {
        self.shared.lock().token_answer = answer;
    }

    /// Every access and refresh token issued so far (to prove none of them was shown).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    /// Revokes every token family (an admin removed the app, or the user revoked access).
    pub fn revoke_all(&self) {
        for f in &mut self.shared.lock().families {
            f.revoked = true;
        }
    }

    /// Whether `refresh_token` would be accepted now (known, not rotated out, family alive).
    pub fn refresh_token_is_live(&self, refresh_token: &str) -> bool {
        let state = self.shared.lock();
        let now = state.now();
        state.refresh.get(refresh_token).is_some_and(|r| {
            let f = &state.families[r.family];
            !f.revoked
                && r.rotated_at
                    .is_none_or(|t| now - t <= REUSE_INTERVAL.as_secs())
                && family_alive(f, now)
        })
    }

    /// Whether the family of `refresh_token` was revoked.
    pub fn family_revoked(&self, refresh_token: &str) -> bool {
        let state = self.shared.lock();
        state
            .refresh
            .get(refresh_token)
            .is_some_and(|r| state.families[r.family].revoked)
    }

    /// Simulates the user clicking Accept, in-process: the `Location` the browser is sent to.
    pub fn consent(&self, authorize_url: &str) -> Result<String, String> {
        let query = Url::parse(authorize_url)
            .map_err(|e| e.to_string())?
            .query()
            .unwrap_or_default()
            .to_owned();
        accept(&self.shared, &query)
    }

    /// Simulates the user clicking Cancel: the `Location` with `error=access_denied`.
    pub fn deny(&self, authorize_url: &str) -> Result<String, String> {
        let query = Url::parse(authorize_url)
            .map_err(|e| e.to_string())?
            .query()
            .unwrap_or_default()
            .to_owned();
        deny(&self.shared, &query)
    }

    /// [`browse`], the browser over HTTP.
    pub async fn browse(&self, authorize_url: &str, accept: bool) -> Result<BrowserVisit, String> {
        browse(authorize_url, accept).await
    }

    /// Requests to the token endpoint so far.
    pub async fn token_requests(&self) -> Vec<Request> {
        crate::journal::requests(&self.auth)
            .await
            .into_iter()
            .filter(|r| r.url.path() == "/oauth/token")
            .collect()
    }

    /// Requests to the API gateway so far.
    pub async fn api_requests(&self) -> Vec<Request> {
        crate::journal::requests(&self.api).await
    }

    /// Token endpoint plus API gateway requests: what a command cost on the wire
    /// (the consent pages are the browser's, not the command's).
    pub async fn api_call_count(&self) -> usize {
        self.token_requests().await.len() + self.api_requests().await.len()
    }
}

/// Acts as the browser over HTTP: opens the authorize URL, follows the consent page's "Accept"
/// (or "Cancel" when `accept` is false) link, then requests the `Location` it is redirected to
/// (the loopback listener) and returns what it answered. Needs only the URL, so a test can drive
/// a fake running in another process (`cargo xtask fake-atlassian`).
pub async fn browse(authorize_url: &str, accept: bool) -> Result<BrowserVisit, String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let page = client
        .get(authorize_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if page.status() != 200 {
        return Err(format!(
            "consent page answered {}: {}",
            page.status(),
            page.text().await.unwrap_or_default()
        ));
    }
    let html = page.text().await.map_err(|e| e.to_string())?;
    let id = if accept { "accept" } else { "cancel" };
    let marker = format!("id=\"{id}\" href=\"");
    let start = html.find(&marker).ok_or("no consent link")? + marker.len();
    let href = html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .replace("&amp;", "&");
    let link = Url::parse(authorize_url)
        .and_then(|u| u.join(&href))
        .map_err(|e| e.to_string())?;
    let redirect = client.get(link).send().await.map_err(|e| e.to_string())?;
    let location = redirect
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("consent answered {} without Location", redirect.status()))?
        .to_owned();
    let landed = client
        .get(&location)
        .send()
        .await
        .map_err(|e| format!("the browser could not open {location}: {e}"))?;
    let status = landed.status().as_u16();
    let body = landed.text().await.unwrap_or_default();
    Ok(BrowserVisit {
        location,
        status,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn authorize_url(fake: &FakeAtlassian, client_id: &str) -> String {
        format!(
            "{}/authorize?response_type=code&client_id={client_id}&state=s1&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=read%3Ajira-work+offline_access&audience=api.atlassian.com&prompt=consent",
            fake.auth_url()
        )
    }

    async fn post_token(fake: &FakeAtlassian, body: String) -> (u16, Value) {
        let r = reqwest::Client::new()
            .post(format!("{}/oauth/token", fake.auth_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    #[tokio::test]
    async fn consent_page_validates_like_atlassian_and_links_to_the_callback() {
        let fake = FakeAtlassian::start(FakeConfig::default()).await;
        let bad = reqwest::get(authorize_url(&fake, "nope")).await.unwrap();
        assert_eq!(bad.status(), 400);
        assert!(
            bad.text()
                .await
                .unwrap()
                .contains("unknown client_id `nope`")
        );
        let page = reqwest::get(authorize_url(&fake, CLIENT_ID)).await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("id=\"accept\" href=\"/authorize/accept?response_type=code&amp;"));
        let location = fake.consent(&authorize_url(&fake, CLIENT_ID)).unwrap();
        assert!(
            location.starts_with("http://127.0.0.1:9/cb?code=code-0001-"),
            "{location}"
        );
        assert!(location.ends_with("&state=s1"));
        assert_eq!(
            fake.deny(&authorize_url(&fake, CLIENT_ID)).unwrap(),
            "http://127.0.0.1:9/cb?error=access_denied&error_description=User+did+not+authorize+the+request&state=s1"
        );
    }

    #[tokio::test]
    async fn token_endpoint_accepts_json_bodies_too_and_the_api_checks_the_bearer() {
        let fake = FakeAtlassian::start(FakeConfig {
            sites_scenario: "sites-three".into(),
            ..FakeConfig::default()
        })
        .await;
        let location = fake.consent(&authorize_url(&fake, CLIENT_ID)).unwrap();
        let code = Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let r = reqwest::Client::new()
            .post(format!("{}/oauth/token", fake.auth_url()))
            .json(&json!({
                "grant_type": "authorization_code", "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET, "code": code,
                "redirect_uri": "http://127.0.0.1:9/cb"
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "read:jira-work offline_access");
        let at = body["access_token"].as_str().unwrap();

        let client = reqwest::Client::new();
        let myself = |cloud: &str, token: &str| {
            client
                .get(format!(
                    "{}/ex/jira/{cloud}/rest/api/3/myself",
                    fake.api_url()
                ))
                .bearer_auth(token)
                .send()
        };
        let ok = myself("c0ffee00-1234-4abc-8def-0123456789ab", at)
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
        let me: Value = ok.json().await.unwrap();
        assert_eq!(me["displayName"], "Connector Bot");
        assert_eq!(myself("unknown", at).await.unwrap().status(), 404);
        assert_eq!(
            myself("c0ffee00-1234-4abc-8def-0123456789ab", "bogus")
                .await
                .unwrap()
                .status(),
            401
        );
        // Access tokens expire on the fake's clock.
        fake.advance(Duration::from_secs(3601));
        assert_eq!(
            myself("c0ffee00-1234-4abc-8def-0123456789ab", at)
                .await
                .unwrap()
                .status(),
            401
        );
    }

    #[tokio::test]
    async fn family_expires_365_days_after_consent_even_when_refreshed() {
        let fake = FakeAtlassian::start(FakeConfig::default()).await;
        let location = fake.consent(&authorize_url(&fake, CLIENT_ID)).unwrap();
        let code = Url::parse(&location)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let form = |pairs: &[(&str, &str)]| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        let (status, body) = post_token(
            &fake,
            form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
            ]),
        )
        .await;
        assert_eq!(status, 200);
        let mut rt = body["refresh_token"].as_str().unwrap().to_owned();
        // Refresh every 80 days: never idle for 90, but the family still ends at 365.
        for _ in 0..4 {
            fake.advance(Duration::from_secs(80 * DAY));
            let (status, body) = post_token(
                &fake,
                form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", &rt),
                    ("client_id", CLIENT_ID),
                    ("client_secret", CLIENT_SECRET),
                ]),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            rt = body["refresh_token"].as_str().unwrap().to_owned();
        }
        fake.advance(Duration::from_secs(46 * DAY));
        let (status, body) = post_token(
            &fake,
            form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &rt),
                ("client_id", CLIENT_ID),
                ("client_secret", CLIENT_SECRET),
            ]),
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(
            body,
            json!({"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."})
        );
    }
}
