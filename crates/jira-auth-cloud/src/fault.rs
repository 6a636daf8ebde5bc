//! Pause points for the crash-safety tests: a way to stop `cloud refresh` / `cloud token` at an
//! exact step of a token rotation so a test can SIGKILL the process there.
//!
//! With `JIRA_AUTH_TEST_PAUSE_AT=<step>` in the environment, reaching `<step>` prints
//! `jira-auth: paused at <step>` on stderr and then blocks reading stdin until end of file; the
//! test reads the marker line and kills the child (no sleeps, no polling). Closing stdin lets the
//! run go on.
//!
//! Architecture invariant: the hook exists only in builds with debug assertions (the test
//! builds); in a release build [`pause_at`] is an empty function, so no environment can make a
//! production binary stop or print here. This is the one place this crate writes to stderr.

/// The environment variable naming the step to pause at.
pub const PAUSE_ENV: &str = "JIRA_AUTH_TEST_PAUSE_AT";

/// The steps of a refresh, in order.
pub const STEPS: &[&str] = &[
    // The lock is held and the profile read; the token request is not sent yet.
    "before-request",
    // Atlassian answered (and rotated the refresh token); nothing is stored yet.
    "after-response",
    // The write-ahead record's temporary file holds half of its bytes.
    "mid-pending-write",
    // The write-ahead record is durable; the profile still holds the old token set.
    "pending-written",
    // The profile holds the new token set; the write-ahead record is not removed yet.
    "profile-saved",
];

/// Pauses at `step` when the test asks for it (debug builds only).
#[inline]
pub fn pause_at(step: &str) {
    #[cfg(debug_assertions)]
    if std::env::var_os(PAUSE_ENV).is_some_and(|v| v == step) {
        use std::io::Write as _;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "jira-auth: paused at {step}");
        let _ = err.flush();
        drop(err);
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
    }
    #[cfg(not(debug_assertions))]
    let _ = step;
}
