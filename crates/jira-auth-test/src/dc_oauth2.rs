//! A fake of Jira Data Center's OAuth 2.0 provider (Jira 8.22+), mounted on a
//! [`FakeJiraServer`](crate::server::FakeJiraServer), written from Atlassian's "Jira OAuth 2.0
//! provider API" page and RFC 6749 / RFC 7636, not from the client under test:
//!
//! - `GET {site}/rest/oauth2/latest/authorize` plays the user on the consent page: it checks
//!   `response_type=code`, the client id, the redirect URI (an unregistered one is answered with
//!   an error page and never redirected to, RFC 6749 §4.1.2.1), a `code_challenge` with
//!   `code_challenge_method=S256`, and the scopes the application link allows, then redirects to
//!   the redirect URI with `code` and `state` (or `error=access_denied` when told to deny);
//! - `POST {site}/rest/oauth2/latest/token` accepts `application/x-www-form-urlencoded` only,
//!   authenticates the client from the body (§2.3.1), and serves three grants: the code, single
//!   use, bound to the redirect URI and to the PKCE verifier (`BASE64URL(SHA256(verifier))` must
//!   be the challenge, RFC 7636 §4.6), valid 10 minutes; the refresh token, dead once used (a
//!   reuse is `invalid_grant`); client credentials for a service account only, READ or WRITE,
//!   without a refresh token;
//! - the access tokens it issued are accepted as `Authorization: Bearer` by the fake Jira's REST
//!   resources until they expire.
//!
//! Errors are RFC 6749 §5.2 JSON bodies: 400 with `invalid_request`, `invalid_grant`,
//! `invalid_scope`, `unsupported_grant_type`, `unauthorized_client`; 401 with `invalid_client`.

use crate::server::FakeJiraServer;
use base64::Engine as _;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

/// The application link's client id the fake knows unless told otherwise.
pub const CLIENT_ID: &str = "dc-client-0001";
/// Its secret.
pub const CLIENT_SECRET: &str = "dc-secret-0001";
/// A service account's client id.
pub const SERVICE_ACCOUNT_ID: &str = "dc-service-0001";
/// Its secret.
pub const SERVICE_ACCOUNT_SECRET: &str = "dc-service-secret-0001";

/// How the provider is set up.
#[derive(Debug, Clone)]
pub struct DcOAuth2Config {
    pub client_id: String,
    pub client_secret: String,
    /// The application link's Redirect URL, compared byte for byte.
    pub redirect_uri: String,
    /// The scopes the application link allows (Jira: its "Permission" setting and the ones below).
    pub allowed_scopes: Vec<String>,
    pub service_account_id: String,
    pub service_account_secret: String,
    /// Seconds an access token lives (Data Center: 2 hours).
    pub access_lifetime: u64,
    /// The consent page answers `access_denied`.
    pub deny: bool,
}

impl DcOAuth2Config {
    /// An application link with `redirect_uri` allowing READ and WRITE.
    pub fn new(redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: CLIENT_ID.to_owned(),
            client_secret: CLIENT_SECRET.to_owned(),
            redirect_uri: redirect_uri.into(),
            allowed_scopes: vec!["READ".into(), "WRITE".into()],
            service_account_id: SERVICE_ACCOUNT_ID.to_owned(),
            service_account_secret: SERVICE_ACCOUNT_SECRET.to_owned(),
            access_lifetime: 7200,
            deny: false,
        }
    }
}

#[derive(Debug)]
struct Code {
    redirect_uri: String,
    challenge: String,
    scopes: Vec<String>,
    issued: u64,
    used: bool,
}

#[derive(Debug, Default)]
struct Inner {
    counter: u32,
    codes: HashMap<String, Code>,
    /// refresh token → (alive, scopes)
    refresh_tokens: HashMap<String, (bool, Vec<String>)>,
    /// access token → expiry (Unix seconds)
    access_tokens: HashMap<String, u64>,
    token_requests: u32,
}

#[derive(Debug)]
struct State {
    config: Mutex<DcOAuth2Config>,
    inner: Mutex<Inner>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn config(&self) -> DcOAuth2Config {
        self.config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    fn accepts(&self, token: &str) -> bool {
        self.lock()
            .access_tokens
            .get(token)
            .is_some_and(|exp| *exp > now())
    }
}

/// The running provider.
#[derive(Debug, Clone)]
pub struct FakeDcOAuth2 {
    state: Arc<State>,
}

fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("Cache-Control", "no-store")
        .set_body_json(serde_json::json!({"error": error, "error_description": description}))
}

impl FakeDcOAuth2 {
    /// Mounts the provider's two endpoints on `jira` (under its context path) and makes its
    /// REST resources accept the access tokens issued here.
    pub async fn mount(jira: &FakeJiraServer, config: DcOAuth2Config) -> Self {
        let state = Arc::new(State {
            config: Mutex::new(config),
            inner: Mutex::new(Inner::default()),
        });
        let base = url::Url::parse(&jira.url()).unwrap();
        let ctx = base.path().trim_end_matches('/').to_owned();
        Mock::given(method("GET"))
            .and(path(format!("{ctx}/rest/oauth2/latest/authorize")))
            .respond_with(Authorize(state.clone()))
            .mount(jira.mock_server())
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{ctx}/rest/oauth2/latest/token")))
            .respond_with(Token(state.clone()))
            .mount(jira.mock_server())
            .await;
        let accepting = state.clone();
        jira.accept_bearer(Arc::new(move |t: &str| accepting.accepts(t)));
        Self { state }
    }

    /// How many requests reached the token endpoint.
    pub fn token_requests(&self) -> u32 {
        self.state.lock().token_requests
    }

    /// Changes how long the access tokens issued from now on live.
    pub fn set_access_lifetime(&self, seconds: u64) {
        self.state
            .config
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .access_lifetime = seconds;
    }

    /// The refresh tokens issued so far that still work.
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        let mut live: Vec<String> = self
            .state
            .lock()
            .refresh_tokens
            .iter()
            .filter(|(_, (alive, _))| *alive)
            .map(|(t, _)| t.clone())
            .collect();
        live.sort();
        live
    }

    /// Plays the user choosing Allow (or Deny, per the config) on `authorize_url`: a GET without
    /// following the redirect. Returns the status and the `Location` (or the page's body).
    pub async fn approve(authorize_url: &str) -> (u16, String) {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client.get(authorize_url).send().await.unwrap();
        let status = response.status().as_u16();
        if let Some(location) = response.headers().get("location") {
            return (status, location.to_str().unwrap().to_owned());
        }
        (status, response.text().await.unwrap())
    }
}

struct Authorize(Arc<State>);

impl Respond for Authorize {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let config = self.0.config();
        let q: HashMap<String, String> = request.url.query_pairs().into_owned().collect();
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
        // Without a known client and its registered redirect URI there is nowhere safe to send
        // the browser: an error page.
        if get("client_id") != config.client_id || get("redirect_uri") != config.redirect_uri {
            return ResponseTemplate::new(400).set_body_raw(
                "<html><head><title>Invalid OAuth request</title></head><body>The client or its redirect URL is not registered.</body></html>",
                "text/html",
            );
        }
        let redirect = |params: &[(&str, &str)]| {
            let mut url = url::Url::parse(&config.redirect_uri).unwrap();
            {
                let mut pairs = url.query_pairs_mut();
                for (k, v) in params {
                    pairs.append_pair(k, v);
                }
                if let Some(state) = q.get("state") {
                    pairs.append_pair("state", state);
                }
            }
            ResponseTemplate::new(302).insert_header("Location", url.as_str())
        };
        if get("response_type") != "code" {
            return redirect(&[("error", "unsupported_response_type")]);
        }
        if get("code_challenge").is_empty() || get("code_challenge_method") != "S256" {
            return redirect(&[
                ("error", "invalid_request"),
                ("error_description", "PKCE with S256 is required"),
            ]);
        }
        let scopes: Vec<String> = get("scope").split_whitespace().map(str::to_owned).collect();
        if scopes.is_empty() || scopes.iter().any(|s| !config.allowed_scopes.contains(s)) {
            return redirect(&[
                ("error", "invalid_scope"),
                (
                    "error_description",
                    "The requested scope is not allowed for this client",
                ),
            ]);
        }
        if config.deny {
            return redirect(&[("error", "access_denied")]);
        }
        let mut inner = self.0.lock();
        inner.counter += 1;
        let code = format!("dc-code-{:04}", inner.counter);
        inner.codes.insert(
            code.clone(),
            Code {
                redirect_uri: get("redirect_uri").to_owned(),
                challenge: get("code_challenge").to_owned(),
                scopes,
                issued: now(),
                used: false,
            },
        );
        redirect(&[("code", &code)])
    }
}

struct Token(Arc<State>);

impl Token {
    fn issue(
        &self,
        inner: &mut Inner,
        config: &DcOAuth2Config,
        scopes: &[String],
        refresh: bool,
    ) -> ResponseTemplate {
        inner.counter += 1;
        let n = inner.counter;
        let access = format!("dc-access-{n:04}-{}", "a".repeat(24));
        inner
            .access_tokens
            .insert(access.clone(), now() + config.access_lifetime);
        let mut body = serde_json::json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": config.access_lifetime,
            "scope": scopes.join(" "),
        });
        if refresh {
            let rt = format!("dc-refresh-{n:04}-{}", "r".repeat(24));
            inner
                .refresh_tokens
                .insert(rt.clone(), (true, scopes.to_vec()));
            body["refresh_token"] = rt.into();
        }
        ResponseTemplate::new(200)
            .insert_header("Cache-Control", "no-store")
            .set_body_json(body)
    }
}

impl Respond for Token {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let config = self.0.config();
        let mut inner = self.0.lock();
        inner.token_requests += 1;
        let form_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return oauth_error(400, "invalid_request", "The request must be form-encoded");
        }
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
        let (id, secret) = (get("client_id"), get("client_secret"));
        let app = id == config.client_id && secret == config.client_secret;
        let service = id == config.service_account_id && secret == config.service_account_secret;
        if !app && !service {
            return oauth_error(401, "invalid_client", "Client authentication failed");
        }
        match get("grant_type") {
            "authorization_code" => {
                if !app {
                    return oauth_error(
                        400,
                        "unauthorized_client",
                        "The client may not use this grant",
                    );
                }
                let Some(code) = inner.codes.get_mut(get("code")) else {
                    return oauth_error(400, "invalid_grant", "Invalid authorization code");
                };
                if code.used || now() > code.issued + 600 {
                    return oauth_error(
                        400,
                        "invalid_grant",
                        "Authorization code has expired or was already used",
                    );
                }
                // Spent whatever happens next (RFC 6749 §4.1.2: used at most once).
                code.used = true;
                if code.redirect_uri != get("redirect_uri") {
                    return oauth_error(400, "invalid_grant", "Redirect URI mismatch");
                }
                let verifier = get("code_verifier");
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes()));
                if verifier.len() < 43 || verifier.len() > 128 || computed != code.challenge {
                    return oauth_error(400, "invalid_grant", "PKCE verification failed");
                }
                let scopes = code.scopes.clone();
                self.issue(&mut inner, &config, &scopes, true)
            }
            "refresh_token" => {
                if !app {
                    return oauth_error(
                        400,
                        "unauthorized_client",
                        "The client may not use this grant",
                    );
                }
                let rt = get("refresh_token").to_owned();
                let scopes = match inner.refresh_tokens.get_mut(&rt) {
                    Some((alive, scopes)) if *alive => {
                        *alive = false;
                        scopes.clone()
                    }
                    _ => return oauth_error(400, "invalid_grant", "Invalid refresh token"),
                };
                self.issue(&mut inner, &config, &scopes, true)
            }
            "client_credentials" => {
                if !service {
                    return oauth_error(
                        400,
                        "unauthorized_client",
                        "The client is not a service account",
                    );
                }
                let scopes: Vec<String> =
                    get("scope").split_whitespace().map(str::to_owned).collect();
                if scopes.is_empty() || scopes.iter().any(|s| s != "READ" && s != "WRITE") {
                    return oauth_error(
                        400,
                        "invalid_scope",
                        "Service accounts support the READ and WRITE scopes",
                    );
                }
                self.issue(&mut inner, &config, &scopes, false)
            }
            _ => oauth_error(400, "unsupported_grant_type", "Unsupported grant type"),
        }
    }
}
