//! The `server` section of a profile: which Jira, and which credential.
//!
//! ```json
//! "server": {
//!   "url": "https://jira.example.com/jira",
//!   "credential": { "type": "oauth1", "consumer_key": "...", "private_key_path": "...",
//!                   "access_token": "...", "token_secret": "..." },
//!   "user": { "name": "jsmith", "display_name": "Jane Smith" },
//!   "logged_in_at": "2026-11-25T09:00:00Z"
//! }
//! ```
//! The private key stays in its own file; the profile stores its absolute path.

use crate::error::ServerError;
use crate::key;
use crate::signer::{Consumer, OAuth1Signer};
use jira_auth_core::auth::{Authorizer, Bearer, PatBearer};
use jira_auth_core::store::{ProfileName, Section, Store};
use jira_auth_core::time::Clock;
use jira_auth_core::{AccessToken, PersonalAccessToken, TokenSecret};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The section name in the profile file.
pub const SECTION: &str = <ServerProfile as Section>::NAME;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerProfile {
    /// The site URL, context path included, no trailing slash.
    pub url: String,
    pub credential: Credential,
    /// Who `/myself` said the credential belongs to at login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<StoredUser>,
    /// RFC 3339 UTC.
    pub logged_in_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credential {
    /// OAuth 1.0a token credentials from an Application Link.
    Oauth1 {
        consumer_key: String,
        private_key_path: PathBuf,
        access_token: AccessToken,
        token_secret: TokenSecret,
    },
    /// A Data Center personal access token.
    Pat { token: PersonalAccessToken },
    /// An OAuth 2.0 token from Jira Data Center's provider (an incoming application link, or a
    /// service account).
    Oauth2(Oauth2Credential),
}

/// How an OAuth 2.0 login got its tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Oauth2Grant {
    /// A user approved in the browser (PKCE); renewed with a single-use refresh token.
    AuthorizationCode,
    /// A service account; no refresh token, a new access token is minted when needed.
    ClientCredentials,
}

/// What the store keeps of a Data Center OAuth 2.0 login. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Oauth2Credential {
    pub grant: Oauth2Grant,
    pub client_id: String,
    pub client_secret: jira_auth_core::ClientSecret,
    /// The redirect URI of the login, sent again with every refresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// What Jira granted (the token response's `scope`), else what was asked for.
    pub scopes: Vec<String>,
    pub access_token: AccessToken,
    pub access_expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<jira_auth_core::RefreshToken>,
    /// The last token response (login, refresh or re-mint).
    pub last_refreshed_at: i64,
}

impl Oauth2Credential {
    /// Seconds of access-token validity left at `now` (negative once expired).
    pub fn access_remaining(&self, now: i64) -> i64 {
        self.access_expires_at.saturating_sub(now)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredUser {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl ServerProfile {
    /// The authorizer this credential implies (reads the private key file for OAuth 1.0a).
    pub fn authorizer(&self, clock: Arc<dyn Clock>) -> Result<Arc<dyn Authorizer>, ServerError> {
        Ok(match &self.credential {
            Credential::Oauth1 {
                consumer_key,
                private_key_path,
                access_token,
                ..
            } => {
                let private_key = key::read_private_key(private_key_path)?;
                Arc::new(
                    OAuth1Signer::new(Consumer::new(consumer_key.clone(), private_key))
                        .with_token(access_token.clone())
                        .with_clock(clock),
                )
            }
            Credential::Pat { token } => Arc::new(PatBearer(token.clone())),
            Credential::Oauth2(c) => Arc::new(Bearer(c.access_token.clone())),
        })
    }

    /// `OAuth 1.0a` or `personal access token`.
    pub fn kind(&self) -> &'static str {
        match self.credential {
            Credential::Oauth1 { .. } => "OAuth 1.0a (RSA-SHA1)",
            Credential::Pat { .. } => "personal access token",
            Credential::Oauth2(Oauth2Credential {
                grant: Oauth2Grant::AuthorizationCode,
                ..
            }) => "OAuth 2.0 (authorization code with PKCE)",
            Credential::Oauth2(Oauth2Credential {
                grant: Oauth2Grant::ClientCredentials,
                ..
            }) => "OAuth 2.0 service account (client credentials)",
        }
    }
}

impl Section for ServerProfile {
    const NAME: &'static str = "server";
}

impl jira_auth_core::rotation::Rotating for ServerProfile {
    fn refresh_token(&self) -> Option<&jira_auth_core::RefreshToken> {
        match &self.credential {
            Credential::Oauth2(c) => c.refresh_token.as_ref(),
            _ => None,
        }
    }
}

/// The `server` section of profile `name`, if any.
pub fn load(store: &Store, name: &ProfileName) -> Result<Option<ServerProfile>, ServerError> {
    Ok(store.load_section(name)?)
}

/// Writes the `server` section of profile `name`, keeping its other sections, under the lock.
pub fn save(
    store: &Store,
    name: &ProfileName,
    server: &ServerProfile,
) -> Result<PathBuf, ServerError> {
    let guard = store.lock(name)?;
    guard.save_section(server)?;
    Ok(guard.path().to_owned())
}

/// What [`remove`] took out of a profile: a login as it was stored, nothing, or a section this
/// build cannot read (removed all the same).
pub type Removed = jira_auth_core::store::Removed<ServerProfile>;

/// Removes the `server` section (and the file when nothing else is left), under the lock.
pub fn remove(store: &Store, name: &ProfileName) -> Result<Removed, ServerError> {
    Ok(store.lock(name)?.remove_section::<ServerProfile>()?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jira_auth_core::store::Profile;

    fn sample() -> ServerProfile {
        ServerProfile {
            url: "https://jira.example.com/jira".into(),
            credential: Credential::Oauth1 {
                consumer_key: "jira-auth".into(),
                private_key_path: "/keys/k.pem".into(),
                access_token: AccessToken::new("at1"),
                token_secret: TokenSecret::new("ts1"),
            },
            user: Some(StoredUser {
                name: "jsmith".into(),
                display_name: Some("Jane Smith".into()),
            }),
            logged_in_at: "2026-11-25T09:00:00Z".into(),
        }
    }

    #[test]
    fn save_keeps_other_sections_and_writes_exact_json() {
        // The store keeps sections as JSON values, so keys come out sorted.
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let name = ProfileName::default();
        {
            let guard = store.lock(&name).unwrap();
            let mut p = Profile::new();
            p.set_section("cloud", &serde_json::json!({"site": "x"}))
                .unwrap();
            guard.save(&p).unwrap();
        }
        let path = save(&store, &name, &sample()).unwrap();
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            r#"{
  "version": 1,
  "cloud": {
    "site": "x"
  },
  "server": {
    "credential": {
      "access_token": "at1",
      "consumer_key": "jira-auth",
      "private_key_path": "/keys/k.pem",
      "token_secret": "ts1",
      "type": "oauth1"
    },
    "logged_in_at": "2026-11-25T09:00:00Z",
    "url": "https://jira.example.com/jira",
    "user": {
      "display_name": "Jane Smith",
      "name": "jsmith"
    }
  }
}
"#
        );
        assert_eq!(load(&store, &name).unwrap(), Some(sample()));
        // removing the server section keeps the cloud one
        assert_eq!(remove(&store, &name).unwrap(), Removed::Section(sample()));
        assert_eq!(load(&store, &name).unwrap(), None);
        assert!(store.load(&name).unwrap().is_some());
    }

    #[test]
    fn remove_deletes_a_file_left_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let name = ProfileName::default();
        let mut pat = sample();
        pat.credential = Credential::Pat {
            token: PersonalAccessToken::new("pat1"),
        };
        save(&store, &name, &pat).unwrap();
        assert_eq!(remove(&store, &name).unwrap(), Removed::Section(pat));
        assert!(store.load(&name).unwrap().is_none());
        assert_eq!(remove(&store, &name).unwrap(), Removed::Nothing);
    }

    #[test]
    fn remove_forgets_a_section_it_cannot_read() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::at(tmp.path());
        let name = ProfileName::default();
        let guard = store.lock(&name).unwrap();
        let mut profile = Profile::new();
        profile
            .set_section(
                SECTION,
                &serde_json::json!({"url": "x", "credential": {"type": "kerberos"}}),
            )
            .unwrap();
        guard.save(&profile).unwrap();
        drop(guard);
        assert!(load(&store, &name).is_err(), "the section is unreadable");
        assert_eq!(remove(&store, &name).unwrap(), Removed::Unreadable);
        assert!(store.load(&name).unwrap().is_none());
    }
}
