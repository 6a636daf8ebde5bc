//! The audit's progress line on stderr, only when stderr is a terminal: requests answered and
//! planned, requests in flight against the current limit, and throttled answers.

use jira_auth_audit::Tally;
use jira_auth_core::plural::count;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct StderrProgress {
    shown: AtomicU64,
}

/// The progress line for `tally`.
fn line(t: &Tally) -> String {
    let mut line = format!(
        "auditing… {}/{}, {} in flight (limit {})",
        t.done,
        count(t.planned, "request"),
        t.in_flight,
        t.limit
    );
    if t.throttled > 0 {
        line += &format!(", {} throttled", t.throttled);
    }
    if t.quota_low {
        line += ", hourly quota nearly spent: slowing down";
    }
    line
}

impl jira_auth_audit::Progress for StderrProgress {
    fn update(&self, tally: &Tally) {
        // Redraw at most every 25 requests: a terminal is slower than a fast Jira.
        let done = tally.done;
        if done < self.shown.load(Ordering::Relaxed) + 25 && done > 1 {
            return;
        }
        self.shown.store(done, Ordering::Relaxed);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", line(tally));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_progress_concurrency_and_throttling() {
        let mut t = Tally {
            done: 120,
            planned: 1052,
            limit: 6,
            in_flight: 6,
            throttled: 0,
            quota_low: false,
        };
        assert_eq!(
            line(&t),
            "auditing… 120/1052 requests, 6 in flight (limit 6)"
        );
        t.throttled = 2;
        t.quota_low = true;
        assert_eq!(
            line(&t),
            "auditing… 120/1052 requests, 6 in flight (limit 6), 2 throttled, hourly quota nearly spent: slowing down"
        );
        // A one-request audit (a preset of one check on a small site) counts in the singular.
        t.done = 0;
        t.planned = 1;
        t.throttled = 0;
        t.quota_low = false;
        assert_eq!(line(&t), "auditing… 0/1 request, 6 in flight (limit 6)");
    }
}
