//! The OAuth 2.0 authorization response (RFC 6749 §4.1.2), read without I/O, for every
//! authorization-code login: the query the browser brings back to the redirect URI, what a user
//! pastes instead, and the loopback [`Router`] that ends a wait on it.
//!
//! `state` is compared in constant time with the one this login sent (RFC 6749 §10.12: it binds
//! the response to this login); a request without it, or with another, is not this login's and
//! is answered and ignored.

use crate::loopback::{Page, Routed, Router};
use crate::random::constant_time_eq;

/// What one authorization response means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The authorization code: the login can go on.
    Code(String),
    /// The server or the user ended the login (§4.1.2.1): `access_denied`, `invalid_scope`, …
    Error {
        error: String,
        description: Option<String>,
    },
    /// This login's `state`, but no `code` and no `error`.
    MissingCode,
    /// Not for this login (no or another `state`): answer it and keep waiting.
    Stray(&'static str),
}

/// Interprets the query string of a request to the redirect URI.
pub fn parse_query(query: &str, expected_state: &str) -> Response {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    match state {
        None => return Response::Stray("the request carries no `state`"),
        Some(s) if !constant_time_eq(&s, expected_state) => {
            return Response::Stray("the request's `state` belongs to another login");
        }
        Some(_) => {}
    }
    if let Some(error) = error {
        return Response::Error { error, description };
    }
    match code.filter(|c| !c.is_empty()) {
        Some(code) => Response::Code(code),
        None => Response::MissingCode,
    }
}

/// What a user pasted in place of the browser's redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pasted {
    /// A query to read with [`parse_query`] (from a full URL, a `…?query`, or a bare query).
    Query(String),
    /// The bare value of `code=` (no `state` to check: the user copied it from this login).
    Code(String),
    /// Nothing a code can be read from.
    Unreadable,
}

/// Classifies pasted text: the full URL the browser landed on, just its query string, or the
/// bare value of `code=`.
pub fn pasted(input: &str) -> Pasted {
    let input = input.trim();
    if input.is_empty() {
        return Pasted::Unreadable;
    }
    let query = if let Ok(url) = url::Url::parse(input) {
        url.query().unwrap_or_default().to_owned()
    } else if let Some((_, q)) = input.split_once('?') {
        q.to_owned()
    } else if input.contains('=') {
        input.to_owned()
    } else if input
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    {
        return Pasted::Code(input.to_owned());
    } else {
        return Pasted::Unreadable;
    };
    Pasted::Query(query.split('#').next().unwrap_or_default().to_owned())
}

/// Why pasted text gives no authorization response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasteError {
    #[error(
        "the `state` in the pasted URL does not match this login: paste the URL of the browser tab opened by this run, not an older one"
    )]
    StateMismatch,
    #[error("the pasted URL carries no `code`: paste the full URL the browser landed on")]
    MissingCode,
    #[error(
        "cannot read an authorization code from the pasted text: paste the full URL the browser landed on, or just the value of `code=`"
    )]
    Unreadable,
}

impl crate::Categorize for PasteError {
    fn category(&self) -> crate::Category {
        match self {
            PasteError::Unreadable => crate::Category::Usage,
            PasteError::StateMismatch | PasteError::MissingCode => crate::Category::Auth,
        }
    }
}

/// Reads what the user pasted in place of the browser's redirect: the code, or the provider's
/// error, with `state` checked whenever a URL or query was pasted. Never a
/// [`Response::MissingCode`] or [`Response::Stray`]: those are [`PasteError`]s.
pub fn read_pasted(input: &str, expected_state: &str) -> Result<Response, PasteError> {
    let query = match pasted(input) {
        Pasted::Unreadable => return Err(PasteError::Unreadable),
        Pasted::Code(code) => return Ok(Response::Code(code)),
        Pasted::Query(query) => query,
    };
    match parse_query(&query, expected_state) {
        Response::Stray(_) if query.contains("code=") || query.contains("error=") => {
            Err(PasteError::StateMismatch)
        }
        Response::Stray(_) | Response::MissingCode => Err(PasteError::MissingCode),
        response => Ok(response),
    }
}

/// The loopback router of an authorization-code login: the first request to `path` that carries
/// this login's `state` ends the wait with its [`Response`] (never a [`Response::Stray`]).
#[derive(Debug)]
pub struct CodeCallback {
    path: String,
    state: String,
    /// The command that started the login, for the page a stray request gets.
    command: &'static str,
}

impl CodeCallback {
    pub fn new(path: impl Into<String>, state: impl Into<String>, command: &'static str) -> Self {
        Self {
            path: path.into(),
            state: state.into(),
            command,
        }
    }
}

impl Router for CodeCallback {
    type Outcome = Response;

    fn path(&self) -> &str {
        &self.path
    }

    fn route(&self, query: &str) -> Routed<Response> {
        match parse_query(query, &self.state) {
            Response::Stray(why) => {
                tracing::debug!("ignoring a callback request: {why}");
                Routed::ignored(
                    400,
                    "Not this login",
                    &format!(
                        "This request does not belong to the running `{}`; it keeps waiting.",
                        self.command
                    ),
                )
            }
            code @ Response::Code(_) => Routed {
                status: 200,
                page: Page::new(
                    "Signed in",
                    "jira-auth received the authorization. You can close this tab and return to the terminal.",
                ),
                outcome: Some(code),
            },
            failed => Routed {
                status: 400,
                page: Page::new(
                    "Login failed",
                    match &failed {
                        Response::Error { error, .. } => {
                            format!("The authorization ended with `{error}`; the terminal says what to do next.")
                        }
                        _ => "The callback carries no authorization code; the terminal says what to do next.".to_owned(),
                    },
                ),
                outcome: Some(failed),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loopback::classify;

    const S: &str = "00112233445566778899aabbccddeeff";

    #[test]
    fn responses_are_classified_by_state_first() {
        assert_eq!(
            parse_query(&format!("code=abc&state={S}"), S),
            Response::Code("abc".into())
        );
        assert_eq!(
            parse_query(&format!("code=abc&state={}", "f".repeat(32)), S),
            Response::Stray("the request's `state` belongs to another login")
        );
        assert_eq!(
            parse_query("code=abc", S),
            Response::Stray("the request carries no `state`")
        );
        assert_eq!(
            parse_query(
                &format!("error=invalid_scope&error_description=no+such+scope&state={S}"),
                S
            ),
            Response::Error {
                error: "invalid_scope".into(),
                description: Some("no such scope".into())
            }
        );
        assert_eq!(
            parse_query(&format!("code=&state={S}"), S),
            Response::MissingCode
        );
    }

    #[test]
    fn pasted_text_is_a_url_a_query_or_a_bare_code() {
        assert_eq!(
            pasted(&format!(" http://127.0.0.1:1/cb?code=c&state={S}#x \n")),
            Pasted::Query(format!("code=c&state={S}"))
        );
        assert_eq!(pasted("/cb?code=c"), Pasted::Query("code=c".into()));
        assert_eq!(
            pasted("code=c&state=s"),
            Pasted::Query("code=c&state=s".into())
        );
        assert_eq!(pasted("a1-b2_c3.d~"), Pasted::Code("a1-b2_c3.d~".into()));
        assert_eq!(pasted("two words"), Pasted::Unreadable);
        assert_eq!(pasted("  "), Pasted::Unreadable);
    }

    #[test]
    fn a_pasted_answer_is_a_code_an_error_or_why_not() {
        let st = "s-1";
        assert_eq!(
            read_pasted("abc123", st),
            Ok(Response::Code("abc123".into()))
        );
        assert_eq!(
            read_pasted("http://127.0.0.1:9/cb?code=c&state=s-1", st),
            Ok(Response::Code("c".into()))
        );
        assert_eq!(
            read_pasted("http://127.0.0.1:9/cb?error=access_denied&state=s-1", st),
            Ok(Response::Error {
                error: "access_denied".into(),
                description: None
            })
        );
        for other_login in [
            "?code=c&state=s-2",
            "?code=c",
            "?error=access_denied&state=s-2",
        ] {
            assert_eq!(
                read_pasted(other_login, st),
                Err(PasteError::StateMismatch),
                "{other_login}"
            );
        }
        assert_eq!(
            read_pasted("http://127.0.0.1:9/cb", st),
            Err(PasteError::MissingCode)
        );
        assert_eq!(read_pasted("?state=s-1", st), Err(PasteError::MissingCode));
        for unreadable in ["", "   ", "not a code!"] {
            assert_eq!(
                read_pasted(unreadable, st),
                Err(PasteError::Unreadable),
                "{unreadable:?}"
            );
        }
    }

    #[test]
    fn the_router_ends_the_wait_only_for_this_state() {
        let r = CodeCallback::new("/cb", S, "jira-auth server login --oauth2");
        let head = |q: &str| format!("GET /cb?{q} HTTP/1.1\r\nHost: 127.0.0.1:9");
        let ok = classify(&r, &head(&format!("code=c1&state={S}")), 9);
        assert_eq!(
            (ok.status, ok.outcome),
            (200, Some(Response::Code("c1".into())))
        );
        let stray = classify(&r, &head("code=c1&state=other"), 9);
        assert_eq!((stray.status, stray.outcome), (400, None));
        assert!(
            stray
                .page
                .text
                .contains("`jira-auth server login --oauth2`")
        );
        let denied = classify(&r, &head(&format!("error=access_denied&state={S}")), 9);
        assert_eq!(denied.status, 400);
        assert!(matches!(denied.outcome, Some(Response::Error { .. })));
        // The shared rules still come first.
        let rebound = format!("GET /cb?code=c1&state={S} HTTP/1.1\r\nHost: evil.example:9");
        assert_eq!(classify(&r, &rebound, 9).status, 421);
    }
}
