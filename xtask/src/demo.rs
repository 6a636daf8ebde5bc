//! `cargo xtask demo`: the whole product, end to end, against embedded fakes on 127.0.0.1.
//!
//! It builds `jira-auth` and runs [`jira_auth_test::journey`], the same journey the end-to-end
//! test `tests/tests/it/journey.rs` snapshots, narrating each step. Nothing leaves the machine and
//! the throw-away config directory is removed at the end.

use anyhow::Result;
use jira_auth_test::journey::{self, Event, Step};
use std::time::Instant;

pub fn run() -> Result<()> {
    let binary = crate::build_binary()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let steps = runtime.block_on(journey::run(&binary, |event| match event {
        Event::Note(text) => println!("\n{text}"),
        Event::Step(step) => show(step),
    }))?;
    println!(
        "\nDone: {} steps in {:.1} s, nothing left behind. Next: README.md → “Using it for real”.",
        steps.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn show(step: &Step) {
    println!("\n▶ {}", step.title);
    println!("$ jira-auth {}", step.args.join(" "));
    let mask = step.args.first().map(String::as_str) == Some("cloud")
        && step.args.get(1).map(String::as_str) == Some("export");
    for line in step.stderr.lines().filter(|l| !l.trim().is_empty()) {
        println!("    {}", cut(line));
    }
    for did in &step.browser {
        println!("    · browser: {did}");
    }
    for line in step.stdout.lines() {
        let line = if mask {
            mask_assignment(line)
        } else {
            line.to_owned()
        };
        println!("    {}", cut(&line));
    }
    println!("    · exit code {}", step.code);
}

/// Lines longer than a terminal are cut: the authorize URLs carry dozens of scopes.
fn cut(line: &str) -> String {
    const WIDTH: usize = 160;
    if line.chars().count() <= WIDTH {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(WIDTH).collect();
    short.push('…');
    short
}

/// Hides the value of a `KEY=value` export line in the demo's narration only (the real command
/// printed it in full, as it must); the cloud id is not a secret and stays visible.
fn mask_assignment(line: &str) -> String {
    let Some((key, value)) = line.split_once('=') else {
        return line.to_owned();
    };
    if line.starts_with('#') || key.to_ascii_lowercase().contains("cloud_id") {
        return line.to_owned();
    }
    let value = value.trim().trim_matches('"');
    let shown: String = value.chars().take(4).collect();
    format!(
        "{key}={shown}… (masked, {} characters)",
        value.chars().count()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_values_are_masked_but_the_cloud_id_is_not() {
        assert_eq!(
            mask_assignment("PSOXY_JIRA_CLOUD_REFRESH_TOKEN=rt-0001-abcdef"),
            "PSOXY_JIRA_CLOUD_REFRESH_TOKEN=rt-0… (masked, 14 characters)"
        );
        assert_eq!(
            mask_assignment("jira_cloud_id = \"c-1\""),
            "jira_cloud_id = \"c-1\""
        );
        assert_eq!(mask_assignment("# a comment = x"), "# a comment = x");
    }
}
