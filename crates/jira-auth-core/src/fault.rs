//! Fault points for the crash and full-disk tests (debug builds only).
//!
//! - `JIRA_AUTH_TEST_PAUSE_AT=<step>`: reaching `<step>` prints `jira-auth: paused at <step>` on
//!   stderr, then blocks reading stdin until end of file. A test reads the marker line, then kills
//!   the child or changes the world (fills the disk) and closes stdin to let the run go on. No
//!   sleeps, no polling.
//! - `JIRA_AUTH_TEST_DISK_FULL_AT=<step>`: from `<step>` on, the store behaves as on a full disk:
//!   every write that needs new space fails with `ENOSPC`; writes into space reserved before (see
//!   [`crate::store::Reservation`]) still succeed. This is the fallback of the full-disk tests on
//!   machines where they cannot mount a small tmpfs. `start` means from the first write.
//!
//! Architecture invariant: the hooks exist only in builds with debug assertions (the test
//! builds); in a release build [`pause_at`] is an empty function and [`disk_full`] is always
//! false, so no environment can make a production binary stop, fail or print here. [`pause_at`]
//! is the one place in the library crates that writes to stderr.

/// The environment variable naming the step to pause at.
pub const PAUSE_ENV: &str = "JIRA_AUTH_TEST_PAUSE_AT";
/// The environment variable naming the step from which the disk is full.
pub const DISK_FULL_ENV: &str = "JIRA_AUTH_TEST_DISK_FULL_AT";

#[cfg(debug_assertions)]
static DISK_FULL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Pauses at `step` when the test asks for it, and starts a simulated full disk when the test
/// asks for one from `step` on (debug builds only).
#[inline]
pub fn pause_at(step: &str) {
    #[cfg(debug_assertions)]
    {
        if std::env::var_os(DISK_FULL_ENV).is_some_and(|v| v == step) {
            DISK_FULL.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        if std::env::var_os(PAUSE_ENV).is_some_and(|v| v == step) {
            use std::io::Write as _;
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "jira-auth: paused at {step}");
            let _ = err.flush();
            drop(err);
            let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}

/// Whether a write needing new space must fail as on a full disk (debug builds under test only).
#[inline]
pub fn disk_full() -> bool {
    #[cfg(debug_assertions)]
    {
        DISK_FULL.load(std::sync::atomic::Ordering::SeqCst)
            || std::env::var_os(DISK_FULL_ENV).is_some_and(|v| v == "start")
    }
    #[cfg(not(debug_assertions))]
    false
}

/// The error a full disk gives (`ENOSPC` on Unix).
pub fn no_space() -> std::io::Error {
    #[cfg(unix)]
    {
        std::io::Error::from_raw_os_error(28)
    }
    #[cfg(not(unix))]
    std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left on device")
}
