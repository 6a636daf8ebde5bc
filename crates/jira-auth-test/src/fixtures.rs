//! Access to the recorded responses under the workspace's `fixtures/` folder.

use std::path::{Path, PathBuf};

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

/// Copies the key `fixtures/server/<name>` into `dir` with mode 0600 and returns the copy's
/// path: jira-auth refuses a private key file that group or others may read, and a checkout
/// leaves the fixtures 0644. Panics on I/O errors: a test bug.
pub fn private_key(name: &str, dir: &Path) -> PathBuf {
    let target = dir.join(name);
    std::fs::copy(self::dir().join("server").join(name), &target)
        .unwrap_or_else(|e| panic!("cannot copy fixture key {name}: {e}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("cannot make {} 0600: {e}", target.display()));
    }
    target
}
