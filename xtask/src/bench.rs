//! `cargo xtask bench audit`: the auditor against a synthetic Jira Cloud site served by the
//! test harness (`jira_auth_test::jira_site`) with a fixed latency per response.
//!
//! Prints requests made (counted by the fake site) vs the minimum the same checks need with the
//! same page sizes ([`jira_auth_audit::cloud_minimum_requests`]), wall time vs the latency bound
//! (requests × latency / concurrency), their ratio, and the auditor's peak RSS (`VmHWM`). The
//! fake site runs in a child process (this same executable, `JIRA_AUTH_BENCH_SERVE=1`): wiremock
//! keeps every request it matched, which would otherwise be counted as the auditor's memory.
//! Fails when a target is missed: requests within 10 % of the minimum, wall time within 1.3×
//! the bound, peak RSS under 100 MB.
//!
//! Size knobs (environment, for quick runs): `JIRA_AUTH_BENCH_PROJECTS` (10000),
//! `JIRA_AUTH_BENCH_SCHEMES` (200), `JIRA_AUTH_BENCH_LEVELS` (5), `JIRA_AUTH_BENCH_ROLES` (30),
//! `JIRA_AUTH_BENCH_LATENCY_MS` (20), `JIRA_AUTH_BENCH_CONCURRENCY` (8).

use anyhow::{Context as _, Result, bail};
use jira_auth_audit::{AuditOptions, Status, audit, cloud_minimum_requests};
use jira_auth_core::AccessToken;
use jira_auth_core::auth::Bearer;
use jira_auth_core::http::HttpClient;
use jira_auth_core::jira::{Deployment, JiraClient};
use jira_auth_core::presets::Presets;
use jira_auth_test::jira_site::{Behaviour, JiraSite, Site};
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Holders per level in the synthetic site (a group, `reporter`, a project role).
const HOLDERS_PER_LEVEL: usize = 3;
/// Set in the child process that serves the fake site.
const SERVE_ENV: &str = "JIRA_AUTH_BENCH_SERVE";

#[derive(Debug, Clone, Copy)]
struct Size {
    projects: usize,
    schemes: usize,
    levels: usize,
    roles: usize,
    latency: Duration,
    concurrency: usize,
}

fn knob(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("`{name}` must be a whole number, not `{v}`")),
        Err(_) => Ok(default),
    }
}

impl Size {
    fn from_env() -> Result<Self> {
        Ok(Self {
            projects: knob("JIRA_AUTH_BENCH_PROJECTS", 10_000)?,
            schemes: knob("JIRA_AUTH_BENCH_SCHEMES", 200)?,
            levels: knob("JIRA_AUTH_BENCH_LEVELS", 5)?,
            roles: knob("JIRA_AUTH_BENCH_ROLES", 30)?,
            latency: Duration::from_millis(knob("JIRA_AUTH_BENCH_LATENCY_MS", 20)? as u64),
            concurrency: knob("JIRA_AUTH_BENCH_CONCURRENCY", 8)?.clamp(1, 64),
        })
    }
}

/// Peak resident set size of this process in kB (`VmHWM` in `/proc/self/status`).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// The child: serve the site, print its URL, wait for stdin to close, print the request count.
fn serve(size: Size) -> Result<()> {
    runtime()?.block_on(async {
        let site = JiraSite::start_with(
            Site::synthetic(size.projects, size.schemes, size.levels, size.roles),
            Behaviour {
                latency: size.latency,
                no_journal: true,
                ..Behaviour::default()
            },
        )
        .await;
        println!("{}", site.url());
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut sink);
        })
        .await?;
        println!("{}", site.requests());
        Ok(())
    })
}

pub fn bench_audit() -> Result<()> {
    let size = Size::from_env()?;
    if std::env::var_os(SERVE_ENV).is_some() {
        return serve(size);
    }
    println!(
        "audit bench: synthetic Jira Cloud site, {} projects, {} issue security schemes x {} levels, {} roles, {} ms per response, concurrency {}",
        size.projects,
        size.schemes,
        size.levels,
        size.roles,
        size.latency.as_millis(),
        size.concurrency
    );
    let mut child = Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env(SERVE_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the fake site process")?;
    let mut lines = BufReader::new(child.stdout.take().context("no child stdout")?).lines();
    let url = lines.next().context("the fake site printed no URL")??;

    let started = Instant::now();
    let report = runtime()?.block_on(async {
        let client = JiraClient::new(
            HttpClient::builder().build()?,
            url.parse()?,
            Deployment::Cloud,
            Arc::new(Bearer(AccessToken::new("bench"))),
        );
        let mut options = AuditOptions::from_preset("raytion", Presets::builtin().get("raytion")?)?;
        options.concurrency = size.concurrency;
        anyhow::Ok(audit(client, &options, None).await?)
    })?;
    let wall = started.elapsed();
    let rss_mb = peak_rss_kb().map(|kb| kb as f64 / 1024.0);

    drop(child.stdin.take());
    let made: u64 = lines
        .next()
        .context("the fake site printed no request count")??
        .trim()
        .parse()?;
    child.wait()?;

    let bad: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !matches!(c.status, Status::Pass | Status::Skipped))
        .map(|c| format!("{} {}: {}", c.id, c.status.as_str(), c.summary))
        .collect();
    if !bad.is_empty() {
        bail!(
            "the synthetic site should pass every check:\n  {}",
            bad.join("\n  ")
        );
    }
    let minimum = cloud_minimum_requests(
        size.projects,
        size.schemes,
        size.schemes * size.levels,
        size.schemes * size.levels * HOLDERS_PER_LEVEL,
    );
    let bound = size.latency.mul_f64(made as f64 / size.concurrency as f64);
    let ratio = wall.as_secs_f64() / bound.as_secs_f64().max(1e-9);
    let over = (made as f64 / minimum as f64 - 1.0) * 100.0;
    let mark = |ok: bool| if ok { "ok" } else { "MISSED" };
    let requests_ok = made as f64 <= minimum as f64 * 1.10;
    let wall_ok = ratio <= 1.3;
    let rss_ok = rss_mb.is_none_or(|mb| mb < 100.0);
    println!(
        "requests made  {made:>8}   minimum {minimum:>8}   {over:+.1} %   [{}] target within 10 %",
        mark(requests_ok)
    );
    println!(
        "wall time      {:>7.2} s   bound   {:>7.2} s   ratio {ratio:.2}   [{}] target <= 1.30",
        wall.as_secs_f64(),
        bound.as_secs_f64(),
        mark(wall_ok)
    );
    match rss_mb {
        Some(mb) => println!(
            "peak RSS       {mb:>7.1} MB (the auditor's process)   [{}] target < 100 MB",
            mark(rss_ok)
        ),
        None => println!("peak RSS       unknown (no /proc/self/status)"),
    }
    if !(requests_ok && wall_ok && rss_ok) {
        bail!("the audit bench missed a target");
    }
    Ok(())
}
