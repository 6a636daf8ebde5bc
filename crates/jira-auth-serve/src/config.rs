//! What the service needs to run, validated once at start-up, and the errors of doing so.

use jira_auth_cloud::callback::RedirectUri;
use jira_auth_cloud::{CloudError, Endpoints};
use jira_auth_core::network::NetworkProfile;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::{Categorize, Category, ClientSecret};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// The path Atlassian redirects the browser to, below the public URL.
pub const CALLBACK_PATH: &str = "/oauth/callback";
/// A configured cookie key shorter than this many bytes is refused (HMAC-SHA256 wants 32).
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

/// Everything `jira-auth cloud serve` is configured with.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen (`--listen`, `JIRA_AUTH_LISTEN`).
    pub listen: SocketAddr,
    /// How browsers reach the service (`--public-url`): the redirect URI is derived from it.
    pub public_url: PublicUrl,
    /// The profile the token set is stored under.
    pub profile: ProfileName,
    pub store: Store,
    pub endpoints: Endpoints,
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// The scopes to request, already resolved (preset, `--scope`, `offline_access`).
    pub scopes: Vec<String>,
    /// The preset the scopes came from, kept in the store like `cloud login` does.
    pub preset: Option<String>,
    /// `--allow-site NAME|URL|ID`: when not empty, consent for any other site is refused.
    pub allow_sites: Vec<String>,
    /// The state-cookie signing key; `None`: a random key for this process.
    pub cookie_key: Option<CookieKey>,
    /// How much any one client, and all of them together, may take of the service.
    pub limits: Limits,
    /// The CA file and client certificate paths the service runs with (never the files'
    /// contents), stored with each login as `cloud login` stores them, so the CLI on the same
    /// profile reaches Atlassian the same way.
    pub network: NetworkProfile,
}

/// The service's bounds facing the internet. The defaults suit one team's consents; each is a
/// flag of `jira-auth cloud serve` (see `docs/serve.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time a connection has to send a request's headers; also the longest a kept-alive
    /// connection may sit idle (`--header-timeout`).
    pub header_timeout: Duration,
    /// Time the service has to answer one request, its body read included
    /// (`--response-timeout`).
    pub response_timeout: Duration,
    /// Open connections at once; past it new connections are closed at once
    /// (`--max-connections`).
    pub max_connections: usize,
    /// Requests handled at once; past it the answer is a 503 page (`--max-requests`).
    pub max_requests: usize,
    /// Code exchanges with Atlassian per minute; past it a callback gets a 429 page
    /// (`--exchanges-per-minute`).
    pub exchanges_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            response_timeout: Duration::from_secs(30),
            max_connections: 256,
            max_requests: 64,
            exchanges_per_minute: 30,
        }
    }
}

/// The largest request body accepted (the site picker's form is well under 1 KiB).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The service's public origin, e.g. `https://jira-auth.example.com`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    origin: String,
    https: bool,
}

impl PublicUrl {
    /// Accepts an `http` or `https` URL with a host and no path, query or fragment (a trailing
    /// `/` is fine): the routes live at the root, so the callback is `{origin}/oauth/callback`.
    pub fn parse(raw: &str) -> Result<Self, ServeError> {
        let bad = |message: &str| ServeError::PublicUrl {
            value: raw.to_owned(),
            message: message.to_owned(),
        };
        let url = url::Url::parse(raw.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("it must be an http or https URL"));
        }
        if url.host().is_none() {
            return Err(bad("it has no host"));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(bad(
                "it must be the service's origin only, without a path, query or fragment",
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("it must not carry a user name or password"));
        }
        Ok(Self {
            origin: url.as_str().trim_end_matches('/').to_owned(),
            https: url.scheme() == "https",
        })
    }

    /// `https://host[:port]`, no trailing slash.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Whether cookies get the `Secure` attribute.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// `{origin}/oauth/callback`: the callback URL to register in the developer console.
    pub fn redirect_uri(&self) -> RedirectUri {
        #[allow(clippy::expect_used)]
        RedirectUri::parse(&format!("{}{CALLBACK_PATH}", self.origin))
            .expect("an http(s) origin plus a path is a valid redirect URI")
    }
}

/// The key that signs the state cookie. `Debug` is redacted.
#[derive(Clone)]
pub struct CookieKey(Vec<u8>);

impl CookieKey {
    /// A configured key (`JIRA_AUTH_COOKIE_KEY` or `--cookie-key-file`): surrounding whitespace
    /// is dropped, and at least [`MIN_COOKIE_KEY_BYTES`] bytes must remain.
    pub fn new(text: &str) -> Result<Self, ServeError> {
        let key = text.trim();
        if key.len() < MIN_COOKIE_KEY_BYTES {
            return Err(ServeError::CookieKeyTooShort { len: key.len() });
        }
        Ok(Self(key.as_bytes().to_vec()))
    }

    /// 32 bytes from the OS RNG (hex-encoded, so 64 key bytes).
    pub fn random() -> Self {
        Self(jira_auth_core::random::hex_token(32).into_bytes())
    }

    /// The key bytes, for the MAC only.
    pub(crate) fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CookieKey([redacted])")
    }
}

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "public URL `{value}` is not usable: {message}; pass the HTTPS origin browsers use, e.g. `--public-url https://jira-auth.example.com`"
    )]
    PublicUrl { value: String, message: String },
    #[error(
        "the cookie key has {len} bytes, fewer than {MIN_COOKIE_KEY_BYTES}: generate one with `openssl rand -hex 32` and pass it in `JIRA_AUTH_COOKIE_KEY` or `--cookie-key-file`"
    )]
    CookieKeyTooShort { len: usize },
    #[error(
        "cannot listen on {addr}: {source}; choose another `--listen ADDR:PORT` (or `JIRA_AUTH_LISTEN`)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the HTTP server stopped: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

impl Categorize for ServeError {
    fn category(&self) -> Category {
        match self {
            ServeError::PublicUrl { .. }
            | ServeError::CookieKeyTooShort { .. }
            | ServeError::Bind { .. } => Category::Usage,
            ServeError::Serve(_) => Category::Network,
            ServeError::Cloud(e) => e.category(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_url_is_an_origin_and_gives_the_callback() {
        let u = PublicUrl::parse("https://jira-auth.example.com/").unwrap();
        assert_eq!(u.origin(), "https://jira-auth.example.com");
        assert!(u.is_https());
        assert_eq!(
            u.redirect_uri().as_str(),
            "https://jira-auth.example.com/oauth/callback"
        );
        let u = PublicUrl::parse("http://127.0.0.1:8080").unwrap();
        assert!(!u.is_https());
        assert_eq!(
            u.redirect_uri().as_str(),
            "http://127.0.0.1:8080/oauth/callback"
        );
    }

    #[test]
    fn public_url_with_a_path_or_odd_scheme_is_refused() {
        for bad in [
            "https://x.example.com/jira",
            "https://x.example.com/?a=1",
            "ftp://x.example.com",
            "x.example.com",
            "https://u:p@x.example.com",
        ] {
            assert!(
                matches!(PublicUrl::parse(bad), Err(ServeError::PublicUrl { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            PublicUrl::parse("https://x.example.com/jira")
                .unwrap_err()
                .to_string(),
            "public URL `https://x.example.com/jira` is not usable: it must be the service's origin only, without a path, query or fragment; pass the HTTPS origin browsers use, e.g. `--public-url https://jira-auth.example.com`"
        );
    }

    #[test]
    fn cookie_key_is_redacted_and_long_enough() {
        let key = CookieKey::new(&format!("  {}\n", "k".repeat(32))).unwrap();
        assert_eq!(key.expose_secret(), "k".repeat(32).as_bytes());
        assert_eq!(format!("{key:?}"), "CookieKey([redacted])");
        assert_eq!(
            CookieKey::new("short").unwrap_err().to_string(),
            "the cookie key has 5 bytes, fewer than 32: generate one with `openssl rand -hex 32` and pass it in `JIRA_AUTH_COOKIE_KEY` or `--cookie-key-file`"
        );
        assert_ne!(
            CookieKey::random().expose_secret(),
            CookieKey::random().expose_secret()
        );
    }
}
