//! Jira Cloud OAuth 2.0 (3LO): everything `jira-auth cloud …` needs except printing.
//!
//! Data flows like this for `cloud login`:
//! [`authorize::authorize_url`] (pure) → the browser → [`listener::Listener::wait`] or
//! [`callback::parse_pasted`] (pure parsing) → [`token::TokenClient::exchange_code`] (oauth2 over
//! the shared [`jira_auth_core::http::HttpClient`]) → [`sites::accessible_resources`] →
//! [`sites::choose`] → [`credentials::CloudCredentials`] in the store.
//!
//! - [`authorize`]: the authorize URL with Atlassian's `audience` and `prompt`, scope resolution.
//! - [`callback`]: the redirect URI (loopback or not) and callback/paste parsing, pure.
//! - [`listener`]: the one-shot loopback HTTP listener that receives the browser's callback.
//! - [`transport`]: oauth2's `AsyncHttpClient` over the shared client (retries, no redirects).
//! - [`token`]: code exchange and refresh, with Atlassian's errors mapped to [`CloudError`].
//! - [`sites`]: `accessible-resources` and choosing a site.
//! - [`consent`]: the consent chain after the callback (exchange, sites, choice, save), typed.
//! - [`credentials`]: what the store keeps, refresh-under-lock, the status report.
//! - [`export`]: the export formats (env, json, tfvars, psoxy), rendered as text.
//! - [`pending`]: the write-ahead record that keeps a rotated refresh token across a crash.
//! - [`fault`]: pause points for the crash tests (debug builds only).
//! - [`service_account`]: service accounts (client credentials): `tenant_info`, the mint, the
//!   site check, the re-mint under the lock.
//!
//! Architecture invariants: this crate never prints; a rotated refresh token is persisted before
//! anything else is done with the response; secrets only leave through `expose_secret()`.

pub mod authorize;
pub mod callback;
pub mod consent;
pub mod credentials;
pub mod error;
pub mod export;
pub mod fault;
pub mod listener;
pub mod pending;
pub mod service_account;
pub mod sites;
pub mod token;
pub mod transport;

pub use error::CloudError;

/// Atlassian's authorization server.
pub const DEFAULT_AUTH_URL: &str = "https://auth.atlassian.com";
/// Atlassian's API gateway (accessible-resources, `/ex/jira/{cloudId}`).
pub const DEFAULT_API_URL: &str = "https://api.atlassian.com";
/// The callback the other vendor's token fetcher registers; ours by default too.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:13131";
/// The scope that makes Atlassian issue a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Where the Atlassian endpoints live (configurable so tests and demos use a fake).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoints {
    /// `https://auth.atlassian.com`: `/authorize` and `/oauth/token` below it.
    pub auth_url: url::Url,
    /// `https://api.atlassian.com`: `/oauth/token/accessible-resources` and `/ex/jira/…`.
    pub api_url: url::Url,
}

impl Default for Endpoints {
    fn default() -> Self {
        #[allow(clippy::expect_used)]
        Self {
            auth_url: url::Url::parse(DEFAULT_AUTH_URL).expect("constant URL"),
            api_url: url::Url::parse(DEFAULT_API_URL).expect("constant URL"),
        }
    }
}

impl Endpoints {
    /// Parses both base URLs, naming the flag in the error.
    pub fn parse(auth_url: &str, api_url: &str) -> Result<Self, CloudError> {
        let parse = |flag: &'static str, value: &str| {
            let url = url::Url::parse(value).map_err(|e| CloudError::BadUrl {
                flag,
                value: error::shown_url(value),
                message: e.to_string(),
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(CloudError::BadUrl {
                    flag,
                    value: error::shown_url(value),
                    message: "only http and https URLs are supported".to_owned(),
                });
            }
            if !url.username().is_empty() || url.password().is_some() {
                // It would travel in every log line of the HTTP stack.
                return Err(CloudError::BadUrl {
                    flag,
                    value: error::shown_url(value),
                    message: "remove the user name and password from the URL".to_owned(),
                });
            }
            Ok(url)
        };
        Ok(Self {
            auth_url: parse("--auth-url", auth_url)?,
            api_url: parse("--api-url", api_url)?,
        })
    }

    /// `{auth}/authorize`.
    pub fn authorize(&self) -> url::Url {
        join(&self.auth_url, "authorize")
    }

    /// `{auth}/oauth/token`.
    pub fn token(&self) -> url::Url {
        join(&self.auth_url, "oauth/token")
    }

    /// `{api}/oauth/token/accessible-resources`.
    pub fn accessible_resources(&self) -> url::Url {
        join(&self.api_url, "oauth/token/accessible-resources")
    }

    /// `{api}/ex/jira/{cloud_id}`: the REST base of one site (append `/rest/api/3/...`).
    pub fn jira_base(&self, cloud_id: &str) -> url::Url {
        join(&self.api_url, &format!("ex/jira/{cloud_id}"))
    }
}

/// Appends `path` to `base`, keeping any path prefix `base` has (a proxy, a test harness).
fn join(base: &url::Url, path: &str) -> url::Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_a_path_prefix() {
        let e = Endpoints::parse("http://127.0.0.1:9/auth/", "http://127.0.0.1:9").unwrap();
        assert_eq!(e.authorize().as_str(), "http://127.0.0.1:9/auth/authorize");
        assert_eq!(e.token().as_str(), "http://127.0.0.1:9/auth/oauth/token");
        assert_eq!(
            e.accessible_resources().as_str(),
            "http://127.0.0.1:9/oauth/token/accessible-resources"
        );
        assert_eq!(
            e.jira_base("abc").as_str(),
            "http://127.0.0.1:9/ex/jira/abc"
        );
        let d = Endpoints::default();
        assert_eq!(d.token().as_str(), "https://auth.atlassian.com/oauth/token");
    }

    #[test]
    fn endpoints_reject_bad_urls_naming_the_flag() {
        let err = Endpoints::parse("ftp://x", DEFAULT_API_URL).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--auth-url` value `ftp://x` is not usable: only http and https URLs are supported"
        );
    }
}
