//! Access to the recorded responses under the workspace's `fixtures/` folder.

use std::path::PathBuf;

/// The workspace's `fixtures/` directory.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The text of `fixtures/<relative>`. Panics with the path when missing: a test bug.
pub fn text(relative: &str) -> String {
    let path = dir().join(relative);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("fixture {} cannot be read: {e}", path.display()))
}

/// The JSON value of `fixtures/<relative>`.
pub fn json(relative: &str) -> serde_json::Value {
    serde_json::from_str(&text(relative))
        .unwrap_or_else(|e| panic!("fixture {relative} is not valid JSON: {e}"))
}
