//! Presenters: one [`jira_auth_audit::Report`], five renderings. Each is a pure function of
//! the report (and the fail policy, which decides what counts as failing), so snapshots pin
//! them exactly.

mod github;
mod junit;
mod markdown;
mod text;

use super::args::FailOn;
use crate::exit::Failure;
use jira_auth_audit::{Report, Status};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Junit,
    Markdown,
    Github,
}

impl Format {
    const NAMES: &'static str = "text, json, junit, markdown, github";

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "text" => Format::Text,
            "json" => Format::Json,
            "junit" => Format::Junit,
            "markdown" | "md" => Format::Markdown,
            "github" => Format::Github,
            _ => return None,
        })
    }
}

/// Where one rendering goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    /// `None`: stdout.
    pub file: Option<PathBuf>,
}

/// Parses `--format` values (`text`, `junit=report.xml`) and `--output`.
pub fn outputs(specs: &[String], output: Option<PathBuf>) -> Result<Vec<Output>, Failure> {
    let mut outputs = Vec::new();
    for spec in specs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let (name, file) = match spec.split_once('=') {
            Some((n, f)) if !f.is_empty() => (n, Some(PathBuf::from(f))),
            Some((n, _)) => {
                return Err(Failure::usage(format!(
                    "`--format {spec}` names no file; write `{n}=FILE`"
                )));
            }
            None => (spec, None),
        };
        let format = Format::parse(name).ok_or_else(|| {
            Failure::usage(format!(
                "unknown format `{name}`; known formats: {}",
                Format::NAMES
            ))
        })?;
        outputs.push(Output { format, file });
    }
    let to_stdout = outputs.iter().filter(|o| o.file.is_none()).count();
    if to_stdout > 1 {
        return Err(Failure::usage(
            "only one format can go to stdout; give the others a file, e.g. `--format text,junit=report.xml`",
        ));
    }
    if let Some(file) = output {
        match outputs.iter_mut().find(|o| o.file.is_none()) {
            Some(o) => o.file = Some(file),
            None => {
                return Err(Failure::usage(
                    "`--output` names the file for the stdout format, but every format already has a file",
                ));
            }
        }
    }
    if outputs.is_empty() {
        outputs.push(Output {
            format: Format::Text,
            file: None,
        });
    }
    Ok(outputs)
}

/// Whether `status` fails the run under `fail_on`.
pub fn fails(status: Status, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Never => false,
        FailOn::Error => matches!(status, Status::Fail | Status::Error),
        FailOn::Warning => matches!(status, Status::Fail | Status::Error | Status::Warn),
    }
}

/// Whether the report fails the run.
pub fn report_fails(report: &Report, fail_on: FailOn) -> bool {
    report.checks.iter().any(|c| fails(c.status, fail_on))
}

/// The one-line verdict every human format ends with.
pub fn verdict(report: &Report, fail_on: FailOn) -> String {
    let s = &report.summary;
    let total = report.checks.len();
    let mut parts = Vec::new();
    for (n, word) in [
        (s.fail, "failed"),
        (s.error, "errored"),
        (s.warn, "warned"),
        (s.pass, "passed"),
        (s.skipped, "skipped"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {word}"));
        }
    }
    let head = if report_fails(report, fail_on) {
        "FAIL"
    } else if s.warn > 0 || s.fail > 0 || s.error > 0 {
        "PASS with findings"
    } else {
        "PASS"
    };
    format!(
        "{head}: {} ({}, preset `{}`, --fail-on {})",
        parts.join(", "),
        jira_auth_core::plural::count(total, "check"),
        report.preset,
        match fail_on {
            FailOn::Error => "error",
            FailOn::Warning => "warning",
            FailOn::Never => "never",
        }
    )
}

/// Renders `report` as `format`.
pub fn render(report: &Report, format: Format, color: bool, fail_on: FailOn) -> String {
    match format {
        Format::Text => text::render(report, color, fail_on),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Junit => junit::render(report, fail_on),
        Format::Markdown => markdown::render(report, fail_on),
        Format::Github => github::render(report, fail_on),
    }
}

/// The status word, padded for alignment in text.
pub fn word(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Warn => "warn",
        Status::Fail => "FAIL",
        Status::Skipped => "skip",
        Status::Error => "ERROR",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jira_auth_audit::{CheckId, CheckResult, Target, User};
    use jira_auth_core::jira::Deployment;

    fn report() -> Report {
        let checks = vec![
            CheckResult::new(
                CheckId::ProjectsBrowse,
                Status::Fail,
                "2 | <b>projects</b> & co",
            )
            .findings(vec!["A|B".into()])
            .fix("grant it"),
            CheckResult::new(CheckId::ServerInfo, Status::Warn, "skew 90%\nof a minute"),
        ];
        Report {
            schema_version: 1,
            tool: "jira-auth 0".into(),
            preset: "raytion".into(),
            started_at: "2026-11-25T08:49:00Z".into(),
            target: Target {
                url: "https://acme.atlassian.net/".into(),
                deployment: Deployment::Cloud,
                credential: "API token of a@b.c".into(),
                user: User {
                    id: "acc".into(),
                    name: None,
                    display_name: "Bot".into(),
                    groups: vec![],
                    application_roles: vec![],
                },
            },
            summary: Report::summarize(&checks),
            checks,
            requests: 3,
        }
    }

    #[test]
    fn formats_parse_with_files_and_one_stdout_at_most() {
        let specs = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            outputs(&specs(&["text", "junit=r.xml"]), Some("out.txt".into())).unwrap(),
            [
                Output {
                    format: Format::Text,
                    file: Some("out.txt".into())
                },
                Output {
                    format: Format::Junit,
                    file: Some("r.xml".into())
                },
            ]
        );
        assert_eq!(
            outputs(&specs(&["json="]), None).unwrap_err().to_string(),
            "`--format json=` names no file; write `json=FILE`"
        );
        assert_eq!(
            outputs(&specs(&["json=a"]), Some("b".into()))
                .unwrap_err()
                .to_string(),
            "`--output` names the file for the stdout format, but every format already has a file"
        );
    }

    #[test]
    fn the_fail_policy_decides_what_fails() {
        let r = report();
        assert!(report_fails(&r, FailOn::Error));
        assert!(!report_fails(&r, FailOn::Never));
        assert_eq!(
            verdict(&r, FailOn::Never),
            "PASS with findings: 1 failed, 1 warned (2 checks, preset `raytion`, --fail-on never)"
        );
    }

    #[test]
    fn text_is_coloured_only_when_asked() {
        let r = report();
        assert!(!render(&r, Format::Text, false, FailOn::Error).contains('\x1b'));
        let coloured = render(&r, Format::Text, true, FailOn::Error);
        assert!(coloured.contains("\x1b[31mFAIL \x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[1;31mFAIL: 1 failed"), "{coloured}");
    }

    #[test]
    fn markdown_cells_junit_and_github_escape_what_they_must() {
        let r = report();
        let md = render(&r, Format::Markdown, false, FailOn::Error);
        assert!(
            md.contains("| 2 \\| &lt;b&gt;projects&lt;/b&gt; & co |"),
            "{md}"
        );
        assert!(md.contains("- A\\|B"), "{md}");
        let xml = render(&r, Format::Junit, false, FailOn::Warning);
        assert!(
            xml.contains("message=\"2 | &lt;b&gt;projects&lt;/b&gt; &amp; co\""),
            "{xml}"
        );
        // under --fail-on warning a warn is a failure too
        assert!(xml.contains("failures=\"2\""), "{xml}");
        let gh = render(&r, Format::Github, false, FailOn::Error);
        assert!(
            gh.contains(
                "::warning title=jira-auth audit%3A server.info warn::skew 90%25%0Aof a minute\n"
            ),
            "{gh}"
        );
    }
}
