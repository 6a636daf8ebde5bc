//! Text for a terminal: checks grouped, coloured when allowed, a one-line verdict at the end.

use super::{fails, verdict, word};
use crate::audit::args::FailOn;
use crate::output::Styles;
use jira_auth_audit::{Report, Status};
use std::fmt::Write as _;

/// Findings shown per check; the JSON report has them all.
const MAX_FINDINGS: usize = 20;

fn deployment(report: &Report) -> &'static str {
    match report.target.deployment {
        jira_auth_core::jira::Deployment::Cloud => "Jira Cloud",
        jira_auth_core::jira::Deployment::DataCenter => "Jira Data Center",
    }
}

pub fn render(report: &Report, color: bool, fail_on: FailOn) -> String {
    let paint = |code: &str, text: &str| Styles::paint(color, code, text);
    let mut out = String::new();
    let user = &report.target.user;
    let _ = writeln!(
        out,
        "{} {} ({}), preset `{}`",
        paint("1", "Audit of"),
        report.target.url,
        deployment(report),
        report.preset
    );
    let _ = writeln!(
        out,
        "User {} ({}) with {}",
        user.display_name, user.id, report.target.credential
    );
    let mut group = "";
    for check in &report.checks {
        let g = check.id.group();
        if g != group {
            let _ = writeln!(out, "\n{}", paint("1;4", g));
            group = g;
        }
        let code = match check.status {
            Status::Pass => "32",
            Status::Warn => "33",
            Status::Fail | Status::Error => "31",
            Status::Skipped => "2",
        };
        let mark = format!("{:<5}", word(check.status));
        let partial = if check.partial { " (partial)" } else { "" };
        let _ = writeln!(
            out,
            "  {} {}{partial}: {}",
            paint(code, &mark),
            paint("1", check.id.as_str()),
            check.summary
        );
        let detailed = check.status != Status::Pass && check.status != Status::Skipped
            || fails(check.status, fail_on);
        if let Some(coverage) = check.coverage_line() {
            let _ = writeln!(out, "        {}", paint("2", &format!("· {coverage}")));
        }
        for e in &check.evidence {
            let _ = writeln!(out, "        {}", paint("2", &format!("· {e}")));
        }
        capped(
            &mut out,
            &check.not_covered,
            "        not covered: ",
            "        not covered: ",
        );
        if detailed {
            capped(&mut out, &check.findings, "        - ", "        ");
        }
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "        {} {fix}", paint("36", "fix:"));
        }
    }
    let line = verdict(report, fail_on);
    let code = if line.starts_with("FAIL") {
        "1;31"
    } else if line.starts_with("PASS with") {
        "1;33"
    } else {
        "1;32"
    };
    let _ = writeln!(out, "\n{}", paint(code, &line));
    out
}

/// At most [`MAX_FINDINGS`] of `items`, one a line after `prefix`, then how many more there are.
fn capped(out: &mut String, items: &[String], prefix: &str, more_prefix: &str) {
    for item in items.iter().take(MAX_FINDINGS) {
        let _ = writeln!(out, "{prefix}{item}");
    }
    if items.len() > MAX_FINDINGS {
        let _ = writeln!(
            out,
            "{more_prefix}… and {} more (`--format json` lists them all)",
            items.len() - MAX_FINDINGS
        );
    }
}
