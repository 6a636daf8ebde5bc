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

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use url::Url;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub mod service_account;
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

#[derive(Debug)]
struct Code {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    issued: u64,
    used: bool,
}

#[derive(Debug)]
struct Family {
    started: u64,
    last_used: u64,
    revoked: bool,
}

#[derive(Debug)]
struct Refresh {
    family: usize,
    scopes: Vec<String>,
    /// When it was redeemed (and so replaced); `None` while it is the current one.
    rotated_at: Option<u64>,
}

#[derive(Debug)]
struct Access {
    expires: u64,
    /// The cloud ids a service account's token reaches; `None`: a user's token, any site.
    sites: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct State {
    offset: Duration,
    counter: u64,
    codes: HashMap<String, Code>,
    families: Vec<Family>,
    refresh: HashMap<String, Refresh>,
    access: HashMap<String, Access>,
    sites: Value,
    refresh_error: Option<(u16, Value)>,
    /// Extra hex characters in every token minted from now on.
    token_padding: usize,
    token_answer: TokenAnswer,
    /// Every access and refresh token handed out, in order.
    issued: Vec<String>,
}

impl State {
    fn now(&self) -> u64 {
        (SystemTime::now() + self.offset)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        // Token-shaped but recognisable in a failing test.
        let padding = "0".repeat(self.token_padding);
        format!("{prefix}-{:04}-{}{padding}", self.counter, random_hex(8))
    }
}

#[derive(Debug, Clone)]
struct Shared {
    config: Arc<FakeConfig>,
    state: Arc<Mutex<State>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
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

fn family_alive(f: &Family, now: u64) -> bool {
    now < f.started + 365 * DAY && now < f.last_used + 90 * DAY
}

fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < bytes * 2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(out.len() as u64);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(bytes * 2);
    out
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    ConsentPage,
    Accept,
    Deny,
    Token,
    Resources,
    Myself,
    ServerInfo,
}

struct Responder {
    shared: Shared,
    kind: Kind,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = request.url.query().unwrap_or_default();
        match self.kind {
            Kind::ConsentPage => consent_page(&self.shared, query),
            Kind::Accept => redirect(accept(&self.shared, query)),
            Kind::Deny => redirect(deny(&self.shared, query)),
            Kind::Token => token(&self.shared, request),
            Kind::Resources => match bearer_ok(&self.shared, request) {
                Ok(()) => {
                    ResponseTemplate::new(200).set_body_json(self.shared.lock().sites.clone())
                }
                Err(r) => *r,
            },
            Kind::Myself => myself(&self.shared, request),
            Kind::ServerInfo => service_account::server_info(&self.shared, request),
        }
    }
}

fn pairs(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// Validates an authorize request like Atlassian: `Err` is the text of its error page.
fn validate(shared: &Shared, query: &str) -> Result<HashMap<String, String>, String> {
    let p = pairs(query);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != shared.config.client_id {
        return Err(format!("unknown client_id `{}`", get("client_id")));
    }
    if get("response_type") != "code" {
        return Err("response_type must be `code`".into());
    }
    if get("audience") != "api.atlassian.com" {
        return Err("audience must be `api.atlassian.com`".into());
    }
    if get("redirect_uri").is_empty() || Url::parse(get("redirect_uri")).is_err() {
        return Err("redirect_uri is missing or invalid".into());
    }
    if let Some(registered) = &shared.config.callback_url
        && get("redirect_uri") != registered
    {
        return Err(format!(
            "redirect_uri `{}` does not match the app's callback URL",
            get("redirect_uri")
        ));
    }
    if get("scope").is_empty() {
        return Err("scope is missing".into());
    }
    if get("state").is_empty() {
        return Err("state is missing".into());
    }
    Ok(p)
}

fn consent_page(shared: &Shared, query: &str) -> ResponseTemplate {
    match validate(shared, query) {
        Err(e) => ResponseTemplate::new(400).set_body_raw(
            format!("<html><body><h1>Something went wrong</h1><p>{e}</p></body></html>"),
            "text/html",
        ),
        Ok(p) => {
            let q = query.replace('&', "&amp;");
            let scopes = p.get("scope").cloned().unwrap_or_default();
            ResponseTemplate::new(200).set_body_raw(
                format!(
                    "<!doctype html><html><head><title>Authorize app</title></head><body>\n\
                     <h1>Fake Atlassian: authorize {client}</h1>\n<p>Scopes: {scopes}</p>\n\
                     <a id=\"accept\" href=\"/authorize/accept?{q}\">Accept</a>\n\
                     <a id=\"cancel\" href=\"/authorize/deny?{q}\">Cancel</a>\n</body></html>\n",
                    client = shared.config.client_id
                ),
                "text/html",
            )
        }
    }
}

fn redirect(location: Result<String, String>) -> ResponseTemplate {
    match location {
        Ok(l) => ResponseTemplate::new(302).insert_header("Location", l.as_str()),
        Err(e) => ResponseTemplate::new(400).set_body_string(e),
    }
}

fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> Result<String, String> {
    let mut url = Url::parse(redirect_uri).map_err(|e| e.to_string())?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.to_string())
}

fn accept(shared: &Shared, query: &str) -> Result<String, String> {
    let p = validate(shared, query)?;
    let requested: Vec<String> = p["scope"].split(' ').map(str::to_owned).collect();
    let granted = match &shared.config.app_scopes {
        None => requested,
        Some(app) => requested
            .into_iter()
            .filter(|s| s == "offline_access" || app.contains(s))
            .collect(),
    };
    let mut state = shared.lock();
    let code = state.next("code");
    let issued = state.now();
    state.codes.insert(
        code.clone(),
        Code {
            client_id: p["client_id"].clone(),
            redirect_uri: p["redirect_uri"].clone(),
            scopes: granted,
            issued,
            used: false,
        },
    );
    with_params(
        &p["redirect_uri"],
        &[("code", &code), ("state", &p["state"])],
    )
}

fn deny(shared: &Shared, query: &str) -> Result<String, String> {
    let p = validate(shared, query)?;
    with_params(
        &p["redirect_uri"],
        &[
            ("error", "access_denied"),
            ("error_description", "User did not authorize the request"),
            ("state", &p["state"]),
        ],
    )
}

fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": error, "error_description": description }))
}

fn token(shared: &Shared, request: &Request) -> ResponseTemplate {
    let is_json = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let p: HashMap<String, String> = if is_json {
        serde_json::from_slice::<HashMap<String, Value>>(&request.body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect()
    } else {
        pairs(&String::from_utf8_lossy(&request.body))
    };
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") == "client_credentials" {
        return service_account::token(shared, request, &p);
    }
    if get("client_id") != shared.config.client_id
        || get("client_secret") != shared.config.client_secret
    {
        return oauth_error(401, "access_denied", "Unauthorized");
    }
    let mut state = shared.lock();
    let now = state.now();
    match get("grant_type") {
        "authorization_code" => {
            let Some(code) = state.codes.get_mut(get("code")) else {
                return oauth_error(403, "invalid_grant", "Invalid authorization code");
            };
            if code.used
                || now > code.issued + 600
                || code.client_id != get("client_id")
                || code.redirect_uri != get("redirect_uri")
            {
                code.used = true;
                return oauth_error(403, "invalid_grant", "Invalid authorization code");
            }
            code.used = true;
            let scopes = code.scopes.clone();
            let family = if scopes.iter().any(|s| s == "offline_access") {
                state.families.push(Family {
                    started: now,
                    last_used: now,
                    revoked: false,
                });
                Some(state.families.len() - 1)
            } else {
                None
            };
            issue(shared, &mut state, scopes, family, true)
        }
        "refresh_token" => {
            if let Some((status, body)) = state.refresh_error.clone() {
                return ResponseTemplate::new(status).set_body_json(body);
            }
            let invalid = || oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.");
            let Some(r) = state.refresh.get(get("refresh_token")) else {
                return invalid();
            };
            let (family, scopes, rotated_at) = (r.family, r.scopes.clone(), r.rotated_at);
            if state.families[family].revoked || !family_alive(&state.families[family], now) {
                state.families[family].revoked = true;
                return invalid();
            }
            if let Some(at) = rotated_at
                && now - at > REUSE_INTERVAL.as_secs()
            {
                // Reuse after the grace period: treat as theft, revoke the whole family.
                state.families[family].revoked = true;
                return invalid();
            }
            state.families[family].last_used = now;
            let rotate = !shared.config.omit_refresh_token_on_refresh;
            if rotate && let Some(r) = state.refresh.get_mut(get("refresh_token")) {
                r.rotated_at.get_or_insert(now);
            }
            issue(shared, &mut state, scopes, Some(family), rotate)
        }
        other => oauth_error(
            400,
            "unsupported_grant_type",
            &format!("grant_type `{other}`"),
        ),
    }
}

fn issue(
    shared: &Shared,
    state: &mut State,
    scopes: Vec<String>,
    family: Option<usize>,
    with_refresh: bool,
) -> ResponseTemplate {
    let now = state.now();
    let access = state.next("at");
    state.issued.push(access.clone());
    state.access.insert(
        access.clone(),
        Access {
            expires: now + shared.config.expires_in,
            sites: None,
        },
    );
    let mut body = json!({
        "access_token": access,
        "expires_in": shared.config.expires_in,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
    });
    if let (Some(family), true) = (family, with_refresh) {
        let refresh = state.next("rt");
        state.issued.push(refresh.clone());
        state.refresh.insert(
            refresh.clone(),
            Refresh {
                family,
                scopes,
                rotated_at: None,
            },
        );
        body["refresh_token"] = Value::from(refresh);
    }
    answer(state, body)
}

/// A successful token answer with `body`, written as [`TokenAnswer`] says.
fn answer(state: &State, body: Value) -> ResponseTemplate {
    match state.token_answer {
        TokenAnswer::Json => ResponseTemplate::new(200).set_body_json(body),
        TokenAnswer::JsonAfterBom => {
            let mut bytes = b"\xEF\xBB\xBF".to_vec();
            bytes.extend_from_slice(body.to_string().as_bytes());
            ResponseTemplate::new(200).set_body_raw(bytes, "application/json")
        }
        TokenAnswer::Form => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for name in [
                "access_token",
                "refresh_token",
                "token_type",
                "expires_in",
                "scope",
            ] {
                match &body[name] {
                    Value::String(v) => form.append_pair(name, v),
                    Value::Null => &mut form,
                    other => form.append_pair(name, &other.to_string()),
                };
            }
            ResponseTemplate::new(200)
                .set_body_raw(form.finish(), "application/x-www-form-urlencoded")
        }
    }
}

fn bearer_ok(shared: &Shared, request: &Request) -> Result<(), Box<ResponseTemplate>> {
    let unauthorized = || {
        Box::new(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": 401, "message": "Unauthorized"})),
        )
    };
    let token = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let state = shared.lock();
    let cloud_id = request
        .url
        .path()
        .strip_prefix("/ex/jira/")
        .and_then(|rest| rest.split('/').next());
    match state.access.get(token) {
        Some(a)
            if a.expires > state.now()
                && a.sites.as_ref().is_none_or(|sites| {
                    cloud_id.is_none_or(|id| sites.iter().any(|s| s == id))
                }) =>
        {
            Ok(())
        }
        _ => Err(unauthorized()),
    }
}

fn myself(shared: &Shared, request: &Request) -> ResponseTemplate {
    if let Err(r) = bearer_ok(shared, request) {
        return *r;
    }
    let cloud_id = request.url.path().split('/').nth(3).unwrap_or_default();
    let known = shared.lock().sites.as_array().is_some_and(|sites| {
        sites
            .iter()
            .any(|s| s.get("id").and_then(Value::as_str) == Some(cloud_id))
    });
    if !known {
        return ResponseTemplate::new(404)
            .set_body_json(json!({"errorMessages": ["Site not found"], "errors": {}}));
    }
    ResponseTemplate::new(200).set_body_json(crate::fixtures::json("cloud/myself/myself.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
