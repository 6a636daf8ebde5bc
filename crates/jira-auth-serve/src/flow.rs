//! Why a consent ends without a connected site, as the page the browser gets.
//!
//! Messages say what happened and what to do, in words for the person at the browser; the
//! operator-side detail (the server's error, a store path) goes to the log instead.

use axum::http::StatusCode;
use jira_auth_cloud::CloudError;
use jira_auth_cloud::callback::CallbackError;
use jira_auth_core::authorization::PasteError;

fn detail(error: &str, description: &Option<String>) -> String {
    match description {
        Some(d) => format!("{error}: {d}"),
        None => error.to_owned(),
    }
}

/// A refused step of the consent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error(
        "This request came without the cookie this service sets when a consent starts: it was opened in another browser, cookies are blocked, or the consent took more than 10 minutes. Start again from this browser."
    )]
    MissingCookie,
    #[error("The consent was started more than 10 minutes ago and has expired. Start again.")]
    Expired,
    #[error(
        "The consent cookie was not issued by this service (it may have restarted with a new cookie key). Start again."
    )]
    BadCookie,
    #[error(
        "This page does not belong to the consent this browser started last, so it was refused. Start again from this browser."
    )]
    StateMismatch,
    #[error(
        "A newer consent was started in another tab or window of this browser and replaced this one. Finish the consent in that tab, or start again here."
    )]
    Replaced,
    #[error(
        "This consent was already used: its authorization code works only once. Start again to connect a site."
    )]
    Reused,
    #[error(
        "The consent was declined on Atlassian's screen{}. Nothing was stored. To connect Jira, start again and click Accept.",
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Denied { description: Option<String> },
    #[error(
        "Atlassian answered the authorization with an error ({}). The operator should check the app's scopes and callback URL in the developer console.",
        detail(error, description)
    )]
    Authorization {
        error: String,
        description: Option<String>,
    },
    #[error("The callback carries no authorization code. Start again.")]
    MissingCode,
    #[error(
        "Atlassian refused the authorization code ({}): a code works once and expires within minutes. Start again.",
        detail(error, description)
    )]
    CodeRejected {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Atlassian refused this service's OAuth client ({}). The operator should check the client id and secret against the developer console.",
        detail(error, description)
    )]
    ClientRejected {
        error: String,
        description: Option<String>,
    },
    #[error(
        "The consent reaches no Jira site. Pick a site on Atlassian's consent screen; if there is none, the app may lack the Jira API in the developer console."
    )]
    NoSites,
    #[error(
        "This service only connects {allowed}; the consent reached {granted}. Nothing was stored. Start again and pick an allowed site on Atlassian's consent screen."
    )]
    SiteNotAllowed { allowed: String, granted: String },
    #[error(
        "Atlassian could not be reached or gave an answer this service cannot use; nothing was stored. Try again in a minute."
    )]
    Upstream,
    #[error(
        "The consent succeeded but the credentials could not be stored. The operator should check the service log."
    )]
    Store,
    #[error(
        "This site choice is unknown or expired (it works once, within 10 minutes). Start again."
    )]
    PickUnknown,
    #[error("That site is not one of the choices offered. Choose one of the sites listed below.")]
    NoSuchSite,
    #[error(
        "This service has started too many consents in the last minute. Nothing was stored. Try again in a minute."
    )]
    TooManyExchanges,
    #[error("This service is busy. Try again in a moment.")]
    Busy,
    #[error("This request took too long to answer. Try again in a moment.")]
    TimedOut,
    #[error("The request is larger than this service accepts.")]
    TooLarge,
}

impl FlowError {
    pub fn status(&self) -> StatusCode {
        match self {
            FlowError::Denied { .. } | FlowError::SiteNotAllowed { .. } | FlowError::NoSites => {
                StatusCode::FORBIDDEN
            }
            FlowError::ClientRejected { .. } | FlowError::Upstream => StatusCode::BAD_GATEWAY,
            FlowError::Store => StatusCode::INTERNAL_SERVER_ERROR,
            FlowError::TooManyExchanges => StatusCode::TOO_MANY_REQUESTS,
            FlowError::Busy | FlowError::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            FlowError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub fn title(&self) -> &'static str {
        match self {
            FlowError::MissingCookie | FlowError::BadCookie => "Consent session not found",
            FlowError::Expired => "Consent expired",
            FlowError::StateMismatch => "Consent does not match",
            FlowError::Replaced => "Consent replaced",
            FlowError::Reused => "Consent already used",
            FlowError::Denied { .. } => "Consent declined",
            FlowError::Authorization { .. } => "Authorization refused",
            FlowError::MissingCode => "No authorization code",
            FlowError::CodeRejected { .. } => "Authorization code refused",
            FlowError::ClientRejected { .. } => "OAuth app refused",
            FlowError::NoSites => "No Jira site",
            FlowError::SiteNotAllowed { .. } => "Site not allowed",
            FlowError::Upstream => "Atlassian unavailable",
            FlowError::Store => "Credentials not stored",
            FlowError::PickUnknown => "Site choice expired",
            FlowError::NoSuchSite => "Unknown site",
            FlowError::TooManyExchanges => "Too many consents",
            FlowError::Busy => "Service busy",
            FlowError::TimedOut => "Request timed out",
            FlowError::TooLarge => "Request too large",
        }
    }

    /// The page for a callback that ended with an OAuth error (RFC 6749 §4.1.2.1).
    pub fn from_callback(error: CallbackError) -> Self {
        match error {
            CallbackError::AccessDenied { description } => FlowError::Denied { description },
            CallbackError::Authorization { error, description } => {
                FlowError::Authorization { error, description }
            }
            CallbackError::Pasted(PasteError::StateMismatch) => FlowError::StateMismatch,
            CallbackError::MissingCode
            | CallbackError::Pasted(PasteError::MissingCode | PasteError::Unreadable) => {
                FlowError::MissingCode
            }
        }
    }

    /// The page for a failed code exchange or accessible-resources call.
    pub fn from_cloud(error: CloudError) -> Self {
        match error {
            CloudError::CodeRejected { error, description } => {
                FlowError::CodeRejected { error, description }
            }
            CloudError::ClientRejected { error, description } => {
                FlowError::ClientRejected { error, description }
            }
            CloudError::NoSites => FlowError::NoSites,
            CloudError::Store(_) | CloudError::NoRoomForLogin { .. } => FlowError::Store,
            _ => FlowError::Upstream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_who_must_act() {
        assert_eq!(FlowError::Expired.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            FlowError::Denied { description: None }.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(FlowError::Upstream.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(FlowError::Store.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            FlowError::TooManyExchanges.status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn messages_are_sentences_without_markup() {
        let all = [
            FlowError::MissingCookie,
            FlowError::Expired,
            FlowError::BadCookie,
            FlowError::StateMismatch,
            FlowError::Replaced,
            FlowError::Reused,
            FlowError::Denied { description: None },
            FlowError::Authorization {
                error: "invalid_scope".into(),
                description: None,
            },
            FlowError::MissingCode,
            FlowError::NoSites,
            FlowError::Upstream,
            FlowError::Store,
            FlowError::PickUnknown,
            FlowError::NoSuchSite,
            FlowError::TooManyExchanges,
            FlowError::Busy,
            FlowError::TimedOut,
            FlowError::TooLarge,
        ];
        for e in all {
            let text = e.to_string();
            assert!(!text.contains('`'), "{text}");
            assert!(text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn cloud_errors_map_to_pages_with_the_servers_words() {
        let e = FlowError::from_cloud(CloudError::CodeRejected {
            error: "invalid_grant".into(),
            description: Some("Invalid authorization code".into()),
        });
        assert_eq!(
            e.to_string(),
            "Atlassian refused the authorization code (invalid_grant: Invalid authorization code): a code works once and expires within minutes. Start again."
        );
        assert_eq!(
            FlowError::from_callback(CallbackError::AccessDenied {
                description: Some("User did not authorize the request".into())
            })
            .to_string(),
            "The consent was declined on Atlassian's screen (User did not authorize the request). Nothing was stored. To connect Jira, start again and click Accept."
        );
    }
}
