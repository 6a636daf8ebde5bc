//! `cargo xtask …`: project chores. See `cargo xtask help`.
//!
//! Kept to few dependencies and plain argument parsing: chores must build fast on CI.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod fixtures;
mod man;

const HELP: &str = "\
cargo xtask <chore>

Chores:
  fixtures [--check]       validate every file under fixtures/ against the types that read it
  man [--out DIR]          write the jira-auth man pages (default: target/man)
  help                     this text
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
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

#[allow(dead_code)]
fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}
