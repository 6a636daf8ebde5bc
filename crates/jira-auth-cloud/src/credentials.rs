//! What the store keeps for a Jira Cloud login, refresh under the store's lock, and the status
//! report computed from it.
//!
//! Architecture invariant: a refresh happens only under `store.lock(profile)`, after re-reading
//! the profile (another process may have rotated the token meanwhile, and then its result is
//! used instead of spending the now-stale refresh token), and the new refresh token is saved
//! before the function returns, so nothing printed or done afterwards can lose it. Between the
//! response and the profile write, the new token set sits in a write-ahead record
//! ([`crate::pending`]) that the next refresh recovers.

use crate::sites::Site;
use crate::token::{TokenClient, TokenSet};
use crate::{CloudError, Endpoints, fault};
use jira_auth_core::http::HttpClient;
use jira_auth_core::rotation::{self, Persisted};
use jira_auth_core::store::{Profile, ProfileName, Removed, Section, Store};
use jira_auth_core::time::{rfc3339, unix_seconds};
use jira_auth_core::{AccessToken, ClientSecret, RefreshToken};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The profile section this crate owns.
pub const SECTION: &str = <CloudCredentials as Section>::NAME;
/// `cloud token` refreshes when fewer than this many seconds of validity remain.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// A token family dies this long after the first consent, whatever happens.
pub const FAMILY_LIFETIME_DAYS: i64 = 365;
/// A refresh token dies after this long without being used.
pub const INACTIVITY_DAYS: i64 = 90;
/// Status warns when either limit is this many days away or closer.
pub const WARN_DAYS: i64 = 30;
const DAY: i64 = 86_400;

/// What the app and the consent request were, for [`CloudCredentials::from_grant`].
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub requested_scopes: Vec<String>,
    pub preset: Option<String>,
    pub endpoints: Endpoints,
    pub redirect_uri: String,
}

/// How a `cloud` login gets its access tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginKind {
    /// A user's consent (OAuth 2.0 3LO): a rotating refresh token renews the access token.
    #[default]
    #[serde(rename = "3lo")]
    ThreeLegged,
    /// A service account's OAuth 2.0 credential: every access token is minted with the client
    /// credentials grant and the stored client secret; there is no refresh token.
    #[serde(rename = "service_account")]
    ServiceAccount,
}

impl LoginKind {
    /// Whether this is a 3LO login (the kind a profile without the field has).
    pub fn is_three_legged(&self) -> bool {
        *self == LoginKind::ThreeLegged
    }

    /// `3lo` or `service_account`, as the profile and `cloud status --json` spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginKind::ThreeLegged => "3lo",
            LoginKind::ServiceAccount => "service_account",
        }
    }
}

/// The stored token set of one profile (section `cloud`). Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudCredentials {
    /// Absent (3LO) in profiles written before service accounts, and for every 3LO login, so
    /// those files stay byte for byte what they were.
    #[serde(default, skip_serializing_if = "LoginKind::is_three_legged")]
    pub kind: LoginKind,
    pub client_id: String,
    pub client_secret: ClientSecret,
    pub access_token: AccessToken,
    pub access_expires_at: i64,
    #[serde(default)]
    pub refresh_token: Option<RefreshToken>,
    /// What Atlassian granted (the token response's `scope`).
    pub scopes: Vec<String>,
    /// What the login asked for.
    #[serde(default)]
    pub requested_scopes: Vec<String>,
    #[serde(default)]
    pub preset: Option<String>,
    pub cloud_id: String,
    pub site_url: String,
    pub site_name: String,
    /// The consent that started this refresh-token family (the 365-day clock).
    pub family_started_at: i64,
    /// The last successful use of the token endpoint (the 90-day inactivity clock).
    pub last_refreshed_at: i64,
    pub auth_url: String,
    pub api_url: String,
    pub redirect_uri: String,
}

impl Section for CloudCredentials {
    const NAME: &'static str = "cloud";
}

impl CloudCredentials {
    pub fn endpoints(&self) -> Result<Endpoints, CloudError> {
        Endpoints::parse(&self.auth_url, &self.api_url)
    }

    /// Seconds of access-token validity left at `now` (negative once expired).
    pub fn access_remaining(&self, now: i64) -> i64 {
        self.access_expires_at.saturating_sub(now)
    }

    /// `{api}/ex/jira/{cloudId}`: the REST base for this site.
    pub fn jira_base(&self) -> Result<url::Url, CloudError> {
        Ok(self.endpoints()?.jira_base(&self.cloud_id))
    }

    /// The credentials a fresh consent produces (`cloud login` and `cloud serve` store exactly
    /// this): the token set of the code exchange for `site`, a token family starting `now`.
    /// The granted scopes are the token response's, or the requested ones when it lists none.
    pub fn from_grant(grant: Grant, tokens: TokenSet, site: &Site, now: i64) -> Self {
        Self {
            kind: LoginKind::ThreeLegged,
            client_id: grant.client_id,
            client_secret: grant.client_secret,
            access_expires_at: tokens.expires_at(now),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            scopes: tokens
                .scopes
                .unwrap_or_else(|| grant.requested_scopes.clone()),
            requested_scopes: grant.requested_scopes,
            preset: grant.preset,
            cloud_id: site.id.clone(),
            site_url: site.url.clone(),
            site_name: site.name.clone(),
            family_started_at: now,
            last_refreshed_at: now,
            auth_url: grant.endpoints.auth_url.to_string(),
            api_url: grant.endpoints.api_url.to_string(),
            redirect_uri: grant.redirect_uri,
        }
    }

    /// Applies a refresh response: new access token, new refresh token if one came (else the old
    /// one stays), granted scopes if listed.
    pub fn apply_refresh(&mut self, tokens: TokenSet, now: i64) {
        self.access_expires_at = tokens.expires_at(now);
        self.access_token = tokens.access_token;
        if let Some(rt) = tokens.refresh_token {
            self.refresh_token = Some(rt);
        }
        if let Some(scopes) = tokens.scopes {
            self.scopes = scopes;
        }
        self.last_refreshed_at = now;
    }
}

/// The stored credentials of `profile`, read without the lock unless a killed refresh left a
/// write-ahead record: then it is recovered first, under the lock, so that nothing (an export
/// above all) ever hands out a refresh token that was already spent.
pub fn load(store: &Store, profile: &ProfileName) -> Result<CloudCredentials, CloudError> {
    if crate::pending::exists(store, profile)? {
        let guard = store.lock(profile)?;
        crate::pending::recover(&guard, profile)?;
    }
    let loaded = store.load_section::<CloudCredentials>(profile)?;
    loaded.ok_or_else(|| CloudError::NotLoggedIn {
        profile: profile.to_string(),
    })
}

/// The stored credentials of `profile`, read under the lock after recovering an interrupted
/// refresh: what an export hands out is never a refresh token that a concurrent refresh is
/// about to spend.
pub fn load_locked(store: &Store, profile: &ProfileName) -> Result<CloudCredentials, CloudError> {
    let guard = store.lock(profile)?;
    crate::pending::recover(&guard, profile)?;
    guard
        .load_section::<CloudCredentials>()?
        .ok_or_else(|| CloudError::NotLoggedIn {
            profile: profile.to_string(),
        })
}

/// Writes the credentials into the profile (keeping other sections), under the lock.
pub fn save(
    store: &Store,
    profile: &ProfileName,
    credentials: &CloudCredentials,
) -> Result<(), CloudError> {
    let guard = store.lock(profile)?;
    guard.save_section(credentials)?;
    // A write-ahead record of the previous login's family must never be applied over this one.
    crate::pending::remove(&guard)
}

/// Checks, under the lock, that the disk has room for a new login's profile, so that a full disk
/// is found before an authorization code is spent rather than after.
pub fn check_room_for_login(store: &Store, profile: &ProfileName) -> Result<(), CloudError> {
    let no_room = |source| CloudError::NoRoomForLogin {
        profile: profile.to_string(),
        dir: store.dir().display().to_string(),
        source,
    };
    let guard = store.lock(profile).map_err(no_room)?;
    let stored = guard.load().ok().flatten().unwrap_or_else(Profile::new);
    let len = serde_json::to_vec_pretty(&stored).map_or(0, |b| b.len());
    guard
        .reserve(0, crate::pending::headroom(len))
        .map(drop)
        .map_err(no_room)
}

/// Forgets the profile's cloud section (the file goes when nothing else is in it) and any
/// write-ahead record of it. Returns whether there was a section.
pub fn forget(store: &Store, profile: &ProfileName) -> Result<bool, CloudError> {
    let guard = store.lock(profile)?;
    guard.sweep_temp_files();
    let had_record = guard.remove_write_ahead()?;
    let removed = guard.remove_section::<CloudCredentials>()?;
    Ok(had_record || removed != Removed::Nothing)
}

/// When to call the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshMode {
    /// Only when less than this validity remains (`cloud token`, `cloud sites`).
    IfExpiring(Duration),
    /// Always (`cloud refresh`).
    Always,
}

/// Credentials that are fresh enough, and whether a token request was made to get them.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub credentials: CloudCredentials,
    pub refreshed: bool,
}

/// Returns usable credentials, refreshing under the profile lock when `mode` says so.
/// With a valid token and [`RefreshMode::IfExpiring`] this reads one file and makes no request.
pub async fn ensure_fresh(
    store: &Store,
    profile: &ProfileName,
    http: &HttpClient,
    mode: RefreshMode,
) -> Result<Fresh, CloudError> {
    let fresh_enough = |c: &CloudCredentials, margin: Duration| {
        c.access_remaining(unix_seconds(http.clock().now())) >= margin.as_secs() as i64
    };
    if let RefreshMode::IfExpiring(margin) = mode {
        let credentials = load(store, profile)?;
        if fresh_enough(&credentials, margin) {
            return Ok(Fresh {
                credentials,
                refreshed: false,
            });
        }
    }
    let guard = store.lock(profile)?;
    crate::pending::recover_before_refresh(&guard, profile)?;
    // One read under the lock: the section to refresh, and the document it is saved back into.
    let stored = guard.load()?.unwrap_or_default();
    let mut credentials =
        stored
            .get::<CloudCredentials>(profile)?
            .ok_or_else(|| CloudError::NotLoggedIn {
                profile: profile.to_string(),
            })?;
    if let RefreshMode::IfExpiring(margin) = mode
        && fresh_enough(&credentials, margin)
    {
        // Another process refreshed while we waited for the lock: use its result.
        return Ok(Fresh {
            credentials,
            refreshed: false,
        });
    }
    if credentials.kind == LoginKind::ServiceAccount {
        // Nothing is spent by minting, so no reservation or write-ahead record: the lock alone
        // makes racing processes share one token request.
        return crate::service_account::remint(&guard, &stored, credentials, http).await;
    }
    let Some(refresh_token) = credentials.refresh_token.clone() else {
        return Err(CloudError::NoRefreshToken);
    };
    let endpoints = credentials.endpoints()?;
    // Spending the refresh token cannot be undone: first make sure its successor can be kept.
    let mut reserved = crate::pending::reserve(&guard, &stored, &credentials).map_err(|e| {
        CloudError::NoRoomToRotate {
            profile: profile.to_string(),
            dir: store.dir().display().to_string(),
            source: store_error(e),
        }
    })?;
    let client = TokenClient {
        http,
        endpoints: &endpoints,
        client_id: &credentials.client_id,
        client_secret: &credentials.client_secret,
    };
    fault::pause_at("before-request");
    let tokens = client.refresh(&refresh_token).await?;
    let now = unix_seconds(http.clock().now());
    fault::pause_at("after-response");
    credentials.apply_refresh(tokens, now);
    // The old refresh token is spent from now on: the new set goes to disk first, in the
    // write-ahead record, then into the profile (see `jira_auth_core::rotation`).
    match rotation::persist(
        &guard,
        &stored,
        Some(&refresh_token),
        &credentials,
        &mut reserved,
    ) {
        Persisted::Saved => {}
        Persisted::InRecord(e) => {
            // The new set is durable in the record; the next command under the lock applies it.
            tracing::warn!(
                "the refreshed token set is kept in the write-ahead record {} but the profile could not be updated ({e}); the next `jira-auth cloud` command for profile `{profile}` applies it",
                guard.write_ahead_location()
            );
        }
        Persisted::Lost { attempts, source } => {
            return Err(CloudError::RotationNotSaved {
                profile: profile.to_string(),
                dir: store.dir().display().to_string(),
                attempts,
                reuse_until: rfc3339(now.saturating_add(crate::pending::REUSE_WINDOW_SECONDS)),
                source,
            });
        }
    }
    Ok(Fresh {
        credentials,
        refreshed: true,
    })
}

/// The store error inside a cloud error (for `#[source]`), or the cloud error's text as one.
fn store_error(e: CloudError) -> jira_auth_core::store::StoreError {
    match e {
        CloudError::Store(e) => e,
        other => jira_auth_core::store::StoreError::Section {
            profile: String::new(),
            section: SECTION.to_owned(),
            message: other.to_string(),
        },
    }
}

/// The `cloud status` report: computed from the store alone, no request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub profile: String,
    /// `3lo` or `service_account`.
    pub kind: &'static str,
    pub site_name: String,
    pub site_url: String,
    pub cloud_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub preset: Option<String>,
    /// Scopes of the preset (or of the login's request) that were not granted.
    pub missing_scopes: Vec<String>,
    pub access_expires_at: String,
    pub access_expires_in_seconds: i64,
    pub access_expired: bool,
    pub has_refresh_token: bool,
    /// The token family's limits: `None` for a service account, which has no family.
    pub family_started_at: Option<String>,
    pub family_expires_at: Option<String>,
    pub family_days_left: Option<i64>,
    /// The last token request (a refresh, or a service account's mint).
    pub last_refreshed_at: String,
    pub inactivity_expires_at: Option<String>,
    pub inactivity_days_left: Option<i64>,
    /// Whether a valid access token can be had without a new login.
    pub usable: bool,
    pub warnings: Vec<String>,
}

impl Status {
    /// `expected`: the scopes to compare the grant with (the preset's, or the requested ones).
    pub fn compute(
        profile: &ProfileName,
        c: &CloudCredentials,
        now: i64,
        expected: &[String],
    ) -> Self {
        // Saturating throughout: the times come from a file a user may have edited.
        let family_expires = c
            .family_started_at
            .saturating_add(FAMILY_LIFETIME_DAYS * DAY);
        let inactivity_expires = c.last_refreshed_at.saturating_add(INACTIVITY_DAYS * DAY);
        // Whole days, rounded up: "25 days left" until the 25th day has fully passed.
        let days_left = |at: i64| {
            at.saturating_sub(now)
                .saturating_add(DAY - 1)
                .div_euclid(DAY)
        };
        let access_expired = c.access_remaining(now) <= 0;
        let has_refresh_token = c.refresh_token.is_some();
        let family_alive = now < family_expires && now < inactivity_expires;
        let service_account = c.kind == LoginKind::ServiceAccount;
        // A service account mints a new token with its stored secret whenever it needs one. A
        // family past either limit cannot be refreshed: whatever is left of the last access
        // token, a new login is what the user has to do next.
        let usable = if service_account {
            true
        } else if has_refresh_token {
            family_alive
        } else {
            !access_expired
        };
        let missing_scopes = crate::authorize::missing_scopes(expected, &c.scopes)
            .into_iter()
            .filter(|s| s != crate::OFFLINE_ACCESS || has_refresh_token)
            .collect::<Vec<_>>();
        let mut warnings = Vec::new();
        if has_refresh_token {
            if now >= family_expires {
                warnings.push(
                    "the token family passed its 365-day limit: run `jira-auth cloud login` again"
                        .to_owned(),
                );
            } else if days_left(family_expires) <= WARN_DAYS {
                warnings.push(format!(
                    "the token family ends in {} ({}, 365 days after consent): run `jira-auth cloud login` before then",
                    jira_auth_core::plural::count(days_left(family_expires), "day"),
                    rfc3339(family_expires)
                ));
            }
            if now >= inactivity_expires {
                warnings.push("the refresh token was unused for 90 days and has expired: run `jira-auth cloud login` again".to_owned());
            } else if days_left(inactivity_expires) <= WARN_DAYS {
                warnings.push(format!(
                    "the refresh token expires after 90 days without use, on {}: run `jira-auth cloud refresh` before then",
                    rfc3339(inactivity_expires)
                ));
            }
        } else if access_expired && !service_account {
            warnings.push("the access token expired and there is no refresh token: run `jira-auth cloud login` again".to_owned());
        }
        if !missing_scopes.is_empty() {
            warnings.push(format!(
                "scopes not granted: {}; add them to the app in the developer console (Permissions), then run `jira-auth cloud login` again",
                missing_scopes.join(" ")
            ));
        }
        let family = |v| (!service_account).then_some(v);
        Status {
            profile: profile.to_string(),
            kind: c.kind.as_str(),
            site_name: c.site_name.clone(),
            site_url: c.site_url.clone(),
            cloud_id: c.cloud_id.clone(),
            client_id: c.client_id.clone(),
            scopes: c.scopes.clone(),
            preset: c.preset.clone(),
            missing_scopes,
            access_expires_at: rfc3339(c.access_expires_at),
            access_expires_in_seconds: c.access_remaining(now),
            access_expired,
            has_refresh_token,
            family_started_at: family(rfc3339(c.family_started_at)),
            family_expires_at: family(rfc3339(family_expires)),
            family_days_left: (!service_account).then(|| days_left(family_expires)),
            last_refreshed_at: rfc3339(c.last_refreshed_at),
            inactivity_expires_at: family(rfc3339(inactivity_expires)),
            inactivity_days_left: (!service_account).then(|| days_left(inactivity_expires)),
            usable,
            warnings,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample(now: i64) -> CloudCredentials {
        CloudCredentials {
            kind: LoginKind::ThreeLegged,
            client_id: "cid".into(),
            client_secret: ClientSecret::new("csecret"),
            access_token: AccessToken::new("at-1"),
            access_expires_at: now + 3600,
            refresh_token: Some(RefreshToken::new("rt-1")),
            scopes: vec!["read:jira-work".into(), "offline_access".into()],
            requested_scopes: vec!["read:jira-work".into(), "offline_access".into()],
            preset: None,
            cloud_id: "cloud-1".into(),
            site_url: "https://acme.atlassian.net".into(),
            site_name: "acme".into(),
            family_started_at: now,
            last_refreshed_at: now,
            auth_url: "https://auth.atlassian.com/".into(),
            api_url: "https://api.atlassian.com/".into(),
            redirect_uri: "http://localhost:13131".into(),
        }
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn status_counts_days_and_warns_inside_30() {
        let p = ProfileName::default();
        let mut c = sample(NOW - 340 * DAY);
        c.last_refreshed_at = NOW - 70 * DAY;
        c.access_expires_at = NOW - 10;
        let s = Status::compute(
            &p,
            &c,
            NOW,
            &["read:jira-work".into(), "read:jira-user".into()],
        );
        assert_eq!(s.family_days_left, Some(25));
        assert_eq!(s.inactivity_days_left, Some(20));
        assert!(s.access_expired);
        assert!(s.usable);
        assert_eq!(s.missing_scopes, ["read:jira-user"]);
        assert_eq!(s.warnings.len(), 3, "{:?}", s.warnings);
        assert!(s.warnings[0].starts_with("the token family ends in 25 days"));
    }

    #[test]
    fn status_is_unusable_past_the_limits_or_without_refresh_token() {
        let p = ProfileName::default();
        let mut c = sample(NOW - 366 * DAY);
        c.access_expires_at = NOW - 1;
        c.last_refreshed_at = NOW - DAY;
        assert!(!Status::compute(&p, &c, NOW, &[]).usable);
        // Past a limit with an access token still valid: a new login is needed all the same.
        let mut c = sample(NOW - 366 * DAY);
        c.access_expires_at = NOW + 3000;
        c.last_refreshed_at = NOW - 100;
        assert!(!Status::compute(&p, &c, NOW, &[]).usable);
        let mut c = sample(NOW);
        c.last_refreshed_at = NOW - 91 * DAY;
        assert!(!Status::compute(&p, &c, NOW, &[]).usable);
        let mut c = sample(NOW);
        c.refresh_token = None;
        c.access_expires_at = NOW;
        let s = Status::compute(&p, &c, NOW, &[]);
        assert!(!s.usable);
        assert!(Status::compute(&p, &sample(NOW), NOW, &[]).usable);
    }

    #[test]
    fn refresh_keeps_the_old_refresh_token_when_none_comes() {
        let mut c = sample(NOW);
        c.apply_refresh(
            TokenSet {
                access_token: AccessToken::new("at-2"),
                expires_in: Duration::from_secs(3600),
                refresh_token: None,
                scopes: None,
            },
            NOW + 100,
        );
        assert_eq!(c.refresh_token.as_ref().unwrap().expose_secret(), "rt-1");
        assert_eq!(c.access_token.expose_secret(), "at-2");
        assert_eq!(c.access_expires_at, NOW + 3700);
        assert_eq!(c.last_refreshed_at, NOW + 100);
        assert_eq!(c.scopes, ["read:jira-work", "offline_access"]);
    }

    #[test]
    fn a_grant_records_the_consent_and_saturates_a_huge_expires_in() {
        let grant = Grant {
            client_id: "cid".into(),
            client_secret: ClientSecret::new("cs"),
            requested_scopes: vec!["read:jira-work".into(), "offline_access".into()],
            preset: Some("psoxy".into()),
            endpoints: Endpoints::default(),
            redirect_uri: "http://localhost:13131".into(),
        };
        let site = Site {
            id: "c-1".into(),
            url: "https://acme.atlassian.net".into(),
            name: "acme".into(),
            scopes: vec![],
            avatar_url: None,
        };
        let tokens = |expires_in: u64, scopes: Option<Vec<String>>| TokenSet {
            access_token: AccessToken::new("at-1"),
            expires_in: Duration::from_secs(expires_in),
            refresh_token: Some(RefreshToken::new("rt-1")),
            scopes,
        };
        let c = CloudCredentials::from_grant(grant.clone(), tokens(3600, None), &site, NOW);
        assert_eq!(c.access_expires_at, NOW + 3600);
        assert_eq!((c.family_started_at, c.last_refreshed_at), (NOW, NOW));
        // No `scope` in the response: what was requested is what was granted.
        assert_eq!(c.scopes, ["read:jira-work", "offline_access"]);
        assert_eq!((c.cloud_id.as_str(), c.site_name.as_str()), ("c-1", "acme"));
        assert_eq!(c.auth_url, "https://auth.atlassian.com/");
        let granted = Some(vec!["read:jira-work".to_owned()]);
        let c = CloudCredentials::from_grant(grant, tokens(u64::MAX, granted), &site, NOW);
        assert_eq!(c.access_expires_at, i64::MAX);
        assert_eq!(c.scopes, ["read:jira-work"]);
        assert_eq!(c.requested_scopes, ["read:jira-work", "offline_access"]);
    }

    #[test]
    fn absurd_numbers_from_a_server_or_a_file_do_not_overflow() {
        let mut c = sample(NOW);
        c.apply_refresh(
            TokenSet {
                access_token: AccessToken::new("at-2"),
                expires_in: Duration::from_secs(u64::MAX),
                refresh_token: None,
                scopes: None,
            },
            NOW,
        );
        assert_eq!(c.access_expires_at, i64::MAX);
        c.family_started_at = i64::MAX;
        c.last_refreshed_at = i64::MIN;
        let s = Status::compute(&ProfileName::default(), &c, NOW, &[]);
        assert_eq!(s.access_expires_at, "9999-12-31T23:59:59Z");
        assert_eq!(s.family_expires_at.as_deref(), Some("9999-12-31T23:59:59Z"));
        // A last refresh at the dawn of time is past the 90-day limit: a new login is needed,
        // whatever the access token says.
        assert!(!s.usable && !s.access_expired);
        c.access_expires_at = i64::MIN;
        assert_eq!(c.access_remaining(NOW), i64::MIN);
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let text = format!("{:?}", sample(NOW));
        for secret in ["csecret", "at-1", "rt-1"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.contains("client_secret: ClientSecret([redacted])"));
    }

    #[test]
    fn store_round_trip_and_forget_keeps_other_sections() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::at(dir.path());
        let p = ProfileName::default();
        assert!(matches!(
            load(&store, &p),
            Err(CloudError::NotLoggedIn { .. })
        ));
        save(&store, &p, &sample(NOW)).unwrap();
        assert_eq!(load(&store, &p).unwrap(), sample(NOW));
        {
            let g = store.lock(&p).unwrap();
            let mut prof = g.load().unwrap().unwrap();
            prof.set_section("server", &serde_json::json!({"x": 1}))
                .unwrap();
            g.save(&prof).unwrap();
        }
        assert!(forget(&store, &p).unwrap());
        assert!(!forget(&store, &p).unwrap());
        assert!(
            store
                .load(&p)
                .unwrap()
                .unwrap()
                .section_names()
                .eq(["server"])
        );
    }
}
