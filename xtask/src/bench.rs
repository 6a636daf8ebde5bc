//! `cargo xtask bench audit`: the auditor against synthetic Jira Cloud sites served by the test
//! harness (`jira_auth_test::jira_site`) with a fixed latency per response, in three scenarios,
//! each against its target:
//!
//! 1. **1,000 projects, no limit**: the adaptive audit side by side with a sequential baseline
//!    run in the same bench: a plain client written from Atlassian's documents ([`sequential`]),
//!    one request at a time, no tuning, reading the same information (its request count is
//!    printed next to the audit's, and what it read is held against the site). Target: ≥ 20×
//!    faster.
//! 2. **1,000 projects, 6-wide burst limit**: the site answers `429` with `Retry-After: 1` and
//!    `RateLimit-Reason: jira-burst-based` beyond 6 requests being served. Targets: wall time
//!    ≤ 1.5× (requests served × latency / 6), ≤ 5 % of requests throttled, no failed check.
//! 3. **10,000 projects, no limit**: wall time ≤ 1.3× the latency bound at the chosen
//!    concurrency (requests × latency / the ceiling), requests ≤ 1.1× the minimum the checks
//!    need with these page sizes ([`jira_auth_audit::cloud_minimum_requests`]), peak RSS of the
//!    auditor's process ≤ 100 MB.
//!
//! Each fake site runs in a child process (this same executable, `JIRA_AUTH_BENCH_SERVE` set),
//! so the site's memory is not counted as the auditor's, and reports the requests it served
//! and throttled. Fails when a target is missed.
//!
//! Knobs (environment, for quick runs): `JIRA_AUTH_BENCH_PROJECTS` (10000, scenario 3),
//! `JIRA_AUTH_BENCH_SMALL` (1000, scenarios 1 and 2), `JIRA_AUTH_BENCH_SCHEMES` (200),
//! `JIRA_AUTH_BENCH_LEVELS` (5), `JIRA_AUTH_BENCH_ROLES` (30), `JIRA_AUTH_BENCH_LATENCY_MS` (20),
//! `JIRA_AUTH_BENCH_CONCURRENCY` (the ceiling, 32), `JIRA_AUTH_BENCH_BURST` (6),
//! `JIRA_AUTH_BENCH_SCENARIOS` (which to run, `123`), `JIRA_AUTH_BENCH_TIMELINE` (set: print
//! the burst scenario's limit and requests in flight every 100 ms).

use anyhow::{Context as _, Result, bail};
use jira_auth_audit::{AuditOptions, Report, Status, audit, cloud_minimum_requests};
use jira_auth_core::AccessToken;
use jira_auth_core::auth::Bearer;
use jira_auth_core::http::HttpClient;
use jira_auth_core::jira::{Deployment, JiraClient};
use jira_auth_core::limit::Limiter;
use jira_auth_core::presets::Presets;
use jira_auth_test::jira_site::{Behaviour, JiraSite, Site};
use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod sequential;

/// Holders per level in the synthetic site (a group, `reporter`, a project role).
const HOLDERS_PER_LEVEL: usize = 3;
/// Set in the child process that serves a fake site: `PROJECTS BURST` (0: no burst limit).
const SERVE_ENV: &str = "JIRA_AUTH_BENCH_SERVE";

#[derive(Debug, Clone, Copy)]
struct Size {
    projects: usize,
    small: usize,
    schemes: usize,
    levels: usize,
    roles: usize,
    latency: Duration,
    ceiling: usize,
    burst: usize,
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
            small: knob("JIRA_AUTH_BENCH_SMALL", 1_000)?,
            schemes: knob("JIRA_AUTH_BENCH_SCHEMES", 200)?,
            levels: knob("JIRA_AUTH_BENCH_LEVELS", 5)?,
            roles: knob("JIRA_AUTH_BENCH_ROLES", 30)?,
            latency: Duration::from_millis(knob("JIRA_AUTH_BENCH_LATENCY_MS", 20)? as u64),
            ceiling: knob("JIRA_AUTH_BENCH_CONCURRENCY", 32)?.clamp(1, 128),
            burst: knob("JIRA_AUTH_BENCH_BURST", 6)?.max(1),
        })
    }

    /// Fails unless the baseline read everything the synthetic site of `projects` holds: a
    /// baseline that reads less would be unfairly fast.
    fn holds(&self, projects: usize, got: &sequential::Gathered) -> Result<()> {
        let schemes = if projects == 0 {
            0
        } else {
            self.schemes.min(projects)
        };
        let want = (
            projects,
            projects,
            projects,
            schemes,
            schemes * self.levels,
            schemes * self.levels * HOLDERS_PER_LEVEL,
        );
        let read = (
            got.projects,
            got.browsable,
            got.role_lists,
            got.schemes_in_use,
            got.levels,
            got.members,
        );
        if read != want {
            bail!(
                "the sequential baseline read (projects, browsable, role lists, schemes in use, levels, members) = {read:?}, the site holds {want:?}"
            );
        }
        Ok(())
    }

    fn minimum(&self, projects: usize) -> u64 {
        cloud_minimum_requests(
            projects,
            self.schemes,
            self.schemes * self.levels,
            self.schemes * self.levels * HOLDERS_PER_LEVEL,
        )
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

/// The child: serve the site, print its URL, wait for stdin to close, print the requests
/// served and throttled.
fn serve(size: Size, spec: &str) -> Result<()> {
    let mut parts = spec.split_whitespace().map(str::parse::<usize>);
    let (Some(Ok(projects)), Some(Ok(burst))) = (parts.next(), parts.next()) else {
        bail!("`{SERVE_ENV}` must be `PROJECTS BURST`, not `{spec}`");
    };
    runtime()?.block_on(async {
        let site = JiraSite::start_with(
            Site::synthetic(projects, size.schemes, size.levels, size.roles),
            Behaviour {
                latency: size.latency,
                no_journal: true,
                burst_limit: (burst > 0).then_some(burst),
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
        println!("{} {}", site.requests(), site.throttled());
        Ok(())
    })
}

/// Who reads the site.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// The auditor with `concurrency` as the ceiling, or as the fixed number with `fixed`.
    Audit { concurrency: usize, fixed: bool },
    /// The plain sequential baseline ([`sequential`]).
    Sequential,
}

/// The audit's limiter over one run, sampled every [`SAMPLE_EVERY`].
#[derive(Debug, Default, Clone)]
struct Occupancy {
    samples: u64,
    /// The sum of the requests in flight at each sample.
    in_flight: u64,
    /// The limit when the audit ended.
    last_limit: usize,
    /// `JIRA_AUTH_BENCH_TIMELINE` set: `(ms, limit, in flight, throttled)` every 100 ms.
    timeline: Vec<(u128, usize, usize, u64)>,
}

impl Occupancy {
    fn mean(&self) -> f64 {
        self.in_flight as f64 / self.samples.max(1) as f64
    }
}

const SAMPLE_EVERY: Duration = Duration::from_millis(5);

/// Samples `limiter` into `out` until aborted.
async fn sample(limiter: Arc<Limiter>, out: Arc<Mutex<Occupancy>>) {
    let timeline = std::env::var_os("JIRA_AUTH_BENCH_TIMELINE").is_some();
    let start = Instant::now();
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    let mut n = 0u64;
    loop {
        tick.tick().await;
        let s = limiter.snapshot();
        let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
        o.samples += 1;
        o.in_flight += s.in_flight as u64;
        if timeline && n.is_multiple_of(20) {
            o.timeline.push((
                start.elapsed().as_millis(),
                s.limit,
                s.in_flight,
                s.throttled,
            ));
        }
        n += 1;
    }
}

/// What one run measured.
#[derive(Debug)]
struct Run {
    wall: Duration,
    /// The adaptive limiter over the run (empty for the baseline).
    occupancy: Occupancy,
    /// Requests the reader says it sent.
    sent: u64,
    /// Requests the site answered, throttled ones included.
    served: u64,
    throttled: u64,
    /// Checks that did not pass.
    bad: Vec<String>,
}

/// Reads a fresh site of `projects` projects (with a burst limit when `burst > 0`) with
/// `reader`.
fn run(size: &Size, projects: usize, burst: usize, reader: Reader) -> Result<Run> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env(SERVE_ENV, format!("{projects} {burst}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the fake site process")?;
    let mut lines = BufReader::new(child.stdout.take().context("no child stdout")?).lines();
    let url = lines.next().context("the fake site printed no URL")??;

    let occupancy = Arc::new(Mutex::new(Occupancy::default()));
    let started = Instant::now();
    let (report, sent) = runtime()?.block_on(async {
        match reader {
            Reader::Audit { concurrency, fixed } => {
                let client = JiraClient::new(
                    HttpClient::builder().build()?,
                    url.parse()?,
                    Deployment::Cloud,
                    Arc::new(Bearer(AccessToken::new("bench"))),
                );
                let mut options =
                    AuditOptions::from_preset("raytion", Presets::builtin().get("raytion")?)?;
                options.concurrency = concurrency;
                options.fixed = fixed;
                let limiter = Arc::new(options.limiter());
                let sampler = tokio::spawn(sample(limiter.clone(), occupancy.clone()));
                let report = audit(client.with_limiter(limiter.clone()), &options, None).await?;
                sampler.abort();
                let mut o = occupancy.lock().unwrap_or_else(|e| e.into_inner());
                o.last_limit = limiter.snapshot().limit;
                drop(o);
                let sent = report.requests;
                anyhow::Ok((Some(report), sent))
            }
            Reader::Sequential => {
                let got = sequential::gather(&url, "bench").await?;
                size.holds(projects, &got)?;
                anyhow::Ok((None, got.requests))
            }
        }
    })?;
    let wall = started.elapsed();

    drop(child.stdin.take());
    let counts = lines
        .next()
        .context("the fake site printed no request count")??;
    child.wait()?;
    let mut counts = counts.split_whitespace().map(str::parse::<u64>);
    let (Some(Ok(served)), Some(Ok(throttled))) = (counts.next(), counts.next()) else {
        bail!("the fake site printed no request count");
    };
    let bad = report
        .iter()
        .flat_map(|r: &Report| &r.checks)
        .filter(|c| !matches!(c.status, Status::Pass | Status::Skipped))
        .map(|c| format!("{} {}: {}", c.id, c.status.as_str(), c.summary))
        .collect();
    let occupancy = occupancy.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(Run {
        wall,
        occupancy,
        sent,
        served,
        throttled,
        bad,
    })
}

fn mark(ok: bool) -> &'static str {
    if ok { "ok" } else { "MISSED" }
}

pub fn bench_audit() -> Result<()> {
    let size = Size::from_env()?;
    if let Ok(spec) = std::env::var(SERVE_ENV) {
        return serve(size, &spec);
    }
    println!(
        "audit bench: synthetic Jira Cloud sites, {} issue security schemes x {} levels, {} roles, {} ms per response, adaptive concurrency up to {}",
        size.schemes,
        size.levels,
        size.roles,
        size.latency.as_millis(),
        size.ceiling
    );
    let latency = size.latency.as_secs_f64();
    let scenarios = std::env::var("JIRA_AUTH_BENCH_SCENARIOS").unwrap_or_else(|_| "123".into());
    let mut missed = Vec::new();
    let mut check = |ok: bool, what: &str| {
        if !ok {
            missed.push(what.to_owned());
        }
        mark(ok)
    };

    // 1. No limit, side by side with one request at a time.
    if scenarios.contains('1') {
        println!(
            "\n1. {} projects, no rate limit: adaptive audit vs a plain sequential client of the same reads",
            size.small
        );
        let baseline = run(&size, size.small, 0, Reader::Sequential)?;
        let adaptive = run(
            &size,
            size.small,
            0,
            Reader::Audit {
                concurrency: size.ceiling,
                fixed: false,
            },
        )?;
        let speedup = baseline.wall.as_secs_f64() / adaptive.wall.as_secs_f64().max(1e-9);
        println!(
            "   sequential   {:>7.2} s   {:>6} requests sent, {:>6} served",
            baseline.wall.as_secs_f64(),
            baseline.sent,
            baseline.served
        );
        println!(
            "   adaptive     {:>7.2} s   {:>6} requests sent, {:>6} served   ({:.3}x the baseline's requests)",
            adaptive.wall.as_secs_f64(),
            adaptive.sent,
            adaptive.served,
            adaptive.sent as f64 / baseline.sent.max(1) as f64
        );
        println!(
            "   speed-up     {speedup:>7.1}x                [{}] target >= 20x",
            check(
                speedup >= 20.0,
                "1,000 projects: 20x the sequential baseline"
            )
        );
        for r in [&baseline, &adaptive] {
            if !r.bad.is_empty() {
                bail!(
                    "the synthetic site should pass every check:\n  {}",
                    r.bad.join("\n  ")
                );
            }
        }
    }

    // 2. A burst limit.
    if scenarios.contains('2') {
        println!(
            "\n2. {} projects, burst limit: 429 + Retry-After: 1 + RateLimit-Reason: jira-burst-based beyond {} in flight",
            size.small, size.burst
        );
        let burst = run(
            &size,
            size.small,
            size.burst,
            Reader::Audit {
                concurrency: size.ceiling,
                fixed: false,
            },
        )?;
        let bound = burst.served as f64 * latency / size.burst as f64;
        let ratio = burst.wall.as_secs_f64() / bound.max(1e-9);
        let share = burst.throttled as f64 * 100.0 / burst.served.max(1) as f64;
        println!(
            "   wall time    {:>7.2} s   bound {bound:>6.2} s (served x latency / {})   ratio {ratio:.2}   [{}] target <= 1.50",
            burst.wall.as_secs_f64(),
            size.burst,
            check(ratio <= 1.5, "burst limit: wall within 1.5x the bound")
        );
        println!(
            "   throttled    {:>7} of {} requests ({share:.1} %)   [{}] target <= 5 %",
            burst.throttled,
            burst.served,
            check(share <= 5.0, "burst limit: at most 5 % throttled")
        );
        println!(
            "   in flight    {:>7.2} on average, limit {} at the end",
            burst.occupancy.mean(),
            burst.occupancy.last_limit
        );
        for (ms, limit, in_flight, throttled) in &burst.occupancy.timeline {
            println!(
                "     {ms:>6} ms  limit {limit:>3}  in flight {in_flight:>3}  throttled {throttled}"
            );
        }
        println!(
            "   failed checks {:>6}                      [{}] target 0",
            burst.bad.len(),
            check(burst.bad.is_empty(), "burst limit: no failed check")
        );
        for b in &burst.bad {
            println!("     {b}");
        }
    }

    // 3. A big site.
    if scenarios.contains('3') {
        println!("\n3. {} projects, no rate limit", size.projects);
        let big = run(
            &size,
            size.projects,
            0,
            Reader::Audit {
                concurrency: size.ceiling,
                fixed: false,
            },
        )?;
        let minimum = size.minimum(size.projects);
        let bound = big.served as f64 * latency / size.ceiling as f64;
        let ratio = big.wall.as_secs_f64() / bound.max(1e-9);
        let over = big.served as f64 / minimum as f64;
        println!(
            "   requests     {:>7}   minimum {minimum:>6}   ratio {over:.3}   [{}] target <= 1.10",
            big.served,
            check(
                over <= 1.10,
                "10,000 projects: requests within 1.1x the minimum"
            )
        );
        println!(
            "   wall time    {:>7.2} s   bound {bound:>6.2} s (requests x latency / {})   ratio {ratio:.2}   [{}] target <= 1.30",
            big.wall.as_secs_f64(),
            size.ceiling,
            check(ratio <= 1.3, "10,000 projects: wall within 1.3x the bound")
        );
        if !big.bad.is_empty() {
            bail!(
                "the synthetic site should pass every check:\n  {}",
                big.bad.join("\n  ")
            );
        }
        match peak_rss_kb().map(|kb| kb as f64 / 1024.0) {
            Some(mb) => println!(
                "   peak RSS     {mb:>7.1} MB (the auditor's process, all scenarios)   [{}] target <= 100 MB",
                check(mb <= 100.0, "peak RSS within 100 MB")
            ),
            None => println!("   peak RSS     unknown (no /proc/self/status)"),
        }
    }
    if !missed.is_empty() {
        bail!("the audit bench missed: {}", missed.join("; "));
    }
    Ok(())
}
