//! Markdown for pull-request comments and `$GITHUB_STEP_SUMMARY`: a verdict, a table, then the
//! details of every check that is not a plain pass.

use super::{verdict, word};
use crate::audit::args::FailOn;
use jira_auth_audit::{Report, Status};
use std::fmt::Write as _;

/// Findings listed per check; the JSON report has them all.
const MAX_FINDINGS: usize = 50;

/// Makes text safe inside a table cell or a list item.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

fn icon(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Warn => "⚠️",
        Status::Fail => "❌",
        Status::Skipped => "⏭️",
        Status::Error => "💥",
    }
}

pub fn render(report: &Report, fail_on: FailOn) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## jira-auth audit\n");
    let _ = writeln!(out, "**{}**\n", cell(&verdict(report, fail_on)));
    let _ = writeln!(
        out,
        "Target `{}` ({}), user {} (`{}`), credential: {}\n",
        report.target.url,
        serde_json::to_value(report.target.deployment)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        cell(&report.target.user.display_name),
        report.target.user.id,
        cell(&report.target.credential)
    );
    let _ = writeln!(out, "| Check | Status | Summary | Coverage |");
    let _ = writeln!(out, "|---|---|---|---|");
    for c in &report.checks {
        let partial = if c.partial { " (partial)" } else { "" };
        let _ = writeln!(
            out,
            "| `{}` | {} {}{partial} | {} | {} |",
            c.id.as_str(),
            icon(c.status),
            word(c.status).to_lowercase(),
            cell(&c.summary),
            cell(&c.coverage_line().unwrap_or_default())
        );
    }
    for c in report
        .checks
        .iter()
        .filter(|c| !matches!(c.status, Status::Pass | Status::Skipped) || c.partial)
    {
        let _ = writeln!(
            out,
            "\n### {} `{}`: {}\n",
            icon(c.status),
            c.id.as_str(),
            cell(&c.title)
        );
        let _ = writeln!(out, "{}\n", cell(&c.summary));
        for e in &c.evidence {
            let _ = writeln!(out, "- {}", cell(e));
        }
        for item in c.not_covered.iter().take(MAX_FINDINGS) {
            let _ = writeln!(out, "- not covered: {}", cell(item));
        }
        if !c.findings.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>{} finding(s)</summary>\n",
                c.findings.len()
            );
            for f in c.findings.iter().take(MAX_FINDINGS) {
                let _ = writeln!(out, "- {}", cell(f));
            }
            if c.findings.len() > MAX_FINDINGS {
                let _ = writeln!(
                    out,
                    "- … and {} more (see the JSON report)",
                    c.findings.len() - MAX_FINDINGS
                );
            }
            let _ = writeln!(out, "\n</details>");
        }
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "\n**Fix:** {}", cell(fix));
        }
    }
    out
}
