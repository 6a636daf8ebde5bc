//! The `jira-auth` binary, built on demand for the end-to-end tests and the demo.
//!
//! Cargo hands `CARGO_BIN_EXE_*` only to the integration tests of the package that owns the
//! binary, and `cargo test --workspace` does not build another package's plain binary. So the
//! tests and `cargo xtask demo` run `cargo build -p jira-auth --bin jira-auth` (a no-op when it
//! is up to date), which keeps `cargo test --workspace` self-sufficient on a fresh clone and never
//! lets a stale binary be run.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Builds `jira-auth` (debug profile) and returns its path, or why it could not.
pub fn build() -> Result<PathBuf, String> {
    let root = crate::fixtures::dir()
        .parent()
        .map(PathBuf::from)
        .ok_or("the workspace root is unknown")?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            "jira-auth",
            "--bin",
            "jira-auth",
        ])
        .current_dir(&root)
        .output()
        .map_err(|e| format!("cannot run cargo to build jira-auth: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build of jira-auth failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("debug").join("jira-auth");
    if binary.exists() {
        Ok(binary)
    } else {
        Err(format!(
            "built jira-auth, but {} is missing",
            binary.display()
        ))
    }
}

/// [`build`] once per process, for tests.
///
/// # Panics
/// When the build fails: no end-to-end test can run without the binary.
pub fn jira_auth() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| build().unwrap_or_else(|e| panic!("{e}")))
        .clone()
}
