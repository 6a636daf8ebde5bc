//! The service's shared state: configuration, the HTTP client, the cookie key, and two small
//! in-memory tables that live no longer than a consent (10 minutes).
//!
//! - `consumed`: the `state` values whose callback was already handled, so a replayed callback
//!   (back button, a leaked URL with the cookie) is refused before a second code exchange.
//! - `pending`: token sets waiting for the user to pick a site. Tokens never leave the process
//!   through a response; a pending set is dropped when picked, when it expires, or on restart.
//!
//! Both are bounded: expired entries are pruned on every insert, and past [`MAX_ENTRIES`] the
//! oldest go first. Because they are in memory, the service runs as one instance (documented in
//! `docs/serve.md`); the store itself is shared with the CLI through the store's file lock.

use crate::config::{CookieKey, ServeConfig};
use jira_auth_cloud::callback::RedirectUri;
use jira_auth_cloud::consent::Granted;
use jira_auth_cloud::sites::Site;
use jira_auth_core::http::HttpClient;
use jira_auth_core::time::unix_seconds;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The most consumed states and pending picks kept at once.
pub const MAX_ENTRIES: usize = 10_000;

/// Shared by every request; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

#[derive(Debug)]
pub(crate) struct Inner {
    pub config: ServeConfig,
    pub redirect: RedirectUri,
    pub http: HttpClient,
    pub key: CookieKey,
    consumed: Mutex<Consumed>,
    pending: Mutex<Pending>,
}

impl AppState {
    /// The state for `config`, talking to Atlassian through `http` (whose clock is the
    /// service's clock: cookie expiry and stored times come from it).
    ///
    /// Without a configured cookie key a random one is used, and a warning says so.
    pub fn new(config: ServeConfig, http: HttpClient) -> Self {
        let key = match &config.cookie_key {
            Some(k) => k.clone(),
            None => {
                tracing::warn!(
                    "no cookie key configured (`JIRA_AUTH_COOKIE_KEY` or `--cookie-key-file`): using a random key for this process; consents in progress fail after a restart"
                );
                CookieKey::random()
            }
        };
        if !config.public_url.is_https() {
            tracing::warn!(
                public_url = config.public_url.origin(),
                "the public URL is not https: the state cookie is sent without `Secure`; serve behind HTTPS in production"
            );
        }
        if config.allow_sites.is_empty() {
            tracing::warn!(
                public_url = config.public_url.origin(),
                "no `--allow-site`: whoever can open the public URL can connect any Jira site and replace the login stored under profile `{}`",
                config.profile
            );
        }
        let redirect = config.public_url.redirect_uri();
        Self(Arc::new(Inner {
            config,
            redirect,
            http,
            key,
            consumed: Mutex::new(Consumed::default()),
            pending: Mutex::new(Pending::default()),
        }))
    }

    /// The callback URL to register in the developer console.
    pub fn redirect_uri(&self) -> &RedirectUri {
        &self.0.redirect
    }

    pub fn config(&self) -> &ServeConfig {
        &self.0.config
    }

    pub(crate) fn now(&self) -> i64 {
        unix_seconds(self.0.http.clock().now())
    }

    /// Marks `state` as handled until `expires_at`; `false` when it already was.
    pub(crate) fn consume(&self, state: &str, expires_at: i64) -> bool {
        let now = self.now();
        lock(&self.0.consumed).insert(state, expires_at, now)
    }

    pub(crate) fn park(&self, pick: String, parked: Parked) {
        let now = self.now();
        lock(&self.0.pending).insert(pick, parked, now);
    }

    /// Looks at the parked token set `pick` and, when `choose` finds the site in it, takes it.
    pub(crate) fn take_pick(&self, pick: &str, site_id: &str) -> PickOutcome {
        let now = self.now();
        let mut pending = lock(&self.0.pending);
        pending.prune(now);
        let Some(parked) = pending.map.get(pick) else {
            return PickOutcome::Unknown;
        };
        let Some(site) = parked.sites.iter().find(|s| s.id == site_id).cloned() else {
            return PickOutcome::NoSuchSite;
        };
        match pending.map.remove(pick) {
            Some(parked) => PickOutcome::Taken(Box::new(parked.granted), site),
            None => PickOutcome::Unknown,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another request leaves the tables consistent (every update is one call).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Debug, Default)]
struct Consumed {
    order: VecDeque<(i64, String)>,
    set: HashSet<String>,
}

impl Consumed {
    fn insert(&mut self, state: &str, expires_at: i64, now: i64) -> bool {
        while self.order.front().is_some_and(|(e, _)| *e <= now) {
            if let Some((_, s)) = self.order.pop_front() {
                self.set.remove(&s);
            }
        }
        if self.set.contains(state) {
            return false;
        }
        if self.order.len() >= MAX_ENTRIES
            && let Some((_, s)) = self.order.pop_front()
        {
            self.set.remove(&s);
        }
        self.set.insert(state.to_owned());
        self.order.push_back((expires_at, state.to_owned()));
        true
    }
}

/// A consent waiting for a site choice: its token set, and the sites the allow list leaves.
#[derive(Debug)]
pub(crate) struct Parked {
    pub granted: Granted,
    pub sites: Vec<Site>,
    pub expires_at: i64,
}

#[derive(Debug)]
pub(crate) enum PickOutcome {
    Taken(Box<Granted>, Site),
    /// Never parked, already taken, or expired.
    Unknown,
    /// The site is not one of the choices offered.
    NoSuchSite,
}

#[derive(Debug, Default)]
struct Pending {
    map: HashMap<String, Parked>,
}

impl Pending {
    fn prune(&mut self, now: i64) {
        self.map.retain(|_, p| p.expires_at > now);
    }

    fn insert(&mut self, pick: String, parked: Parked, now: i64) {
        self.prune(now);
        while self.map.len() >= MAX_ENTRIES {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, p)| p.expires_at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.map.remove(&k),
                None => break,
            };
        }
        self.map.insert(pick, parked);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumed_states_are_refused_until_they_expire() {
        let mut c = Consumed::default();
        assert!(c.insert("a", 100, 0));
        assert!(!c.insert("a", 100, 50));
        assert!(c.insert("b", 200, 50));
        // Once expired, the cookie itself is refused, so the entry can go.
        assert!(c.insert("a", 300, 100));
        assert_eq!(c.order.len(), 2);
        assert_eq!(c.set.len(), 2);
    }

    #[test]
    fn consumed_is_bounded() {
        let mut c = Consumed::default();
        for i in 0..MAX_ENTRIES + 5 {
            assert!(c.insert(&i.to_string(), 1_000, 0));
        }
        assert_eq!(c.order.len(), MAX_ENTRIES);
        assert_eq!(c.set.len(), MAX_ENTRIES);
        assert!(!c.set.contains("0"));
    }
}
