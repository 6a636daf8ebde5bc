//! The test rig: the fake Atlassian, the router served on 127.0.0.1:0 over a temporary store and
//! an injected clock, a browser with a cookie jar that keeps everything it was sent, and the
//! service's log lines.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use jira_auth_cloud::Endpoints;
use jira_auth_cloud::credentials::{self, CloudCredentials};
use jira_auth_core::ClientSecret;
use jira_auth_core::http::HttpClient;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::RecordingClock;
use jira_auth_serve::{CookieKey, Limits, PublicUrl, ServeConfig, Server};
use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use reqwest::cookie::CookieStore as _;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// The configured cookie key of the rig (tests prove it never leaks).
pub const COOKIE_KEY: &str = "cookie-key-0123456789-abcdefghijklmnop";
pub const SCOPES: &[&str] = &["read:jira-work", "read:jira-user", "offline_access"];

/// What a test varies.
#[derive(Debug, Clone)]
pub struct Options {
    pub sites_scenario: &'static str,
    pub allow_sites: Vec<String>,
    pub cookie_key: Option<&'static str>,
    /// `None`: `http://127.0.0.1:PORT`, the address served.
    pub public_url: Option<&'static str>,
    /// Replaces the API gateway URL (e.g. a closed port).
    pub api_url: Option<String>,
    /// Replaces the client secret the service is configured with.
    pub client_secret: Option<&'static str>,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sites_scenario: "sites-one",
            allow_sites: Vec::new(),
            cookie_key: Some(COOKIE_KEY),
            public_url: None,
            api_url: None,
            client_secret: None,
            limits: Limits::default(),
        }
    }
}

/// Captured log output of the service (and of everything else on the test's thread).
#[derive(Debug, Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// A running service and everything around it.
pub struct Rig {
    pub fake: FakeAtlassian,
    pub dir: tempfile::TempDir,
    pub store: Store,
    pub clock: RecordingClock,
    pub base: String,
    pub logs: Logs,
    pub browser: Browser,
    options: Options,
    _log_guard: tracing::subscriber::DefaultGuard,
}

/// One HTTP response as the browser saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub url: String,
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The text of `<p id="{id}">…</p>`.
    pub fn paragraph(&self, id: &str) -> String {
        let start = format!("<p id=\"{id}\">");
        let from = self
            .body
            .find(&start)
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body))
            + start.len();
        self.body[from..].split("</p>").next().unwrap().to_owned()
    }

    pub fn title(&self) -> String {
        let from = self.body.find("<h1>").expect("no <h1>") + 4;
        self.body[from..].split("</h1>").next().unwrap().to_owned()
    }
}

/// A browser: a cookie jar, no automatic redirects, and a record of every response.
#[derive(Clone)]
pub struct Browser {
    pub client: reqwest::Client,
    /// No jar: for requests whose `Cookie` header the test writes itself (the jar would
    /// replace it).
    plain: reqwest::Client,
    pub jar: Arc<reqwest::cookie::Jar>,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Browser {
    pub fn new(seen: Arc<Mutex<Vec<Seen>>>) -> Self {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            client,
            plain,
            jar,
            seen,
        }
    }

    async fn record(&self, response: reqwest::Response) -> Seen {
        let seen = Seen {
            url: response.url().to_string(),
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        };
        self.seen.lock().unwrap().push(seen.clone());
        seen
    }

    pub async fn get(&self, url: &str) -> Seen {
        let r = self.client.get(url).send().await.unwrap();
        self.record(r).await
    }

    /// A GET with an explicit `Cookie` header (a replay by someone who kept the cookie).
    pub async fn get_with_cookie(&self, url: &str, cookie: &str) -> Seen {
        let r = self
            .plain
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        self.record(r).await
    }

    pub async fn post_form(&self, url: &str, form: &[(&str, &str)], cookie: Option<&str>) -> Seen {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let client = if cookie.is_some() {
            &self.plain
        } else {
            &self.client
        };
        let mut req = client
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        self.record(r).await
    }

    /// The `Cookie` header the jar would send to `url`.
    pub fn cookies_for(&self, url: &str) -> String {
        self.jar
            .cookies(&url.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
}

impl Rig {
    pub async fn start(options: Options) -> Self {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        let log_guard = tracing::subscriber::set_default(subscriber);
        let fake = FakeAtlassian::start(FakeConfig {
            sites_scenario: options.sites_scenario.to_owned(),
            ..FakeConfig::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path().join("config"));
        let clock = RecordingClock::starting_at(SystemTime::now());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut rig = Self {
            fake,
            dir,
            store,
            clock,
            base: String::new(),
            logs,
            browser: Browser::new(seen),
            options,
            _log_guard: log_guard,
        };
        rig.base = rig.serve().await;
        rig
    }

    /// Starts (another) service process over the same store, fake and clock; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let public_url = self.options.public_url.map_or(base.clone(), str::to_owned);
        let config = ServeConfig {
            listen: listener.local_addr().unwrap(),
            public_url: PublicUrl::parse(&public_url).unwrap(),
            profile: ProfileName::default(),
            store: self.store.clone(),
            endpoints: Endpoints::parse(
                &self.fake.auth_url(),
                self.options
                    .api_url
                    .as_deref()
                    .unwrap_or(&self.fake.api_url()),
            )
            .unwrap(),
            client_id: self.fake.client_id().to_owned(),
            client_secret: ClientSecret::new(
                self.options
                    .client_secret
                    .unwrap_or(self.fake.client_secret()),
            ),
            scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
            preset: None,
            allow_sites: self.options.allow_sites.clone(),
            cookie_key: self.options.cookie_key.map(|k| CookieKey::new(k).unwrap()),
            limits: self.options.limits,
            network: Default::default(),
        };
        let http = HttpClient::builder()
            .clock(Arc::new(self.clock.clone()))
            .build()
            .unwrap();
        let server = Server::on(listener, config, http);
        tokio::spawn(async move { server.run(std::future::pending()).await.unwrap() });
        base
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `/initiate-oauth` → the fake's consent page → Accept (or Cancel): the callback URL the
    /// browser is sent to, not yet opened, and the `Set-Cookie` of `/initiate-oauth`.
    pub async fn consent(&self, accept: bool) -> (String, String) {
        let start = self.browser.get(&self.url("/initiate-oauth")).await;
        assert_eq!(start.status, 302, "{}", start.body);
        let set_cookie = start.header("set-cookie").to_owned();
        let consent = self.browser.get(start.header("location")).await;
        assert_eq!(consent.status, 200, "{}", consent.body);
        let id = if accept { "accept" } else { "cancel" };
        let marker = format!("id=\"{id}\" href=\"");
        let from = consent.body.find(&marker).unwrap() + marker.len();
        let href = consent.body[from..]
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&");
        let link = url::Url::parse(&self.fake.auth_url())
            .unwrap()
            .join(&href)
            .unwrap();
        let redirect = self.browser.get(link.as_str()).await;
        assert_eq!(redirect.status, 302, "{}", redirect.body);
        (redirect.header("location").to_owned(), set_cookie)
    }

    /// The stored cloud login of the default profile.
    pub fn stored(&self) -> Option<CloudCredentials> {
        credentials::load(&self.store, &ProfileName::default()).ok()
    }

    /// Every response body and header the browser received from the service (not from the
    /// fake Atlassian, whose redirect carries the code by design), as one text.
    pub fn everything_seen(&self) -> String {
        let atlassian = self.fake.auth_url();
        self.browser
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| !s.url.starts_with(&atlassian))
            .map(|s| format!("{} {:?}\n{}", s.status, s.headers, s.body))
            .collect::<Vec<_>>()
            .join("\n---\n")
    }

    /// Asserts that no secret appears in any response the browser got, nor in any log line.
    pub fn assert_no_secret_leaked(&self, extra: &[&str]) {
        let seen = self.everything_seen();
        let logs = self.logs.text();
        let mut secrets: Vec<String> =
            vec![self.fake.client_secret().to_owned(), COOKIE_KEY.to_owned()];
        if let Some(c) = self.stored() {
            secrets.push(c.access_token.expose_secret().to_owned());
            if let Some(rt) = &c.refresh_token {
                secrets.push(rt.expose_secret().to_owned());
            }
        }
        secrets.extend(extra.iter().map(|s| s.to_string()));
        for secret in &secrets {
            assert!(
                !seen.contains(secret.as_str()),
                "a response carries a secret"
            );
            assert!(!logs.contains(secret.as_str()), "the log carries a secret");
        }
    }
}

/// The `code` value of a callback URL.
pub fn code_of(callback: &str) -> String {
    url::Url::parse(callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// `name=value` of a `Set-Cookie` header, as a `Cookie` header.
pub fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}
