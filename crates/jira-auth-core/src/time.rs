//! Time as a dependency, so retry waits and token expiry can be tested without sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of "now" and of waiting. Production uses [`SystemClock`]; tests inject
/// [`RecordingClock`], which records every wait and returns at once.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> SystemTime;
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock: `SystemTime::now()` and `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A clock for tests: fixed "now" that advances only by the waits it is asked for, each recorded.
#[derive(Debug, Clone)]
pub struct RecordingClock {
    inner: Arc<Mutex<(SystemTime, Vec<Duration>)>>,
}

impl RecordingClock {
    pub fn starting_at(now: SystemTime) -> Self {
        Self {
            inner: Arc::new(Mutex::new((now, Vec::new()))),
        }
    }

    /// Every wait asked for so far, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().1.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (SystemTime, Vec<Duration>)> {
        // A poisoned lock only means another test thread panicked; the data is still usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> SystemTime {
        self.lock().0
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let mut guard = self.lock();
        guard.0 += duration;
        guard.1.push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// Seconds since the Unix epoch (0 for times before it).
pub fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `9999-12-31T23:59:59Z`: the last second RFC 3339 (and `humantime`) can write.
pub const MAX_RFC3339_SECONDS: i64 = 253_402_300_799;

/// The `SystemTime` for a count of seconds since the Unix epoch (clamped to the epoch and to
/// [`MAX_RFC3339_SECONDS`]: a number from a damaged file must not overflow).
pub fn from_unix_seconds(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.clamp(0, MAX_RFC3339_SECONDS) as u64)
}

/// RFC 3339 in UTC with second precision, e.g. `2026-11-25T08:49:00Z`. Never panics: times past
/// the year 9999 print as its last second.
pub fn rfc3339(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(from_unix_seconds(seconds)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_of_absurd_numbers_does_not_panic() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(-5), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
