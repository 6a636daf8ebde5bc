//! What the fake Atlassian remembers: issued codes, token families with their rotating refresh
//! tokens, access tokens, and the clock tests can move.

use super::{DAY, FakeConfig, TokenAnswer};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub(super) struct Code {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    pub(super) issued: u64,
    pub(super) used: bool,
}

#[derive(Debug)]
pub(super) struct Family {
    pub(super) started: u64,
    pub(super) last_used: u64,
    pub(super) revoked: bool,
}

#[derive(Debug)]
pub(super) struct Refresh {
    pub(super) family: usize,
    pub(super) scopes: Vec<String>,
    /// When it was redeemed (and so replaced); `None` while it is the current one.
    pub(super) rotated_at: Option<u64>,
}

#[derive(Debug)]
pub(super) struct Access {
    pub(super) expires: u64,
    /// The cloud ids a service account's token reaches; `None`: a user's token, any site.
    pub(super) sites: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub(super) offset: Duration,
    pub(super) counter: u64,
    pub(super) codes: HashMap<String, Code>,
    pub(super) families: Vec<Family>,
    pub(super) refresh: HashMap<String, Refresh>,
    pub(super) access: HashMap<String, Access>,
    pub(super) sites: Value,
    pub(super) refresh_error: Option<(u16, Value)>,
    /// Extra hex characters in every token minted from now on.
    pub(super) token_padding: usize,
    pub(super) token_answer: TokenAnswer,
    /// Every access and refresh token handed out, in order.
    pub(super) issued: Vec<String>,
}

impl State {
    pub(super) fn now(&self) -> u64 {
        (SystemTime::now() + self.offset)
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    pub(super) fn next(&mut self, prefix: &str) -> String {
        self.counter += 1;
        // Token-shaped but recognisable in a failing test.
        let padding = "0".repeat(self.token_padding);
        format!("{prefix}-{:04}-{}{padding}", self.counter, random_hex(8))
    }
}

#[derive(Debug, Clone)]
pub(super) struct Shared {
    pub(super) config: Arc<FakeConfig>,
    pub(super) state: Arc<Mutex<State>>,
}

impl Shared {
    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub(super) fn family_alive(f: &Family, now: u64) -> bool {
    now < f.started + 365 * DAY && now < f.last_used + 90 * DAY
}

pub(super) fn random_hex(bytes: usize) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::new();
    while out.len() < bytes * 2 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(out.len() as u64);
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out.truncate(bytes * 2);
    out
}
