//! Terminal presentation: colour choice and styled text.

use crate::args::ColorChoice;
use std::io::IsTerminal;

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
