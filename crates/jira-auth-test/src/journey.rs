//! The whole jira-auth journey against the fakes, driven through the real binary: what
//! `cargo xtask demo` shows and what `tests/tests/it/journey.rs` snapshots, so the demo and the
//! tests exercise the same code.
//!
//! Cloud: `cloud login --no-browser` (the journey plays the browser: it opens the consent page,
//! clicks Accept and follows the redirect to the binary's loopback listener), `cloud sites`,
//! `cloud status`, `cloud refresh`, `cloud export --format psoxy`, `audit` (two planted gaps:
//! exit 1). Server: `server keygen`, the fake Jira Server started with the generated public key
//! as its Application Link, `server login` (approval played the same way), `server request
//! /rest/api/2/myself`, `audit` (healthy, security levels partial: exit 0). Data Center OAuth
//! 2.0: the same fake as an OAuth 2.0 provider, `server login --oauth2` (PKCE approval played the
//! same way), `server refresh`, `server status`, `audit`. Everything happens in a throw-away
//! config directory on 127.0.0.1.

use crate::cloud::{FakeAtlassian, FakeConfig};
use crate::context::{TestContext, free_port};
use crate::dc_oauth2::{CLIENT_ID, CLIENT_SECRET, DcOAuth2Config, FakeDcOAuth2};
use crate::jira_site::{JiraSite, Site};
use crate::server::{Approval, FakeJiraServer, FakeJiraServerConfig};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// One command of the journey and what it printed.
#[derive(Debug, Clone)]
pub struct Step {
    /// What the step shows, in one line.
    pub title: String,
    /// The `jira-auth` arguments.
    pub args: Vec<String>,
    /// What the simulated browser did, if the step needed one.
    pub browser: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// What the journey reports as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A line about the setting (a fake started, where it listens).
    Note(&'a str),
    /// A step finished.
    Step(&'a Step),
}

/// `fixtures/demo/<name>`.
pub fn demo_site(name: &str) -> PathBuf {
    crate::fixtures::dir().join("demo").join(name)
}

/// The cloud id of the fake Atlassian's one site.
pub fn first_site_id() -> Result<String> {
    let sites = crate::fixtures::json("cloud/sites-one/accessible-resources.json");
    sites[0]["id"]
        .as_str()
        .map(str::to_owned)
        .context("fixture has no site id")
}

struct Runner {
    ctx: TestContext,
    envs: Vec<(String, String)>,
}

/// Reports a finished step and keeps it; a step with another exit code than `expected` ends the
/// journey.
fn record(
    steps: &mut Vec<Step>,
    step: Step,
    expected: i32,
    on: &mut dyn FnMut(Event<'_>),
) -> Result<Step> {
    on(Event::Step(&step));
    if step.code != expected {
        bail!(
            "`jira-auth {}` exited {} instead of {expected}",
            step.args.join(" "),
            step.code
        );
    }
    steps.push(step.clone());
    Ok(step)
}

/// Runs the journey with `binary`, reporting each step to `on` as it completes, and returns the
/// steps. A step that exits with another code than the journey expects ends it with an error.
pub async fn run(binary: &Path, mut on: impl FnMut(Event<'_>)) -> Result<Vec<Step>> {
    let ctx =
        TestContext::for_binary(binary).context("creating the throw-away config directory")?;
    let home = ctx.home().to_owned();
    let mut steps = Vec::new();
    // ------------------------------------------------------------------ Jira Cloud
    let atlassian = FakeAtlassian::start(FakeConfig::default()).await;
    let cloud_id = first_site_id()?;
    let _site = JiraSite::attach(
        Site::from_file(&demo_site("cloud-site.json")),
        &atlassian.api,
        &format!("/ex/jira/{cloud_id}"),
        1,
    )
    .await;
    on(Event::Note(&format!(
        "fake Atlassian: auth server {}, API gateway {} (one site, acme, with two planted permission gaps)",
        atlassian.auth_url(),
        atlassian.api_url()
    )));
    let mut runner = Runner {
        ctx,
        envs: vec![
            ("JIRA_AUTH_CLIENT_ID".into(), atlassian.client_id().into()),
            (
                "JIRA_AUTH_CLIENT_SECRET".into(),
                atlassian.client_secret().into(),
            ),
            ("JIRA_AUTH_AUTH_URL".into(), atlassian.auth_url()),
            ("JIRA_AUTH_API_URL".into(), atlassian.api_url()),
            ("JIRA_AUTH_PROFILE".into(), "cloud-demo".into()),
        ],
    };

    let redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let step = runner
        .run_with_browser(
            "cloud login --no-browser: consent in the (simulated) browser, code exchange, site lookup",
            &[
                "cloud",
                "login",
                "--no-browser",
                "--preset",
                "raytion",
                "--redirect-uri",
                &redirect,
            ],
            |url| {
                let atlassian = &atlassian;
                async move {
                    let visit = atlassian
                        .browse(&url, true)
                        .await
                        .map_err(anyhow::Error::msg)?;
                    Ok(format!(
                        "consent accepted; the loopback callback answered {}",
                        visit.status
                    ))
                }
            },
        )
        .await?;
    record(&mut steps, step, 0, &mut on)?;
    for (title, args) in [
        (
            "cloud sites: what the token reaches (accessible-resources)",
            &["cloud", "sites"][..],
        ),
        (
            "cloud status: expiry, scopes, days left in the token family",
            &["cloud", "status"][..],
        ),
        (
            "cloud refresh: rotate the refresh token under the store's lock",
            &["cloud", "refresh"][..],
        ),
        (
            "cloud export --format psoxy: the four secrets and the cloud id",
            &["cloud", "export", "--format", "psoxy"][..],
        ),
    ] {
        let step = runner.run(title, args).await?;
        record(&mut steps, step, 0, &mut on)?;
    }
    let step = runner
        .run(
            "audit (Cloud): finds the planted gaps; exit code 1 means findings",
            &["audit", "--preset", "raytion"],
        )
        .await?;
    record(&mut steps, step, 1, &mut on)?;

    // ------------------------------------------------------------------ Jira Server
    runner.envs = vec![("JIRA_AUTH_PROFILE".into(), "server-demo".into())];
    let keys = home.join("keys");
    let step = runner
        .run(
            "server keygen: an RSA key pair for the Application Link",
            &["server", "keygen", "--out", path_str(&keys)?],
        )
        .await?;
    let keygen = record(&mut steps, step, 0, &mut on)?;
    let public_pem = std::fs::read_to_string(find_file(&keys, "public")?)
        .context("reading the generated public key")?;
    let private_key = find_file(&keys, "private")?;
    let consumer_key = keygen
        .stdout
        .lines()
        .chain(keygen.stderr.lines())
        .find_map(|l| l.trim().strip_prefix("Consumer Key:"))
        .map(|k| k.trim().to_owned())
        .context("keygen suggested no consumer key")?;

    // The site's technical user, so the fake's verified `/myself` and the site agree.
    let dc_site = Site::from_file(&demo_site("dc-site.json"));
    let jira = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        consumer_key,
        public_key_pem: public_pem,
        private_key_pem: String::new(),
        user: dc_site.myself_json(),
        ..FakeJiraServerConfig::default()
    })
    .await;
    let _dc = JiraSite::attach(dc_site, jira.mock_server(), "/jira", 10).await;
    on(Event::Note(&format!(
        "fake Jira Server at {} (its Application Link has the generated public key, consumer key `{}`)",
        jira.url(),
        jira.consumer_key()
    )));

    let url = jira.url();
    let step = runner
        .run_with_browser(
            "server login: request token, approval in the (simulated) browser, access token",
            &[
                "server",
                "login",
                "--no-browser",
                "--url",
                &url,
                "--consumer-key",
                jira.consumer_key(),
                "--private-key",
                path_str(&private_key)?,
            ],
            |authorize| {
                let jira = &jira;
                async move {
                    match jira.approve(&authorize).await {
                        Approval::Redirect(location) => {
                            let (status, _) = FakeJiraServer::follow(&location).await;
                            Ok(format!(
                                "access allowed; the loopback callback answered {status}"
                            ))
                        }
                        Approval::Verifier(v) => bail!("unexpected out-of-band verifier {v}"),
                    }
                }
            },
        )
        .await?;
    record(&mut steps, step, 0, &mut on)?;
    let step = runner
        .run(
            "server request /rest/api/2/myself: a signed REST call",
            &["server", "request", "/rest/api/2/myself"],
        )
        .await?;
    record(&mut steps, step, 0, &mut on)?;
    let step = runner
        .run(
            "audit (Data Center): healthy; security levels can only be checked partially there",
            &["audit", "--preset", "raytion"],
        )
        .await?;
    record(&mut steps, step, 0, &mut on)?;

    // ------------------------------------------------------- Jira Data Center OAuth 2.0
    let dc_redirect = format!("http://127.0.0.1:{}/callback", free_port());
    let _provider = FakeDcOAuth2::mount(&jira, DcOAuth2Config::new(dc_redirect.clone())).await;
    on(Event::Note(&format!(
        "the same fake Jira as an OAuth 2.0 provider: an incoming application link, client id `{CLIENT_ID}`, Redirect URL {dc_redirect}, Permission READ and WRITE"
    )));
    runner.envs = vec![
        ("JIRA_AUTH_PROFILE".into(), "dc-oauth2-demo".into()),
        ("JIRA_AUTH_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
    ];
    let step = runner
        .run_with_browser(
            "server login --oauth2: PKCE approval in the (simulated) browser, code exchange",
            &[
                "server",
                "login",
                "--oauth2",
                "--no-browser",
                "--url",
                &url,
                "--client-id",
                CLIENT_ID,
                "--scope",
                "READ",
                "--redirect-uri",
                &dc_redirect,
            ],
            |authorize| async move {
                let (status, location) = FakeDcOAuth2::approve(&authorize).await;
                if status != 302 {
                    bail!("the authorize page answered {status}: {location}");
                }
                let (status, _) = FakeJiraServer::follow(&location).await;
                Ok(format!(
                    "access allowed; the loopback callback answered {status}"
                ))
            },
        )
        .await?;
    record(&mut steps, step, 0, &mut on)?;
    for (title, args, expected) in [
        (
            "server refresh: spend the single-use refresh token, keep its successor",
            &["server", "refresh"][..],
            0,
        ),
        (
            "server status: the OAuth 2.0 login, checked with /myself",
            &["server", "status"][..],
            0,
        ),
        (
            "audit (Data Center, OAuth 2.0): the same site with the bearer token",
            &["audit", "--preset", "raytion"][..],
            0,
        ),
    ] {
        let step = runner.run(title, args).await?;
        record(&mut steps, step, expected, &mut on)?;
    }
    Ok(steps)
}

impl Runner {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::from(self.ctx.command(args));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd
    }

    async fn run(&self, title: &str, args: &[&str]) -> Result<Step> {
        let output = tokio::time::timeout(Duration::from_secs(60), self.command(args).output())
            .await
            .with_context(|| format!("`jira-auth {}` took more than 60 s", args.join(" ")))??;
        Ok(Step {
            title: title.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            browser: Vec::new(),
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs a login that prints an authorize URL alone on a line of stderr, then plays the
    /// browser on that URL while the command waits for its callback.
    async fn run_with_browser<F, Fut>(&self, title: &str, args: &[&str], browser: F) -> Result<Step>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = Result<String>>,
    {
        let mut child = self.command(args).spawn().context("starting jira-auth")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                let trimmed = line.trim().to_owned();
                seen.push(line);
                if trimmed.starts_with("http") && trimmed.contains("authorize") {
                    return Ok::<_, anyhow::Error>(Some(trimmed));
                }
            }
            Ok(None)
        })
        .await
        .context("no authorize URL within 30 s")??;
        let Some(url) = url else {
            let output = child.wait_with_output().await?;
            bail!(
                "jira-auth exited ({}) without printing an authorize URL:\n{}",
                output.status,
                seen.join("\n")
            );
        };
        let did = browser(url).await?;
        while let Some(line) = lines.next_line().await? {
            seen.push(line);
        }
        let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
            .await
            .context("jira-auth did not finish within 30 s of the callback")??;
        let mut stderr = seen.join("\n");
        stderr.push('\n');
        Ok(Step {
            title: title.to_owned(),
            args: args.iter().map(|a| (*a).to_owned()).collect(),
            browser: vec![did],
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
        })
    }
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str().context("non-UTF-8 temp path")
}

fn find_file(dir: &Path, needle: &str) -> Result<PathBuf> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(needle))
        {
            return Ok(path);
        }
    }
    bail!("no file containing `{needle}` in {}", dir.display())
}
