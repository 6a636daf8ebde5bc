//! `cargo xtask browser`: walks `jira-auth cloud serve` in headless Chromium as a person would.
//!
//! The fake Atlassian (three sites) runs in this process; the service is the real binary on a
//! loopback port; `tests/browser/consent.mjs` drives Chromium with `playwright-core`, asserts
//! what each page says and its layout at 390 px and 1000 px, saves screenshots under
//! `target/browser/`, and writes every response of the service it saw to
//! `target/browser/seen.json`. This chore then checks that no token, code or secret appears in
//! any of those responses nor in the service's log.
//!
//! Needs Node.js, `npm ci --prefix tests/browser`, and Chromium (`CHROMIUM`, else
//! `/usr/bin/chromium`); `.ci/run` installs them when missing.

use anyhow::{Context, Result, bail};
use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use std::path::PathBuf;
use std::process::Stdio;

/// The cookie key the service runs with (a test value, checked for leaks like the others).
const COOKIE_KEY: &str = "browser-walk-cookie-key-0123456789abcdef";

pub fn run() -> Result<()> {
    let root = crate::workspace_root();
    let script_dir = root.join("tests/browser");
    if !script_dir.join("node_modules/playwright-core").is_dir() {
        bail!(
            "playwright-core is not installed: run `npm ci --prefix tests/browser` (the CI script does)"
        );
    }
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        bail!(
            "no Chromium at {}: install Debian's `chromium` package or set `CHROMIUM`",
            chromium.display()
        );
    }
    let binary = crate::build_binary()?;
    let out = root.join("target/browser");
    std::fs::create_dir_all(&out)?;
    let store = tempfile::tempdir()?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let fake = FakeAtlassian::start(FakeConfig {
            sites_scenario: "sites-three".to_owned(),
            ..FakeConfig::default()
        })
        .await;
        let port = crate::free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let log_path = out.join("serve.log");
        let mut serve = tokio::process::Command::new(&binary)
            .args(["-v", "cloud", "serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--public-url", &base, "--scope", "read:jira-work"])
            .args(["--auth-url", &fake.auth_url(), "--api-url", &fake.api_url()])
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("JIRA_AUTH_CONFIG_DIR", store.path())
            .env("JIRA_AUTH_CLIENT_ID", fake.client_id())
            .env("JIRA_AUTH_CLIENT_SECRET", fake.client_secret())
            .env("JIRA_AUTH_COOKIE_KEY", COOKIE_KEY)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting `jira-auth cloud serve`")?;
        let stderr = serve.stderr.take().context("no stderr pipe")?;
        let copying = tokio::spawn(copy_until_serving(stderr, log_path.clone()));
        let ready = tokio::time::timeout(std::time::Duration::from_secs(30), SERVING.notified());
        if ready.await.is_err() {
            bail!("`jira-auth cloud serve` did not start within 30 s (see {})", log_path.display());
        }

        let walked = tokio::process::Command::new("node")
            .arg(script_dir.join("consent.mjs"))
            .env("BASE_URL", &base)
            .env("AUTH_URL", fake.auth_url())
            .env("CHROMIUM", &chromium)
            .env("OUT_DIR", &out)
            .status()
            .await
            .context("running node (is Node.js installed?)")?;
        let _ = serve.start_kill();
        let _ = serve.wait().await;
        let _ = copying.await;
        if !walked.success() {
            bail!(
                "the browser walk failed (screenshots and serve.log in {})",
                out.display()
            );
        }

        let seen = std::fs::read_to_string(out.join("seen.json"))
            .context("the walk wrote no target/browser/seen.json")?;
        let log = std::fs::read_to_string(&log_path)?;
        let codes: Vec<String> = fake
            .token_requests()
            .await
            .iter()
            .flat_map(|r| url::form_urlencoded::parse(&r.body).into_owned())
            .filter(|(k, _)| k == "code")
            .map(|(_, v)| v)
            .collect();
        if codes.is_empty() {
            bail!("the walk exchanged no code: the leak check below would prove nothing");
        }
        let mut secrets = vec![fake.client_secret().to_owned(), COOKIE_KEY.to_owned()];
        secrets.extend(fake.issued_tokens());
        secrets.extend(codes);
        for secret in &secrets {
            if seen.contains(secret.as_str()) {
                bail!("a page or header of the service carries a token, code or secret");
            }
            if log.contains(secret.as_str()) {
                bail!("the service's log carries a token, code or secret");
            }
        }
        println!(
            "browser walk passed: {} secrets checked against every page, header and log line; screenshots in {}",
            secrets.len(),
            out.display()
        );
        Ok(())
    })
}

/// Copies the service's stderr into `log`, and tells [`serving`] once the service said it
/// listens.
async fn copy_until_serving(stderr: tokio::process::ChildStderr, log: PathBuf) -> Result<()> {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let mut file = tokio::fs::File::create(&log).await?;
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    while let Some(line) = lines.next_line().await? {
        file.write_all(line.as_bytes()).await?;
        file.write_all(b"\n").await?;
        file.flush().await?;
        if line.starts_with("Serving on ") {
            SERVING.notify_one();
        }
    }
    // The service ended: nothing will ever say it listens.
    SERVING.notify_one();
    Ok(())
}

static SERVING: tokio::sync::Notify = tokio::sync::Notify::const_new();
