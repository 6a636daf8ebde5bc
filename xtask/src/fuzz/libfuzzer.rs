//! The libFuzzer engine: `cargo fuzz` over the crate in `fuzz/`, one binary per target (each a
//! call to the same `jira-auth-fuzz-targets` function the seed runner uses).
//!
//! Built once with `cargo fuzz build --sanitizer <S> --debug-assertions` (overflow checks on,
//! like the seed runner's dev profile; only the one target when one is asked for), then each
//! target runs with two corpus folders: the scratch `fuzz/target/corpus/<target>/`, where
//! libFuzzer writes what it finds (kept between runs, never committed), and the committed
//! seeds `fuzz/corpus/<target>/`, only read. A crash or a 10 s hang fails the run and leaves
//! its input in `fuzz/artifacts/<target>/`. The full libFuzzer output of each target is in
//! `fuzz/target/logs/<target>.log`.

use super::{Budget, Target};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Whether `cargo fuzz` is installed.
pub fn available() -> bool {
    Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `cargo fuzz <command>` with the engine's build flags. libFuzzer itself builds on stable Rust;
/// only the sanitizers are `-Z` flags, so they get `RUSTC_BOOTSTRAP=1`, and a target folder of
/// their own so that switching back and forth does not rebuild every dependency each time.
fn cargo_fuzz(root: &Path, command: &str, sanitizer: &str) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root).args([
        "fuzz",
        command,
        "--sanitizer",
        sanitizer,
        "--debug-assertions",
    ]);
    if sanitizer != "none" {
        cmd.env("RUSTC_BOOTSTRAP", "1").arg("--target-dir").arg(
            root.join("fuzz/target")
                .join(format!("sanitizer-{sanitizer}")),
        );
    }
    cmd
}

/// Builds `targets` (all of them in one build), then fuzzes each in turn within `budget`.
pub fn run(
    root: &Path,
    targets: &[&Target],
    budget: Budget,
    seed: Option<u64>,
    sanitizer: &str,
) -> Result<()> {
    println!("fuzz: building the libFuzzer targets (cargo fuzz, sanitizer {sanitizer})");
    let mut build = cargo_fuzz(root, "build", sanitizer);
    if let [only] = targets {
        build.arg(only.name);
    }
    let built = build.status().context("running `cargo fuzz build`")?;
    if !built.success() {
        bail!("`cargo fuzz build` failed ({built})");
    }
    let logs = root.join("fuzz/target/logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let mut failed = Vec::new();
    let mut total = 0u64;
    for t in targets {
        let scratch = root.join("fuzz/target/corpus").join(t.name);
        std::fs::create_dir_all(&scratch)
            .with_context(|| format!("creating {}", scratch.display()))?;
        let log_path = logs.join(format!("{}.log", t.name));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating {}", log_path.display()))?;
        let mut cmd = cargo_fuzz(root, "run", sanitizer);
        cmd.arg(t.name)
            .arg(&scratch)
            .arg(super::corpus_dir(t.name))
            .arg("--")
            .args(["-timeout=10", "-print_final_stats=1"]);
        match budget.iterations {
            Some(runs) => cmd.arg(format!("-runs={runs}")),
            None => cmd.arg(format!("-max_total_time={}", budget.time.as_secs().max(1))),
        };
        if let Some(seed) = seed {
            // libFuzzer's seed is 32 bits, and 0 asks it for a random one.
            cmd.arg(format!("-seed={}", (seed % u64::from(u32::MAX)).max(1)));
        }
        let started = Instant::now();
        let status = cmd
            .stdout(log.try_clone().context("sharing the log file")?)
            .stderr(log)
            .status()
            .with_context(|| format!("running `cargo fuzz run {}`", t.name))?;
        let elapsed = started.elapsed();
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        let stats = Stats::parse(&output);
        total += stats.runs;
        let saved = artifact(&output);
        let outcome = if status.success() {
            "no crash".to_owned()
        } else {
            failed.push(t.name);
            match &saved {
                Some(path) => format!("CRASH, input saved to {}", path.display()),
                None => format!("FAILED ({status})"),
            }
        };
        println!(
            "fuzz {:<16} {:>9} runs in {:>5.1} s (libFuzzer: cov {}, ft {}, corpus {}): {outcome}",
            t.name,
            stats.runs,
            elapsed.as_secs_f64(),
            stats.cov,
            stats.ft,
            stats.corpus,
        );
        if !status.success() {
            for line in panic_lines(&output) {
                eprintln!("  {line}");
            }
            eprintln!("  libFuzzer's output: {}", log_path.display());
            if let Some(path) = saved {
                eprintln!(
                    "  replay: cargo xtask fuzz --input {} {}",
                    path.display(),
                    t.name
                );
            }
        }
    }
    println!(
        "fuzz: {total} runs over {} targets, {} crashed",
        targets.len(),
        failed.len()
    );
    if !failed.is_empty() {
        bail!(
            "crashes in {}: fix the bug, add a unit test and the input to the seeds",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The figures of one libFuzzer run, read from its output.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs executed (`stat::number_of_executed_units`).
    pub runs: u64,
    /// Coverage points (edges) reached, from the last status line.
    pub cov: u64,
    /// Features (edges with hit counts, comparisons) reached.
    pub ft: u64,
    /// Inputs in the in-memory corpus at the end.
    pub corpus: u64,
}

impl Stats {
    pub fn parse(output: &str) -> Self {
        let mut stats = Self::default();
        let field = |line: &str, name: &str| -> Option<u64> {
            let rest = line.split(name).nth(1)?;
            let word = rest.split_whitespace().next()?;
            word.split('/').next()?.parse().ok()
        };
        for line in output.lines() {
            if let Some(n) = line
                .strip_prefix("stat::number_of_executed_units:")
                .and_then(|v| v.trim().parse().ok())
            {
                stats.runs = n;
            }
            if line.starts_with('#') && line.contains(" cov: ") {
                stats.cov = field(line, " cov: ").unwrap_or(stats.cov);
                stats.ft = field(line, " ft: ").unwrap_or(stats.ft);
                stats.corpus = field(line, " corp: ").unwrap_or(stats.corpus);
            }
        }
        stats
    }
}

/// The panic (location and message) or libFuzzer's own verdict (a timeout, an out-of-memory).
fn panic_lines(output: &str) -> Vec<&str> {
    let lines: Vec<&str> = output.lines().collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            l.contains(" panicked at ") || (l.starts_with("==") && l.contains("ERROR"))
        })
        .flat_map(|(i, _)| lines[i..(i + 2).min(lines.len())].iter().copied())
        .collect()
}

/// The input libFuzzer saved for a crash or a hang.
fn artifact(output: &str) -> Option<PathBuf> {
    output.lines().find_map(|l| {
        l.split("Test unit written to ")
            .nth(1)
            .map(|p| PathBuf::from(p.trim()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_come_from_the_last_status_line_and_the_final_stats() {
        let output = "\
INFO: Seed: 1
#1488\tINITED cov: 1019 ft: 3447 corp: 1284/160Kb exec/s: 0 rss: 71Mb
#2624056\tDONE   cov: 1021 ft: 3460 corp: 1290/161Kb lim: 4096 exec/s: 164003 rss: 80Mb
Done 2624056 runs in 16 second(s)
stat::number_of_executed_units: 2624056
stat::average_exec_per_sec:     164003
";
        assert_eq!(
            Stats::parse(output),
            Stats {
                runs: 2_624_056,
                cov: 1021,
                ft: 3460,
                corpus: 1290
            }
        );
        let crash = "\
thread '<unnamed>' (19437) panicked at crates/jira-auth-fuzz-targets/src/lib.rs:324:5:
deliberate
stack backtrace:
==19437== ERROR: libFuzzer: deadly signal
NOTE: libFuzzer has rudimentary signal handlers.
";
        assert_eq!(
            panic_lines(crash),
            [
                "thread '<unnamed>' (19437) panicked at crates/jira-auth-fuzz-targets/src/lib.rs:324:5:",
                "deliberate",
                "==19437== ERROR: libFuzzer: deadly signal",
                "NOTE: libFuzzer has rudimentary signal handlers.",
            ]
        );
        assert_eq!(
            artifact(
                "==1== ERROR: libFuzzer: deadly signal\nartifact_prefix='a/'; Test unit written to a/crash-01ab\n"
            ),
            Some(PathBuf::from("a/crash-01ab"))
        );
    }
}
