//! The authorization request (RFC 6749 §4.1.1) with Atlassian's extras, and scope bookkeeping.
//!
//! Atlassian's 3LO authorize URL is a plain authorization-code request plus two parameters the
//! RFC does not know: `audience=api.atlassian.com` (which API the token is for) and
//! `prompt=consent` (always show the consent screen, so the user picks the site). PKCE is not
//! documented for 3LO, so none is sent. The URL is built by the `oauth2` crate; this module
//! only chooses what goes in.

use crate::callback::RedirectUri;
use crate::{CloudError, Endpoints, OFFLINE_ACCESS};
use jira_auth_core::presets::Presets;

/// The `audience` Atlassian requires on the authorize URL.
pub const AUDIENCE: &str = "api.atlassian.com";

/// The scopes to request: the preset's, then each `--scope` (split on spaces and commas), in
/// order, without duplicates; `offline_access` last unless `offline` is false, in which case it
/// is removed even if asked for.
pub fn resolve_scopes(
    presets: &Presets,
    preset: Option<&str>,
    extra: &[String],
    offline: bool,
) -> Result<Vec<String>, CloudError> {
    let mut scopes: Vec<String> = Vec::new();
    let mut push = |s: &str| {
        if !s.is_empty() && s != OFFLINE_ACCESS && !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    };
    if let Some(name) = preset {
        for s in &presets.get(name)?.scopes {
            push(s.trim());
        }
    }
    for arg in extra {
        for s in arg.split([' ', ',', '\t', '\n']) {
            push(s.trim());
        }
    }
    if scopes.is_empty() {
        return Err(CloudError::NoScopes);
    }
    if offline {
        scopes.push(OFFLINE_ACCESS.to_owned());
    }
    Ok(scopes)
}

/// The requested scopes the server did not grant, in request order.
pub fn missing_scopes(requested: &[String], granted: &[String]) -> Vec<String> {
    requested
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect()
}

/// Builds the authorize URL the user opens in a browser.
pub fn authorize_url(
    endpoints: &Endpoints,
    client_id: &str,
    redirect: &RedirectUri,
    scopes: &[String],
    state: &str,
) -> url::Url {
    let state = oauth2::CsrfToken::new(state.to_owned());
    let client = oauth2::basic::BasicClient::new(oauth2::ClientId::new(client_id.to_owned()))
        .set_auth_uri(oauth2::AuthUrl::from_url(endpoints.authorize()))
        .set_redirect_uri(redirect.oauth2());
    let (url, _) = client
        .authorize_url(move || state)
        .add_extra_param("audience", AUDIENCE)
        .add_scopes(scopes.iter().cloned().map(oauth2::Scope::new))
        .add_extra_param("prompt", "consent")
        .url();
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn authorize_url_carries_exactly_atlassians_parameters() {
        let endpoints = Endpoints::default();
        let redirect = RedirectUri::parse("http://localhost:13131").unwrap();
        let url = authorize_url(
            &endpoints,
            "CLIENT123",
            &redirect,
            &strings(&["read:jira-work", "offline_access"]),
            "0123456789abcdef0123456789abcdef",
        );
        assert_eq!(
            url.as_str(),
            "https://auth.atlassian.com/authorize?response_type=code&client_id=CLIENT123\
             &state=0123456789abcdef0123456789abcdef&redirect_uri=http%3A%2F%2Flocalhost%3A13131\
             &scope=read%3Ajira-work+offline_access&audience=api.atlassian.com&prompt=consent"
        );
        // The redirect URI is sent exactly as given: Atlassian compares it byte for byte with
        // the registered callback, and `http://localhost:13131/` would not match.
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("redirect_uri".into(), "http://localhost:13131".into())));
    }

    #[test]
    fn scopes_come_from_preset_then_flags_with_offline_access_last() {
        let presets = Presets::builtin();
        let scopes = resolve_scopes(
            &presets,
            Some("psoxy"),
            &strings(&[
                "read:jira-work manage:jira-project",
                "offline_access,read:me",
            ]),
            true,
        )
        .unwrap();
        assert_eq!(
            scopes,
            strings(&[
                "read:jira-user",
                "read:jira-work",
                "read:account",
                "read:group:jira",
                "read:avatar:jira",
                "read:user:jira",
                "manage:jira-project",
                "read:me",
                "offline_access",
            ])
        );
    }

    #[test]
    fn no_refresh_removes_offline_access_and_empty_is_an_error() {
        let presets = Presets::builtin();
        let scopes = resolve_scopes(
            &presets,
            None,
            &strings(&["read:jira-work", "offline_access"]),
            false,
        )
        .unwrap();
        assert_eq!(scopes, strings(&["read:jira-work"]));
        assert!(matches!(
            resolve_scopes(&presets, None, &strings(&["offline_access"]), true),
            Err(CloudError::NoScopes)
        ));
        assert_eq!(
            resolve_scopes(&presets, Some("nope"), &[], true)
                .unwrap_err()
                .to_string(),
            "unknown preset `nope`; known presets: audit, psoxy, raytion"
        );
    }

    #[test]
    fn missing_scopes_keep_request_order() {
        assert_eq!(
            missing_scopes(
                &strings(&["a", "b", "c", "offline_access"]),
                &strings(&["c", "a"])
            ),
            strings(&["b", "offline_access"])
        );
    }
}
