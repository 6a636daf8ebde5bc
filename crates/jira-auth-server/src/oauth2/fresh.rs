//! A valid access token from a profile's Data Center OAuth 2.0 login, renewed under the profile
//! lock when it is about to expire: with the single-use refresh token (authorization code), or
//! by asking for a new one (a service account's client credentials).
//!
//! Architecture invariant: the token endpoint is called only under `store.lock(profile)`, after
//! re-reading the profile (another process may have renewed meanwhile, and then its result is
//! used: however many processes race, one token request is made), and a rotated refresh token is
//! persisted through `jira_auth_core::rotation` before anything else is done with it.

use super::Oauth2Error;
use super::token::{Grant, TokenClient, TokenSet};
use crate::profile::{Credential, Oauth2Credential, Oauth2Grant, ServerProfile};
use jira_auth_core::fault::pause_at;
use jira_auth_core::http::HttpClient;
use jira_auth_core::rotation::{self, Persisted};
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::unix_seconds;
use std::time::Duration;

/// `server token` renews when fewer than this many seconds of validity remain.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// When to call the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only when less than this validity remains (`server token`, `request`, `status`, `audit`).
    IfExpiring(Duration),
    /// Always (`server refresh`).
    Always,
}

/// The profile after [`ensure_fresh`], and whether a token request was made.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub profile: ServerProfile,
    pub refreshed: bool,
}

impl Fresh {
    /// The OAuth 2.0 credential inside (there is one: [`ensure_fresh`] checked).
    pub fn credential(&self) -> Option<&Oauth2Credential> {
        match &self.profile.credential {
            Credential::Oauth2(c) => Some(c),
            _ => None,
        }
    }
}

/// Applies a token response to the stored credential: the new access token, the new refresh
/// token when one came (else none is kept: Data Center's refresh token works once), the granted
/// scopes when listed.
pub fn apply(c: &mut Oauth2Credential, tokens: TokenSet, now: i64) {
    c.access_expires_at = tokens.expires_at(now);
    c.access_token = tokens.access_token;
    if c.grant == Oauth2Grant::AuthorizationCode {
        c.refresh_token = tokens.refresh_token;
    }
    if let Some(scopes) = tokens.scopes {
        c.scopes = scopes;
    }
    c.last_refreshed_at = now;
}

fn oauth2(profile: &ProfileName, p: &ServerProfile) -> Result<Oauth2Credential, Oauth2Error> {
    match &p.credential {
        Credential::Oauth2(c) => Ok(c.clone()),
        _ => Err(Oauth2Error::NotOauth2 {
            profile: profile.to_string(),
            kind: p.kind(),
        }),
    }
}

fn fresh_enough(c: &Oauth2Credential, now: i64, margin: Duration) -> bool {
    c.access_remaining(now) >= i64::try_from(margin.as_secs()).unwrap_or(i64::MAX)
}

/// Returns the profile's `server` section with a usable access token, renewing it under the
/// profile lock when `mode` says so. With a valid token and [`Mode::IfExpiring`] this reads one
/// file and makes no request. A profile whose login is not OAuth 2.0 is
/// [`Oauth2Error::NotOauth2`].
pub async fn ensure_fresh(
    store: &Store,
    profile: &ProfileName,
    http: &HttpClient,
    mode: Mode,
    profile_flag: &str,
) -> Result<Fresh, Oauth2Error> {
    let not_logged_in = || Oauth2Error::NotLoggedIn(profile.to_string());
    let now = || unix_seconds(http.clock().now());
    if let Mode::IfExpiring(margin) = mode {
        // A killed renewal's record is applied first, so that no spent token is handed out; a
        // record of the profile's other login is left for it.
        if rotation::exists(store, profile)? {
            rotation::recover::<ServerProfile>(&store.lock(profile)?, profile)?;
        }
        let p: ServerProfile = store.load_section(profile)?.ok_or_else(not_logged_in)?;
        if fresh_enough(&oauth2(profile, &p)?, now(), margin) {
            return Ok(Fresh {
                profile: p,
                refreshed: false,
            });
        }
    }
    let guard = store.lock(profile)?;
    rotation::recover_before_refresh::<ServerProfile>(&guard, profile)?;
    // One read under the lock: the section to renew, and the document it is saved back into.
    let stored = guard.load()?.unwrap_or_default();
    let mut p: ServerProfile = stored.get(profile)?.ok_or_else(not_logged_in)?;
    let mut c = oauth2(profile, &p)?;
    if let Mode::IfExpiring(margin) = mode
        && fresh_enough(&c, now(), margin)
    {
        // Another process renewed while we waited for the lock: use its result.
        return Ok(Fresh {
            profile: p,
            refreshed: false,
        });
    }
    let site = url::Url::parse(&p.url).map_err(|e| Oauth2Error::SiteUrl {
        url: p.url.clone(),
        message: e.to_string(),
    })?;
    let token_url = super::endpoint(&site, super::TOKEN_PATH);
    let client = TokenClient {
        http,
        token_url: &token_url,
        client_id: &c.client_id,
        client_secret: &c.client_secret,
        profile_flag,
    };
    if c.grant == Oauth2Grant::ClientCredentials {
        // Nothing single-use is spent: ask for a new token and save it.
        let tokens = client
            .request(&Grant::ClientCredentials { scopes: &c.scopes })
            .await?;
        apply(&mut c, tokens, now());
        p.credential = Credential::Oauth2(c);
        let mut doc = stored;
        doc.put(&p)?;
        guard.save(&doc)?;
        return Ok(Fresh {
            profile: p,
            refreshed: true,
        });
    }
    let Some(refresh_token) = c.refresh_token.clone() else {
        return Err(Oauth2Error::NoRefreshToken {
            profile: profile.to_string(),
        });
    };
    // Spending the refresh token cannot be undone: first make sure its successor can be kept.
    let mut reserved =
        rotation::reserve(&guard, &stored, &p).map_err(|source| Oauth2Error::NoRoomToRotate {
            profile: profile.to_string(),
            dir: store.dir().display().to_string(),
            source,
        })?;
    pause_at("before-request");
    let tokens = client
        .request(&Grant::Refresh {
            refresh_token: &refresh_token,
            redirect_uri: c.redirect_uri.as_deref(),
        })
        .await?;
    pause_at("after-response");
    apply(&mut c, tokens, now());
    p.credential = Credential::Oauth2(c);
    match rotation::persist(&guard, &stored, Some(&refresh_token), &p, &mut reserved) {
        Persisted::Saved => {}
        Persisted::InRecord(e) => tracing::warn!(
            "the refreshed token set is kept in the write-ahead record {} but the profile could not be updated ({e}); the next `jira-auth server` command for profile `{profile}` applies it",
            guard.write_ahead_location()
        ),
        Persisted::Lost { attempts, source } => {
            return Err(Oauth2Error::RotationNotSaved {
                profile: profile.to_string(),
                dir: store.dir().display().to_string(),
                attempts,
                source,
            });
        }
    }
    Ok(Fresh {
        profile: p,
        refreshed: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jira_auth_core::{AccessToken, ClientSecret, RefreshToken};

    fn cred(grant: Oauth2Grant) -> Oauth2Credential {
        Oauth2Credential {
            grant,
            client_id: "cid".into(),
            client_secret: ClientSecret::new("cs"),
            redirect_uri: None,
            scopes: vec!["READ".into()],
            access_token: AccessToken::new("at-1"),
            access_expires_at: 100,
            refresh_token: Some(RefreshToken::new("rt-1")),
            last_refreshed_at: 0,
        }
    }

    #[test]
    fn a_refresh_replaces_the_single_use_token_and_saturates_huge_lifetimes() {
        let mut c = cred(Oauth2Grant::AuthorizationCode);
        apply(
            &mut c,
            TokenSet {
                access_token: AccessToken::new("at-2"),
                expires_in: Duration::from_secs(u64::MAX),
                refresh_token: None,
                scopes: Some(vec!["WRITE".into()]),
            },
            50,
        );
        assert_eq!(c.access_expires_at, i64::MAX);
        assert!(c.refresh_token.is_none(), "a used refresh token is dead");
        assert_eq!(c.scopes, ["WRITE"]);
        assert_eq!(c.last_refreshed_at, 50);
        let text = format!("{c:?}");
        for secret in ["cs", "at-2"] {
            assert!(!text.contains(&format!("\"{secret}\"")), "{text}");
        }
    }
}
