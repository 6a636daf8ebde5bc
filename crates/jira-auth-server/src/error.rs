//! Everything that goes wrong talking to Jira Server, as errors that say what to do next.
//!
//! The `oauth_problem` values Jira's OAuth plugin reports are mapped to advice in
//! [`problem_advice`]; the same table is in `docs/server.md`.

use crate::key::KeyError;
use crate::signature::rsa_sha1::SignError;
use jira_auth_core::api_error::{ApiError, ErrorBody};
use jira_auth_core::http::HttpError;
use jira_auth_core::jira::JiraError;
use jira_auth_core::store::StoreError;
use jira_auth_core::{Categorize, Category};
use std::fmt;
use std::time::SystemTime;

/// Which part of the conversation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    RequestToken,
    AccessToken,
    /// A signed REST call (`/myself`, `server request`).
    Rest,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::RequestToken => "the request token",
            Step::AccessToken => "the access-token exchange",
            Step::Rest => "the signed request",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("Jira refused {step}: {problem_text}; {advice}", problem_text = .api.body, advice = problem_advice(.problem, *.step, *.skew_seconds))]
    Problem {
        step: Step,
        problem: String,
        /// Local clock minus the server's `Date`, for `timestamp_refused`.
        skew_seconds: Option<i64>,
        api: Box<ApiError>,
    },
    #[error(
        "{url} answered with {page} where Jira's {expected} was expected: a single sign-on proxy is probably in front of Jira; use a URL that reaches Jira directly (ask your Jira administrator) or a personal access token with `jira-auth server login --pat`"
    )]
    HtmlPage {
        url: String,
        page: String,
        expected: &'static str,
    },
    #[error(
        "{url} answered 404: there is no Jira {} there; check `--url` (include the context path, e.g. `https://host/jira`, when Jira is served under one) and that this is Jira Server or Data Center, not Cloud",
        if *rest { "REST API" } else { "OAuth endpoint" }
    )]
    NotFound {
        url: String,
        /// A REST call (`/myself`) rather than an OAuth servlet: the advice is the same, the
        /// name of what is missing is not.
        rest: bool,
    },
    #[error(
        "the TLS connection to {url} failed ({message}); check the URL's scheme and port, and if Jira uses a certificate from a private CA, pass that CA with `--ca-file` (see docs/network.md)"
    )]
    Tls { url: String, message: String },
    #[error("{url} answered {status} with a body jira-auth cannot read as {expected}: {start}")]
    BadResponse {
        url: String,
        status: u16,
        expected: &'static str,
        /// The start of a REST body; for a token answer (which holds secrets), its size and
        /// type and the field it lacks.
        start: String,
    },
    #[error(
        "{url} answered without `oauth_callback_confirmed=true` (RFC 5849 §2.1): that is OAuth 1.0, whose approval can be redirected to someone else, not the OAuth 1.0a Jira speaks; check that `--url` reaches Jira Server or Data Center directly, not a proxy or another service"
    )]
    CallbackNotConfirmed { url: String },
    #[error(
        "{url} answered with `{name}` more than once, so its answer could be read two ways; jira-auth refuses it: check that `--url` reaches Jira directly (a proxy or another service may be adding parameters), then run `jira-auth server login` again"
    )]
    RepeatedParameter { url: String, name: String },
    #[error(
        "the browser came back with `oauth_token` for another login than the one started here; run `jira-auth server login` again and approve only the page it opens"
    )]
    TokenMismatch,
    #[error(
        "access was denied on Jira's approval page; run `jira-auth server login` again and choose Allow"
    )]
    Denied,
    #[error("the callback to {url} is not a valid OAuth callback: {message}")]
    BadCallback { url: String, message: String },
    #[error(
        "no approval arrived within {seconds} s; run `jira-auth server login` again (or raise `--timeout`)"
    )]
    CallbackTimeout { seconds: u64 },
    #[error("cannot listen for the OAuth callback on 127.0.0.1: {0}")]
    Listen(std::io::Error),
    #[error("cannot sign the request: {0}")]
    Authorize(String),
    #[error("bad Jira URL `{url}`: {message}")]
    Url { url: String, message: String },
    #[error("no Jira Server credentials in profile `{0}`: run `jira-auth server login` first")]
    NotLoggedIn(String),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Http(Box<HttpError>),
}

impl Categorize for ServerError {
    fn category(&self) -> Category {
        match self {
            ServerError::Problem { .. }
            | ServerError::HtmlPage { .. }
            | ServerError::TokenMismatch
            | ServerError::Denied => Category::Auth,
            ServerError::Tls { .. }
            | ServerError::BadResponse { .. }
            | ServerError::CallbackNotConfirmed { .. }
            | ServerError::RepeatedParameter { .. } => Category::Network,
            ServerError::Http(e) => e.category(),
            ServerError::NotFound { .. }
            | ServerError::BadCallback { .. }
            | ServerError::CallbackTimeout { .. }
            | ServerError::Listen(_)
            | ServerError::Url { .. }
            | ServerError::Authorize(_)
            | ServerError::NotLoggedIn(_)
            | ServerError::Key(_)
            | ServerError::Sign(_)
            | ServerError::Store(_) => Category::Usage,
        }
    }
}

/// What to do about an `oauth_problem`, given the step it came from and the clock skew.
pub fn problem_advice(problem: &str, step: Step, skew_seconds: Option<i64>) -> String {
    match problem {
        "consumer_key_unknown" => "no Application Link in Jira has this consumer key: check `--consumer-key` against Administration → Applications → Application links → (your link) → Incoming Authentication, or create the link as `jira-auth server keygen` describes".into(),
        "signature_invalid" => "the public key in Jira's Application Link does not match the private key used to sign: paste the public key of `--private-key` (`openssl pkey -in KEY -pubout`) into the link's Incoming Authentication, or use the private key that belongs to it".into(),
        "signature_method_rejected" => "the Application Link does not accept RSA-SHA1 signatures: set its Incoming Authentication to OAuth with a public key (Jira Server supports RSA-SHA1 only)".into(),
        "timestamp_refused" => {
            let skew = match skew_seconds {
                Some(s) if s > 0 => format!("this machine's clock is {} ahead of Jira's", human_duration(s)),
                Some(s) if s < 0 => format!("this machine's clock is {} behind Jira's", human_duration(-s)),
                Some(_) => "the clocks agree to the second now, so the request was delayed or replayed".into(),
                None => "Jira sent no `Date` header to measure the skew".into(),
            };
            format!("the request's timestamp is too far from Jira's clock ({skew}); synchronise the clock (e.g. `timedatectl set-ntp true`) and retry")
        }
        "token_rejected" => match step {
            Step::AccessToken => "Jira does not accept the request token or verifier (it was already used, or the verifier was mistyped): run `jira-auth server login` again".into(),
            _ => "Jira does not know the access token (it was revoked, or the Application Link was deleted and recreated): run `jira-auth server login` again".into(),
        },
        "token_expired" => match step {
            Step::AccessToken => "the request token expired before it was exchanged (Jira allows about 10 minutes): run `jira-auth server login` again and approve promptly".into(),
            _ => "the access token has expired: run `jira-auth server login` again".into(),
        },
        "permission_unknown" => "the request token was never approved (access was denied on Jira's approval page, or the page was not completed): run `jira-auth server login` again and choose Allow".into(),
        "permission_denied" => "access was denied on Jira's approval page: run `jira-auth server login` again and choose Allow".into(),
        "nonce_used" => "Jira has already seen this request's nonce, so something replayed it (a proxy or a retry outside jira-auth): run the command again; every attempt gets a fresh nonce".into(),
        "version_rejected" | "parameter_absent" | "parameter_rejected" => "the request was not valid OAuth 1.0a for Jira (a proxy may have altered the `Authorization` header); check Jira's `atlassian-jira.log` for the OAuth plugin's details".into(),
        _ => "see Jira's `atlassian-jira.log` for the OAuth plugin's details".into(),
    }
}

/// `7 s`, `10 min`, `2 h 5 min`: whole seconds below a minute, rounded minutes above.
pub fn human_duration(seconds: i64) -> String {
    if seconds < 60 {
        return format!("{seconds} s");
    }
    let minutes = (seconds + 30) / 60;
    if minutes < 120 {
        format!("{minutes} min")
    } else {
        format!("{} h {} min", minutes / 60, minutes % 60)
    }
}

/// Local clock minus the server's `Date` header, in seconds.
pub fn clock_skew(server_date: Option<&str>, now: SystemTime) -> Option<i64> {
    let server = httpdate::parse_http_date(server_date?).ok()?;
    Some(match now.duration_since(server) {
        Ok(ahead) => ahead.as_secs() as i64,
        Err(behind) => -(behind.duration().as_secs() as i64),
    })
}

impl ServerError {
    /// Turns a transport or API failure from `step` into the most helpful error.
    /// `not_found_is_url` says a 404 means "wrong URL" (the OAuth servlet, `/myself`).
    pub fn classify(e: HttpError, step: Step, now: SystemTime, not_found_is_url: bool) -> Self {
        match e {
            HttpError::Api(api) => {
                if let ErrorBody::OAuth1 { problem, .. } = &api.body {
                    let skew_seconds = (problem == "timestamp_refused")
                        .then(|| clock_skew(api.server_date.as_deref(), now))
                        .flatten();
                    return ServerError::Problem {
                        step,
                        problem: problem.clone(),
                        skew_seconds,
                        api: Box::new(api),
                    };
                }
                if api.status == 404 && not_found_is_url {
                    return ServerError::NotFound {
                        url: api.url,
                        rest: step == Step::Rest,
                    };
                }
                if let ErrorBody::Html { .. } = &api.body {
                    return ServerError::HtmlPage {
                        page: api.body.to_string(),
                        url: api.url,
                        expected: match step {
                            Step::Rest => "JSON",
                            _ => "OAuth answer",
                        },
                    };
                }
                ServerError::Http(Box::new(HttpError::Api(api)))
            }
            HttpError::Tls { url, message } => ServerError::Tls { url, message },
            other => ServerError::Http(Box::new(other)),
        }
    }

    /// Like [`classify`](Self::classify) for errors of the core Jira client.
    pub fn from_jira(e: JiraError, step: Step, now: SystemTime) -> Self {
        match e {
            JiraError::Http(h) => Self::classify(h, step, now, true),
            JiraError::Decode {
                url, status, start, ..
            } => {
                let lower = start.to_ascii_lowercase();
                if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
                    ServerError::HtmlPage {
                        url,
                        page: "an HTML page".into(),
                        expected: "JSON",
                    }
                } else {
                    ServerError::BadResponse {
                        url,
                        status,
                        expected: "JSON",
                        start,
                    }
                }
            }
            JiraError::Authorize(a) => ServerError::Authorize(a.0),
            JiraError::Url(url, message) => ServerError::Url { url, message },
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jira_auth_core::time::from_unix_seconds;

    fn problem(name: &str, step: Step, date: Option<&str>, now: i64) -> ServerError {
        let body = format!("oauth_problem={name}");
        let api = ApiError {
            method: "POST".into(),
            url: "https://jira.test/plugins/servlet/oauth/request-token".into(),
            status: 401,
            body: ErrorBody::parse(body.as_bytes(), None),
            server_date: date.map(str::to_owned),
        };
        ServerError::classify(HttpError::Api(api), step, from_unix_seconds(now), true)
    }

    #[test]
    fn timestamp_refused_shows_the_skew_from_the_date_header() {
        // Date is 1_700_000_000 = Tue, 14 Nov 2023 22:13:20 GMT
        let date = Some("Tue, 14 Nov 2023 22:13:20 GMT");
        let ahead = problem(
            "timestamp_refused",
            Step::RequestToken,
            date,
            1_700_000_000 + 605,
        );
        assert_eq!(
            ahead.to_string(),
            "Jira refused the request token: oauth_problem=timestamp_refused; the request's timestamp is too far from Jira's clock (this machine's clock is 10 min ahead of Jira's); synchronise the clock (e.g. `timedatectl set-ntp true`) and retry"
        );
        let behind = problem(
            "timestamp_refused",
            Step::Rest,
            date,
            1_700_000_000 - 3 * 3600,
        );
        assert!(
            behind.to_string().contains("is 3 h 0 min behind Jira's"),
            "{behind}"
        );
        assert_eq!(behind.category(), Category::Auth);
        let no_date = problem("timestamp_refused", Step::Rest, None, 0);
        assert!(no_date.to_string().contains("Jira sent no `Date` header"));
    }

    #[test]
    fn every_listed_problem_has_specific_advice() {
        for name in [
            "consumer_key_unknown",
            "signature_invalid",
            "signature_method_rejected",
            "timestamp_refused",
            "token_rejected",
            "token_expired",
            "permission_unknown",
            "permission_denied",
            "nonce_used",
        ] {
            let advice = problem_advice(name, Step::Rest, Some(0));
            assert!(!advice.contains("atlassian-jira.log"), "{name}: {advice}");
            assert!(!advice.ends_with('.'), "{name}");
        }
        assert_ne!(
            problem_advice("token_expired", Step::AccessToken, None),
            problem_advice("token_expired", Step::Rest, None)
        );
    }

    #[test]
    fn html_and_404_become_specific_errors() {
        let api = |status, body: &[u8]| {
            HttpError::Api(ApiError {
                method: "POST".into(),
                url: "https://jira.test/x".into(),
                status,
                body: ErrorBody::parse(body, None),
                server_date: None,
            })
        };
        let now = from_unix_seconds(0);
        let html = ServerError::classify(
            api(
                401,
                b"<html><head><title>Sign in</title></head><body></body></html>",
            ),
            Step::RequestToken,
            now,
            true,
        );
        assert!(html.to_string().starts_with("https://jira.test/x answered with an HTML page titled \"Sign in\" where Jira's OAuth answer was expected"), "{html}");
        let missing = ServerError::classify(api(404, b""), Step::RequestToken, now, true);
        assert!(matches!(missing, ServerError::NotFound { .. }));
        assert_eq!(missing.category(), Category::Usage);
        let server = ServerError::classify(api(500, b"boom"), Step::Rest, now, true);
        assert_eq!(server.category(), Category::Network);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(7), "7 s");
        assert_eq!(human_duration(600), "10 min");
        assert_eq!(human_duration(629), "10 min");
        assert_eq!(human_duration(7500), "2 h 5 min");
    }
}
