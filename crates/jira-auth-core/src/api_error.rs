//! Atlassian and Jira error bodies, parsed into one typed error that keeps the server's words.
//!
//! Three shapes reach us:
//! - OAuth 2.0 (RFC 6749 §5.2) from `auth.atlassian.com`: `{"error": "...", "error_description": "..."}`.
//! - Jira REST: `{"errorMessages": ["..."], "errors": {"field": "..."}}`.
//! - OAuth 1.0a problem reporting (Jira Server): `oauth_problem=token_rejected&...` as a form body
//!   or inside `WWW-Authenticate: OAuth realm="...", oauth_problem="..."`.
//!
//! Anything else (an SSO proxy's HTML login page, a load balancer's 502 page) is kept as
//! [`ErrorBody::Html`] or [`ErrorBody::Text`] so the message can say what actually came back.

use crate::secret::mask_tokens;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// A non-success HTTP response from an Atlassian or Jira endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method} {url} answered {status}: {body}")]
pub struct ApiError {
    pub method: String,
    /// The request URL, already masked (see [`crate::secret::mask_url`]).
    pub url: String,
    pub status: u16,
    pub body: ErrorBody,
    /// The server's `Date` header, when it sent one (OAuth 1.0a clock-skew diagnosis needs it).
    pub server_date: Option<String>,
}

/// The parsed error body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorBody {
    OAuth2 {
        error: String,
        description: Option<String>,
    },
    Jira {
        messages: Vec<String>,
        errors: BTreeMap<String, String>,
    },
    OAuth1 {
        problem: String,
        params: BTreeMap<String, String>,
    },
    /// An HTML page, summarised by its `<title>` (an SSO login page, a proxy error page).
    Html {
        title: Option<String>,
    },
    /// Anything else, truncated to a readable length.
    Text(String),
    Empty,
}

impl ErrorBody {
    /// The OAuth 2.0 `error` code or OAuth 1.0a `oauth_problem`, if the body carries one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ErrorBody::OAuth2 { error, .. } => Some(error),
            ErrorBody::OAuth1 { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorBody::OAuth2 {
                error,
                description: Some(d),
            } => write!(f, "{error}: {d}"),
            ErrorBody::OAuth2 {
                error,
                description: None,
            } => f.write_str(error),
            ErrorBody::Jira { messages, errors } => {
                let mut parts: Vec<String> = messages.clone();
                parts.extend(errors.iter().map(|(k, v)| format!("{k}: {v}")));
                if parts.is_empty() {
                    f.write_str("(no error message)")
                } else {
                    f.write_str(&parts.join("; "))
                }
            }
            ErrorBody::OAuth1 { problem, params } => {
                write!(f, "oauth_problem={problem}")?;
                if let Some(advice) = params.get("oauth_problem_advice") {
                    write!(f, " ({advice})")?;
                }
                Ok(())
            }
            ErrorBody::Html { title: Some(t) } => write!(f, "an HTML page titled \"{t}\""),
            ErrorBody::Html { title: None } => f.write_str("an HTML page"),
            // Whatever a server sent that is no known shape may echo credentials.
            ErrorBody::Text(t) => f.write_str(&crate::secret::mask_tokens(t)),
            ErrorBody::Empty => f.write_str("(empty body)"),
        }
    }
}

#[derive(Deserialize)]
struct OAuth2Body {
    error: String,
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct JiraBody {
    #[serde(default, rename = "errorMessages")]
    error_messages: Vec<String>,
    #[serde(default)]
    errors: BTreeMap<String, serde_json::Value>,
}

const MAX_TEXT: usize = 300;

impl ErrorBody {
    /// Parses an error body, looking at the `WWW-Authenticate` header for OAuth 1.0a problems.
    /// A leading UTF-8 byte order mark is ignored.
    pub fn parse(body: &[u8], www_authenticate: Option<&str>) -> ErrorBody {
        Self::parse_with(body, www_authenticate, |t| t.to_owned())
    }

    /// Like [`parse`](Self::parse), for the bodies of token endpoints, which may echo the
    /// credentials of the request or carry new ones: every text kept (description, message,
    /// title, the start of an unknown body) goes through [`mask_tokens`] first, an unknown body
    /// before it is shortened, so no part of a token survives the cut.
    pub fn parse_masked(body: &[u8], www_authenticate: Option<&str>) -> ErrorBody {
        Self::parse_with(body, www_authenticate, mask_tokens)
    }

    fn parse_with(
        body: &[u8],
        www_authenticate: Option<&str>,
        shown: fn(&str) -> String,
    ) -> ErrorBody {
        let text = String::from_utf8_lossy(strip_bom(body));
        let trimmed = text.trim();

        if let Ok(b) = serde_json::from_str::<OAuth2Body>(trimmed) {
            return ErrorBody::OAuth2 {
                error: shown(&b.error),
                description: b.error_description.as_deref().map(shown),
            };
        }
        if let Ok(b) = serde_json::from_str::<JiraBody>(trimmed)
            && (!b.error_messages.is_empty() || !b.errors.is_empty())
        {
            let errors = b
                .errors
                .into_iter()
                .map(|(k, v)| {
                    let value = v
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string());
                    (shown(&k), shown(&value))
                })
                .collect();
            return ErrorBody::Jira {
                messages: b.error_messages.iter().map(|m| shown(m)).collect(),
                errors,
            };
        }
        let problem =
            oauth1_problem(trimmed).or_else(|| www_authenticate.and_then(oauth1_problem_in_header));
        if let Some(ErrorBody::OAuth1 { problem, params }) = problem {
            return ErrorBody::OAuth1 {
                problem: shown(&problem),
                params: params.iter().map(|(k, v)| (shown(k), shown(v))).collect(),
            };
        }
        let lower = trimmed
            .get(..trimmed.len().min(512))
            .unwrap_or("")
            .to_ascii_lowercase();
        if lower.starts_with("<!doctype html")
            || lower.starts_with("<html")
            || lower.contains("<body")
        {
            return ErrorBody::Html {
                title: html_title(trimmed).as_deref().map(shown),
            };
        }
        if trimmed.is_empty() {
            return ErrorBody::Empty;
        }
        let whole = shown(trimmed);
        let mut short: String = whole.chars().take(MAX_TEXT).collect();
        if short.len() < whole.len() {
            short.push('…');
        }
        ErrorBody::Text(short)
    }
}

/// `body` without a leading UTF-8 byte order mark (some servers on Windows stacks send one
/// before JSON, which JSON parsers refuse).
pub fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// A body described without its content, for answers that may hold credentials:
/// ``74 bytes of `application/x-www-form-urlencoded` ``, `12 bytes with no Content-Type`,
/// `an empty body`. Only the media type of the `Content-Type` is shown (no parameters), at most
/// 64 printable characters, masked like a body.
pub fn describe_unshown(content_type: Option<&str>, len: usize) -> String {
    if len == 0 {
        return "an empty body".to_owned();
    }
    let size = match len {
        1 => "1 byte".to_owned(),
        n => format!("{n} bytes"),
    };
    let media_type = content_type
        .and_then(|t| t.split(';').next())
        .map(|t| {
            t.trim()
                .chars()
                .filter(|c| c.is_ascii_graphic())
                .take(64)
                .collect::<String>()
        })
        .filter(|t| !t.is_empty());
    match media_type {
        Some(t) => format!("{size} of `{}`", mask_tokens(&t)),
        None => format!("{size} with no Content-Type"),
    }
}

fn oauth1_problem(form: &str) -> Option<ErrorBody> {
    if !form.contains("oauth_problem=") || form.contains(char::is_whitespace) {
        return None;
    }
    let params: BTreeMap<String, String> = url::form_urlencoded::parse(form.as_bytes())
        .into_owned()
        .collect();
    let problem = params.get("oauth_problem")?.clone();
    Some(ErrorBody::OAuth1 { problem, params })
}

fn oauth1_problem_in_header(header: &str) -> Option<ErrorBody> {
    let rest = header.trim().strip_prefix("OAuth")?;
    let mut params = BTreeMap::new();
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"');
        let v = percent_decode(v);
        params.insert(k.trim().to_owned(), v);
    }
    let problem = params.get("oauth_problem")?.clone();
    Some(ErrorBody::OAuth1 { problem, params })
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = lower[start..].find('>')? + start + 1;
    let close = lower[open_end..].find("</title>")? + open_end;
    let title = html
        .get(open_end..close)?
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth2_error_keeps_code_and_description() {
        let body =
            br#"{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}"#;
        let parsed = ErrorBody::parse(body, None);
        assert_eq!(parsed.code(), Some("invalid_grant"));
        assert_eq!(
            parsed.to_string(),
            "invalid_grant: Unknown or invalid refresh token."
        );
    }

    #[test]
    fn jira_error_joins_messages_and_field_errors() {
        let body = br#"{"errorMessages":["You do not have permission."],"errors":{"projectKey":"No project"}}"#;
        let parsed = ErrorBody::parse(body, None);
        assert_eq!(
            parsed.to_string(),
            "You do not have permission.; projectKey: No project"
        );
    }

    #[test]
    fn oauth1_problem_from_form_body() {
        let body = b"oauth_problem=timestamp_refused&oauth_acceptable_timestamps=1-2";
        let parsed = ErrorBody::parse(body, None);
        assert_eq!(parsed.code(), Some("timestamp_refused"));
        let ErrorBody::OAuth1 { params, .. } = parsed else {
            panic!()
        };
        assert_eq!(params["oauth_acceptable_timestamps"], "1-2");
    }

    #[test]
    fn oauth1_problem_from_www_authenticate() {
        let header =
            r#"OAuth realm="https%3A%2F%2Fjira.example.com", oauth_problem="signature_invalid""#;
        let parsed = ErrorBody::parse(b"", Some(header));
        assert_eq!(parsed.code(), Some("signature_invalid"));
    }

    #[test]
    fn html_page_is_summarised_by_title() {
        let body = b"<!DOCTYPE html><html><head><title>\n Log in - SSO \n</title></head><body>x</body></html>";
        assert_eq!(
            ErrorBody::parse(body, None).to_string(),
            "an HTML page titled \"Log in - SSO\""
        );
    }

    #[test]
    fn a_byte_order_mark_before_json_is_ignored() {
        let body = b"\xEF\xBB\xBF{\"error\":\"invalid_grant\"}";
        assert_eq!(ErrorBody::parse(body, None).code(), Some("invalid_grant"));
        assert_eq!(strip_bom(b"\xEF\xBB\xBFx"), b"x");
        assert_eq!(strip_bom(b"x\xEF\xBB\xBF"), b"x\xEF\xBB\xBF");
    }

    #[test]
    fn masked_parse_hides_tokens_in_every_shape() {
        let token = "at-0001-0123456789abcdef";
        let unknown = format!("access_token={token}&refresh_token=rt-1&expires_in=3600");
        assert_eq!(
            ErrorBody::parse_masked(unknown.as_bytes(), None).to_string(),
            "access_token=****&refresh_token=****&expires_in=3600"
        );
        // Plain `parse` keeps the text, but an unrecognised text is shown masked too: any server
        // may echo credentials.
        assert_eq!(
            ErrorBody::parse(unknown.as_bytes(), None),
            ErrorBody::Text(unknown.clone())
        );
        assert_eq!(
            ErrorBody::parse(unknown.as_bytes(), None).to_string(),
            "access_token=****&refresh_token=****&expires_in=3600"
        );
        let oauth2 = format!(
            r#"{{"error":"invalid_grant","error_description":"refresh token {token} was reused"}}"#
        );
        assert_eq!(
            ErrorBody::parse_masked(oauth2.as_bytes(), None).to_string(),
            "invalid_grant: refresh token **** was reused"
        );
        let jira = format!(r#"{{"errorMessages":["bad {token}"],"errors":{{"f":"{token}"}}}}"#);
        assert_eq!(
            ErrorBody::parse_masked(jira.as_bytes(), None).to_string(),
            "bad ****; f: ****"
        );
        let html = format!("<html><head><title>Hi {token}</title></head><body></body></html>");
        assert_eq!(
            ErrorBody::parse_masked(html.as_bytes(), None).to_string(),
            "an HTML page titled \"Hi ****\""
        );
        let oauth1 = format!("oauth_problem=token_rejected&oauth_problem_advice=token%20{token}");
        assert_eq!(
            ErrorBody::parse_masked(oauth1.as_bytes(), None).to_string(),
            "oauth_problem=token_rejected (token ****)"
        );
    }

    #[test]
    fn masked_parse_masks_before_it_shortens() {
        // A token across the cut would otherwise leave its first characters on show.
        let token = "tok0123456789abcdefghijklmnopqrstuvwxyz";
        let body = format!("{}{token}", "x ".repeat((MAX_TEXT - 10) / 2));
        let ErrorBody::Text(t) = ErrorBody::parse_masked(body.as_bytes(), None) else {
            panic!()
        };
        assert!(t.ends_with(" x ****"), "{t}");
        assert!(!t.contains("tok01"), "{t}");
    }

    #[test]
    fn unshown_bodies_are_described_by_size_and_media_type() {
        assert_eq!(
            describe_unshown(Some("application/x-www-form-urlencoded; charset=UTF-8"), 74),
            "74 bytes of `application/x-www-form-urlencoded`"
        );
        assert_eq!(describe_unshown(None, 1), "1 byte with no Content-Type");
        assert_eq!(
            describe_unshown(Some(" ; x"), 5),
            "5 bytes with no Content-Type"
        );
        assert_eq!(describe_unshown(Some("text/html"), 0), "an empty body");
        assert_eq!(
            describe_unshown(Some("text/x-at-0001-0123456789abcdef\n"), 3),
            "3 bytes of `****`"
        );
        assert_eq!(
            describe_unshown(Some(&"a".repeat(100)), 3),
            format!("3 bytes of `{}`", "a".repeat(64))
        );
    }

    #[test]
    fn long_text_is_truncated_and_empty_is_named() {
        let long = "x".repeat(1000);
        let ErrorBody::Text(t) = ErrorBody::parse(long.as_bytes(), None) else {
            panic!()
        };
        assert_eq!(t.chars().count(), MAX_TEXT + 1);
        assert_eq!(ErrorBody::parse(b"  ", None), ErrorBody::Empty);
    }
}
