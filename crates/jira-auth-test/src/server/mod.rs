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

mod routes;
mod signature;
mod state;

use routes::{Kind, Responder, authenticate};
pub use state::BearerCheck;
use state::{Inner, Shared};

use rsa::pkcs1v15::VerifyingKey;
use rsa::pkcs8::DecodePublicKey;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

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
