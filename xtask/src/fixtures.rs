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
    let rel = file.strip_prefix(root).unwrap_or(file);
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    let top = rel
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or("");
    match (top, name, ext) {
        // Read by jira_auth_test::jira_site::Site (the fake site the auditor talks to).
        ("audit" | "demo", n, "json") if n.ends_with("site.json") => {
            serde_json::from_str::<jira_auth_test::jira_site::Site>(&text)
                .context("not a fake site (jira_site::Site)")?;
        }
        // A stored profile: each section must parse as the type that owns it.
        ("audit", "profile.json", _) => {
            check_profile(&text.replace("{SITE}", "http://127.0.0.1:1"))?
        }
        // The exit code an audit scenario must end with.
        ("audit", "exit-code", _) => {
            let code: u8 = text.trim().parse().context("not an exit code")?;
            anyhow::ensure!(
                code <= 4,
                "exit code {code} is not one of docs/exit-codes.md"
            );
        }
        // What accessible-resources answers, read by the cloud crate.
        ("cloud", "accessible-resources.json", _) => {
            jira_auth_cloud::sites::parse_sites("fixture", text.as_bytes())
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        ("server", _, "pem") => check_pem(name, &text)?,
        (_, _, "json") => {
            serde_json::from_str::<serde_json::Value>(&text).context("not valid JSON")?;
        }
        (_, _, "toml") if rel.starts_with("presets") => {
            jira_auth_core::presets::Presets::load(Some(file))?;
        }
        _ => {}
    }
    Ok(())
}

fn check_profile(text: &str) -> Result<()> {
    use jira_auth_core::store::{Profile, ProfileName};
    let profile: Profile = serde_json::from_str(text).context("not a profile file")?;
    let name = ProfileName::default();
    profile
        .section::<jira_auth_cloud::credentials::CloudCredentials>(
            &name,
            jira_auth_cloud::credentials::SECTION,
        )
        .context("its `cloud` section")?;
    profile
        .section::<jira_auth_server::profile::ServerProfile>(
            &name,
            jira_auth_server::profile::SECTION,
        )
        .context("its `server` section")?;
    Ok(())
}

/// The key fixtures are named for what they are; the good ones must load, the bad ones must be
/// refused (they exist to test the refusals).
fn check_pem(name: &str, text: &str) -> Result<()> {
    let private = jira_auth_server::key::parse_private_key_pem(text);
    let should_load = matches!(
        name,
        "test-key.pkcs8.pem" | "test-key.pkcs1.pem" | "other-key.pkcs8.pem" | "rfc-test-key.pem"
    );
    match (name.contains(".pub."), should_load, private) {
        (true, _, _) => Ok(()),
        (false, true, Err(e)) => Err(anyhow::anyhow!("this key should load: {e}")),
        (false, false, Ok(_)) => Err(anyhow::anyhow!(
            "this key exists to be refused, but it loads"
        )),
        _ => Ok(()),
    }
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
    fn files_are_checked_against_the_types_that_read_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("audit/x")).unwrap();
        // Valid JSON, but not a fake site: `myself` is missing.
        std::fs::write(
            dir.path().join("audit/x/site.json"),
            r#"{"deployment": "cloud"}"#,
        )
        .unwrap();
        // A cloud section without the fields `cloud login` stores.
        std::fs::write(
            dir.path().join("audit/x/profile.json"),
            r#"{"version": 1, "cloud": {"access_token": "t"}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("server")).unwrap();
        std::fs::write(dir.path().join("server/test-key.pkcs8.pem"), "not a key").unwrap();
        let err = format!("{:#}", check(dir.path()).unwrap_err());
        assert!(
            err.starts_with("3 of 3 fixture files are invalid:"),
            "{err}"
        );
        assert!(err.contains("audit/x/site.json: not a fake site"), "{err}");
        assert!(
            err.contains("audit/x/profile.json: its `cloud` section"),
            "{err}"
        );
        assert!(
            err.contains("server/test-key.pkcs8.pem: this key should load"),
            "{err}"
        );
    }

    #[test]
    fn the_repository_fixtures_are_valid() {
        let summary = check(&crate::workspace_root().join("fixtures")).unwrap();
        assert!(summary.ends_with("fixture files valid"), "{summary}");
    }
}
