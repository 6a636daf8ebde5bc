//! The one error enum of the cloud crate; the CLI maps its [`Category`] to an exit code.

use crate::callback::CallbackError;
use jira_auth_core::http::HttpError;
use jira_auth_core::presets::PresetError;
use jira_auth_core::store::StoreError;
use jira_auth_core::{Categorize, Category};

/// The message for a refresh token Atlassian no longer accepts. Scripts and docs quote it
/// (`docs/cloud.md`), so it stays word for word.
pub const FAMILY_INVALID: &str = "the token family is no longer valid (expired, revoked or reused): run `jira-auth cloud login` again";

#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    #[error("`{flag}` value `{value}` is not usable: {message}")]
    BadUrl {
        flag: &'static str,
        value: String,
        message: String,
    },
    #[error(
        "redirect URI `{value}` is not usable: {message}; use the callback URL registered in the developer console, e.g. `http://localhost:13131`"
    )]
    RedirectUri { value: String, message: String },
    #[error(
        "no scopes to request: pass `--preset NAME` or `--scope SCOPE` (see `docs/cloud.md` for which scopes each connector needs)"
    )]
    NoScopes,
    #[error(transparent)]
    Preset(#[from] PresetError),
    #[error(transparent)]
    Callback(#[from] CallbackError),
    #[error(
        "no browser callback arrived on {listen} within {seconds} s{}: if Atlassian showed an error page instead of a consent screen, check the client id `{client_id}` and that the app's Callback URL is exactly `{redirect_uri}` (developer console → your app → Authorization); otherwise finish the consent in the browser sooner, raise `--timeout`, or use `--paste`",
        jira_auth_core::loopback::ignored(*strays)
    )]
    CallbackTimeout {
        listen: String,
        seconds: u64,
        /// Requests that were answered and ignored (other path, no or another `state`, a
        /// non-loopback `Host`, oversized).
        strays: usize,
        /// The two values Atlassian checks before it shows a consent screen: a wrong one gets
        /// the user an error page and never a callback.
        client_id: String,
        redirect_uri: String,
    },
    #[error("the loopback listener failed: {0}")]
    Listener(std::io::Error),
    #[error(
        "Atlassian refused the authorization code ({error}{}): the code is single use, expires within minutes and is bound to the client id and redirect URI; run `jira-auth cloud login` again",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    CodeRejected {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Atlassian refused the client credentials ({error}{}): check the client id and secret in the developer console (Settings)",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    ClientRejected {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Atlassian refused the service account's client id or secret ({error}{}): check the client id, and the secret of its OAuth 2.0 credential, in admin.atlassian.com (Directory → Service accounts; a lost secret cannot be shown again: create a new credential), then run `jira-auth cloud login --client-credentials` again",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    ServiceAccountRejected {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Atlassian does not let this client id use client credentials ({error}{}): it is not a service account's OAuth 2.0 credential; create one in admin.atlassian.com (Directory → Service accounts → Create credentials → OAuth 2.0), or log in an OAuth 2.0 (3LO) app with `jira-auth cloud login` without `--client-credentials`",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    NotAServiceAccount {
        error: String,
        description: Option<String>,
    },
    #[error(
        "Atlassian refused the scopes `{requested}` ({error}{}): a service account's token carries only scopes chosen when its OAuth 2.0 credential was created; pass only those with `--scope`, or no `--scope` to get all of them, or create a credential with the scopes you need in admin.atlassian.com (Directory → Service accounts)",
        description.as_deref().map(|d| format!(": {d}")).unwrap_or_default()
    )]
    ScopeRejected {
        requested: String,
        error: String,
        description: Option<String>,
    },
    #[error(
        "`--site {value}` is neither a site URL nor a cloud id: pass the site's URL, e.g. `https://acme.atlassian.net`, or its cloud id, a UUID such as `1324a887-45db-1bf4-1e99-ef0ff456d421`"
    )]
    BadSite { value: String },
    #[error(
        "{url} answered {status}, so `{site}` is not a Jira Cloud site: pass the site's URL as the browser shows it (`https://acme.atlassian.net`) or its cloud id; for Jira Data Center use `jira-auth server login`"
    )]
    NotACloudSite {
        site: String,
        url: String,
        status: u16,
    },
    #[error(
        "no Jira Cloud site has the cloud id `{cloud_id}` ({url} answered 404): check the id, or pass the site's URL (`--site https://acme.atlassian.net`) so jira-auth looks it up"
    )]
    UnknownCloudId { cloud_id: String, url: String },
    #[error(
        "the service account has no access to Jira on {site} ({url} answered {status}): in admin.atlassian.com give the service account access to Jira on that site (Directory → Service accounts), then run `jira-auth cloud login --client-credentials` again"
    )]
    NoSiteAccess {
        site: String,
        url: String,
        status: u16,
    },
    #[error(
        "profile `{profile}` is a Jira Cloud service account, which has no refresh token, and the psoxy Jira Cloud connector needs one: log that connector in with OAuth 2.0 (3LO) (`jira-auth cloud login --preset psoxy`), or export the access token and client credentials with `--format env`, `json` or `tfvars`"
    )]
    NoRefreshTokenToExport { profile: String },
    #[error("{FAMILY_INVALID} (server said {error}{})", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    FamilyInvalid {
        error: String,
        description: Option<String>,
    },
    #[error("{url} answered with a token response jira-auth cannot read: {message}")]
    BadTokenResponse { url: String, message: String },
    #[error("{url} answered with a body jira-auth cannot read: {message}")]
    BadResponse { url: String, message: String },
    #[error(transparent)]
    Http(Box<HttpError>),
    #[error(
        "the token reaches no Jira site: in the consent screen pick a site, and check the app has the Jira API added in the developer console (Permissions)"
    )]
    NoSites,
    #[error("no accessible site matches `--site {wanted}`; the token reaches: {available}")]
    SiteNotFound { wanted: String, available: String },
    #[error("the token reaches several sites; choose one with `--site NAME|URL|ID`: {available}")]
    SiteAmbiguous { available: String },
    #[error(
        "profile `{profile}` has no Jira Cloud login: run `jira-auth cloud login{}`",
        profile_flag(profile)
    )]
    NotLoggedIn { profile: String },
    #[error(
        "the access token expired and there is no refresh token (the login used `--no-refresh`): run `jira-auth cloud login` again"
    )]
    NoRefreshToken,
    #[error(
        "Atlassian refused the stored access token of profile `{profile}` ({status}){}: run `jira-auth cloud login{}` again",
        if *refreshed { " even after a refresh" } else { " and there is no refresh token to get another" },
        profile_flag(profile)
    )]
    AccessTokenRefused {
        profile: String,
        status: u16,
        /// Whether a refreshed token was refused too.
        refreshed: bool,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "jira-auth cannot reserve the disk space to keep a rotated refresh token, so none was requested: the stored login of profile `{profile}` is unchanged and still good; free disk space under `{dir}` and run the command again"
    )]
    NoRoomToRotate {
        profile: String,
        dir: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "jira-auth cannot reserve the disk space to save a login, so the consent was not used: free disk space under `{dir}` and run `jira-auth cloud login{}` again",
        profile_flag(profile)
    )]
    NoRoomForLogin {
        profile: String,
        dir: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "Atlassian rotated the refresh token but jira-auth could not save the new one ({attempts} attempts): the stored refresh token stays usable until about {reuse_until} (Atlassian's 10-minute reuse window); free disk space under `{dir}` and run `jira-auth cloud refresh{}` before then, else `jira-auth cloud login{}` again",
        profile_flag(profile),
        profile_flag(profile)
    )]
    RotationNotSaved {
        profile: String,
        dir: String,
        attempts: usize,
        reuse_until: String,
        #[source]
        source: StoreError,
    },
    #[error(
        "profile `{profile}` has a write-ahead record at {location} written by a newer jira-auth (format {found}, this build reads 1); it was left untouched: run the newer jira-auth, which applies it"
    )]
    WriteAheadTooNew {
        profile: String,
        location: String,
        found: u32,
    },
    /// A write-ahead record of the profile's other login.
    #[error(transparent)]
    Rotation(jira_auth_core::rotation::RotationError),
}

/// A URL (or what was meant to be one) as it may appear in a message: user info and
/// secret-bearing query values masked, even when the text does not parse as a URL.
pub fn shown_url(text: &str) -> String {
    if let Ok(url) = url::Url::parse(text) {
        let masked = jira_auth_core::secret::mask_url(&url);
        // Nothing to hide: echo what the user typed, byte for byte.
        return if masked == url.as_str() {
            text.to_owned()
        } else {
            masked
        };
    }
    // Unparsable: mask anything between `://` and an `@` before the path.
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://****@{}", &rest[at + 1..]),
                None => text.to_owned(),
            }
        }
        None => text.to_owned(),
    }
}

/// ` --profile NAME` for a profile other than `default`, to paste into a suggested command.
pub fn profile_flag(profile: &str) -> String {
    if profile == "default" {
        String::new()
    } else {
        format!(" --profile {profile}")
    }
}

impl CloudError {
    /// The `401` status of a request whose bearer token was refused, if that is what this is.
    pub fn refused_token(&self) -> Option<u16> {
        match self {
            CloudError::Http(e) => match e.as_ref() {
                HttpError::Api(api) if api.status == 401 => Some(401),
                _ => None,
            },
            _ => None,
        }
    }
}

impl From<HttpError> for CloudError {
    fn from(e: HttpError) -> Self {
        CloudError::Http(Box::new(e))
    }
}

impl Categorize for CloudError {
    fn category(&self) -> Category {
        match self {
            CloudError::BadUrl { .. }
            | CloudError::RedirectUri { .. }
            | CloudError::NoScopes
            | CloudError::SiteNotFound { .. }
            | CloudError::SiteAmbiguous { .. }
            | CloudError::NotLoggedIn { .. }
            | CloudError::NoRoomToRotate { .. }
            | CloudError::NoRoomForLogin { .. }
            | CloudError::RotationNotSaved { .. }
            | CloudError::WriteAheadTooNew { .. }
            | CloudError::BadSite { .. }
            | CloudError::NotACloudSite { .. }
            | CloudError::UnknownCloudId { .. }
            | CloudError::NoRefreshTokenToExport { .. } => Category::Usage,
            CloudError::Rotation(e) => e.category(),
            CloudError::Preset(e) => e.category(),
            CloudError::Callback(e) => e.category(),
            CloudError::Store(e) => e.category(),
            CloudError::Http(e) => e.category(),
            CloudError::CallbackTimeout { .. }
            | CloudError::CodeRejected { .. }
            | CloudError::ClientRejected { .. }
            | CloudError::FamilyInvalid { .. }
            | CloudError::NoSites
            | CloudError::NoRefreshToken
            | CloudError::AccessTokenRefused { .. }
            | CloudError::ServiceAccountRejected { .. }
            | CloudError::NotAServiceAccount { .. }
            | CloudError::ScopeRejected { .. }
            | CloudError::NoSiteAccess { .. } => Category::Auth,
            CloudError::Listener(_)
            | CloudError::BadTokenResponse { .. }
            | CloudError::BadResponse { .. } => Category::Network,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_never_show_credentials() {
        assert_eq!(
            shown_url("https://user:hunter2@auth.example/x?code=abc&y=1"),
            "https://****:****@auth.example/x?code=****&y=1"
        );
        assert_eq!(shown_url("ftp://u:hunter2@[::1"), "ftp://****@[::1");
        assert_eq!(shown_url("not a url"), "not a url");
        assert_eq!(shown_url("http://h/p@q"), "http://h/p@q");
        let err = crate::Endpoints::parse("ftp://u:hunter2@x", crate::DEFAULT_API_URL).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`--auth-url` value `ftp://****:****@x/` is not usable: only http and https URLs are supported"
        );
    }
}
