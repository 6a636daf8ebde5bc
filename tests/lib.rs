//! End-to-end tests of the `jira-auth` binary live in `tests/*.rs` beside this file; this library
//! gives them the binary.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The path of a freshly built `jira-auth` binary.
///
/// Cargo only hands `CARGO_BIN_EXE_*` to the integration tests of the package that owns the
/// binary, and `cargo test --workspace` does not build another package's plain binary. So the
/// first call in each test process runs `cargo build -p jira-auth --bin jira-auth` (a no-op
/// when it is up to date), which keeps `cargo test --workspace` self-sufficient on a fresh clone
/// and never lets a test run a stale binary.
///
/// # Panics
/// When the build fails: no end-to-end test can run without the binary.
pub fn jira_auth() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(build).clone()
}

fn build() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default();
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
        .unwrap_or_else(|e| panic!("cannot run cargo to build jira-auth: {e}"));
    assert!(
        output.status.success(),
        "cargo build of jira-auth failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let binary = target.join("debug").join("jira-auth");
    assert!(
        binary.exists(),
        "built jira-auth, but {} is missing",
        binary.display()
    );
    binary
}
