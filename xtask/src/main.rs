//! `cargo xtask …`: project chores. See `cargo xtask help`.
//!
//! Kept to plain argument parsing: chores must build fast on CI.

use anyhow::{Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod bench;
mod browser;
mod contract;
mod demo;
mod fakes;
mod fixtures;
mod fuzz;
mod man;

const HELP: &str = "\
cargo xtask <chore>

Chores:
  demo                        build jira-auth and run the whole journey against embedded fakes
  fake-atlassian [--port N] [--site NAME]... [--granted-scopes 'SCOPE ...'] [--callback-url URL]
                              run the fake Atlassian (auth server + API gateway + Cloud sites):
                              --site repeated serves several sites (default: acme), the app is
                              granted only --granted-scopes (default: whatever is requested), and
                              its callback URL is --callback-url (default: http://127.0.0.1:13131/callback)
  fake-jira-server [--port N] run the fake Jira Server (OAuth 1.0a, PATs) under /jira
  browser                     walk `cloud serve` in headless Chromium (needs `npm ci --prefix tests/browser`, chromium)
  bench audit                 the auditor against a synthetic 10,000-project site, 20 ms a response
  contract [--bless]          audit Prism's mock of Atlassian's Cloud document (needs `npm ci --prefix xtask/contract`)
  fuzz [--seconds N] [TARGET] mutate the parsers' seed corpora (fuzz/corpus/) looking for panics
  fixtures                    validate every file under fixtures/ against the types that read it
  man [--out DIR]             write the jira-auth man pages (default: target/man)
  help                        this text
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let (chore, rest) = args
        .split_first()
        .map(|(c, r)| (c.as_str(), r))
        .unwrap_or(("help", &[]));
    match chore {
        "demo" => demo::run(),
        "browser" => browser::run(),
        "fake-atlassian" => fakes::atlassian(rest),
        "fake-jira-server" => fakes::jira_server(rest),
        "bench" => match rest.first().map(String::as_str) {
            Some("audit") => bench::bench_audit(),
            _ => bail!("usage: cargo xtask bench audit"),
        },
        "contract" => contract::run(rest),
        "fuzz" => fuzz::run(rest),
        "fixtures" => {
            let report = fixtures::check(&workspace_root().join("fixtures"))?;
            println!("{report}");
            Ok(())
        }
        "man" => {
            let out = flag_value(rest, "--out")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target/man"));
            let written = man::write_all(&out)?;
            println!("wrote {} man pages to {}", written.len(), out.display());
            Ok(())
        }
        "help" | "--help" | "-h" => {
            print!("{HELP}");
            Ok(())
        }
        other => bail!("unknown chore `{other}`\n\n{HELP}"),
    }
}

fn flag_value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

/// The workspace root (xtask's manifest dir's parent).
/// A free loopback port (bound, then released) for a child process to listen on.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Builds the `jira-auth` binary (debug profile) and returns its path.
pub fn build_binary() -> Result<PathBuf> {
    println!("building jira-auth …");
    jira_auth_test::binary::build().map_err(anyhow::Error::msg)
}
