//! GitHub Actions workflow commands: an annotation per check that is not a pass
//! (`::error` when it fails the run, `::warning` otherwise), then a `::notice` verdict.
//! https://docs.github.com/actions/reference/workflow-commands-for-github-actions

use super::{fails, verdict};
use crate::audit::args::FailOn;
use jira_auth_audit::{Report, Status};
use std::fmt::Write as _;

/// Escapes a command's message (`%`, CR, LF).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property (also `:` and `,`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report, fail_on: FailOn) -> String {
    let mut out = String::new();
    for c in &report.checks {
        let command = match c.status {
            Status::Pass | Status::Skipped => continue,
            s if fails(s, fail_on) => "error",
            _ => "warning",
        };
        let mut message = c.summary.clone();
        if let Some(coverage) = c.coverage_line() {
            message.push_str(&format!(" ({coverage})"));
        }
        for item in c.not_covered.iter().take(20) {
            message.push_str(&format!("\nnot covered: {item}"));
        }
        if !c.findings.is_empty() {
            let shown: Vec<&str> = c.findings.iter().take(20).map(String::as_str).collect();
            message.push_str(&format!("\n{}", shown.join("\n")));
            if c.findings.len() > 20 {
                message.push_str(&format!("\n… and {} more", c.findings.len() - 20));
            }
        }
        if let Some(fix) = &c.fix {
            message.push_str(&format!("\nfix: {fix}"));
        }
        let partial = if c.partial { " (partial)" } else { "" };
        let _ = writeln!(
            out,
            "::{command} title={}::{}",
            escape_property(&format!(
                "jira-auth audit: {} {}{partial}",
                c.id.as_str(),
                c.status.as_str()
            )),
            escape_data(&message)
        );
    }
    let _ = writeln!(
        out,
        "::notice title=jira-auth audit::{}",
        escape_data(&verdict(report, fail_on))
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_the_workflow_command_rules() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a: b, c"), "a%3A b%2C c");
    }
}
