//! Adaptive concurrency: how many requests one command keeps in flight, learnt from the server's
//! answers, and the client-wide pause a `Retry-After` asks for.
//!
//! The algorithm is additive-increase / multiplicative-decrease (AIMD; Chiu and Jain, "Analysis
//! of the Increase and Decrease Algorithms for Congestion Avoidance in Computer Networks",
//! 1989), in the shape TCP uses for its congestion window (Jacobson, "Congestion Avoidance and
//! Control", SIGCOMM 1988; RFC 5681 §3.1) and Netflix's `concurrency-limits` uses for requests
//! (`AIMDLimit`):
//!
//! - **Slow start.** The limit starts at [`INITIAL`] and grows by one for every healthy answer
//!   (so it doubles every round trip) up to the slow-start threshold, then by `1/limit` per
//!   answer (one per round trip). It grows only while the window is in use (an answer sent with
//!   at least half the limit in flight, as `AIMDLimit` requires) and the answer was fast (within
//!   [`SLOW_FACTOR`] × the fastest round trip seen): a server that slows down is not pushed
//!   harder.
//! - **Decrease, once per window.** A rejection (`429`, `503`) lowers the limit once for all
//!   requests sent in the same window (RFC 5681 §3.2: one reduction per window of data). Like
//!   RFC 5681 (4), the new limit is sized by what was in flight, not by the old limit: the
//!   most that were in flight in that window minus the ones refused, which is the capacity a
//!   concurrency limit such as Jira's burst limit actually has. Since the refusal's pause starts
//!   before any request can follow it (below), every refusal of the window is counted before
//!   the next request goes out: the limit lands on the served width in one step instead of
//!   halving again in the next window. (The number in flight when a refused request was sent
//!   is no bound on its own: requests overtake each other on the way, so the one refused need
//!   not be the last sent. But when served answers are read before a round's refusals, the
//!   next round goes out in the same window, and the most in flight minus every refusal of the
//!   window subtracts two rounds' refusals from one round's width; so each refusal also counts
//!   the requests sent within a round trip before it less the refusals among them, and the
//!   larger count wins.) It never falls below half the most in flight in the window (the
//!   multiplicative decrease, β = ½, of RFC 5681's `FlightSize / 2`; not half the limit,
//!   which slow start may have raised far above the width while the refusals were on their
//!   way) nor below one. A served answer that warns (near-limit, few requests or quota points
//!   left, a `RateLimit-Reason`) lowers it by a quarter, also once per window.
//! - **Hold after a decrease.** The decreased limit is also the slow-start threshold and a
//!   ceiling: the limiter does not probe above it for [`PROBE_AFTER`] (doubled after every
//!   further decrease, at most [`PROBE_MAX`]). After a refusal that names Jira's burst limit
//!   (`RateLimit-Reason: jira-burst-based`) it never probes above it again: that limit is a
//!   fixed capacity, not congestion that clears, and every probe into it costs a client-wide
//!   `Retry-After` pause.
//! - **Client-wide pause.** A `Retry-After` (or the retry policy's backoff) pauses every new
//!   request of the client, not only the one refused ([`Limiter::pause_for`]); the HTTP client
//!   sets the pause before the refused answer frees its place, so no request slips out between
//!   the refusal and the pause.
//! - **Quota.** A `429` from the hourly quota makes every later request fail at once with
//!   [`QuotaSpent`], naming when the quota resets; requests already in flight finish.
//!
//! [`Mode::Fixed`] keeps a constant limit and per-request waits (the behaviour before the
//! limiter existed); only the quota stop applies to it.
//!
//! Architecture invariant: the limiter decides and counts; it never sends a request and never
//! prints. The HTTP client ([`crate::http::HttpClient::with_limiter`]) asks it before every
//! attempt and tells it every answer.

mod signals;

pub use signals::{MAX_RESET, Quota, Signals};

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Requests in flight at the start of an adaptive run.
pub const INITIAL: usize = 8;
/// An answer slower than this many times the fastest round trip seen does not grow the limit.
pub const SLOW_FACTOR: u32 = 3;
/// How long a decreased limit holds before the limiter probes above it again.
pub const PROBE_AFTER: Duration = Duration::from_secs(10);
/// The longest hold, however many decreases came before.
pub const PROBE_MAX: Duration = Duration::from_secs(300);
/// The `RateLimit-Reason` of Jira Cloud's burst limit.
pub const BURST_REASON: &str = "jira-burst-based";

/// How the limit is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Learnt from the answers, never above `ceiling`.
    Adaptive { ceiling: usize },
    /// Always this many in flight; each throttled request waits on its own.
    Fixed(usize),
}

/// The hourly quota is spent: nothing more is sent until it resets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Jira's hourly API quota for this app is spent ({reason}){}",
    match reset_at {
        Some(at) => format!(": it resets at {} (in {}); run the command again then", crate::time::rfc3339(crate::time::unix_seconds(*at)), minutes_until(*at)),
        None => "; the server did not say when it resets (hourly quotas reset within the hour): run the command again later".to_owned(),
    }
)]
pub struct QuotaSpent {
    /// The `RateLimit-Reason` the server gave, or what was seen.
    pub reason: String,
    /// When the quota resets, if the server said.
    pub reset_at: Option<SystemTime>,
}

fn minutes_until(at: SystemTime) -> String {
    let seconds = at
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
        .as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        _ => format!("{} min", seconds.div_ceil(60)),
    }
}

/// What the limiter knows, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Requests allowed in flight now.
    pub limit: usize,
    pub in_flight: usize,
    /// Answers seen.
    pub answered: u64,
    /// Answers that were `429` or `503`.
    pub throttled: u64,
    /// The quota report with the fewest points left, if any.
    pub quota: Option<Quota>,
    /// Set once the quota was reported nearly spent.
    pub quota_low: bool,
    /// Set once the quota is spent.
    pub spent: Option<QuotaSpent>,
}

/// The limit of one client (shared by every request of one command).
#[derive(Debug)]
pub struct Limiter {
    mode: Mode,
    state: Mutex<State>,
    freed: Notify,
}

#[derive(Debug)]
struct State {
    limit: f64,
    /// Above this, growth is additive (RFC 5681's `ssthresh`).
    threshold: f64,
    /// No growth above `threshold` before this instant.
    hold_until: Option<Instant>,
    /// A burst limit refused a request: no growth above `threshold` for the rest of the run.
    capped: bool,
    hold: Duration,
    in_flight: usize,
    /// Bumped on every decrease: answers to requests sent before it do not decrease again.
    window: u64,
    /// The most in flight during the current window, counting only requests sent within the
    /// fastest round trip (see [`State::young`]).
    peak: usize,
    /// When each request in flight was sent (how many at each instant).
    sent: BTreeMap<Instant, usize>,
    /// The last decrease: the window it judged, its peak, and the refusals of that window so
    /// far.
    cut: Option<Cut>,
    fastest: Option<Duration>,
    paused_until: Option<Instant>,
    answered: u64,
    throttled: u64,
    quota: Option<Quota>,
    quota_low: bool,
    spent: Option<QuotaSpent>,
}

#[derive(Debug, Clone)]
struct Cut {
    window: u64,
    peak: usize,
    /// Each refusal of the window: when it was sent and how many requests were young then
    /// ([`State::young`]), itself included.
    refusals: Vec<(Instant, usize)>,
}

/// Refusals of one window kept for sizing its cut: enough for any width this limiter reaches.
const REFUSALS_KEPT: usize = 256;

impl Cut {
    /// The limit this window's refusals point to: what the server served of it. Two counts,
    /// the larger wins:
    /// - the most young in the window minus every refusal of it: right when the window was
    ///   one round of requests, whichever of them the server refused (requests overtake each
    ///   other on the way);
    /// - for each refusal, the requests young when it was sent minus the refusals among them:
    ///   right when the window spans several rounds (served answers read before the refusals
    ///   let another round go out), where the first count subtracts every round's refusals
    ///   from one round's width.
    fn target(&self, fastest: Option<Duration>) -> f64 {
        let whole = self.peak.saturating_sub(self.refusals.len());
        let each = self.refusals.iter().map(|&(sent, young)| {
            let since = fastest.and_then(|f| sent.checked_sub(f));
            let refused_with = self
                .refusals
                .iter()
                .filter(|(other, _)| *other <= sent && since.is_none_or(|s| *other > s))
                .count();
            young.saturating_sub(refused_with)
        });
        each.fold(whole, usize::max) as f64
    }
}

/// One request's place in flight; returned to the limiter with [`Permit::answered`] or, if the
/// request failed without an answer, on drop.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
    sent: Instant,
    in_flight: usize,
    /// Requests sent within the fastest round trip when this one was sent, itself included.
    young: usize,
    window: u64,
    open: bool,
}

impl Limiter {
    pub fn new(mode: Mode) -> Self {
        let (limit, threshold) = match mode {
            Mode::Adaptive { ceiling } => {
                let ceiling = ceiling.max(1);
                (INITIAL.min(ceiling), ceiling)
            }
            Mode::Fixed(n) => (n.max(1), n.max(1)),
        };
        Self {
            mode,
            freed: Notify::new(),
            state: Mutex::new(State {
                limit: limit as f64,
                threshold: threshold as f64,
                hold_until: None,
                capped: false,
                hold: PROBE_AFTER,
                in_flight: 0,
                window: 0,
                peak: 0,
                sent: BTreeMap::new(),
                cut: None,
                fastest: None,
                paused_until: None,
                answered: 0,
                throttled: 0,
                quota: None,
                quota_low: false,
                spent: None,
            }),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The most requests this limiter ever lets fly at once.
    pub fn ceiling(&self) -> usize {
        match self.mode {
            Mode::Adaptive { ceiling } => ceiling.max(1),
            Mode::Fixed(n) => n.max(1),
        }
    }

    /// Whether a `Retry-After` pauses the whole client ([`Mode::Adaptive`]) or only the request
    /// it answered ([`Mode::Fixed`]).
    pub fn shares_pauses(&self) -> bool {
        matches!(self.mode, Mode::Adaptive { .. })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a task panicked mid-update; the counters are still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self) -> Snapshot {
        let s = self.lock();
        Snapshot {
            limit: s.allowed(),
            in_flight: s.in_flight,
            answered: s.answered,
            throttled: s.throttled,
            quota: s.quota,
            quota_low: s.quota_low,
            spent: s.spent.clone(),
        }
    }

    /// Waits for a place in flight (and for any client-wide pause to end). Fails at once when
    /// the quota is spent.
    pub async fn acquire(&self) -> Result<Permit<'_>, QuotaSpent> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let pause = {
                let mut s = self.lock();
                if let Some(spent) = &s.spent {
                    return Err(spent.clone());
                }
                let now = Instant::now();
                match s.paused_until {
                    Some(until) if until > now => Some(until),
                    _ => {
                        if s.in_flight < s.allowed() {
                            s.in_flight += 1;
                            *s.sent.entry(now).or_default() += 1;
                            let young = s.young(now);
                            s.peak = s.peak.max(young);
                            return Ok(Permit {
                                limiter: self,
                                sent: now,
                                in_flight: s.in_flight,
                                young,
                                window: s.window,
                                open: true,
                            });
                        }
                        None
                    }
                }
            };
            match pause {
                Some(until) => tokio::time::sleep_until(until).await,
                None => freed.await,
            }
        }
    }

    /// Pauses every request not yet sent for `delay` (a later pause wins over an earlier one).
    pub fn pause_for(&self, delay: Duration) {
        let Some(until) = Instant::now().checked_add(delay) else {
            return;
        };
        let mut s = self.lock();
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }

    fn release(&self, sent: Instant) {
        let mut s = self.lock();
        s.in_flight = s.in_flight.saturating_sub(1);
        if let Some(n) = s.sent.get_mut(&sent) {
            *n -= 1;
            if *n == 0 {
                s.sent.remove(&sent);
            }
        }
        drop(s);
        self.freed.notify_waiters();
    }

    /// Takes what one answer said; returns the spent quota if this answer spent it.
    fn learn(&self, permit: &Permit<'_>, signals: &Signals) -> Option<QuotaSpent> {
        let now = Instant::now();
        let rtt = now.saturating_duration_since(permit.sent);
        let mut s = self.lock();
        s.answered += 1;
        if signals.rejected() {
            s.throttled += 1;
        }
        // Answers arrive out of order: the fewest points left is the latest news.
        if let Some(q) = signals.quota
            && s.quota.is_none_or(|old| q.remaining <= old.remaining)
        {
            s.quota = Some(q);
        }
        if signals.quota_low() {
            s.quota_low = true;
        }
        if signals.quota_spent() {
            let spent = QuotaSpent {
                reason: signals
                    .reason
                    .clone()
                    .unwrap_or_else(|| "no quota points left".to_owned()),
                reset_at: signals.reset_at(),
            };
            s.spent.get_or_insert(spent.clone());
            return Some(spent);
        }
        let Mode::Adaptive { ceiling } = self.mode else {
            return None;
        };
        let ceiling = ceiling.max(1) as f64;
        if signals.rejected() {
            if signals.reason.as_deref() == Some(BURST_REASON) {
                s.capped = true;
            }
            s.decrease(permit, now, None);
        } else if signals.warned() {
            s.decrease(permit, now, Some(0.75));
        } else {
            s.grow(permit, now, rtt, ceiling);
        }
        None
    }
}

impl State {
    /// Requests in flight that were sent within the fastest round trip seen: those the server
    /// may still be serving. An older one has been answered and its answer is on the way or
    /// not yet read; counting it would make the server look wider than it is.
    fn young(&self, now: Instant) -> usize {
        match self.fastest.and_then(|f| now.checked_sub(f)) {
            Some(since) => self
                .sent
                .range((std::ops::Bound::Excluded(since), std::ops::Bound::Unbounded))
                .map(|(_, n)| n)
                .sum(),
            None => self.in_flight,
        }
    }

    /// Requests allowed in flight now.
    fn allowed(&self) -> usize {
        (self.limit.floor() as usize).max(1)
    }

    fn grow(&mut self, permit: &Permit<'_>, now: Instant, rtt: Duration, ceiling: f64) {
        let fastest = *self.fastest.get_or_insert(rtt);
        self.fastest = Some(fastest.min(rtt));
        let in_use = permit.in_flight * 2 >= self.allowed();
        let fast = rtt <= fastest.saturating_mul(SLOW_FACTOR);
        if !(in_use && fast) {
            return;
        }
        let held = self.capped || self.hold_until.is_some_and(|h| now < h);
        let step = if self.limit < self.threshold {
            1.0
        } else if held {
            0.0
        } else {
            1.0 / self.limit
        };
        let cap = if held { self.threshold } else { ceiling };
        self.limit = (self.limit + step).min(cap.max(self.limit)).min(ceiling);
    }

    /// One decrease per window: `factor` for a warning, else sized by what was in flight.
    fn decrease(&mut self, permit: &Permit<'_>, now: Instant, factor: Option<f64>) {
        let refusal = (permit.sent, permit.young);
        let (new, peak) = if permit.window == self.window {
            let cut = Cut {
                window: permit.window,
                peak: self.peak.max(1),
                refusals: factor.is_none().then_some(refusal).into_iter().collect(),
            };
            self.window += 1;
            // The new window counts only what is sent in it.
            self.peak = 0;
            self.hold_until = now.checked_add(self.hold);
            self.hold = self.hold.saturating_mul(2).min(PROBE_MAX);
            let new = match factor {
                Some(f) => self.limit * f,
                None => cut.target(self.fastest),
            };
            let peak = cut.peak;
            self.cut = Some(cut);
            (new, peak)
        } else {
            // Another answer of the window already judged: only a refusal lowers it further.
            let fastest = self.fastest;
            match (&mut self.cut, factor) {
                (Some(cut), None) if cut.window == permit.window => {
                    if cut.refusals.len() < REFUSALS_KEPT {
                        cut.refusals.push(refusal);
                    }
                    (cut.target(fastest), cut.peak)
                }
                _ => return,
            }
        };
        // RFC 5681 (4): never below half of what was in flight, however far the limit grew
        // while the window's answers were on their way.
        let floor = peak as f64 / 2.0;
        self.limit = self.limit.min(new.max(floor)).max(1.0).floor();
        self.threshold = self.limit;
    }
}

impl Permit<'_> {
    /// The answer came back: tell the limiter and free the place. Returns the spent quota when
    /// this answer spent it.
    pub fn answered(mut self, signals: &Signals) -> Option<QuotaSpent> {
        let spent = self.limiter.learn(&self, signals);
        self.open = false;
        self.limiter.release(self.sent);
        spent
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.open {
            self.limiter.release(self.sent);
        }
    }
}

#[cfg(test)]
mod tests;
