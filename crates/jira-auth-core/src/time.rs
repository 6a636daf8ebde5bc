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

/// The `SystemTime` for a count of seconds since the Unix epoch.
pub fn from_unix_seconds(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64)
}

/// RFC 3339 in UTC with second precision, e.g. `2026-11-25T08:49:00Z`.
pub fn rfc3339(seconds: i64) -> String {
    humantime::format_rfc3339_seconds(from_unix_seconds(seconds)).to_string()
}
