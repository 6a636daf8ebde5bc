//! Terminal presentation: colour choice, styled text, and narration.
//!
//! stdout carries a command's data (tokens, exports, reports, JSON, tables, a status command's
//! status); everything said to the person running it goes to stderr through [`Narrator`].

use crate::args::{ColorChoice, GlobalArgs};
use crate::exit::{Category, ContextAs as _};
use std::io::IsTerminal;

/// Narration: what a command did or is doing, for the person running it. Written to stderr so
/// stdout stays the command's data, and silent under `--quiet`.
#[derive(Debug, Clone, Copy)]
pub struct Narrator {
    quiet: bool,
}

impl Narrator {
    pub fn new(global: &GlobalArgs) -> Self {
        Self {
            quiet: global.quiet,
        }
    }

    /// One or more lines on stderr, unless `--quiet`.
    pub fn say(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", crate::suggest::complete(text.as_ref()));
        }
    }
}

/// `value` as pretty JSON, for a command's `--json`.
pub fn json(value: &impl serde::Serialize) -> crate::exit::Result<String> {
    serde_json::to_string_pretty(value).context_as(Category::Usage, "cannot render the JSON")
}

/// Whether to colour stream output, given the flag, `NO_COLOR` and whether it is a terminal.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Colour settings for this run.
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub stdout: bool,
    pub stderr: bool,
}

impl Styles {
    pub fn detect(choice: ColorChoice) -> Self {
        Self {
            stdout: use_color(choice, std::io::stdout().is_terminal()),
            stderr: use_color(choice, std::io::stderr().is_terminal()),
        }
    }

    pub fn paint(enabled: bool, code: &str, text: &str) -> String {
        if enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choice_wins() {
        assert!(use_color(ColorChoice::Always, false));
        assert!(!use_color(ColorChoice::Never, true));
        assert!(!use_color(ColorChoice::Auto, false));
    }
}
