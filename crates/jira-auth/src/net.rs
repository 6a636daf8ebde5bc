//! The one way this binary builds its HTTP client, with the command line's timeouts applied
//! (`--request-timeout`, `--deadline`). Set once per process, before any command runs.

use crate::args::GlobalArgs;
use jira_auth_core::http::{HttpClient, HttpError};
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
struct Settings {
    request_timeout: Duration,
    deadline: Option<Duration>,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Records the global flags (the first call wins).
pub fn configure(global: &GlobalArgs) {
    let _ = SETTINGS.set(Settings {
        request_timeout: Duration::from_secs(global.request_timeout),
        deadline: (global.deadline > 0).then(|| Duration::from_secs(global.deadline)),
    });
}

/// A client with the configured timeouts. The deadline counts from this call: build the client
/// when the network work starts (after any wait for a browser).
pub fn client() -> Result<HttpClient, HttpError> {
    let mut builder = HttpClient::builder();
    if let Some(s) = SETTINGS.get() {
        builder = builder
            .request_timeout(s.request_timeout)
            .deadline(s.deadline);
    }
    builder.build()
}
