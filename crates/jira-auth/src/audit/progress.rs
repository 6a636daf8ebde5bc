//! A request counter on stderr while the audit runs, only when stderr is a terminal.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct StderrProgress {
    shown: AtomicU64,
}

impl jira_auth_audit::Progress for StderrProgress {
    fn requests_done(&self, done: u64) {
        // Redraw at most every 25 requests: a terminal is slower than a fast Jira.
        if done < self.shown.load(Ordering::Relaxed) + 25 && done > 1 {
            return;
        }
        self.shown.store(done, Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2Kauditing… {done} requests");
        let _ = err.flush();
    }
}

impl StderrProgress {
    /// Clears the progress line.
    pub fn finish(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}
