//! `cargo xtask man`: man pages generated from the clap definition, one per command.

use anyhow::{Context, Result};
use clap::CommandFactory;
use std::path::{Path, PathBuf};

/// Writes `jira-auth.1` and one `jira-auth-<sub>[-<subsub>].1` per subcommand into `out`.
pub fn write_all(out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut written = Vec::new();
    let root = jira_auth::args::Cli::command();
    write_tree(&root, "jira-auth", out, &mut written)?;
    Ok(written)
}

fn write_tree(
    cmd: &clap::Command,
    name: &str,
    out: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    let cmd = cmd.clone().name(name.to_owned());
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    buf.extend_from_slice(environment_and_files().as_bytes());
    let path = out.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    written.push(path);
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_tree(sub, &format!("{name}-{}", sub.get_name()), out, written)?;
    }
    Ok(())
}

/// The ENVIRONMENT and FILES sections every page ends with: every command reads them.
fn environment_and_files() -> String {
    let mut roff = String::from(".SH ENVIRONMENT\n");
    for (name, what) in jira_auth::args::ENVIRONMENT {
        roff.push_str(&format!(
            ".TP\n\\fB{}\\fR\n{}\n",
            escape(name),
            escape(what)
        ));
    }
    roff.push_str(".SH FILES\n");
    for (path, what) in jira_auth::args::FILES {
        roff.push_str(&format!(
            ".TP\n\\fI{}\\fR\n{}\n",
            escape(path),
            escape(what)
        ));
    }
    roff.push_str(&format!(
        ".SH SEE ALSO\nThe workflow guides in docs/: {}\n",
        escape(jira_auth::args::DOCS_URL)
    ));
    roff
}

/// Text for roff: backslashes and hyphens escaped, no line starting with a control character.
fn escape(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_page_per_command_with_its_help_text() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(dir.path()).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"jira-auth.1".to_owned()), "{names:?}");
        assert!(
            names.contains(&"jira-auth-completions.1".to_owned()),
            "{names:?}"
        );
        let root = std::fs::read_to_string(dir.path().join("jira-auth.1")).unwrap();
        assert!(root.starts_with(".ie \\n(.g .ds Aq"), "roff header");
        assert!(root.contains("Gets, keeps and proves working credentials"));
        assert!(root.contains("\\-\\-profile"));
        for page in ["jira-auth.1", "jira-auth-cloud-login.1"] {
            let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
            assert!(
                text.contains(".SH ENVIRONMENT\n.TP\n\\fBJIRA_AUTH_PROFILE\\fR\n"),
                "{page}"
            );
            assert!(
                text.contains(
                    ".SH FILES\n.TP\n\\fI$JIRA_AUTH_CONFIG_DIR/profiles/<profile>.json\\fR\n"
                ),
                "{page}"
            );
        }
    }
}
