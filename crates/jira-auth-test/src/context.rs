//! One end-to-end test's world: a private home and config directory, and the `jira-auth` binary
//! run there with a cleared environment, so nothing from the developer's shell or CI runner
//! (`JIRA_AUTH_*`, proxies, `SSL_CERT_FILE`, `RUST_LOG`, a real keyring) reaches a test unless the
//! test sets it.
//!
//! Every end-to-end test runs the binary through [`TestContext::command`] or
//! [`TestContext::run`], gets a [`Run`], and snapshots [`Run::transcript`] with
//! [`assert_transcript!`](crate::assert_transcript).

use std::ffi::{OsStr, OsString};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Variables passed through from the test process: the program search path, and what code
/// coverage tools need to find their output directory. Everything else is cleared.
const INHERITED: &[&str] = &["PATH", "LLVM_PROFILE_FILE", "CARGO_LLVM_COV_TARGET_DIR"];

/// A private home and config directory, and the environment every run of the binary gets.
#[derive(Debug)]
pub struct TestContext {
    dir: tempfile::TempDir,
    env: Vec<(OsString, OsString)>,
    binary: Option<PathBuf>,
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl TestContext {
    /// A fresh temporary home; `config/` in it is the binary's config directory.
    ///
    /// # Panics
    /// When no temporary directory can be made: no end-to-end test can run without one.
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("creating a temporary home"),
            env: Vec::new(),
            binary: None,
        }
    }

    /// A context that runs `binary` instead of building `jira-auth` ([`crate::binary`]): for
    /// `cargo xtask demo`, which has built it already.
    ///
    /// # Errors
    /// When no temporary directory can be made.
    pub fn for_binary(binary: &Path) -> std::io::Result<Self> {
        Ok(Self {
            dir: tempfile::tempdir()?,
            env: Vec::new(),
            binary: Some(binary.to_owned()),
        })
    }

    /// Sets `key` for every later run from this context (a fake's URL, a client id).
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Self {
        let key = key.as_ref().to_owned();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, value.as_ref().to_owned()));
        self
    }

    /// The temporary home (`HOME` and the working directory of every run).
    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    /// `JIRA_AUTH_CONFIG_DIR` of every run.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn profile_path(&self, name: &str) -> PathBuf {
        self.config_dir()
            .join("profiles")
            .join(format!("{name}.json"))
    }

    /// The stored profile file `name`, as text.
    ///
    /// # Panics
    /// When it cannot be read.
    pub fn profile_text(&self, name: &str) -> String {
        let path = self.profile_path(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// The stored profile file `name`, as JSON.
    ///
    /// # Panics
    /// When it cannot be read or is not JSON.
    pub fn profile(&self, name: &str) -> serde_json::Value {
        serde_json::from_str(&self.profile_text(name)).expect("the profile is JSON")
    }

    /// The binary with `args`, a cleared environment (see [`INHERITED`]), `HOME` and the working
    /// directory in this context's home, its config directory, `NO_COLOR`, then this context's
    /// variables.
    pub fn command<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = self.base_command();
        cmd.args(args);
        cmd
    }

    /// [`command`](Self::command) before its arguments: for helpers that set the environment
    /// first and the arguments later.
    pub fn base_command(&self) -> Command {
        let binary = match &self.binary {
            Some(binary) => binary.clone(),
            None => crate::binary::jira_auth(),
        };
        let mut cmd = Command::new(binary);
        cmd.env_clear();
        for key in INHERITED {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        cmd.env("HOME", self.home())
            .env("JIRA_AUTH_CONFIG_DIR", self.config_dir())
            .env("NO_COLOR", "1")
            .current_dir(self.home());
        for (key, value) in &self.env {
            cmd.env(key, value);
        }
        cmd
    }

    /// Runs `args` to completion with `stdin` as its whole input (none: an empty, closed stdin).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S], stdin: Option<&str>) -> Run {
        run(self.command(args), stdin)
    }

    /// insta settings for this context: the harness's [`filters`](crate::filters::common), `extra`,
    /// and this context's home as `[TMP]`.
    pub fn settings(&self, extra: &[(&str, &str)]) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.add_filter(
            &crate::filters::regex_escape(&self.home().to_string_lossy()),
            "[TMP]",
        );
        for (regex, replacement) in crate::filters::common().iter().chain(extra) {
            settings.add_filter(regex, *replacement);
        }
        settings
    }
}

/// What one run of the binary produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    /// The exit code and both streams as one text, the format of every end-to-end snapshot.
    pub fn transcript(&self) -> String {
        format!(
            "exit code: {}\n----- stdout -----\n{}----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// Stdout and stderr together, for a failed assertion's message.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// How long one run of the binary may take before it is killed: far past any command's own
/// deadline, so only a hang reaches it.
pub const RUN_BOUND: Duration = Duration::from_secs(120);

/// Runs `cmd` to completion with `stdin` as its whole input (none: an empty, closed stdin). A
/// run still going after [`RUN_BOUND`] is killed, and its transcript ends with `(killed: …)`.
///
/// # Panics
/// When the binary cannot be started or waited for.
pub fn run(cmd: Command, stdin: Option<&str>) -> Run {
    let mut running = Running::start(cmd);
    let input = running.take_stdin();
    let text = stdin.unwrap_or_default().to_owned();
    // Written on its own thread so that a binary that never reads cannot block the test.
    let writer = std::thread::spawn(move || {
        let mut input = input;
        // The binary may exit before reading everything (a refused flag): that is its answer.
        let _ = input.write_all(text.as_bytes());
    });
    let run = running.finish_blocking();
    let _ = writer.join();
    run
}

/// A run of the binary that the test talks to while it runs, as a user would: it waits for a
/// line on stderr (an authorize URL), writes to stdin, then collects the [`Run`].
#[derive(Debug)]
pub struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stdout: JoinHandle<String>,
    stderr: JoinHandle<String>,
    started: Instant,
}

impl Running {
    /// Starts `cmd` with all three streams piped.
    ///
    /// # Panics
    /// When the binary cannot be started.
    pub fn start(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("starting jira-auth");
        let stdin = child.stdin.take();
        let mut out = child.stdout.take().expect("piped stdout");
        let err = child.stderr.take().expect("piped stderr");
        let stdout = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        let (tx, lines) = mpsc::channel();
        let stderr = std::thread::spawn(move || {
            let mut all = String::new();
            let mut reader = BufReader::new(err);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
                let text = String::from_utf8_lossy(&line).into_owned();
                all.push_str(&text);
                let _ = tx.send(text.trim_end_matches(['\r', '\n']).to_owned());
                line.clear();
            }
            all
        });
        Self {
            child,
            stdin,
            lines,
            stdout,
            stderr,
            started,
        }
    }

    /// The next line of stderr that `wanted` accepts, the lines before it skipped; `None` when
    /// stderr ends or stays quiet for `quiet` first.
    pub fn wait_for_line(
        &mut self,
        wanted: impl Fn(&str) -> bool,
        quiet: Duration,
    ) -> Option<String> {
        while let Ok(line) = self.lines.recv_timeout(quiet) {
            if wanted(&line) {
                return Some(line);
            }
        }
        None
    }

    /// The binary's standard input, for the test to write to (and drop to close).
    ///
    /// # Panics
    /// When it was taken already.
    pub fn take_stdin(&mut self) -> ChildStdin {
        self.stdin.take().expect("stdin is taken once")
    }

    /// Writes `line` and a newline to standard input (a pasted URL, a typed code).
    pub fn write_line(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            // The binary may have ended already: its transcript will say why.
            let _ = stdin.write_all(format!("{line}\n").as_bytes());
        }
    }

    /// Closes standard input and waits for the end, on a blocking thread.
    pub async fn finish(self) -> Run {
        tokio::task::spawn_blocking(move || self.finish_blocking())
            .await
            .expect("the waiting thread ends")
    }

    /// Closes standard input and waits for the end; a run still going after [`RUN_BOUND`] is
    /// killed, and its transcript ends with `(killed: …)`.
    ///
    /// # Panics
    /// When the binary cannot be waited for.
    pub fn finish_blocking(mut self) -> Run {
        use wait_timeout::ChildExt as _;

        drop(self.stdin.take());
        let status = self
            .child
            .wait_timeout(RUN_BOUND.saturating_sub(self.started.elapsed()))
            .expect("waiting for jira-auth");
        let code = match status {
            Some(status) => status.code().unwrap_or(-1),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                -1
            }
        };
        let mut stderr = self.stderr.join().unwrap_or_default();
        if status.is_none() {
            stderr.push_str(&format!("(killed: still running after {RUN_BOUND:?})\n"));
        }
        Run {
            code,
            stdout: self.stdout.join().unwrap_or_default(),
            stderr,
            elapsed: self.started.elapsed(),
        }
    }
}

/// [`run`] with `args` appended to `cmd`'s (a command whose environment a helper prepared).
pub fn run_with<S: AsRef<OsStr>>(mut cmd: Command, args: &[S], stdin: Option<&str>) -> Run {
    cmd.args(args);
    run(cmd, stdin)
}

/// A free loopback port: bound, then released for the test to use.
///
/// # Panics
/// When no loopback port can be bound.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding a loopback port")
        .port()
}

/// Seconds since the Unix epoch, as profiles store times.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Snapshots a [`Run`]'s transcript with a context's settings (its home as `[TMP]`, the harness
/// filters, then any extra `(regex, replacement)` pairs): `assert_transcript!(ctx, run)`,
/// `assert_transcript!(ctx, run, &extra)`, optionally with a snapshot name first:
/// `assert_transcript!("name", ctx, run)`.
#[macro_export]
macro_rules! assert_transcript {
    ($name:literal, $ctx:expr, $run:expr $(,)?) => {
        $ctx.settings(&[])
            .bind(|| ::insta::assert_snapshot!($name, $run.transcript()))
    };
    ($name:literal, $ctx:expr, $run:expr, $extra:expr $(,)?) => {
        $ctx.settings($extra)
            .bind(|| ::insta::assert_snapshot!($name, $run.transcript()))
    };
    ($ctx:expr, $run:expr $(,)?) => {
        $ctx.settings(&[])
            .bind(|| ::insta::assert_snapshot!($run.transcript()))
    };
    ($ctx:expr, $run:expr, $extra:expr $(,)?) => {
        $ctx.settings($extra)
            .bind(|| ::insta::assert_snapshot!($run.transcript()))
    };
}
