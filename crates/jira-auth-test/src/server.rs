//! A fake Jira Server / Data Center that really checks OAuth 1.0a RSA-SHA1 signatures.
//!
//! Every signed request is verified with the consumer's public key against a signature base
//! string computed HERE, by code written independently of the signer under test (its own
//! percent-encoder, query parser and URI normaliser), so a bug in the signer cannot hide behind
//! the same bug in the checker. On top of that the fake runs the three-legged dance the way
//! Jira's OAuth plugin does: request tokens, an authorize page that redirects to `oauth_callback`
//! with a verifier (or shows it, for `oob`), single-use exchanges for access tokens, and
//! `/rest/api/2/myself` and `/rest/api/2/serverInfo`. Personal access tokens are accepted as
//! `Authorization: Bearer`. Each `oauth_problem` can be provoked, most of them for real (wrong
//! consumer key, another key pair, a skewed server clock, a replayed nonce, a denied or unapproved
//! token) and any of them on demand with [`FakeJiraServer::fail_next`].
//!
//! Deployments under a context path (`/jira`) are served with [`FakeJiraServerConfig::context_path`].

use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The consumer key the fake knows unless told otherwise.
pub const CONSUMER_KEY: &str = "jira-auth-test";

/// The OAuth servlet endpoints and REST resources of the fake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    RequestToken,
    AccessToken,
    Rest,
}

/// How the fake is set up.
#[derive(Debug, Clone)]
pub struct FakeJiraServerConfig {
    /// `""` for a root deployment, `"/jira"` for one under a context path.
    pub context_path: String,
    pub consumer_key: String,
    /// The public key registered in the Application Link (SubjectPublicKeyInfo PEM).
    pub public_key_pem: String,
    /// The matching private key, for callers that need to sign (the demo). Test-only.
    pub private_key_pem: String,
    /// The server's clock relative to the real one, in seconds (for `timestamp_refused`).
    pub clock_offset_seconds: i64,
    /// How far a request's `oauth_timestamp` may be from the server's clock.
    pub max_skew_seconds: i64,
    /// The body of `/rest/api/2/myself`.
    pub user: serde_json::Value,
    /// A personal access token the fake accepts.
    pub pat: Option<String>,
    /// The authorize page denies instead of approving.
    pub deny: bool,
}

impl Default for FakeJiraServerConfig {
    fn default() -> Self {
        Self {
            context_path: String::new(),
            consumer_key: CONSUMER_KEY.to_owned(),
            public_key_pem: crate::fixtures::text("server/test-key.pub.pem"),
            private_key_pem: crate::fixtures::text("server/test-key.pkcs8.pem"),
            clock_offset_seconds: 0,
            max_skew_seconds: 300,
            user: serde_json::json!({
                "self": "http://jira.test/rest/api/2/user?username=jsmith",
                "key": "JIRAUSER10100",
                "name": "jsmith",
                "emailAddress": "jsmith@example.com",
                "displayName": "Jane Smith",
                "active": true,
                "timeZone": "Europe/Berlin"
            }),
            pat: Some("pat-test-token-0001".to_owned()),
            deny: false,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    counter: u32,
    request_tokens: HashMap<String, RequestTokenState>,
    access_tokens: HashMap<String, String>,
    nonces: HashSet<String>,
    forced: VecDeque<(Endpoint, String)>,
}

#[derive(Debug, Clone)]
struct RequestTokenState {
    callback: String,
    verifier: Option<String>,
    denied: bool,
    used: bool,
}

/// Decides whether a bearer token other than the PAT is valid (an OAuth 2.0 provider's).
pub type BearerCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

struct Shared {
    /// OAuth 2.0 access tokens, when a provider is mounted ([`FakeJiraServer::accept_bearer`]).
    bearer: Mutex<Option<BearerCheck>>,
    config: FakeJiraServerConfig,
    key: VerifyingKey<sha1::Sha1>,
    inner: Mutex<Inner>,
    base_url: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now(&self) -> SystemTime {
        let real = SystemTime::now();
        let offset = Duration::from_secs(self.config.clock_offset_seconds.unsigned_abs());
        if self.config.clock_offset_seconds >= 0 {
            real + offset
        } else {
            real - offset
        }
    }

    fn date(&self) -> String {
        httpdate::fmt_http_date(self.now())
    }

    fn respond(&self, status: u16) -> ResponseTemplate {
        ResponseTemplate::new(status).insert_header("Date", self.date().as_str())
    }

    fn problem(&self, problem: &str, extra: &[(&str, String)]) -> ResponseTemplate {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("oauth_problem", problem);
        for (k, v) in extra {
            form.append_pair(k, v);
        }
        self.respond(401)
            .insert_header(
                "WWW-Authenticate",
                format!(
                    "OAuth realm=\"{}\", oauth_problem=\"{problem}\"",
                    encode(&self.base_url)
                )
                .as_str(),
            )
            .set_body_raw(form.finish(), "text/plain")
    }

    /// Checks the OAuth header of `request` the way Jira's OAuth plugin does.
    fn verify(
        &self,
        request: &Request,
        endpoint: Endpoint,
    ) -> Result<OAuthHeader, ResponseTemplate> {
        let header = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(params) = parse_oauth_header(header) else {
            return Err(self.problem(
                "parameter_absent",
                &[("oauth_parameters_absent", "oauth_consumer_key".into())],
            ));
        };
        let forced = {
            let mut inner = self.lock();
            inner
                .forced
                .iter()
                .position(|(e, _)| *e == endpoint)
                .and_then(|i| inner.forced.remove(i))
        };
        if let Some((_, problem)) = forced {
            return Err(self.problem(&problem, &[]));
        }
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        for required in [
            "oauth_consumer_key",
            "oauth_signature_method",
            "oauth_signature",
            "oauth_timestamp",
            "oauth_nonce",
        ] {
            if !params.contains_key(required) {
                return Err(self.problem(
                    "parameter_absent",
                    &[("oauth_parameters_absent", required.into())],
                ));
            }
        }
        if get("oauth_signature_method") != "RSA-SHA1" {
            return Err(self.problem(
                "signature_method_rejected",
                &[("oauth_acceptable_signature_methods", "RSA-SHA1".into())],
            ));
        }
        if params.get("oauth_version").is_some_and(|v| v != "1.0") {
            return Err(self.problem(
                "version_rejected",
                &[("oauth_acceptable_versions", "1.0-1.0".into())],
            ));
        }
        if get("oauth_consumer_key") != self.config.consumer_key {
            return Err(self.problem("consumer_key_unknown", &[]));
        }
        let now = unix(self.now());
        let timestamp: i64 = get("oauth_timestamp").parse().unwrap_or(0);
        if (timestamp - now).abs() > self.config.max_skew_seconds {
            let window = format!(
                "{}-{}",
                now - self.config.max_skew_seconds,
                now + self.config.max_skew_seconds
            );
            return Err(self.problem(
                "timestamp_refused",
                &[("oauth_acceptable_timestamps", window)],
            ));
        }
        let base = signature_base_string(request, &params);
        let signature = base64::engine::general_purpose::STANDARD
            .decode(get("oauth_signature"))
            .ok()
            .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok());
        let valid = signature.is_some_and(|s| self.key.verify(base.as_bytes(), &s).is_ok());
        if !valid {
            return Err(self.problem(
                "signature_invalid",
                &[("oauth_signature_base_string", base)],
            ));
        }
        if !self.lock().nonces.insert(get("oauth_nonce")) {
            return Err(self.problem("nonce_used", &[]));
        }
        Ok(OAuthHeader { params })
    }
}

#[derive(Debug)]
struct OAuthHeader {
    params: BTreeMap<String, String>,
}

impl OAuthHeader {
    fn get(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }
}

/// A running fake Jira Server on 127.0.0.1.
#[derive(Debug)]
pub struct FakeJiraServer {
    server: MockServer,
    shared: Arc<Shared>,
}

/// What the authorize page did when "the user" visited it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// A redirect to the consumer's callback, with `oauth_token` and `oauth_verifier`.
    Redirect(String),
    /// `oob`: the page shows the verifier for the user to type.
    Verifier(String),
}

impl FakeJiraServer {
    /// Starts the fake with `config`.
    pub async fn start(config: FakeJiraServerConfig) -> Self {
        Self::start_on(config, 0).await
    }

    /// Like [`start`](Self::start), on 127.0.0.1:`port` (`0`: a random port), for
    /// `cargo xtask fake-jira-server --port`.
    ///
    /// # Panics
    /// When the port cannot be bound: this is a test and demo harness.
    pub async fn start_on(config: FakeJiraServerConfig, port: u16) -> Self {
        let server = if port == 0 {
            MockServer::start().await
        } else {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port))
                .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{port}: {e}"));
            MockServer::builder().listener(listener).start().await
        };
        let key = VerifyingKey::<sha1::Sha1>::new(
            rsa::RsaPublicKey::from_public_key_pem(&config.public_key_pem)
                .expect("the fake's public key must be a SubjectPublicKeyInfo PEM"),
        );
        let base_url = format!("{}{}", server.uri(), config.context_path);
        let ctx = config.context_path.clone();
        let shared = Arc::new(Shared {
            bearer: Mutex::new(None),
            config,
            key,
            inner: Mutex::new(Inner::default()),
            base_url,
        });
        let mount = |m: &str, p: &str, kind: Kind| {
            Mock::given(method(m))
                .and(path(format!("{ctx}{p}")))
                .respond_with(Responder {
                    shared: shared.clone(),
                    kind,
                })
        };
        mount(
            "POST",
            "/plugins/servlet/oauth/request-token",
            Kind::RequestToken,
        )
        .mount(&server)
        .await;
        mount("GET", "/plugins/servlet/oauth/authorize", Kind::Authorize)
            .mount(&server)
            .await;
        mount(
            "POST",
            "/plugins/servlet/oauth/access-token",
            Kind::AccessToken,
        )
        .mount(&server)
        .await;
        mount("GET", "/rest/api/2/myself", Kind::Myself)
            .mount(&server)
            .await;
        mount("GET", "/rest/api/2/serverInfo", Kind::ServerInfo)
            .mount(&server)
            .await;
        Self { server, shared }
    }

    /// The site URL, context path included (`http://127.0.0.1:PORT/jira`).
    pub fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    pub fn consumer_key(&self) -> &str {
        &self.shared.config.consumer_key
    }

    pub fn public_key_pem(&self) -> &str {
        &self.shared.config.public_key_pem
    }

    /// The private key matching the registered public key (test-only fixture).
    pub fn private_key_pem(&self) -> &str {
        &self.shared.config.private_key_pem
    }

    pub fn pat(&self) -> Option<&str> {
        self.shared.config.pat.as_deref()
    }

    /// The credential check of this Jira's REST API, for a site attached below its context path
    /// ([`crate::jira_site::JiraSite::attach`]): what its own `/myself` accepts.
    pub fn gate(&self) -> crate::jira_site::Gate {
        let shared = self.shared.clone();
        Arc::new(move |request: &Request| authenticate(&shared, request))
    }

    /// The wiremock server, to mount more mocks or read the journal.
    pub fn mock_server(&self) -> &MockServer {
        &self.server
    }

    /// Mounts a signed REST resource: `method path` answers `response` once the request's OAuth
    /// signature or PAT is verified (unverified requests get the `oauth_problem` as Jira would).
    pub async fn mount_rest(&self, m: &str, p: &str, response: ResponseTemplate) {
        Mock::given(method(m))
            .and(path(format!("{}{p}", self.shared.config.context_path)))
            .respond_with(Responder {
                shared: self.shared.clone(),
                kind: Kind::Custom(Box::new(response)),
            })
            .with_priority(1)
            .mount(&self.server)
            .await;
    }

    /// Makes the REST resources accept a bearer token `check` says is valid, besides the PAT.
    pub fn accept_bearer(&self, check: BearerCheck) {
        *self.shared.bearer.lock().unwrap_or_else(|e| e.into_inner()) = Some(check);
    }

    /// The next signed request to `endpoint` is answered with `oauth_problem=problem`.
    pub fn fail_next(&self, endpoint: Endpoint, problem: &str) {
        self.shared
            .lock()
            .forced
            .push_back((endpoint, problem.to_owned()));
    }

    /// Forgets every access token, as revoking them in Jira's UI would.
    pub fn revoke_access_tokens(&self) {
        self.shared.lock().access_tokens.clear();
    }

    /// The access tokens issued so far, with their secrets.
    pub fn access_tokens(&self) -> BTreeMap<String, String> {
        self.shared
            .lock()
            .access_tokens
            .clone()
            .into_iter()
            .collect()
    }

    /// Plays the user clicking Allow (or Deny, per the config) on `authorize_url`: an HTTP GET of
    /// the authorize page, without following the redirect.
    pub async fn approve(&self, authorize_url: &str) -> Approval {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(authorize_url).send().await.unwrap();
        if response.status().as_u16() == 302 {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            return Approval::Redirect(location);
        }
        let body = response.text().await.unwrap();
        let start = body
            .find("<code id=\"verifier\">")
            .expect("no verifier on the page")
            + 20;
        let end = start + body[start..].find("</code>").unwrap();
        Approval::Verifier(body[start..end].to_owned())
    }

    /// Plays the browser following the redirect to the callback; returns status and body.
    pub async fn follow(url: &str) -> (u16, String) {
        let response = reqwest::get(url).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

enum Kind {
    RequestToken,
    Authorize,
    AccessToken,
    Myself,
    ServerInfo,
    Custom(Box<ResponseTemplate>),
}

struct Responder {
    shared: Arc<Shared>,
    kind: Kind,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let s = &self.shared;
        match &self.kind {
            Kind::RequestToken => {
                let oauth = match s.verify(request, Endpoint::RequestToken) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                let Some(callback) = oauth.get("oauth_callback").map(str::to_owned) else {
                    return s.problem(
                        "parameter_absent",
                        &[("oauth_parameters_absent", "oauth_callback".into())],
                    );
                };
                let mut inner = s.lock();
                inner.counter += 1;
                let n = inner.counter;
                let token = format!("request-token-{n}");
                inner.request_tokens.insert(
                    token.clone(),
                    RequestTokenState {
                        callback,
                        verifier: None,
                        denied: false,
                        used: false,
                    },
                );
                s.respond(200).set_body_raw(
                    format!("oauth_token={token}&oauth_token_secret=request-secret-{n}&oauth_callback_confirmed=true"),
                    "text/plain",
                )
            }
            Kind::Authorize => {
                let query: BTreeMap<String, String> =
                    request.url.query_pairs().into_owned().collect();
                let token = query.get("oauth_token").cloned().unwrap_or_default();
                let mut inner = s.lock();
                inner.counter += 1;
                let n = inner.counter;
                let Some(state) = inner.request_tokens.get_mut(&token) else {
                    return s.respond(200).set_body_raw(
                        "<html><head><title>OAuth Error</title></head><body>The request token is invalid.</body></html>",
                        "text/html",
                    );
                };
                let verifier = if s.config.deny {
                    state.denied = true;
                    "denied".to_owned()
                } else {
                    let v = format!("verifier-{n}");
                    state.verifier = Some(v.clone());
                    v
                };
                if state.callback == "oob" {
                    return s.respond(200).set_body_raw(
                        format!("<html><head><title>Access Approved</title></head><body><p>Enter this verification code:</p><code id=\"verifier\">{verifier}</code></body></html>"),
                        "text/html",
                    );
                }
                let sep = if state.callback.contains('?') {
                    '&'
                } else {
                    '?'
                };
                let location = format!(
                    "{}{sep}oauth_token={}&oauth_verifier={}",
                    state.callback,
                    encode(&token),
                    encode(&verifier)
                );
                s.respond(302).insert_header("Location", location.as_str())
            }
            Kind::AccessToken => {
                let oauth = match s.verify(request, Endpoint::AccessToken) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                let token = oauth.get("oauth_token").unwrap_or_default().to_owned();
                let verifier = oauth.get("oauth_verifier").unwrap_or_default().to_owned();
                let mut inner = s.lock();
                let Some(state) = inner.request_tokens.get_mut(&token) else {
                    return s.problem("token_rejected", &[]);
                };
                if state.used {
                    return s.problem("token_rejected", &[]);
                }
                if state.denied {
                    return s.problem("permission_denied", &[]);
                }
                match &state.verifier {
                    None => return s.problem("permission_unknown", &[]),
                    Some(v) if *v != verifier => return s.problem("token_rejected", &[]),
                    Some(_) => {}
                }
                state.used = true;
                inner.counter += 1;
                let n = inner.counter;
                let access = format!("access-token-{n}");
                inner
                    .access_tokens
                    .insert(access.clone(), format!("access-secret-{n}"));
                s.respond(200).set_body_raw(
                    format!("oauth_token={access}&oauth_token_secret=access-secret-{n}"),
                    "text/plain",
                )
            }
            Kind::Myself => match self.authenticate(request) {
                Ok(()) => s.respond(200).set_body_json(&s.config.user),
                Err(r) => r,
            },
            Kind::ServerInfo => {
                if request.headers.contains_key("authorization")
                    && let Err(r) = self.authenticate(request)
                {
                    return r;
                }
                s.respond(200).set_body_json(serde_json::json!({
                    "baseUrl": s.base_url,
                    "version": "9.12.2",
                    "versionNumbers": [9, 12, 2],
                    "deploymentType": "Server",
                    "buildNumber": 9120002,
                    "serverTime": crate::jira_site::now_jira(s.config.clock_offset_seconds),
                    "serverTitle": "Fake Jira"
                }))
            }
            Kind::Custom(response) => match self.authenticate(request) {
                Ok(()) => response
                    .as_ref()
                    .clone()
                    .insert_header("Date", s.date().as_str()),
                Err(r) => r,
            },
        }
    }
}

impl Responder {
    /// A REST call: a valid PAT, or a valid signature with a known access token.
    fn authenticate(&self, request: &Request) -> Result<(), ResponseTemplate> {
        authenticate(&self.shared, request)
    }
}

/// A REST call: a valid PAT (or a mounted OAuth 2.0 provider's bearer), or a valid OAuth 1.0a
/// signature with a known access token; else Jira's `401` or the `oauth_problem`.
fn authenticate(s: &Shared, request: &Request) -> Result<(), ResponseTemplate> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(token) = header.strip_prefix("Bearer ") {
        let bearer = s.bearer.lock().unwrap_or_else(|e| e.into_inner()).clone();
        return if s.config.pat.as_deref() == Some(token) || bearer.is_some_and(|b| b(token)) {
            Ok(())
        } else {
            Err(s.respond(401).set_body_json(serde_json::json!({
                "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                "errors": {}
            })))
        };
    }
    if !header.starts_with("OAuth ") {
        return Err(s.respond(401).set_body_json(serde_json::json!({
            "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
            "errors": {}
        })));
    }
    let oauth = s.verify(request, Endpoint::Rest)?;
    let token = oauth.get("oauth_token").unwrap_or_default();
    if !s.lock().access_tokens.contains_key(token) {
        return Err(s.problem("token_rejected", &[]));
    }
    Ok(())
}

// --- An independent RFC 5849 implementation, for checking only ---------------------------------

/// `OAuth k="v", k2="v2"` → decoded pairs. `None` when it is not an OAuth header.
fn parse_oauth_header(header: &str) -> Option<BTreeMap<String, String>> {
    let rest = header.strip_prefix("OAuth ")?;
    let mut out = BTreeMap::new();
    for item in rest.split(',') {
        let (k, v) = item.trim().split_once('=')?;
        let v = v.strip_prefix('"')?.strip_suffix('"')?;
        out.insert(decode(k, false), decode(v, false));
    }
    Some(out)
}

/// Percent-decoding; `plus_is_space` for form data.
fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 3986 unreserved characters stay, every other byte becomes `%XX` (uppercase).
fn encode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k, true), decode(v, true))
        })
        .collect()
}

/// The signature base string of a received request (RFC 5849 §3.4.1).
fn signature_base_string(request: &Request, oauth: &BTreeMap<String, String>) -> String {
    // wiremock's `request.url` names `localhost`; a real server sees the `Host` the client sent.
    let url = &request.url;
    let scheme = "http";
    let host_header = request
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_lowercase();
    let (host, port) = match host_header.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h.to_owned(), p.to_owned()),
        _ => (host_header.clone(), String::new()),
    };
    let port = if port.is_empty() || port == "80" {
        String::new()
    } else {
        format!(":{port}")
    };
    let uri = format!("{scheme}://{host}{port}{}", url.path());

    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(q) = url.query() {
        params.extend(form_pairs(q));
    }
    for (k, v) in oauth {
        if k != "oauth_signature" && k != "realm" {
            params.push((k.clone(), v.clone()));
        }
    }
    let is_form = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if is_form {
        params.extend(form_pairs(&String::from_utf8_lossy(&request.body)));
    }
    // Sort on the encoded (name, value) pair, then join.
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let normalized: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}&{}&{}",
        request.method.as_str().to_uppercase(),
        encode(&uri),
        encode(&normalized.join("&"))
    )
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_encoder_and_header_parser() {
        assert_eq!(encode("a b+c/é~"), "a%20b%2Bc%2F%C3%A9~");
        assert_eq!(decode("a%20b+c", true), "a b c");
        assert_eq!(decode("a%2", false), "a%2");
        let parsed =
            parse_oauth_header("OAuth oauth_consumer_key=\"my%20key\", oauth_nonce=\"n\"").unwrap();
        assert_eq!(parsed["oauth_consumer_key"], "my key");
        assert!(parse_oauth_header("Bearer x").is_none());
    }
}
