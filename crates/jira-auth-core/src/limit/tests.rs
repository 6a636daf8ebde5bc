//! The limiter on tokio's paused clock: time moves only when every task waits, so round trips,
//! holds and pauses are exact and nothing sleeps for real.

#![allow(clippy::unwrap_used)]
use super::*;
use std::sync::Arc;

const RTT: Duration = Duration::from_millis(20);

fn answer(status: u16, headers: &[(&str, &str)]) -> Signals {
    let mut h = http::HeaderMap::new();
    for (k, v) in headers {
        h.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Signals::read(status, &h, SystemTime::now())
}

/// Sends as many requests as the limiter allows at once, waits one round trip, and answers
/// them all with `status(i)`, a `429` as Jira's burst limit does. Returns how many were sent.
async fn round(limiter: &Limiter, status: impl Fn(usize) -> u16) -> usize {
    round_with(limiter, status, Some(BURST_REASON)).await
}

/// [`round`] with a `429` that names `reason` (or none).
async fn round_with(
    limiter: &Limiter,
    status: impl Fn(usize) -> u16,
    reason: Option<&str>,
) -> usize {
    let mut permits = Vec::new();
    while limiter.snapshot().in_flight < limiter.snapshot().limit {
        permits.push(limiter.acquire().await.unwrap());
    }
    tokio::time::sleep(RTT).await;
    let sent = permits.len();
    for (i, p) in permits.into_iter().enumerate() {
        let s = status(i);
        let mut headers = Vec::new();
        if s == 429 {
            headers.push(("retry-after", "1"));
            headers.extend(reason.map(|r| ("ratelimit-reason", r)));
        }
        p.answered(&answer(s, &headers));
    }
    sent
}

#[tokio::test(start_paused = true)]
async fn healthy_fast_answers_grow_the_limit_to_the_ceiling_and_no_further() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    let mut sizes = Vec::new();
    for _ in 0..6 {
        sizes.push(round(&limiter, |_| 200).await);
    }
    // Slow start: every answer sent with half the window in use adds one.
    assert_eq!(sizes, [8, 13, 20, 31, 32, 32]);
    assert_eq!(limiter.snapshot().limit, 32);
}

#[tokio::test(start_paused = true)]
async fn slow_answers_do_not_grow_the_limit() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    round(&limiter, |_| 200).await;
    let grown = limiter.snapshot().limit;
    let permits: Vec<_> = futures_permits(&limiter, grown).await;
    tokio::time::sleep(RTT * 4).await;
    for p in permits {
        p.answered(&answer(200, &[]));
    }
    assert_eq!(limiter.snapshot().limit, grown);
}

async fn futures_permits(limiter: &Limiter, n: usize) -> Vec<Permit<'_>> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(limiter.acquire().await.unwrap());
    }
    v
}

#[tokio::test(start_paused = true)]
async fn a_burst_limit_backs_off_to_what_it_served_and_never_probes_it_again() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    // Eight in flight against a limit of six: two refused, one decrease for the window.
    assert_eq!(round(&limiter, |i| if i >= 6 { 429 } else { 200 }).await, 8);
    let s = limiter.snapshot();
    assert_eq!((s.limit, s.throttled), (6, 2));
    // A burst limit is a fixed width: healthy answers never probe above it during the run,
    // long after any hold would have ended.
    let rounds = (PROBE_MAX.as_millis() * 2 / RTT.as_millis()) as usize;
    for _ in 0..rounds {
        assert_eq!(round(&limiter, |_| 200).await, 6);
    }
    assert_eq!(limiter.snapshot().throttled, 2);
}

#[tokio::test(start_paused = true)]
async fn growth_while_refusals_are_on_their_way_does_not_keep_the_limit_above_the_width() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    assert_eq!(round(&limiter, |_| 200).await, 8);
    // Ten in flight against a server six wide. The six served answers are read first and
    // grow the limit to 17 before the four refusals arrive: the cut is sized by the ten in
    // flight, not by the 17 the limit reached.
    let mut permits = futures_permits(&limiter, 10).await;
    tokio::time::sleep(RTT).await;
    for p in permits.split_off(4) {
        p.answered(&answer(200, &[]));
    }
    assert_eq!(limiter.snapshot().limit, 17);
    for p in permits {
        p.answered(&answer(
            429,
            &[("retry-after", "1"), ("ratelimit-reason", BURST_REASON)],
        ));
    }
    assert_eq!(limiter.snapshot().limit, 6);
}

#[tokio::test(start_paused = true)]
async fn another_refusal_holds_the_limit_then_probes_one_per_round_trip() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    assert_eq!(
        round_with(&limiter, |i| if i >= 6 { 503 } else { 200 }, None).await,
        8
    );
    assert_eq!(limiter.snapshot().limit, 6);
    // Healthy answers do not probe above the learnt limit before the hold ends.
    let rounds = (PROBE_AFTER.as_millis() / RTT.as_millis()) as usize - 2;
    for _ in 0..rounds {
        assert_eq!(round(&limiter, |_| 200).await, 6);
    }
    // After it, growth is additive: about one per round trip.
    tokio::time::sleep(RTT * 2).await;
    round(&limiter, |_| 200).await;
    round(&limiter, |_| 200).await;
    assert_eq!(limiter.snapshot().limit, 7);
}

#[tokio::test(start_paused = true)]
async fn answers_not_yet_read_do_not_make_the_server_look_wider() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    assert_eq!(round(&limiter, |_| 200).await, 8);
    assert_eq!(limiter.snapshot().limit, 13);
    // Four sent a round trip ago: the server is done with them, their answers not yet read.
    let old = futures_permits(&limiter, 4).await;
    tokio::time::sleep(RTT + RTT / 4).await;
    // Nine more against a server six wide: three refused. Thirteen are in flight, but the
    // server was serving nine when it refused: it is six wide, not ten.
    let served = futures_permits(&limiter, 6).await;
    let refused = futures_permits(&limiter, 3).await;
    tokio::time::sleep(RTT).await;
    for p in refused {
        p.answered(&answer(
            429,
            &[("retry-after", "1"), ("ratelimit-reason", BURST_REASON)],
        ));
    }
    for p in old.into_iter().chain(served) {
        p.answered(&answer(200, &[]));
    }
    assert_eq!(limiter.snapshot().limit, 6);
}

#[tokio::test(start_paused = true)]
async fn refusals_at_the_learnt_limit_halve_it_at_most_once_per_window() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    round(&limiter, |i| if i >= 6 { 429 } else { 200 }).await;
    // Every request of the next window refused: the limit halves, no further.
    round(&limiter, |_| 429).await;
    assert_eq!(limiter.snapshot().limit, 3);
    round(&limiter, |_| 503).await;
    assert_eq!(limiter.snapshot().limit, 1);
    round(&limiter, |_| 503).await;
    assert_eq!(limiter.snapshot().limit, 1, "never below one");
}

#[tokio::test(start_paused = true)]
async fn a_warning_lowers_the_limit_by_a_quarter_once_per_window() {
    let limiter = Limiter::new(Mode::Adaptive { ceiling: 32 });
    let permits = futures_permits(&limiter, 8).await;
    for p in permits {
        p.answered(&answer(200, &[("x-ratelimit-nearlimit", "true")]));
    }
    assert_eq!(limiter.snapshot().limit, 6);
    assert_eq!(limiter.snapshot().throttled, 0);
}

#[tokio::test(start_paused = true)]
async fn retry_after_pauses_every_request_of_the_client() {
    let limiter = Arc::new(Limiter::new(Mode::Adaptive { ceiling: 32 }));
    let start = Instant::now();
    let p = limiter.acquire().await.unwrap();
    limiter.pause_for(Duration::from_secs(1));
    drop(p);
    // Other tasks, which were never refused, wait for the pause too.
    let waits: Vec<_> = (0..3)
        .map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let _p = limiter.acquire().await.unwrap();
                Instant::now() - start
            })
        })
        .collect();
    for w in waits {
        assert_eq!(w.await.unwrap(), Duration::from_secs(1));
    }
    // A shorter pause asked later does not shorten it.
    limiter.pause_for(Duration::from_secs(5));
    limiter.pause_for(Duration::from_secs(1));
    let _p = limiter.acquire().await.unwrap();
    assert_eq!(Instant::now() - start, Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn requests_wait_for_a_free_place() {
    let limiter = Arc::new(Limiter::new(Mode::Fixed(2)));
    let a = limiter.acquire().await.unwrap();
    let _b = limiter.acquire().await.unwrap();
    let waiting = {
        let limiter = limiter.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let _c = limiter.acquire().await.unwrap();
            Instant::now() - start
        })
    };
    tokio::time::sleep(RTT).await;
    a.answered(&answer(200, &[]));
    assert_eq!(waiting.await.unwrap(), RTT);
}

#[tokio::test(start_paused = true)]
async fn fixed_mode_keeps_its_limit_whatever_the_answers() {
    let limiter = Limiter::new(Mode::Fixed(8));
    round(&limiter, |i| if i >= 6 { 429 } else { 200 }).await;
    round(&limiter, |_| 200).await;
    assert_eq!(limiter.snapshot().limit, 8);
    assert!(!limiter.shares_pauses());
}

#[tokio::test(start_paused = true)]
async fn a_spent_quota_stops_every_later_request_naming_the_reset() {
    for mode in [Mode::Adaptive { ceiling: 8 }, Mode::Fixed(8)] {
        let limiter = Limiter::new(mode);
        let inflight = limiter.acquire().await.unwrap();
        let p = limiter.acquire().await.unwrap();
        let spent = p
            .answered(&answer(
                429,
                &[
                    ("beta-ratelimit", "\"tenant-app-quota\";r=0;t=1800"),
                    ("x-beta-ratelimit-reason", "jira-quota-tenant-based"),
                ],
            ))
            .unwrap();
        assert_eq!(spent.reason, "jira-quota-tenant-based");
        let reset = spent.reset_at.unwrap();
        let ahead = reset.duration_since(SystemTime::now()).unwrap();
        assert!(ahead <= Duration::from_secs(1800) && ahead > Duration::from_secs(1790));
        let err = limiter.acquire().await.unwrap_err();
        assert_eq!(err, spent);
        assert!(
            err.to_string().starts_with(
                "Jira's hourly API quota for this app is spent (jira-quota-tenant-based): it resets at "
            ),
            "{err}"
        );
        assert!(err.to_string().contains("(in 30 min)"), "{err}");
        // A request already in flight still finishes.
        assert_eq!(inflight.answered(&answer(200, &[])), None);
        assert!(limiter.snapshot().spent.is_some());
    }
}

#[test]
fn an_unknown_reset_is_said_plainly() {
    let e = QuotaSpent {
        reason: "jira-quota-global-based".into(),
        reset_at: None,
    };
    assert_eq!(
        e.to_string(),
        "Jira's hourly API quota for this app is spent (jira-quota-global-based); the server did not say when it resets (hourly quotas reset within the hour): run the command again later"
    );
}

/// What a steady load against a burst-limited server measured.
#[derive(Debug)]
struct Load {
    wall: Duration,
    refused: usize,
    /// Client-wide pauses that started after the previous one ended.
    pauses: usize,
    limit: usize,
}

/// `workers` tasks send `requests` requests through one limiter to a server `width` wide that
/// serves each for [`RTT`] and refuses what it cannot serve as Jira's burst limit does (after
/// the same round trip); a refused request is sent again after the pause it asked for. Each
/// answer is read up to `late` after the server sent it (a busy client reads some answers
/// together), by a pseudo-random draw from `seed`.
async fn steady_load(
    width: usize,
    requests: usize,
    workers: usize,
    late: Duration,
    seed: u64,
) -> Load {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    let draws = Arc::new(AtomicU64::new(seed.max(1)));
    let limiter = Arc::new(Limiter::new(Mode::Adaptive { ceiling: 32 }));
    let serving = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let next = Arc::new(AtomicUsize::new(0));
    let pauses = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (limiter, serving, next, pauses) = (
                limiter.clone(),
                serving.clone(),
                next.clone(),
                pauses.clone(),
            );
            let draws = draws.clone();
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < requests {
                    loop {
                        let permit = limiter.acquire().await.unwrap();
                        let now = Instant::now();
                        let admitted = {
                            let mut s = serving.lock().unwrap();
                            s.retain(|done| *done > now);
                            let admitted = s.len() < width;
                            if admitted {
                                s.push(now + RTT);
                            }
                            admitted
                        };
                        // xorshift64: the same draws for the same seed.
                        let mut x = draws.load(Ordering::Relaxed);
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        draws.store(x, Ordering::Relaxed);
                        tokio::time::sleep(RTT + late.mul_f64((x % 1000) as f64 / 1000.0)).await;
                        if admitted {
                            permit.answered(&answer(200, &[]));
                            break;
                        }
                        let now = Instant::now();
                        let mut p = pauses.lock().unwrap();
                        if p.last().is_none_or(|until| now >= *until) {
                            p.push(now + Duration::from_secs(1));
                        }
                        drop(p);
                        limiter.pause_for(Duration::from_secs(1));
                        permit.answered(&answer(
                            429,
                            &[("retry-after", "1"), ("ratelimit-reason", BURST_REASON)],
                        ));
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    Load {
        wall: Instant::now() - start,
        refused: limiter.snapshot().throttled as usize,
        pauses: pauses.lock().unwrap().len(),
        limit: limiter.snapshot().limit,
    }
}

#[tokio::test(start_paused = true)]
async fn a_steady_load_on_a_burst_limit_pays_one_pause_and_runs_at_its_width() {
    let load = steady_load(6, 1100, 32, Duration::ZERO, 1).await;
    // The first window sends eight against six: two refused, one client-wide pause, and the
    // rest at the server's width, within two round trips of the bound but for that pause.
    assert_eq!(
        (load.refused, load.pauses, load.limit),
        (2, 1, 6),
        "{load:?}"
    );
    let bound = RTT * 1100 / 6;
    assert!(
        load.wall <= bound + Duration::from_secs(1) + RTT * 2,
        "{load:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn answers_read_late_still_find_the_width_with_one_pause() {
    // Read up to 2 ms late, served answers of the first round can let a second round out
    // before the first round's refusals are read: one window then holds refusals of two
    // rounds, and subtracting them all from one round's width would land below six.
    for seed in 1..=10 {
        let load = steady_load(6, 1100, 32, Duration::from_millis(2), seed).await;
        assert_eq!((load.pauses, load.limit), (1, 6), "seed {seed}: {load:?}");
    }
}
