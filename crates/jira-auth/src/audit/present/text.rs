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
        for item in check.not_covered.iter().take(MAX_FINDINGS) {
            let _ = writeln!(out, "        not covered: {item}");
        }
        if check.not_covered.len() > MAX_FINDINGS {
            let _ = writeln!(
                out,
                "        not covered: … and {} more (`--format json` lists them all)",
                check.not_covered.len() - MAX_FINDINGS
            );
        }
        if detailed && !check.findings.is_empty() {
            for f in check.findings.iter().take(MAX_FINDINGS) {
                let _ = writeln!(out, "        - {f}");
            }
            if check.findings.len() > MAX_FINDINGS {
                let _ = writeln!(
                    out,
                    "        … and {} more (`--format json` lists them all)",
                    check.findings.len() - MAX_FINDINGS
                );
            }
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
