//! `cargo xtask contract`: the auditor against an independent mock of Jira Cloud.
//!
//! Our own fakes are written by us; this chore holds the auditor against something we did not
//! write. It runs Prism (`@stoplight/prism-cli`, installed from `xtask/contract/package.json`)
//! as a mock of Atlassian's Jira Cloud platform v3 document (`fixtures/atlassian/`), serving
//! Atlassian's own examples, runs `jira-auth audit --deployment cloud` against it and compares
//! the report with `fixtures/contract/cloud-audit.txt` (`--bless` rewrites it).
//!
//! It fails when Prism logs a request that breaks the document (our client sent something
//! Atlassian does not accept), when `security.levels` passes (the examples hold a level whose
//! only holder is a group the user is not in, so a pass would be a lie), or when the report
//! differs from the snapshot.
//!
//! Atlassian stores each example as a JSON string; Prism would serve the string itself, so the
//! document is rewritten with every example that parses as an object or array replaced by its
//! value. Prism 5.14.2 is pinned: later releases need Node.js 24, and CI has Node.js 20.

use anyhow::{Context as _, Result, bail};
use serde_json::Value;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Prism on a 2.4 MB document starts in about 5 s on the CI machine; allow for a loaded one.
const READY_WITHIN: Duration = Duration::from_secs(90);
/// What Prism prints once it listens.
const READY_LINE: &str = "Prism is listening on";
/// What Prism prints for every request that breaks the document (once per request, also when
/// it answers 422 without a `Violation:` line).
const REQUEST_VIOLATION: &str = "Request did not pass the validation rules";
const EMAIL: &str = "bot@example.com";
const API_TOKEN: &str = "contract-api-token";

pub fn run(args: &[String]) -> Result<()> {
    let bless = args.iter().any(|a| a == "--bless");
    let root = crate::workspace_root();
    let prism = root.join("xtask/contract/node_modules/.bin/prism");
    if !prism.exists() {
        bail!(
            "Prism is not installed: run `npm ci --prefix xtask/contract` (what `.ci/run` does), then `cargo xtask contract` again"
        );
    }
    let work = root.join("target/contract");
    std::fs::create_dir_all(&work)?;
    let spec = work.join("cloud-platform-v3.examples.json");
    let parsed = write_spec_with_parsed_examples(
        &root.join("fixtures/atlassian/jira-cloud-platform-v3.openapi.json"),
        &spec,
    )?;
    println!("contract: {parsed} examples of Atlassian's document parsed into values");

    let binary = crate::build_binary()?;
    let port = crate::free_port()?;
    let mut prism = Prism::start(&prism, &spec, port)?;
    let audit = audit(&binary, port);
    let log = prism.stop();
    let (code, stdout, stderr) = audit?;

    let violations: Vec<&String> = log
        .iter()
        .filter(|l| l.contains(REQUEST_VIOLATION) || l.contains("Violation: request"))
        .collect();
    println!(
        "contract: jira-auth audit exited {code}; Prism logged {} request violation line(s)",
        violations.len()
    );
    if !violations.is_empty() {
        bail!(
            "Prism found requests that break Atlassian's document:\n{}",
            violations
                .iter()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    if !stderr.is_empty() {
        bail!("jira-auth audit wrote to stderr:\n{stderr}");
    }
    let report: Value = serde_json::from_str(&stdout)
        .with_context(|| format!("jira-auth audit did not print a JSON report:\n{stdout}"))?;
    let security = report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "security.levels"))
        .context("the report has no security.levels check")?;
    if security["status"] == "pass" {
        bail!(
            "security.levels passed against Atlassian's examples, whose level 20010 is held only by a group the user is not in: {}",
            security["summary"]
        );
    }
    let text = normalise(&report, code, port);
    let snapshot = root.join("fixtures/contract/cloud-audit.txt");
    if bless {
        std::fs::create_dir_all(snapshot.parent().unwrap_or(&root))?;
        std::fs::write(&snapshot, &text)?;
        println!("contract: wrote {}", snapshot.display());
        return Ok(());
    }
    let expected = std::fs::read_to_string(&snapshot).with_context(|| {
        format!(
            "cannot read {}: run `cargo xtask contract --bless` once",
            snapshot.display()
        )
    })?;
    if expected != text {
        let actual = work.join("cloud-audit.txt");
        std::fs::write(&actual, &text)?;
        bail!(
            "the audit against Prism differs from {}; the new report is in {} (`diff` them; `cargo xtask contract --bless` accepts it)",
            snapshot.display(),
            actual.display()
        );
    }
    println!("contract: report matches {}", snapshot.display());
    Ok(())
}

/// Copies the OpenAPI document with every `example` string that holds a JSON object or array
/// replaced by that value; returns how many were replaced.
fn write_spec_with_parsed_examples(from: &Path, to: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(from)
        .with_context(|| format!("cannot read Atlassian's document {}", from.display()))?;
    let mut doc: Value = serde_json::from_str(&text)?;
    let mut parsed = 0;
    parse_examples(&mut doc, &mut parsed);
    std::fs::write(to, serde_json::to_vec(&doc)?)?;
    Ok(parsed)
}

fn parse_examples(value: &mut Value, parsed: &mut usize) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key == "example"
                    && let Value::String(s) = child
                    && let Ok(v @ (Value::Object(_) | Value::Array(_))) =
                        serde_json::from_str::<Value>(s)
                {
                    *child = v;
                    *parsed += 1;
                    continue;
                }
                parse_examples(child, parsed);
            }
        }
        Value::Array(items) => {
            for child in items {
                parse_examples(child, parsed);
            }
        }
        _ => {}
    }
}

/// A running Prism and the lines it printed.
struct Prism {
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Prism {
    fn start(prism: &Path, spec: &Path, port: u16) -> Result<Prism> {
        let mut child = Command::new(prism)
            .args(["mock", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--errors=false", "--dynamic=false", "--multiprocess=false"])
            .arg(spec)
            .env("FORCE_COLOR", "0")
            .env_remove("NODE_ENV")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", prism.display()))?;
        let (send, lines) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let send = send.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if send.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut prism = Prism {
            child,
            lines,
            log: Vec::new(),
        };
        let deadline = std::time::Instant::now() + READY_WITHIN;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match prism.lines.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.contains(READY_LINE);
                    prism.log.push(line);
                    if ready {
                        return Ok(prism);
                    }
                }
                Err(_) => {
                    let log = prism.stop();
                    bail!(
                        "Prism did not start within {} s; its last lines:\n{}",
                        READY_WITHIN.as_secs(),
                        log.iter()
                            .rev()
                            .take(20)
                            .rev()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                }
            }
        }
    }

    /// Stops Prism and returns everything it printed.
    fn stop(&mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Both pipes are closed now, so the reader threads end and the channel drains.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.log.push(line);
        }
        std::mem::take(&mut self.log)
    }
}

/// `jira-auth audit` against Prism: exit code, stdout, stderr.
fn audit(binary: &PathBuf, port: u16) -> Result<(i32, String, String)> {
    let config = tempfile::tempdir()?;
    let output = Command::new(binary)
        .args(["audit", "--url"])
        .arg(format!("http://127.0.0.1:{port}"))
        .args([
            "--deployment",
            "cloud",
            "--email",
            EMAIL,
            "--format",
            "json",
        ])
        .env("JIRA_AUTH_CONFIG_DIR", config.path())
        .env("JIRA_AUTH_API_TOKEN", API_TOKEN)
        .env("NO_COLOR", "1")
        .env_remove("JIRA_AUTH_PROFILE")
        .env_remove("JIRA_AUTH_STORE")
        .stdin(Stdio::null())
        .output()
        .context("cannot run jira-auth audit")?;
    Ok((
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

/// The report as stable text: exit code, then each check's status, summary, coverage,
/// evidence, findings and what was not covered; times, ports and the version filtered out.
fn normalise(report: &Value, code: i32, port: u16) -> String {
    let mut out = format!(
        "exit code {code}\nschema_version {}\nrequests {}\n",
        report["schema_version"], report["requests"]
    );
    for check in report["checks"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n{} {}: {}\n",
            check["status"].as_str().unwrap_or("?"),
            check["id"].as_str().unwrap_or("?"),
            check["summary"].as_str().unwrap_or("")
        ));
        for c in check["coverage"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "  coverage: {} of {} {}\n",
                c["verified"],
                c["total"],
                c["what"].as_str().unwrap_or("")
            ));
        }
        for (label, key) in [
            ("evidence", "evidence"),
            ("finding", "findings"),
            ("not covered", "not_covered"),
        ] {
            for line in check[key].as_array().into_iter().flatten() {
                out.push_str(&format!("  {label}: {}\n", line.as_str().unwrap_or("")));
            }
        }
    }
    let host = format!("127.0.0.1:{port}");
    let mut text = out.replace(&host, "[PRISM]");
    // The local time in the clock-skew evidence changes every run.
    text = text
        .lines()
        .map(|l| match l.find(", local time ") {
            Some(i) if l.contains("server time") => format!("{}, local time [TIME]", &l[..i]),
            _ => l.to_owned(),
        })
        .map(|l| match l.find("clock skew ") {
            Some(i) => format!("{}clock skew [SKEW]", &l[..i]),
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}
