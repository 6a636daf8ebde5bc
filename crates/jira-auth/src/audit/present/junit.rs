//! JUnit XML: one `<testcase>` per check, so CI systems (GitHub, GitLab, Jenkins) render the
//! audit as tests. Hand-written with full escaping; `warn` is a failure only under
//! `--fail-on warning`, `skipped` is `<skipped/>`, `error` is `<error>`.

use super::fails;
use crate::audit::args::FailOn;
use jira_auth_audit::{CheckResult, Report, Status};
use std::fmt::Write as _;

/// Escapes text for XML content and attribute values; drops characters XML 1.0 forbids.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes element text (newlines kept as newlines).
fn escape_text(s: &str) -> String {
    escape(s).replace("&#10;", "\n")
}

fn details(check: &CheckResult) -> String {
    let mut out = String::new();
    if let Some(coverage) = check.coverage_line() {
        let _ = writeln!(out, "coverage: {coverage}");
    }
    for e in &check.evidence {
        let _ = writeln!(out, "evidence: {e}");
    }
    for item in &check.not_covered {
        let _ = writeln!(out, "not covered: {item}");
    }
    for f in &check.findings {
        let _ = writeln!(out, "finding: {f}");
    }
    if let Some(fix) = &check.fix {
        let _ = writeln!(out, "fix: {fix}");
    }
    out
}

pub fn render(report: &Report, fail_on: FailOn) -> String {
    let total = report.checks.len();
    let failures = report
        .checks
        .iter()
        .filter(|c| c.status != Status::Error && fails(c.status, fail_on))
        .count();
    let errors = report.summary.error;
    let skipped = report.summary.skipped;
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"jira-auth audit\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">"
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"jira-auth audit ({})\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{}\">",
        escape(&report.preset),
        escape(&report.started_at)
    );
    let _ = writeln!(out, "    <properties>");
    for (k, v) in [
        ("target", report.target.url.clone()),
        (
            "deployment",
            serde_json::to_value(report.target.deployment)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
        ),
        ("user", report.target.user.display_name.clone()),
        ("credential", report.target.credential.clone()),
        ("schema_version", report.schema_version.to_string()),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{k}\" value=\"{}\"/>",
            escape(&v)
        );
    }
    let _ = writeln!(out, "    </properties>");
    for check in &report.checks {
        let partial = if check.partial { " (partial)" } else { "" };
        let _ = write!(
            out,
            "    <testcase classname=\"jira-auth.audit.{}\" name=\"{}: {}{partial}\"",
            escape(check.id.group()),
            check.id.as_str(),
            escape(&check.title)
        );
        let body = escape_text(&details(check));
        let message = escape(&check.summary);
        match check.status {
            Status::Error => {
                let _ = writeln!(
                    out,
                    ">\n      <error type=\"error\" message=\"{message}\">{body}</error>\n    </testcase>"
                );
            }
            Status::Skipped => {
                let _ = writeln!(
                    out,
                    ">\n      <skipped message=\"{message}\"/>\n    </testcase>"
                );
            }
            status if fails(status, fail_on) => {
                let _ = writeln!(
                    out,
                    ">\n      <failure type=\"{}\" message=\"{message}\">{body}</failure>\n    </testcase>",
                    status.as_str()
                );
            }
            status => {
                let _ = writeln!(
                    out,
                    ">\n      <system-out>{}: {}\n{body}</system-out>\n    </testcase>",
                    status.as_str(),
                    escape_text(&check.summary)
                );
            }
        }
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        assert_eq!(
            escape("a<b>&\"c\" 'd'\u{1}\ne"),
            "a&lt;b&gt;&amp;&quot;c&quot; &apos;d&apos;&#10;e"
        );
    }
}
