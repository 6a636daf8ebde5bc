//! What a response says about the server's limits, read from its status and headers. Pure: no
//! clock but the `now` it is given, no state.
//!
//! Jira Cloud sends three families of headers (Atlassian, "Rate limiting", Jira Cloud platform
//! developer documentation, updated March 2026; header names as sites send them since the
//! points-based quotas were enforced on 2 March 2026):
//!
//! - the burst limit (per second, per endpoint): `429` with `Retry-After` and
//!   `RateLimit-Reason: jira-burst-based`; `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
//!   `X-RateLimit-NearLimit: true` on ordinary answers;
//! - the points-based hourly quota of OAuth 2.0 (3LO), Forge and Connect apps, in the
//!   structured fields of the IETF RateLimit header draft (`draft-ietf-httpapi-ratelimit-headers`)
//!   behind a `Beta-` prefix: `Beta-RateLimit-Policy: "tenant-app-quota";q=100100;w=3600` (quota
//!   points `q` per window `w` seconds) and `Beta-RateLimit: "tenant-app-quota";r=17842;t=2107`
//!   (`r` points left, `t` seconds until the window resets), with
//!   `X-Beta-RateLimit-Reason: jira-quota-tenant-based` (or `jira-quota-global-based`),
//!   `X-Beta-RateLimit-NearLimit: true` and `X-Beta-RateLimit-Reset`;
//! - `503` when a resource limit is reached, sometimes with `Retry-After`.
//!
//! Both spellings of each header are read (with and without `Beta-` / `X-Beta-`), since the
//! beta prefix is documented to go away. Every number is range-checked: a value that does not
//! parse, or a reset further than [`MAX_RESET`] away, is ignored rather than trusted.

use std::time::{Duration, SystemTime};

/// Resets further away than this are not believed (a broken or hostile header).
pub const MAX_RESET: Duration = Duration::from_secs(24 * 60 * 60);

/// Below this share of the quota left, the quota is "nearly spent".
const QUOTA_LOW_PERCENT: u64 = 10;

/// The points-based quota as one response reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Points left in the window (`r`).
    pub remaining: u64,
    /// Points per window (`q` of the policy), when the policy was sent.
    pub limit: Option<u64>,
    /// When the window resets, when the server said.
    pub reset_at: Option<SystemTime>,
}

impl Quota {
    /// Less than a tenth of the quota left (or none at all).
    pub fn low(&self) -> bool {
        match self.limit {
            Some(limit) if limit > 0 => {
                self.remaining.saturating_mul(100) < limit.saturating_mul(QUOTA_LOW_PERCENT)
            }
            _ => self.remaining == 0,
        }
    }
}

/// The limiter's view of one response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// The HTTP status.
    pub status: u16,
    /// `RateLimit-Reason` (or its `X-` / `X-Beta-` spelling): which limit spoke.
    pub reason: Option<String>,
    /// `X-RateLimit-NearLimit: true` (or `X-Beta-RateLimit-NearLimit`).
    pub near_limit: bool,
    /// `X-RateLimit-Remaining`, with `X-RateLimit-Limit` when sent.
    pub remaining: Option<(u64, Option<u64>)>,
    /// The points-based quota, when reported.
    pub quota: Option<Quota>,
    /// When the server says to come back (`Retry-After`, else a reset header).
    pub retry_at: Option<SystemTime>,
}

impl Signals {
    /// Reads `headers` of a response with `status`, received at `now`.
    pub fn read(status: u16, headers: &http::HeaderMap, now: SystemTime) -> Self {
        let header = |names: &[&str]| {
            names.iter().find_map(|name| {
                headers
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
            })
        };
        let number = |names: &[&str]| header(names).and_then(|v| v.parse::<u64>().ok());
        let reason = header(&[
            "ratelimit-reason",
            "x-ratelimit-reason",
            "x-beta-ratelimit-reason",
        ])
        .map(|r| r.chars().take(64).collect());
        let near_limit = header(&["x-ratelimit-nearlimit", "x-beta-ratelimit-nearlimit"])
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let remaining =
            number(&["x-ratelimit-remaining"]).map(|left| (left, number(&["x-ratelimit-limit"])));
        let quota = header(&["beta-ratelimit", "ratelimit"])
            .and_then(|v| fields(v, 'r'))
            .map(|remaining| {
                let reset_at = header(&["beta-ratelimit", "ratelimit"])
                    .and_then(|v| fields(v, 't'))
                    .map(Duration::from_secs)
                    .filter(|t| *t <= MAX_RESET)
                    .and_then(|t| now.checked_add(t))
                    .or_else(|| {
                        header(&["x-beta-ratelimit-reset"]).and_then(|v| reset_time(v, now))
                    });
                Quota {
                    remaining,
                    limit: header(&["beta-ratelimit-policy", "ratelimit-policy"])
                        .and_then(|v| fields(v, 'q')),
                    reset_at,
                }
            });
        let retry_at = header(&["retry-after"])
            .and_then(|v| {
                v.parse::<u64>()
                    .ok()
                    .map(Duration::from_secs)
                    .filter(|d| *d <= MAX_RESET)
                    .and_then(|d| now.checked_add(d))
                    .or_else(|| httpdate::parse_http_date(v).ok())
            })
            .or_else(|| header(&["x-ratelimit-reset"]).and_then(|v| reset_time(v, now)));
        Signals {
            status,
            reason,
            near_limit,
            remaining,
            quota,
            retry_at,
        }
    }

    /// The server refused the request for load: `429`, or `503` (a resource limit).
    pub fn rejected(&self) -> bool {
        matches!(self.status, 429 | 503)
    }

    /// A `429` from the hourly quota: nothing more will be served before it resets.
    pub fn quota_spent(&self) -> bool {
        self.status == 429
            && (self
                .reason
                .as_deref()
                .is_some_and(|r| r.starts_with("jira-quota"))
                || self.quota.is_some_and(|q| q.remaining == 0))
    }

    /// The quota is nearly spent: under a tenth left, or near-limit said of a quota.
    pub fn quota_low(&self) -> bool {
        self.quota.is_some_and(|q| q.low())
            || (self.near_limit
                && self
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.starts_with("jira-quota")))
    }

    /// An answer served, but with a warning to slow down: near-limit, few requests left (under
    /// a tenth of `X-RateLimit-Limit`, or none), a low quota, or a limit naming itself.
    pub fn warned(&self) -> bool {
        let few_left = self.remaining.is_some_and(|(left, limit)| match limit {
            Some(limit) if limit > 0 => left.saturating_mul(10) < limit,
            _ => left == 0,
        });
        !self.rejected()
            && (self.near_limit || few_left || self.quota_low() || self.reason.is_some())
    }

    /// When the quota resets: what the quota headers say, else when to retry.
    pub fn reset_at(&self) -> Option<SystemTime> {
        self.quota.and_then(|q| q.reset_at).or(self.retry_at)
    }
}

/// The smallest value of parameter `key` across the structured list `value`
/// (`"policy";r=10;t=5, "other";r=3`): the tightest limit is the one that binds.
fn fields(value: &str, key: char) -> Option<u64> {
    value
        .split(',')
        .flat_map(|item| item.split(';').skip(1))
        .filter_map(|param| {
            let (k, v) = param.trim().split_once('=')?;
            (k.trim().len() == 1 && k.trim().starts_with(key))
                .then(|| v.trim().trim_matches('"').parse::<u64>().ok())
                .flatten()
        })
        .min()
}

/// A reset time: ISO 8601 (`2026-03-26T16:00Z`, as Atlassian documents) or epoch seconds,
/// believed only when it is at most [`MAX_RESET`] ahead.
fn reset_time(value: &str, now: SystemTime) -> Option<SystemTime> {
    let at = humantime::parse_rfc3339_weak(value.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(value))
        .ok()
        .or_else(|| {
            // `yyyy-MM-ddTHH:mmZ`: no seconds.
            humantime::parse_rfc3339_weak(&format!("{}:00", value.trim_end_matches('Z'))).ok()
        })
        .or_else(|| {
            value
                .parse::<u64>()
                .ok()
                .and_then(|s| std::time::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        })?;
    let ahead = at.duration_since(now).unwrap_or(Duration::ZERO);
    (ahead <= MAX_RESET).then_some(at.max(now))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn now() -> SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(1_774_540_000)
    }

    fn read(status: u16, pairs: &[(&str, &str)]) -> Signals {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Signals::read(status, &h, now())
    }

    #[test]
    fn a_burst_limit_429_is_a_rejection_and_not_a_spent_quota() {
        let s = read(
            429,
            &[
                ("retry-after", "1"),
                ("ratelimit-reason", "jira-burst-based"),
            ],
        );
        assert!(s.rejected());
        assert!(!s.quota_spent());
        assert_eq!(s.retry_at, Some(now() + Duration::from_secs(1)));
        assert_eq!(s.reason.as_deref(), Some("jira-burst-based"));
    }

    #[test]
    fn the_beta_quota_headers_as_jira_sends_them() {
        let s = read(
            200,
            &[
                (
                    "beta-ratelimit-policy",
                    "\"tenant-app-quota\";q=100100;w=3600",
                ),
                ("beta-ratelimit", "\"tenant-app-quota\";r=9000;t=2107"),
                ("x-beta-ratelimit-reason", "jira-quota-tenant-based"),
                ("x-beta-ratelimit-nearlimit", "true"),
                ("x-ratelimit-limit", "350"),
                ("x-ratelimit-remaining", "349"),
            ],
        );
        assert_eq!(
            s.quota,
            Some(Quota {
                remaining: 9000,
                limit: Some(100_100),
                reset_at: Some(now() + Duration::from_secs(2107)),
            })
        );
        assert!(s.quota_low() && s.warned() && !s.rejected());
        assert_eq!(s.remaining, Some((349, Some(350))));

        let spent = read(
            429,
            &[
                ("beta-ratelimit", "\"tenant-app-quota\";r=0;t=2788"),
                ("x-beta-ratelimit-reason", "jira-quota-tenant-based"),
            ],
        );
        assert!(spent.quota_spent());
        assert_eq!(spent.reset_at(), Some(now() + Duration::from_secs(2788)));
    }

    #[test]
    fn unprefixed_spellings_and_iso_resets_are_read_too() {
        let s = read(
            429,
            &[
                ("ratelimit-reason", "jira-quota-global-based"),
                ("x-beta-ratelimit-reset", "2026-03-26T16:30Z"),
            ],
        );
        assert!(s.quota_spent());
        let s = read(
            200,
            &[
                ("ratelimit-policy", "\"q\";q=1000;w=3600"),
                ("ratelimit", "\"q\";r=50;t=60, \"burst\";r=900;t=1"),
            ],
        );
        assert_eq!(s.quota.map(|q| q.remaining), Some(50));
        assert!(s.quota_low());
    }

    #[test]
    fn numbers_out_of_range_are_ignored_not_trusted() {
        let s = read(
            429,
            &[
                ("retry-after", "99999999999999999999"),
                ("beta-ratelimit", "\"q\";r=-1;t=1"),
                ("x-ratelimit-remaining", "lots"),
            ],
        );
        assert_eq!(s.retry_at, None);
        assert_eq!(s.quota, None);
        assert_eq!(s.remaining, None);
        let s = read(200, &[("beta-ratelimit", "\"q\";r=5;t=9999999")]);
        assert_eq!(s.quota.and_then(|q| q.reset_at), None);
        let s = read(429, &[("x-ratelimit-reset", "4000000000")]);
        assert_eq!(s.retry_at, None, "a reset decades away is not believed");
    }

    #[test]
    fn near_limit_and_few_requests_left_warn_without_rejecting() {
        assert!(read(200, &[("x-ratelimit-nearlimit", "true")]).warned());
        assert!(
            read(
                200,
                &[("x-ratelimit-remaining", "3"), ("x-ratelimit-limit", "350")]
            )
            .warned()
        );
        assert!(
            !read(
                200,
                &[
                    ("x-ratelimit-remaining", "300"),
                    ("x-ratelimit-limit", "350")
                ]
            )
            .warned()
        );
        assert!(!read(200, &[]).warned());
    }
}
