//! The one HTTP client every jira-auth request goes through.
//!
//! - reqwest with rustls only (no OpenSSL at build or run time), connect and request timeouts,
//!   `User-Agent: jira-auth/<version>`. Trusted: the bundled webpki roots, the OS store (or
//!   `SSL_CERT_FILE`/`SSL_CERT_DIR`) and [`NetworkSettings::ca_file`]; a client certificate when
//!   one is set; proxies from the environment. A refused certificate says why and what to pass.
//! - Plain `http://` to a host other than this machine is refused before any connection, unless
//!   allowed ([`crate::network::check_plain_http`]), and then warned about once per process.
//! - Redirects are never followed: a token endpoint that redirects opens the client to SSRF and
//!   leaks the request body, and a Jira REST call that redirects is almost always an SSO proxy
//!   sending us to a login page, which deserves a clear error rather than an HTML body.
//! - [`RetryPolicy`]: 429 and 503 are retried with exponential backoff plus jitter, honouring
//!   `Retry-After` (seconds or HTTP date) and `X-RateLimit-Reset`, bounded in attempts and total
//!   wait. A request that is not idempotent is retried only when the server cannot have processed
//!   it: a 429, or a connection that was never established.
//! - With a [`Limiter`] ([`HttpClient::with_limiter`]), every attempt waits for a place in flight,
//!   every answer's status and rate-limit headers reach the limiter, a retry's wait pauses the
//!   whole client, and a spent quota stops every later request with [`HttpError::QuotaSpent`].

use crate::api_error::{ApiError, ErrorBody};
use crate::auth::Authorizer;
use crate::category::{Categorize, Category};
use crate::limit::{Limiter, QuotaSpent, Signals};
use crate::network::{NetworkError, NetworkSettings, PlainHttp, Proxies};
use crate::secret::mask_url;
use crate::time::{Clock, SystemClock};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// The `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("jira-auth/", env!("CARGO_PKG_VERSION"));

/// Bodies larger than this are refused rather than buffered (a hostile or broken server).
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Whether repeating a request is safe if the first attempt may have been processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// GET, HEAD, PUT, DELETE and the like: repeat on 429, 503 and transient network errors.
    Idempotent,
    /// A token request, a POST that creates: repeat only on 429 or a refused connection.
    NotIdempotent,
}

impl Idempotency {
    /// The RFC 9110 §9.2.2 classification of a method.
    pub fn of(method: &http::Method) -> Self {
        match *method {
            http::Method::POST | http::Method::PATCH | http::Method::CONNECT => Self::NotIdempotent,
            _ => Self::Idempotent,
        }
    }
}

/// How often and how long to retry throttled or unavailable responses.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The first backoff delay when the server gives no hint; doubled on each retry.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever the server asks.
    pub max_delay: Duration,
    /// Give up once the waits would add up to more than this.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based), given the server's hint if any.
    /// Jitter is added only to the computed backoff: a server that names a time gets that time.
    fn delay(&self, retry: u32, hint: Option<Duration>, jitter: f64) -> Duration {
        let delay = match hint {
            Some(hint) => hint,
            None => {
                let exp = self.base_delay.saturating_mul(1u32 << (retry - 1).min(16));
                exp + exp.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
            }
        };
        delay.min(self.max_delay)
    }
}

/// What went wrong with a request.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("could not connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("TLS handshake with {url} failed: {message}")]
    Tls { url: String, message: String },
    #[error("TLS with {host} failed: {reason}; {advice} (see docs/network.md)")]
    Certificate {
        url: String,
        host: String,
        reason: String,
        advice: String,
    },
    #[error(transparent)]
    Network(#[from] NetworkError),
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    #[error(
        "gave up on {url}: the command's deadline of {seconds} s passed (raise it with `--deadline SECONDS` or `JIRA_AUTH_DEADLINE`); the server is answering too slowly"
    )]
    Deadline { url: String, seconds: u64 },
    #[error("request to {url} failed: {message}")]
    Transport { url: String, message: String },
    #[error("{url} sent a body larger than {MAX_BODY_BYTES} bytes")]
    BodyTooLarge { url: String },
    #[error(
        "{url} redirected to {location}; jira-auth does not follow redirects (is an SSO proxy in front of Jira, or is the URL missing its context path?)"
    )]
    Redirect {
        url: String,
        status: u16,
        location: String,
    },
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error(transparent)]
    QuotaSpent(#[from] QuotaSpent),
}

impl Categorize for HttpError {
    fn category(&self) -> Category {
        match self {
            HttpError::Api(e) if matches!(e.status, 401 | 403) => Category::Auth,
            HttpError::InvalidRequest(_) => Category::Usage,
            HttpError::Network(e) => e.category(),
            _ => Category::Network,
        }
    }
}

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
    /// How many attempts it took.
    pub attempts: u32,
}

/// Builds an [`HttpClient`].
#[derive(Debug)]
pub struct HttpClientBuilder {
    connect_timeout: Duration,
    request_timeout: Duration,
    deadline: Option<Duration>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    network: NetworkSettings,
}

impl Default for HttpClientBuilder {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            deadline: None,
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            network: NetworkSettings::default(),
        }
    }
}

impl HttpClientBuilder {
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }
    /// An overall deadline, counted from [`HttpClientBuilder::build`]: past it no request is
    /// sent, none is retried, and one in flight is cut off. `None`: only the per-request timeout.
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Extra CA certificates, a client certificate, and the plain-http allowance.
    pub fn network(mut self, settings: NetworkSettings) -> Self {
        self.network = settings;
        self
    }
    /// Reads the CA and client certificate files (each problem names its file) and the
    /// environment's proxies, and builds the client.
    pub fn build(self) -> Result<HttpClient, HttpError> {
        let build_error = |e: reqwest::Error| {
            HttpError::InvalidRequest(format!("cannot build the HTTP client: {}", error_chain(&e)))
        };
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .timeout(self.request_timeout)
            .redirect(reqwest::redirect::Policy::none());
        for der in self.network.extra_roots()? {
            builder = builder
                .add_root_certificate(reqwest::Certificate::from_der(&der).map_err(build_error)?);
        }
        let client_cert = match self.network.client_identity_pem()? {
            Some(pem) => {
                builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(build_error)?);
                true
            }
            None => false,
        };
        let proxies = Proxies::from_env();
        let client = builder.build().map_err(build_error)?;
        Ok(HttpClient {
            client,
            proxies,
            client_cert,
            allow_insecure_http: self.network.allow_insecure_http,
            limiter: None,
            retry: self.retry,
            clock: self.clock,
            request_timeout: self.request_timeout,
            deadline: self.deadline.map(|d| Deadline {
                at: std::time::Instant::now().checked_add(d),
                seconds: d.as_secs(),
            }),
        })
    }
}

/// The shared client: cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    proxies: Proxies,
    /// A client certificate is configured (it changes what a refused handshake means).
    client_cert: bool,
    allow_insecure_http: bool,
    limiter: Option<Arc<Limiter>>,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    request_timeout: Duration,
    deadline: Option<Deadline>,
}

/// When the whole command must be done talking (real time: a deadline protects a user from a
/// slow server, so it is not the test clock's).
#[derive(Debug, Clone, Copy)]
struct Deadline {
    /// `None`: too far in the future to represent, so never.
    at: Option<std::time::Instant>,
    seconds: u64,
}

impl Deadline {
    /// Time left, `None` when it has passed.
    fn left(&self) -> Option<Duration> {
        match self.at {
            None => Some(Duration::MAX),
            Some(at) => at
                .checked_duration_since(std::time::Instant::now())
                .filter(|d| !d.is_zero()),
        }
    }
}

impl HttpClient {
    pub fn builder() -> HttpClientBuilder {
        HttpClientBuilder::default()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// This client with every request going through `limiter` (same connection pool).
    pub fn with_limiter(&self, limiter: Arc<Limiter>) -> Self {
        Self {
            limiter: Some(limiter),
            ..self.clone()
        }
    }

    pub fn limiter(&self) -> Option<&Arc<Limiter>> {
        self.limiter.as_ref()
    }

    /// Sends a request, retrying per the policy, and returns whatever status came back.
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Response, HttpError> {
        let idempotency = Idempotency::of(request.method());
        self.send_with(request, idempotency).await
    }

    /// Like [`send`](Self::send), but turns a non-2xx answer into [`HttpError::Api`] (or
    /// [`HttpError::Redirect`]) with the parsed body.
    pub async fn send_checked(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<Response, HttpError> {
        let method = request.method().to_string();
        let url = masked(request.uri());
        let response = self.send(request).await?;
        check_status(&method, &url, response)
    }

    /// Sends a request with credentials from `auth`, applied afresh on every attempt (an OAuth
    /// 1.0a retry needs a new nonce). Returns whatever status came back.
    pub async fn send_authorized(
        &self,
        request: http::Request<Vec<u8>>,
        auth: &dyn Authorizer,
    ) -> Result<Response, HttpError> {
        let idempotency = Idempotency::of(request.method());
        self.send_inner(request, idempotency, Some(auth)).await
    }

    /// Sends with an explicit idempotency class.
    pub async fn send_with(
        &self,
        request: http::Request<Vec<u8>>,
        idempotency: Idempotency,
    ) -> Result<Response, HttpError> {
        self.send_inner(request, idempotency, None).await
    }

    async fn send_inner(
        &self,
        request: http::Request<Vec<u8>>,
        idempotency: Idempotency,
        auth: Option<&dyn Authorizer>,
    ) -> Result<Response, HttpError> {
        let url = masked(request.uri());
        self.check_plain_http(request.uri())?;
        if let Some(proxy) = self.proxies.proxy_for(request.uri()) {
            tracing::info!("{} {url} via proxy {proxy}", request.method());
        }
        let (parts, body) = request.into_parts();
        let mut waited = Duration::ZERO;
        let mut attempt = 1u32;
        loop {
            let mut attempt_request = http::Request::from_parts(parts.clone(), body.clone());
            if let Some(auth) = auth {
                auth.authorize(&mut attempt_request)
                    .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
            }
            let (attempt_parts, attempt_body) = attempt_request.into_parts();
            let mut req = self.to_reqwest(&attempt_parts, attempt_body, &url)?;
            if let Some(deadline) = self.deadline {
                let Some(left) = deadline.left() else {
                    return Err(HttpError::Deadline {
                        url,
                        seconds: deadline.seconds,
                    });
                };
                *req.timeout_mut() = Some(left.min(self.request_timeout));
            }
            let permit = match &self.limiter {
                Some(limiter) => Some(limiter.acquire().await?),
                None => None,
            };
            let outcome = self.client.execute(req).await;
            let retry_hint = match &outcome {
                Ok(resp) => retryable_status(resp.status(), idempotency)
                    .then(|| server_hint(resp.headers(), self.clock.now())),
                // A refused connection never reached the server: safe to retry whatever the
                // method. A failed TLS handshake counts as a connect error too, but a refused
                // certificate (or a server that does not speak TLS) fails the same way again.
                Err(e) if e.is_connect() && rustls_error(e).is_none() => Some(None),
                Err(e) if e.is_timeout() && idempotency == Idempotency::Idempotent => Some(None),
                Err(_) => None,
            };
            let mut retry = None;
            if let Some(hint) = retry_hint
                && attempt < self.retry.max_attempts
            {
                let delay = self.retry.delay(attempt, hint, jitter());
                let before_deadline = self
                    .deadline
                    .is_none_or(|d| d.left().is_some_and(|left| delay < left));
                if waited + delay <= self.retry.max_total_wait && before_deadline {
                    retry = Some(delay);
                } else {
                    tracing::debug!(%url, attempt, ?delay, "not retrying: total wait budget spent");
                }
            }
            let shared_pause = self.limiter.as_ref().filter(|l| l.shares_pauses());
            if let (Some(limiter), Some(delay)) = (shared_pause, retry) {
                // Before the answer frees its place: no other request may slip out between the
                // refusal and the pause it asks for.
                limiter.pause_for(delay);
            }
            if let Some(permit) = permit {
                match &outcome {
                    Ok(resp) => {
                        let signals =
                            Signals::read(resp.status().as_u16(), resp.headers(), self.clock.now());
                        if let Some(spent) = permit.answered(&signals) {
                            return Err(spent.into());
                        }
                    }
                    Err(_) => drop(permit),
                }
            }
            if let Some(delay) = retry {
                tracing::debug!(%url, attempt, ?delay, "retrying");
                if shared_pause.is_none() {
                    self.clock.sleep(delay).await;
                }
                // Else the next attempt waits for the pause in `acquire`, with every other.
                waited += delay;
                attempt += 1;
                continue;
            }
            let result = match outcome {
                Ok(resp) => read_response(resp, &url, attempt, self.request_timeout).await,
                Err(e) => Err(self.classify(e, &url)),
            };
            return match (result, self.deadline) {
                (Err(HttpError::Timeout { url, .. }), Some(d)) if d.left().is_none() => {
                    Err(HttpError::Deadline {
                        url,
                        seconds: d.seconds,
                    })
                }
                (result, _) => result,
            };
        }
    }

    /// Refuses plain http to another machine unless allowed; warns once per process when it is.
    fn check_plain_http(&self, uri: &http::Uri) -> Result<(), HttpError> {
        static WARNED: std::sync::Once = std::sync::Once::new();
        let Ok(url) = url::Url::parse(&uri.to_string()) else {
            return Ok(());
        };
        if crate::network::check_plain_http(&url, self.allow_insecure_http)? == PlainHttp::Allowed {
            WARNED.call_once(|| {
                tracing::warn!(
                    "sending requests to {} over plain http (`--allow-insecure-http`): credentials cross the network in clear text",
                    url.host_str().unwrap_or_default()
                );
            });
        }
        Ok(())
    }

    fn to_reqwest(
        &self,
        parts: &http::request::Parts,
        body: Vec<u8>,
        url: &str,
    ) -> Result<reqwest::Request, HttpError> {
        let target = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| HttpError::InvalidRequest(format!("bad URL {url}: {e}")))?;
        let mut req = reqwest::Request::new(parts.method.clone(), target);
        *req.headers_mut() = parts.headers.clone();
        if !body.is_empty() {
            *req.body_mut() = Some(body.into());
        }
        Ok(req)
    }

    fn classify(&self, e: reqwest::Error, url: &str) -> HttpError {
        let url = url.to_owned();
        let (timeout, connect) = (e.is_timeout(), e.is_connect());
        // reqwest's message repeats the URL unmasked (user info, `?token=`): drop it, `url` is
        // the masked one.
        let e = e.without_url();
        let message = error_chain(&e);
        if timeout {
            return HttpError::Timeout {
                url,
                seconds: self.request_timeout.as_secs(),
            };
        }
        if let Some(tls) = rustls_error(&e) {
            let host = reqwest::Url::parse(&url)
                .ok()
                .and_then(|u| {
                    let host = u.host_str()?.to_owned();
                    Some(match u.port_or_known_default() {
                        Some(port) => format!("{host}:{port}"),
                        None => host,
                    })
                })
                .unwrap_or_else(|| url.clone());
            if let Some((reason, advice)) = explain_tls(tls, self.client_cert) {
                return HttpError::Certificate {
                    url,
                    host,
                    reason,
                    advice,
                };
            }
        }
        let lower = message.to_ascii_lowercase();
        // `corrupt message`: rustls talking to a server that does not speak TLS at all.
        if lower.contains("certificate")
            || lower.contains("tls")
            || lower.contains("handshake")
            || lower.contains("corrupt message")
        {
            return HttpError::Tls { url, message };
        }
        if connect {
            return HttpError::Connect { url, message };
        }
        HttpError::Transport { url, message }
    }
}

/// The rustls error behind a failed request, if any: reqwest and hyper wrap it in an
/// `io::Error`, whose `source()` skips the error it carries, so each `io::Error` is opened.
fn rustls_error<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e rustls::Error> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

const CA_ADVICE: &str = "if the server's certificate comes from your organisation's own CA (or a TLS-inspecting proxy), pass that CA's certificate in PEM with `--ca-file PATH` or `JIRA_AUTH_CA_FILE`, or add it to this machine's trust store";

/// What a rustls failure means for the user, and what to do: `None` for the failures that are
/// not about certificates (a server that does not speak TLS).
fn explain_tls(e: &rustls::Error, client_cert: bool) -> Option<(String, String)> {
    use rustls::{AlertDescription as Alert, CertificateError as Cert};
    let (reason, advice) = match e {
        rustls::Error::InvalidCertificate(cert) => match cert {
            Cert::UnknownIssuer => (
                "its certificate was issued by a certificate authority this machine does not trust (unknown issuer)".to_owned(),
                CA_ADVICE.to_owned(),
            ),
            Cert::Expired | Cert::ExpiredContext { .. } => (
                "its certificate has expired".to_owned(),
                "ask the server's administrators to renew it; check this machine's clock too".to_owned(),
            ),
            Cert::NotValidYet | Cert::NotValidYetContext { .. } => (
                "its certificate is not valid yet".to_owned(),
                "check this machine's clock (e.g. `timedatectl set-ntp true`)".to_owned(),
            ),
            Cert::NotValidForName => (
                "its certificate is not valid for this host name (name mismatch)".to_owned(),
                "use the host name the certificate was issued for in the URL".to_owned(),
            ),
            Cert::NotValidForNameContext { presented, .. } => (
                format!(
                    "its certificate is not valid for this host name (name mismatch: it names {})",
                    if presented.is_empty() {
                        "no host".to_owned()
                    } else {
                        presented
                            .iter()
                            .map(|name| presented_name(name))
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ),
                "use the host name the certificate was issued for in the URL".to_owned(),
            ),
            other => (
                format!("its certificate was refused ({other:?})"),
                CA_ADVICE.to_owned(),
            ),
        },
        rustls::Error::AlertReceived(Alert::CertificateRequired) => (
            "the server requires a client certificate".to_owned(),
            if client_cert {
                "check that `--client-cert` is the certificate this server expects".to_owned()
            } else {
                "pass yours with `--client-cert PATH --client-key PATH` (`JIRA_AUTH_CLIENT_CERT`, `JIRA_AUTH_CLIENT_KEY`)".to_owned()
            },
        ),
        rustls::Error::AlertReceived(
            alert @ (Alert::BadCertificate
            | Alert::UnknownCA
            | Alert::CertificateUnknown
            | Alert::CertificateExpired
            | Alert::CertificateRevoked
            | Alert::UnsupportedCertificate
            | Alert::AccessDenied
            | Alert::HandshakeFailure),
        ) => {
            if client_cert {
                (
                    format!("the server refused the client certificate (alert {alert:?})"),
                    "check that `--client-cert` was issued by a CA the server trusts and has not expired".to_owned(),
                )
            } else {
                (
                    format!("the server ended the handshake (alert {alert:?}); it may require a client certificate"),
                    "pass yours with `--client-cert PATH --client-key PATH` (`JIRA_AUTH_CLIENT_CERT`, `JIRA_AUTH_CLIENT_KEY`)".to_owned(),
                )
            }
        }
        _ => return None,
    };
    Some((reason, advice))
}

/// A name a certificate presents, as webpki reports it (`DnsName("jira.example.com")`,
/// `IpAddress(10.0.0.1)`), shown as the bare name or address.
fn presented_name(debug: &str) -> &str {
    debug
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            debug
                .strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(debug)
}

/// Turns a non-success response into an error carrying the parsed body.
pub fn check_status(method: &str, url: &str, response: Response) -> Result<Response, HttpError> {
    check(method, url, response, ErrorBody::parse)
}

/// [`check_status`] for a token endpoint (OAuth 2.0 code exchange and refresh, OAuth 1.0a
/// request and access tokens): the error body may echo the request's credentials or carry
/// new ones, so it is parsed with [`ErrorBody::parse_masked`].
pub fn check_token_status(
    method: &str,
    url: &str,
    response: Response,
) -> Result<Response, HttpError> {
    check(method, url, response, ErrorBody::parse_masked)
}

fn check(
    method: &str,
    url: &str,
    response: Response,
    parse: fn(&[u8], Option<&str>) -> ErrorBody,
) -> Result<Response, HttpError> {
    if response.status.is_success() {
        return Ok(response);
    }
    if response.status.is_redirection() {
        let location = response
            .headers
            .get(http::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| {
                url::Url::parse(l)
                    .map(|u| mask_url(&u))
                    .unwrap_or_else(|_| l.to_owned())
            })
            .unwrap_or_else(|| "(no Location header)".to_owned());
        return Err(HttpError::Redirect {
            url: url.to_owned(),
            status: response.status.as_u16(),
            location,
        });
    }
    let www_auth = response
        .headers
        .get(http::header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok());
    Err(HttpError::Api(ApiError {
        method: method.to_owned(),
        url: url.to_owned(),
        status: response.status.as_u16(),
        body: parse(&response.body, www_auth),
        server_date: response
            .headers
            .get(http::header::DATE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }))
}

fn retryable_status(status: reqwest::StatusCode, idempotency: Idempotency) -> bool {
    match status.as_u16() {
        // 429: the server refused to process the request, so any method may be repeated.
        429 => true,
        // 503 may come after the request was processed (a gateway timing out on the way back).
        503 => idempotency == Idempotency::Idempotent,
        _ => false,
    }
}

/// The server's own idea of when to come back: `Retry-After` first, then `X-RateLimit-Reset`.
fn server_hint(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(value) = header("retry-after") {
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    if let Some(value) = header("x-ratelimit-reset") {
        // Atlassian documents an ISO 8601 timestamp; some proxies send epoch seconds.
        if let Ok(at) = humantime::parse_rfc3339_weak(value.trim_end_matches('Z'))
            .or_else(|_| humantime::parse_rfc3339(value))
        {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
        if let Ok(epoch) = value.parse::<u64>() {
            // A reset past what the clock can hold is "not soon"; the policy caps the wait.
            return Some(
                std::time::UNIX_EPOCH
                    .checked_add(Duration::from_secs(epoch))
                    .map_or(Duration::MAX, |at| {
                        at.duration_since(now).unwrap_or(Duration::ZERO)
                    }),
            );
        }
    }
    None
}

fn jitter() -> f64 {
    let mut b = [0u8; 2];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX)
}

async fn read_response(
    mut resp: reqwest::Response,
    url: &str,
    attempts: u32,
    timeout: Duration,
) -> Result<Response, HttpError> {
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(HttpError::BodyTooLarge {
                        url: url.to_owned(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // A body that drips slower than the timeout allows.
            Err(e) if e.is_timeout() => {
                return Err(HttpError::Timeout {
                    url: url.to_owned(),
                    seconds: timeout.as_secs(),
                });
            }
            Err(e) => {
                return Err(HttpError::Transport {
                    url: url.to_owned(),
                    message: error_chain(&e),
                });
            }
        }
    }
    Ok(Response {
        status,
        headers,
        body,
        attempts,
    })
}

fn masked(uri: &http::Uri) -> String {
    url::Url::parse(&uri.to_string())
        .map(|u| mask_url(&u))
        .unwrap_or_else(|_| uri.to_string())
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
            max_total_wait: Duration::from_secs(100),
        };
        assert_eq!(p.delay(1, None, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay(2, None, 0.0), Duration::from_secs(2));
        assert_eq!(p.delay(2, None, 1.0), Duration::from_secs(3));
        assert_eq!(p.delay(4, None, 0.0), Duration::from_secs(5));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(4)), 1.0),
            Duration::from_secs(4)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(400)), 0.0),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn a_name_mismatch_lists_the_names_the_certificate_presents_bare() {
        let e =
            rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
                expected: rustls::pki_types::ServerName::try_from("jira.example.com").unwrap(),
                presented: vec![
                    "DnsName(\"jira.internal.example\")".to_owned(),
                    "IpAddress(10.0.0.7)".to_owned(),
                    "DirectoryName".to_owned(),
                ],
            });
        let (reason, advice) = explain_tls(&e, false).unwrap();
        assert_eq!(
            reason,
            "its certificate is not valid for this host name (name mismatch: it names jira.internal.example, 10.0.0.7, DirectoryName)"
        );
        assert_eq!(
            advice,
            "use the host name the certificate was issued for in the URL"
        );
    }

    #[test]
    fn error_texts_are_masked_at_token_endpoints_and_elsewhere() {
        let response = || Response {
            status: http::StatusCode::BAD_REQUEST,
            headers: http::HeaderMap::new(),
            body: b"refresh_token=rt-0001-0123456789abcdef was refused".to_vec(),
            attempts: 1,
        };
        let shown = |r: Result<Response, HttpError>| r.map(|_| ()).unwrap_err().to_string();
        assert_eq!(
            shown(check_token_status(
                "POST",
                "https://h/oauth/token",
                response()
            )),
            "POST https://h/oauth/token answered 400: refresh_token=**** was refused"
        );
        assert_eq!(
            shown(check_status("POST", "https://h/x", response())),
            "POST https://h/x answered 400: refresh_token=**** was refused"
        );
    }

    #[test]
    fn hints_from_retry_after_and_rate_limit_reset() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(server_hint(&h, now), Some(Duration::from_secs(7)));

        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert("retry-after", later.parse().unwrap());
        assert_eq!(server_hint(&h, now), Some(Duration::from_secs(30)));

        let mut h = reqwest::header::HeaderMap::new();
        let reset = humantime::format_rfc3339_seconds(now + Duration::from_secs(12)).to_string();
        h.insert("x-ratelimit-reset", reset.parse().unwrap());
        assert_eq!(server_hint(&h, now), Some(Duration::from_secs(12)));

        h.insert("x-ratelimit-reset", "1700000020".parse().unwrap());
        assert_eq!(server_hint(&h, now), Some(Duration::from_secs(20)));

        // Past what SystemTime can hold: no panic, and the policy caps the wait it implies.
        h.insert("x-ratelimit-reset", u64::MAX.to_string().parse().unwrap());
        let hint = server_hint(&h, now);
        assert_eq!(hint, Some(Duration::MAX));
        let p = RetryPolicy::default();
        assert!(
            p.delay(1, hint, 0.5) <= p.max_delay,
            "{:?}",
            p.delay(1, hint, 0.5)
        );
    }

    #[test]
    fn idempotency_follows_the_method() {
        assert_eq!(Idempotency::of(&http::Method::GET), Idempotency::Idempotent);
        assert_eq!(Idempotency::of(&http::Method::PUT), Idempotency::Idempotent);
        assert_eq!(
            Idempotency::of(&http::Method::POST),
            Idempotency::NotIdempotent
        );
    }
}
