//! The service's shared state: configuration, the HTTP client, the cookie key, and two small
//! in-memory tables that live no longer than a consent (10 minutes).
//!
//! - `outcomes`: what became of each consent whose callback was handled, by `state` (and by
//!   pick id once a site picker was shown). A callback is exchanged once; opening it again
//!   (reload, Back, a refresh while Atlassian is slow) shows the same outcome instead of a
//!   second code exchange or a misleading "session not found".
//! - `pending`: token sets waiting for the user to pick a site. Tokens never leave the process
//!   through a response; a pending set is dropped when picked, when it expires, or on restart.
//!
//! Both are bounded: expired entries are pruned on every insert, and past [`MAX_ENTRIES`] the
//! oldest go first. Because they are in memory, the service runs as one instance (documented in
//! `docs/serve.md`); the store itself is shared with the CLI through the store's file lock.

use crate::config::{CookieKey, ServeConfig};
use crate::flow::FlowError;
use jira_auth_cloud::callback::RedirectUri;
use jira_auth_cloud::consent::Granted;
use jira_auth_cloud::sites::Site;
use jira_auth_core::http::HttpClient;
use jira_auth_core::time::unix_seconds;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// The most consent outcomes and pending picks kept at once.
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
    outcomes: Mutex<Outcomes>,
    pending: Mutex<Pending>,
    exchanges: Mutex<TokenBucket>,
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
        let bucket = TokenBucket::new(config.limits.exchanges_per_minute);
        Self(Arc::new(Inner {
            config,
            redirect,
            http,
            key,
            exchanges: Mutex::new(bucket),
            outcomes: Mutex::new(Outcomes::default()),
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

    /// Starts the record of consent `state` (kept until `expires_at`); `None` when its callback
    /// was already handled.
    pub(crate) fn begin(&self, state: &str, expires_at: i64) -> Option<Outcome> {
        let now = self.now();
        lock(&self.0.outcomes).begin(state, expires_at, now)
    }

    /// The outcome recorded under `key` (a `state`, or a pick id).
    pub(crate) fn outcome(&self, key: &str) -> Option<Outcome> {
        let now = self.now();
        lock(&self.0.outcomes).get(key, now)
    }

    /// Makes `outcome` findable by `key` too (the pick id of the picker it shows).
    pub(crate) fn alias(&self, key: &str, outcome: &Outcome, expires_at: i64) {
        let now = self.now();
        lock(&self.0.outcomes).alias(key, outcome, expires_at, now);
    }

    /// Takes one code exchange from the per-minute budget; `false` when it is spent.
    pub(crate) fn take_exchange(&self) -> bool {
        let now = self.now();
        lock(&self.0.exchanges).take(now)
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
            return PickOutcome::NoSuchSite(parked.sites.clone());
        };
        match pending.map.remove(pick) {
            Some(parked) => PickOutcome::Taken(Box::new(parked.granted), site, parked.outcome),
            None => PickOutcome::Unknown,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another request leaves the tables consistent (every update is one call).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What became of a consent, shared by every request that shows it.
#[derive(Debug, Clone)]
pub(crate) struct Outcome(Arc<(watch::Sender<Option<Finished>>, AtomicBool)>);

/// How a consent ended (so far: a picked site turns `Choosing` into `Connected`).
#[derive(Debug, Clone)]
pub(crate) enum Finished {
    /// Stored: the site, and the requested scopes that were not granted.
    Connected {
        site: Site,
        missing: Vec<String>,
    },
    /// Waiting for a site choice under this pick id.
    Choosing {
        pick: String,
        sites: Vec<Site>,
    },
    Failed(FlowError),
}

impl Outcome {
    fn new() -> Self {
        Self(Arc::new((watch::channel(None).0, AtomicBool::new(false))))
    }

    /// `true` the first time only: whether this is the first showing of the finished outcome.
    pub(crate) fn first_showing(&self) -> bool {
        !self.0.1.swap(true, Ordering::SeqCst)
    }

    /// The outcome if the consent has finished.
    pub(crate) fn current(&self) -> Option<Finished> {
        self.0.0.borrow().clone()
    }

    pub(crate) fn finish(&self, finished: Finished) {
        self.0.0.send_replace(Some(finished));
    }

    /// The outcome once known, waiting at most `patience` for a consent still in progress.
    pub(crate) async fn wait(&self, patience: std::time::Duration) -> Option<Finished> {
        let mut rx = self.0.0.subscribe();
        let done = tokio::time::timeout(patience, rx.wait_for(Option::is_some)).await;
        match done {
            Ok(Ok(finished)) => finished.clone(),
            _ => self.0.0.borrow().clone(),
        }
    }
}

#[derive(Debug, Default)]
struct Outcomes {
    order: VecDeque<(i64, String)>,
    map: HashMap<String, Outcome>,
}

impl Outcomes {
    fn prune(&mut self, now: i64) {
        while self.order.front().is_some_and(|(e, _)| *e <= now) {
            if let Some((_, k)) = self.order.pop_front() {
                self.map.remove(&k);
            }
        }
    }

    fn insert(&mut self, key: &str, outcome: Outcome, expires_at: i64) {
        if self.order.len() >= MAX_ENTRIES
            && let Some((_, k)) = self.order.pop_front()
        {
            self.map.remove(&k);
        }
        self.map.insert(key.to_owned(), outcome);
        self.order.push_back((expires_at, key.to_owned()));
    }

    fn begin(&mut self, state: &str, expires_at: i64, now: i64) -> Option<Outcome> {
        self.prune(now);
        if self.map.contains_key(state) {
            return None;
        }
        let outcome = Outcome::new();
        self.insert(state, outcome.clone(), expires_at);
        Some(outcome)
    }

    fn get(&mut self, key: &str, now: i64) -> Option<Outcome> {
        self.prune(now);
        self.map.get(key).cloned()
    }

    fn alias(&mut self, key: &str, outcome: &Outcome, expires_at: i64, now: i64) {
        self.prune(now);
        if !self.map.contains_key(key) {
            self.insert(key, outcome.clone(), expires_at);
        }
    }
}

/// The code-exchange budget: `per_minute` tokens, refilled continuously. Each exchange spends
/// the client secret at Atlassian, so a flood of cheap callbacks must not turn into a flood of
/// exchanges. Times are the service clock's seconds.
#[derive(Debug)]
struct TokenBucket {
    per_minute: u32,
    tokens: f64,
    at: Option<i64>,
}

impl TokenBucket {
    fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            tokens: f64::from(per_minute),
            at: None,
        }
    }

    fn take(&mut self, now: i64) -> bool {
        let capacity = f64::from(self.per_minute);
        if let Some(at) = self.at {
            let elapsed = now.saturating_sub(at).max(0) as f64;
            self.tokens = (self.tokens + elapsed * capacity / 60.0).min(capacity);
        }
        self.at = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A consent waiting for a site choice: its token set, and the sites the allow list leaves.
#[derive(Debug)]
pub(crate) struct Parked {
    pub granted: Granted,
    pub sites: Vec<Site>,
    pub expires_at: i64,
    /// The consent it belongs to: a pick makes it `Connected`.
    pub outcome: Outcome,
}

#[derive(Debug)]
pub(crate) enum PickOutcome {
    Taken(Box<Granted>, Site, Outcome),
    /// Never parked, already taken, or expired.
    Unknown,
    /// The site is not one of the choices offered (which are these).
    NoSuchSite(Vec<Site>),
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
    fn a_consent_begins_once_until_it_expires() {
        let mut o = Outcomes::default();
        assert!(o.begin("a", 100, 0).is_some());
        assert!(o.begin("a", 100, 50).is_none());
        assert!(o.get("a", 50).is_some());
        assert!(o.begin("b", 200, 50).is_some());
        // Once expired, the cookie itself is refused, so the entry can go.
        assert!(o.get("a", 100).is_none());
        assert!(o.begin("a", 300, 100).is_some());
        assert_eq!(o.order.len(), 2);
        assert_eq!(o.map.len(), 2);
    }

    #[test]
    fn outcomes_are_bounded() {
        let mut o = Outcomes::default();
        for i in 0..MAX_ENTRIES + 5 {
            assert!(o.begin(&i.to_string(), 1_000, 0).is_some());
        }
        assert_eq!(o.order.len(), MAX_ENTRIES);
        assert_eq!(o.map.len(), MAX_ENTRIES);
        assert!(!o.map.contains_key("0"));
    }

    #[test]
    fn an_alias_shares_the_outcome() {
        let mut o = Outcomes::default();
        let outcome = o.begin("state", 100, 0).unwrap();
        o.alias("pick", &outcome, 100, 0);
        outcome.finish(Finished::Failed(FlowError::Upstream));
        let seen = o.get("pick", 1).unwrap();
        assert!(matches!(
            seen.current(),
            Some(Finished::Failed(FlowError::Upstream))
        ));
    }

    #[test]
    fn the_exchange_budget_refills_per_minute() {
        let mut b = TokenBucket::new(2);
        assert!(b.take(0));
        assert!(b.take(0));
        assert!(!b.take(0));
        assert!(!b.take(10), "a third of a token after 10 s");
        assert!(b.take(30), "one token after 30 s");
        assert!(!b.take(30));
        let mut none = TokenBucket::new(0);
        assert!(!none.take(0));
    }
}
