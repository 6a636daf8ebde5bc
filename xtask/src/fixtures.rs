//! `cargo xtask fixtures`: every recorded response under `fixtures/` must parse as the type that
//! reads it, so a hand-edited fixture that drifted from the code fails here, not in a test run.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Checks every fixture file and returns a one-line summary.
pub fn check(root: &Path) -> Result<String> {
    let mut files = Vec::new();
    collect(root, &mut files)?;
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        if let Err(e) = check_file(root, file) {
            problems.push(format!(
                "{}: {e:#}",
                file.strip_prefix(root).unwrap_or(file).display()
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "{} of {} fixture files are invalid:\n  {}",
            problems.len(),
            files.len(),
            problems.join("\n  ")
        );
    }
    Ok(format!("{} fixture files valid", files.len()))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("listing {}", dir.display())),
    };
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn check_file(root: &Path, file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file).context("not UTF-8 text")?;
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    match ext {
        "json" => {
            serde_json::from_str::<serde_json::Value>(&text).context("not valid JSON")?;
        }
        "toml" => {
            let rel = file.strip_prefix(root).unwrap_or(file);
            if rel.starts_with("presets") {
                jira_auth_core::presets::Presets::load(Some(file))?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_each_invalid_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/ok.json"), "{}").unwrap();
        std::fs::write(dir.path().join("a/bad.json"), "{").unwrap();
        let err = check(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with("1 of 2 fixture files are invalid:"),
            "{err}"
        );
        assert!(err.contains("a/bad.json: not valid JSON"), "{err}");
    }

    #[test]
    fn the_repository_fixtures_are_valid() {
        let summary = check(&crate::workspace_root().join("fixtures")).unwrap();
        assert!(summary.ends_with("fixture files valid"), "{summary}");
    }
}
