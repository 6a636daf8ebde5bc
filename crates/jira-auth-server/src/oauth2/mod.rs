//! Jira Data Center as an OAuth 2.0 provider (Jira 8.22+, "incoming application links" of type
//! External application): authorization code with PKCE for a user, client credentials for a
//! service account, and the single-use refresh tokens of the first.
//!
//! - [`authorize`]: the authorize URL (RFC 6749 §4.1.1 with RFC 7636 §4.3's S256 challenge), pure.
//! - [`token`]: the token requests as form bodies (pure), sent through core's `HttpClient`, and
//!   every provider answer mapped to advice ([`Oauth2Error`]).
//! - [`fresh`]: a valid access token from the profile, refreshing (rotation-safe, through
//!   `jira_auth_core::rotation`) or re-minting under the profile lock.
//!
//! The browser's redirect is core's loopback listener with core's
//! `authorization::CodeCallback`; the client secret is the CLI's to read.

pub mod authorize;
pub mod error;
pub mod fresh;
pub mod token;

pub use error::Oauth2Error;

/// The scopes Jira Data Center knows, lowest first; each includes the ones before it.
pub const SCOPES: &[&str] = &["READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"];
/// The scopes a Data Center service account (client credentials) may have.
pub const SERVICE_ACCOUNT_SCOPES: &[&str] = &["READ", "WRITE"];
/// The redirect URI when `--redirect-uri` is not given (register exactly this in Jira).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:13132/callback";
/// Below the site: the authorization endpoint.
pub const AUTHORIZE_PATH: &str = "rest/oauth2/latest/authorize";
/// Below the site: the token endpoint.
pub const TOKEN_PATH: &str = "rest/oauth2/latest/token";

/// `{site}/rest/oauth2/latest/{authorize,token}` for a site URL with its context path.
pub fn endpoint(site: &url::Url, path: &str) -> url::Url {
    let mut base = site.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.set_query(None);
    base.set_fragment(None);
    #[allow(clippy::expect_used)]
    base.join(path).expect("a relative path joins any http URL")
}

/// Checks `--scope` values against what Data Center knows (`service_account`: READ and WRITE
/// only), upper-casing them; no scope means READ, the least a connector needs.
pub fn resolve_scopes(
    requested: &[String],
    service_account: bool,
) -> Result<Vec<String>, Oauth2Error> {
    let allowed = if service_account {
        SERVICE_ACCOUNT_SCOPES
    } else {
        SCOPES
    };
    if requested.is_empty() {
        return Ok(vec!["READ".to_owned()]);
    }
    let mut out: Vec<String> = Vec::new();
    for s in requested
        .iter()
        .flat_map(|s| s.split([' ', ',']))
        .filter(|s| !s.is_empty())
    {
        let upper = s.to_ascii_uppercase();
        if !allowed.contains(&upper.as_str()) {
            return Err(Oauth2Error::UnknownScope {
                scope: s.to_owned(),
                allowed: allowed.join(", "),
                service_account,
            });
        }
        if !out.contains(&upper) {
            out.push(upper);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_the_context_path() {
        let at = |s: &str| endpoint(&url::Url::parse(s).unwrap(), TOKEN_PATH).to_string();
        assert_eq!(
            at("https://h/jira"),
            "https://h/jira/rest/oauth2/latest/token"
        );
        assert_eq!(
            at("https://h/jira/"),
            "https://h/jira/rest/oauth2/latest/token"
        );
        assert_eq!(at("https://h"), "https://h/rest/oauth2/latest/token");
    }

    #[test]
    fn scopes_are_data_center_names() {
        assert_eq!(resolve_scopes(&[], false).unwrap(), ["READ"]);
        assert_eq!(
            resolve_scopes(&["read".into(), "WRITE READ".into()], false).unwrap(),
            ["READ", "WRITE"]
        );
        assert_eq!(
            resolve_scopes(&["read:jira-work".into()], false)
                .unwrap_err()
                .to_string(),
            "`read:jira-work` is not a Jira Data Center scope: use READ, WRITE, ADMIN, SYSTEM_ADMIN (each includes the ones before it; a read-only connector needs READ)"
        );
        assert!(resolve_scopes(&["ADMIN".into()], true).is_err());
    }
}
