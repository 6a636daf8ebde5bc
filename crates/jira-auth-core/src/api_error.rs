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
            ErrorBody::Text(t) => f.write_str(t),
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
    pub fn parse(body: &[u8], www_authenticate: Option<&str>) -> ErrorBody {
        let text = String::from_utf8_lossy(body);
        let trimmed = text.trim();

        if let Ok(b) = serde_json::from_str::<OAuth2Body>(trimmed) {
            return ErrorBody::OAuth2 {
                error: b.error,
                description: b.error_description,
            };
        }
        if let Ok(b) = serde_json::from_str::<JiraBody>(trimmed)
            && (!b.error_messages.is_empty() || !b.errors.is_empty())
        {
            let errors = b
                .errors
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            return ErrorBody::Jira {
                messages: b.error_messages,
                errors,
            };
        }
        if let Some(params) = oauth1_problem(trimmed) {
            return params;
        }
        if let Some(header) = www_authenticate
            && let Some(params) = oauth1_problem_in_header(header)
        {
            return params;
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
                title: html_title(trimmed),
            };
        }
        if trimmed.is_empty() {
            return ErrorBody::Empty;
        }
        let mut short: String = trimmed.chars().take(MAX_TEXT).collect();
        if short.len() < trimmed.len() {
            short.push('…');
        }
        ErrorBody::Text(short)
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
    fn long_text_is_truncated_and_empty_is_named() {
        let long = "x".repeat(1000);
        let ErrorBody::Text(t) = ErrorBody::parse(long.as_bytes(), None) else {
            panic!()
        };
        assert_eq!(t.chars().count(), MAX_TEXT + 1);
        assert_eq!(ErrorBody::parse(b"  ", None), ErrorBody::Empty);
    }
}
