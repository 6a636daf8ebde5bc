//! The steps of a token rotation at which the crash and full-disk tests stop or fill the disk
//! (the hooks themselves are `jira_auth_core::fault`, debug builds only).

pub use jira_auth_core::fault::{DISK_FULL_ENV, PAUSE_ENV, pause_at};

/// The steps of a refresh, in order.
pub const STEPS: &[&str] = &[
    // The lock is held, the profile read and the disk space reserved; the token request is not
    // sent yet.
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
