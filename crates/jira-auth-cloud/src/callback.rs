//! The redirect URI and the authorization response (RFC 6749 §4.1.2), parsed without I/O.
//!
//! The browser comes back to the redirect URI with `?code=…&state=…`, or with
//! `?error=access_denied&state=…` when the user clicked Cancel (§4.1.2.1). `state` is compared in
//! constant time with the one we sent (RFC 6749 §10.12: it binds the response to this login).

use crate::CloudError;
use jira_auth_core::authorization::{self, PasteError, Response};
use jira_auth_core::{Categorize, Category};
use std::net::IpAddr;

/// Why an authorization response ends the login.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    #[error(
        "the consent was declined in the browser (access_denied{}): run `jira-auth cloud login` again and click Accept",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    AccessDenied { description: Option<String> },
    #[error(
        "Atlassian answered the authorization with `{error}`{}: check the client id, the scopes and the callback URL in the developer console",
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Authorization {
        error: String,
        description: Option<String>,
    },
    #[error("the callback carries no `code`: paste the full URL the browser landed on")]
    MissingCode,
    #[error(transparent)]
    Pasted(#[from] PasteError),
}

impl Categorize for CallbackError {
    fn category(&self) -> Category {
        match self {
            CallbackError::Pasted(e) => e.category(),
            _ => Category::Auth,
        }
    }
}

/// The redirect URI as registered in the developer console: kept byte for byte (it is compared
/// as a string by Atlassian) alongside its parsed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri {
    raw: String,
    url: url::Url,
}

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, CloudError> {
        let bad = |message: &str| CloudError::RedirectUri {
            value: crate::error::shown_url(raw),
            message: message.to_owned(),
        };
        let url = url::Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("it must be an http or https URL"));
        }
        if url.fragment().is_some() {
            return Err(bad("it must not have a `#fragment`"));
        }
        if url.host().is_none() {
            return Err(bad("it has no host"));
        }
        Ok(Self {
            raw: raw.to_owned(),
            url,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn url(&self) -> &url::Url {
        &self.url
    }

    pub(crate) fn oauth2(&self) -> oauth2::RedirectUrl {
        #[allow(clippy::expect_used)]
        oauth2::RedirectUrl::new(self.raw.clone()).expect("parsed in RedirectUri::parse")
    }

    /// The path the callback arrives on (`/` when the URI has none).
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// For an `http` URI on `localhost`, `127.0.0.1` or `[::1]` (RFC 8252 §7.3): the addresses
    /// to listen on (loopback only) and the port. `None` for anything else (paste mode).
    pub fn loopback(&self) -> Option<(Vec<IpAddr>, u16)> {
        jira_auth_core::loopback::addresses(&self.url)
    }
}

/// What one request to the callback path means.
#[derive(Debug)]
pub enum Callback {
    /// The authorization code: the login can go on.
    Code(oauth2::AuthorizationCode),
    /// The login ends with this error (declined, missing code, server error).
    Failed(CallbackError),
    /// Not for this login (no or another `state`): answer it and keep waiting.
    Stray(&'static str),
}

impl PartialEq for Callback {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Callback::Code(a), Callback::Code(b)) => a.secret() == b.secret(),
            (Callback::Failed(a), Callback::Failed(b)) => a == b,
            (Callback::Stray(a), Callback::Stray(b)) => a == b,
            _ => false,
        }
    }
}

/// Interprets the query string of a request to the callback path (core's RFC 6749 §4.1.2
/// reading, with Atlassian's advice).
pub fn parse_query(query: &str, expected_state: &str) -> Callback {
    parse_response(authorization::parse_query(query, expected_state))
}

fn parse_response(response: Response) -> Callback {
    match response {
        Response::Code(code) => Callback::Code(oauth2::AuthorizationCode::new(code)),
        Response::Error { error, description } if error == "access_denied" => {
            Callback::Failed(CallbackError::AccessDenied { description })
        }
        Response::Error { error, description } => {
            Callback::Failed(CallbackError::Authorization { error, description })
        }
        Response::MissingCode => Callback::Failed(CallbackError::MissingCode),
        Response::Stray(why) => Callback::Stray(why),
    }
}

/// Interprets what the user pasted: the full URL the browser landed on (its `state` must match),
/// just its query string, or the bare value of `code=`.
pub fn parse_pasted(
    input: &str,
    expected_state: &str,
) -> Result<oauth2::AuthorizationCode, CallbackError> {
    match parse_response(authorization::read_pasted(input, expected_state)?) {
        Callback::Code(code) => Ok(code),
        Callback::Failed(e) => Err(e),
        // `read_pasted` gives only codes and the provider's errors.
        Callback::Stray(_) => Err(PasteError::MissingCode.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const STATE: &str = "00112233445566778899aabbccddeeff";

    fn code(c: &Callback) -> Option<&str> {
        match c {
            Callback::Code(code) => Some(code.secret()),
            _ => None,
        }
    }

    #[test]
    fn callback_queries_are_classified() {
        let ok = parse_query(&format!("code=abc&state={STATE}"), STATE);
        assert_eq!(code(&ok), Some("abc"));
        assert_eq!(
            parse_query(&format!("code=abc&state={}", "f".repeat(32)), STATE),
            Callback::Stray("the request's `state` belongs to another login")
        );
        assert_eq!(
            parse_query("code=abc", STATE),
            Callback::Stray("the request carries no `state`")
        );
        assert_eq!(
            parse_query("", STATE),
            Callback::Stray("the request carries no `state`")
        );
        assert_eq!(
            parse_query(
                &format!(
                    "error=access_denied&error_description=User+did+not+authorize&state={STATE}"
                ),
                STATE
            ),
            Callback::Failed(CallbackError::AccessDenied {
                description: Some("User did not authorize".into())
            })
        );
        assert_eq!(
            parse_query(&format!("error=invalid_scope&state={STATE}"), STATE),
            Callback::Failed(CallbackError::Authorization {
                error: "invalid_scope".into(),
                description: None
            })
        );
        assert_eq!(
            parse_query(&format!("state={STATE}&code="), STATE),
            Callback::Failed(CallbackError::MissingCode)
        );
    }

    #[test]
    fn pasted_urls_queries_and_bare_codes() {
        let url = format!("http://localhost/?code=c%2B1&state={STATE}");
        assert_eq!(parse_pasted(&url, STATE).unwrap().secret(), "c+1");
        let q = format!("  ?state={STATE}&code=xyz\n");
        assert_eq!(parse_pasted(&q, STATE).unwrap().secret(), "xyz");
        assert_eq!(
            parse_pasted("eyJhbGciOi.J-x_y~z", STATE).unwrap().secret(),
            "eyJhbGciOi.J-x_y~z"
        );
        assert_eq!(
            parse_pasted("http://localhost/?code=abc&state=other", STATE).unwrap_err(),
            CallbackError::Pasted(PasteError::StateMismatch)
        );
        assert_eq!(
            parse_pasted("http://localhost/?code=abc", STATE).unwrap_err(),
            CallbackError::Pasted(PasteError::StateMismatch)
        );
        assert_eq!(
            parse_pasted("http://localhost/", STATE).unwrap_err(),
            CallbackError::Pasted(PasteError::MissingCode)
        );
        assert_eq!(
            parse_pasted(
                &format!("http://localhost/?error=access_denied&state={STATE}"),
                STATE
            )
            .unwrap_err(),
            CallbackError::AccessDenied { description: None }
        );
        assert_eq!(
            parse_pasted("", STATE).unwrap_err(),
            CallbackError::Pasted(PasteError::Unreadable)
        );
        assert_eq!(
            parse_pasted("not a code!", STATE).unwrap_err(),
            CallbackError::Pasted(PasteError::Unreadable)
        );
    }

    #[test]
    fn loopback_redirects_and_the_rest() {
        let l = |s: &str| RedirectUri::parse(s).unwrap().loopback();
        assert_eq!(
            l("http://localhost:13131"),
            Some((
                vec![
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                ],
                13131
            ))
        );
        assert_eq!(
            l("http://127.0.0.1:8080/cb"),
            Some((vec![IpAddr::V4(Ipv4Addr::LOCALHOST)], 8080))
        );
        assert_eq!(
            l("http://[::1]:9/x"),
            Some((vec![IpAddr::V6(Ipv6Addr::LOCALHOST)], 9))
        );
        assert_eq!(
            l("http://localhost"),
            Some((
                vec![
                    IpAddr::V4(Ipv4Addr::LOCALHOST),
                    IpAddr::V6(Ipv6Addr::LOCALHOST)
                ],
                80
            ))
        );
        assert_eq!(l("https://localhost:13131"), None);
        assert_eq!(l("http://example.com:13131"), None);
        assert_eq!(l("http://10.0.0.1:13131"), None);
        let r = RedirectUri::parse("http://localhost:13131").unwrap();
        assert_eq!(r.as_str(), "http://localhost:13131");
        assert_eq!(r.path(), "/");
    }

    #[test]
    fn bad_redirect_uris_are_usage_errors() {
        for bad in ["localhost:13131", "ftp://x/", "http://localhost/#x"] {
            let err = RedirectUri::parse(bad).unwrap_err();
            assert!(matches!(err, CloudError::RedirectUri { .. }), "{bad}");
        }
    }
}
