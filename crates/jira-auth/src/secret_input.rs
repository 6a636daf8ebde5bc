//! Reading a secret from the user: one source, one precedence, for every command.
//!
//! 1. a file flag (`--client-secret-file PATH`, or its `…_FILE` variable): the first line;
//! 2. a stdin flag (`--client-secret-stdin`): the first line of standard input;
//! 3. the environment variable (`JIRA_AUTH_CLIENT_SECRET`, `JIRA_AUTH_PAT`, …);
//! 4. where a command documents it, standard input when it is piped (`server login --pat`);
//! 5. a hidden prompt, when standard input is a terminal and the command may ask;
//!
//! else a usage error naming every way. A secret is never taken from a plain argument: it would
//! show in `ps` and in shell history. Surrounding white space is trimmed; an empty value is an
//! error naming where it came from.

use crate::exit::Failure;
use std::io::BufRead;
use std::path::Path;

/// Where one secret may come from.
#[derive(Debug, Clone, Copy)]
pub struct SecretSource<'a> {
    /// What it is, for messages: "client secret".
    pub what: &'a str,
    /// The file flag's value and its name (`--client-secret-file`).
    pub file: Option<(&'a Path, &'a str)>,
    /// The stdin flag was given.
    pub stdin_flag: bool,
    /// The environment variable.
    pub env: &'a str,
    /// Read a piped standard input without a flag (documented for `server login --pat`).
    pub piped_stdin: bool,
    /// The prompt to show on a terminal; `None` where a command must not ask (a service).
    pub prompt: Option<&'a str>,
    /// How the user passes it, for the error when none is found.
    pub how: &'a str,
}

/// The variable every login reads an OAuth app's client secret from.
pub const CLIENT_SECRET_ENV: &str = "JIRA_AUTH_CLIENT_SECRET";

/// An OAuth app's client secret for a login in a terminal: `--client-secret-file PATH`,
/// `--client-secret-stdin`, [`CLIENT_SECRET_ENV`], else `prompt` (hidden) on a terminal.
pub fn client_secret(
    file: Option<&Path>,
    stdin_flag: bool,
    prompt: &str,
) -> Result<jira_auth_core::ClientSecret, Failure> {
    let source = SecretSource {
        what: "client secret",
        file: file.map(|p| (p, "--client-secret-file")),
        stdin_flag,
        env: CLIENT_SECRET_ENV,
        piped_stdin: false,
        prompt: Some(prompt),
        how: "set `JIRA_AUTH_CLIENT_SECRET`, or pass `--client-secret-file PATH` or `--client-secret-stdin`",
    };
    Ok(jira_auth_core::ClientSecret::new(
        source.read(&mut Process)?,
    ))
}

/// What the reader needs from the outside world, so the precedence is tested without a process.
pub trait Inputs {
    fn env(&self, name: &str) -> Option<String>;
    fn read_file(&self, path: &Path) -> std::io::Result<String>;
    fn stdin_is_terminal(&self) -> bool;
    fn stdin_line(&mut self) -> std::io::Result<String>;
    fn prompt(&mut self, text: &str) -> std::io::Result<String>;
}

/// A service's inputs: its environment lookup and files; no standard input, no terminal.
#[allow(missing_debug_implementations)]
pub struct Service<'a>(pub &'a dyn Fn(&str) -> Option<String>);

impl Inputs for Service<'_> {
    fn env(&self, name: &str) -> Option<String> {
        (self.0)(name)
    }
    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn stdin_is_terminal(&self) -> bool {
        false
    }
    fn stdin_line(&mut self) -> std::io::Result<String> {
        Ok(String::new())
    }
    fn prompt(&mut self, _text: &str) -> std::io::Result<String> {
        Ok(String::new())
    }
}

/// The process's environment, files, standard input and terminal.
#[derive(Debug, Default)]
pub struct Process;

impl Inputs for Process {
    fn env(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn stdin_is_terminal(&self) -> bool {
        std::io::IsTerminal::is_terminal(&std::io::stdin())
    }
    fn stdin_line(&mut self) -> std::io::Result<String> {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line)
    }
    fn prompt(&mut self, text: &str) -> std::io::Result<String> {
        rpassword::prompt_password(text)
    }
}

impl SecretSource<'_> {
    /// The secret, by the precedence above.
    pub fn read(&self, inputs: &mut dyn Inputs) -> Result<String, Failure> {
        let (value, from) = self.find(inputs)?;
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(Failure::usage(format!(
                "the {} from {from} is empty",
                self.what
            )));
        }
        Ok(value)
    }

    /// The value as found, untrimmed, and where it came from, for a caller with its own checks.
    pub fn read_raw(&self, inputs: &mut dyn Inputs) -> Result<(String, String), Failure> {
        self.find(inputs)
    }

    fn find(&self, inputs: &mut dyn Inputs) -> Result<(String, String), Failure> {
        if let Some((path, flag)) = self.file {
            let text = inputs.read_file(path).map_err(|e| {
                Failure::usage(format!("cannot read `{flag} {}`: {e}", path.display()))
            })?;
            let first = text.lines().next().unwrap_or_default().to_owned();
            return Ok((first, format!("`{}`", path.display())));
        }
        let stdin = |inputs: &mut dyn Inputs| {
            let line = inputs.stdin_line().map_err(|e| {
                Failure::usage(format!(
                    "cannot read the {} from standard input: {e}",
                    self.what
                ))
            })?;
            Ok((line, "standard input".to_owned()))
        };
        if self.stdin_flag {
            return stdin(inputs);
        }
        if let Some(value) = inputs.env(self.env).filter(|v| !v.is_empty()) {
            return Ok((value, format!("`{}`", self.env)));
        }
        let terminal = inputs.stdin_is_terminal();
        if self.piped_stdin && !terminal {
            return stdin(inputs);
        }
        if let Some(prompt) = self.prompt
            && terminal
        {
            let value = inputs.prompt(prompt).map_err(|e| {
                Failure::usage(format!(
                    "cannot read the {} from the terminal: {e}",
                    self.what
                ))
            })?;
            return Ok((value, "the prompt".to_owned()));
        }
        Err(Failure::usage(format!(
            "no {}: {} (never as an argument: it would show in `ps`)",
            self.what, self.how
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::path::PathBuf;

    #[derive(Default)]
    struct Fake {
        env: HashMap<&'static str, &'static str>,
        files: HashMap<PathBuf, &'static str>,
        terminal: bool,
        stdin: Option<&'static str>,
        prompted: Vec<String>,
    }

    impl Inputs for Fake {
        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).map(|v| (*v).to_owned())
        }
        fn read_file(&self, path: &Path) -> std::io::Result<String> {
            self.files
                .get(path)
                .map(|v| (*v).to_owned())
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        }
        fn stdin_is_terminal(&self) -> bool {
            self.terminal
        }
        fn stdin_line(&mut self) -> std::io::Result<String> {
            Ok(self.stdin.take().unwrap_or_default().to_owned())
        }
        fn prompt(&mut self, text: &str) -> std::io::Result<String> {
            self.prompted.push(text.to_owned());
            Ok("typed".to_owned())
        }
    }

    fn source<'a>(file: Option<(&'a Path, &'a str)>, stdin_flag: bool) -> SecretSource<'a> {
        SecretSource {
            what: "client secret",
            file,
            stdin_flag,
            env: "SECRET_ENV",
            piped_stdin: false,
            prompt: Some("Secret: "),
            how: "set `SECRET_ENV`",
        }
    }

    #[test]
    fn file_then_stdin_flag_then_environment_then_prompt() {
        let path = PathBuf::from("/s");
        let mut all = Fake {
            env: HashMap::from([("SECRET_ENV", "from-env")]),
            files: HashMap::from([(path.clone(), " from-file \nsecond line")]),
            terminal: true,
            stdin: Some("from-stdin\n"),
            ..Fake::default()
        };
        let flag = Some((path.as_path(), "--secret-file"));
        assert_eq!(source(flag, true).read(&mut all).unwrap(), "from-file");
        assert_eq!(source(None, true).read(&mut all).unwrap(), "from-stdin");
        assert_eq!(source(None, false).read(&mut all).unwrap(), "from-env");
        all.env.clear();
        assert_eq!(source(None, false).read(&mut all).unwrap(), "typed");
        assert_eq!(all.prompted, ["Secret: "]);
    }

    #[test]
    fn piped_stdin_only_where_documented_and_never_a_prompt_without_a_terminal() {
        let mut piped = Fake {
            stdin: Some("pat-from-pipe\n"),
            ..Fake::default()
        };
        let err = source(None, false).read(&mut piped).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no client secret: set `SECRET_ENV` (never as an argument: it would show in `ps`)"
        );
        let pat = SecretSource {
            piped_stdin: true,
            ..source(None, false)
        };
        assert_eq!(pat.read(&mut piped).unwrap(), "pat-from-pipe");
        assert!(piped.prompted.is_empty());
    }

    #[test]
    fn empty_values_and_unreadable_files_are_usage_errors_naming_the_source() {
        let path = PathBuf::from("/empty");
        let mut inputs = Fake {
            files: HashMap::from([(path.clone(), "  \n")]),
            env: HashMap::from([("SECRET_ENV", " ")]),
            ..Fake::default()
        };
        let err = source(Some((path.as_path(), "--secret-file")), false)
            .read(&mut inputs)
            .unwrap_err();
        assert_eq!(err.to_string(), "the client secret from `/empty` is empty");
        let missing = PathBuf::from("/missing");
        let err = source(Some((missing.as_path(), "--secret-file")), false)
            .read(&mut inputs)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read `--secret-file /missing`: "),
            "{err}"
        );
        let err = source(None, false).read(&mut inputs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the client secret from `SECRET_ENV` is empty"
        );
    }
}
