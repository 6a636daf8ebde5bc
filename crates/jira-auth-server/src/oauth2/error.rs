//! What goes wrong with Jira Data Center's OAuth 2.0 provider, as errors that say what to do.

use jira_auth_core::http::HttpError;
use jira_auth_core::rotation::RotationError;
use jira_auth_core::store::StoreError;
use jira_auth_core::{Categorize, Category};

/// The server's `error_description`, when it sent one, as ` (…)`.
fn described(description: &Option<String>) -> String {
    description
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum Oauth2Error {
    #[error(
        "`{scope}` is not a Jira Data Center {}scope: use {allowed} (each includes the ones before it; a read-only connector needs READ)",
        if *service_account { "service account " } else { "" }
    )]
    UnknownScope {
        scope: String,
        allowed: String,
        service_account: bool,
    },
    #[error(
        "Jira rejected the client (`{error}`{}): check `--client-id` and the client secret against the incoming application link (Administration → Applications → Application links → the link → Credentials); a regenerated secret replaces the old one",
        described(description)
    )]
    ClientRejected {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Jira refused the authorization code (`invalid_grant`{}): a code works once, only with the redirect URI and PKCE verifier of the login that asked for it, and only for a few minutes; run the login again, with `--redirect-uri` exactly as the application link's Redirect URL",
        described(description)
    )]
    CodeRejected { description: Option<String> },
    #[error(
        "Jira refused the refresh token (`invalid_grant`{}): a Data Center refresh token works once and was already used, or it expired or was revoked; run `jira-auth server login --oauth2{profile_flag}` again",
        described(description)
    )]
    RefreshRejected {
        description: Option<String>,
        profile_flag: String,
    },
    #[error(
        "Jira refused the scope (`invalid_scope`{}): the valid Jira Data Center scopes are READ, WRITE, ADMIN and SYSTEM_ADMIN (a service account: READ and WRITE), and the application link must allow the one asked for; pass `--scope` with one of them",
        described(description)
    )]
    ScopeRejected { description: Option<String> },
    #[error(
        "Jira refused the grant (`{error}`{}): {advice}",
        described(description)
    )]
    GrantRefused {
        error: String,
        description: Option<String>,
        advice: &'static str,
    },
    #[error(
        "the login ended in the browser with `{error}`{}: {advice}",
        described(description)
    )]
    Authorization {
        error: String,
        description: Option<String>,
        advice: &'static str,
    },
    #[error(
        "{url} answered 404: OAuth 2.0 is not enabled on this Jira; it needs Jira Data Center 8.22 or later with an incoming application link (Administration → Applications → Application links → Create link → External application → Incoming); check `--url` too (include the context path, e.g. `https://host/jira`)"
    )]
    NotEnabled { url: String },
    #[error(
        "{url} answered the token request with something that is not an OAuth 2.0 token response ({message}); check that `--url` reaches Jira directly"
    )]
    BadTokenResponse { url: String, message: String },
    #[error(
        "the stored Jira URL `{url}` is not a URL ({message}): run `jira-auth server login` again"
    )]
    SiteUrl { url: String, message: String },
    #[error("bad redirect URI `{value}`: {message}")]
    RedirectUri { value: String, message: String },
    #[error("the callback carries no `code`: paste the full URL the browser landed on")]
    MissingCode,
    #[error(transparent)]
    Pasted(#[from] jira_auth_core::authorization::PasteError),
    #[error(
        "no approval arrived at {listen} within {seconds} s{}; run the login again (or raise `--timeout`)",
        jira_auth_core::loopback::ignored(*strays)
    )]
    CallbackTimeout {
        listen: String,
        seconds: u64,
        strays: usize,
    },
    #[error("cannot receive the browser's redirect: {0}")]
    Listener(String),
    #[error(
        "profile `{profile}` holds a {kind} login, not OAuth 2.0: `jira-auth server token` and `server refresh` need `jira-auth server login --oauth2` or `--client-credentials`"
    )]
    NotOauth2 { profile: String, kind: &'static str },
    #[error("no Jira Server credentials in profile `{0}`: run `jira-auth server login` first")]
    NotLoggedIn(String),
    #[error(
        "the access token of profile `{profile}` expired and there is no refresh token: run `jira-auth server login --oauth2` again"
    )]
    NoRefreshToken { profile: String },
    #[error(
        "cannot make room in `{dir}` to keep a rotated refresh token of profile `{profile}`, so the stored one was not spent: free some disk space and run the command again"
    )]
    NoRoomToRotate {
        profile: String,
        dir: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "Jira rotated the refresh token of profile `{profile}` but the new one could not be saved in `{dir}` after {attempts} attempts, and the old one no longer works: free disk space and run `jira-auth server login --oauth2` again"
    )]
    RotationNotSaved {
        profile: String,
        dir: String,
        attempts: usize,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Rotation(#[from] RotationError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Http(Box<HttpError>),
}

impl From<HttpError> for Oauth2Error {
    fn from(e: HttpError) -> Self {
        Oauth2Error::Http(Box::new(e))
    }
}

impl Categorize for Oauth2Error {
    fn category(&self) -> Category {
        match self {
            Oauth2Error::ClientRejected { .. }
            | Oauth2Error::CodeRejected { .. }
            | Oauth2Error::RefreshRejected { .. }
            | Oauth2Error::GrantRefused { .. }
            | Oauth2Error::Authorization { .. }
            | Oauth2Error::MissingCode
            | Oauth2Error::CallbackTimeout { .. }
            | Oauth2Error::NoRefreshToken { .. } => Category::Auth,
            Oauth2Error::BadTokenResponse { .. } | Oauth2Error::Listener(_) => Category::Network,
            Oauth2Error::UnknownScope { .. }
            | Oauth2Error::ScopeRejected { .. }
            | Oauth2Error::NotEnabled { .. }
            | Oauth2Error::RedirectUri { .. }
            | Oauth2Error::SiteUrl { .. }
            | Oauth2Error::NotOauth2 { .. }
            | Oauth2Error::NotLoggedIn(_)
            | Oauth2Error::NoRoomToRotate { .. }
            | Oauth2Error::RotationNotSaved { .. } => Category::Usage,
            Oauth2Error::Rotation(e) => e.category(),
            Oauth2Error::Pasted(e) => e.category(),
            Oauth2Error::Store(e) => e.category(),
            Oauth2Error::Http(e) => e.category(),
        }
    }
}
