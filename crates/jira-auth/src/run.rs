//! Runs a parsed command line: sets up logging, dispatches, maps errors to exit codes.

use crate::args::{Cli, Command, GlobalArgs};
use crate::exit::{self, Category, ContextAs as _};
use clap::{CommandFactory, Parser};
use std::process::ExitCode;

/// The binary's `main`: parse, run, report the error once.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context_as(Category::Usage, "cannot start the async runtime")
    {
        Ok(rt) => rt,
        Err(e) => return exit::report(&e),
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => exit::report(&e),
    }
}

/// Runs one command and returns its exit code (0 or 1); errors carry their own code.
pub async fn run(cli: Cli) -> crate::exit::Result<u8> {
    let global = &cli.global;
    crate::suggest::set_profile(&global.profile);
    crate::net::configure(global);
    match cli.command {
        Command::Cloud(args) => crate::cloud::run::run(global, args).await,
        Command::Server(args) => crate::server::run::run(global, args).await,
        Command::Audit(args) => crate::audit::run::run(global, args).await,
        Command::Profiles(args) => crate::profiles::run(global, &args),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "jira-auth", &mut std::io::stdout());
            Ok(exit::OK)
        }
    }
}

fn init_tracing(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let ansi = crate::output::Styles::detect(global.color).stderr;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| MaskedStderr)
        .with_ansi(ansi)
        .with_target(false)
        .without_time()
        .try_init();
}

/// stderr for log lines, with every secret this process holds masked (a log line may quote a
/// server's text, and a server may echo a credential). The formatter writes one event per call.
struct MaskedStderr;

impl std::io::Write for MaskedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let masked = jira_auth_core::redact::mask_held(&text);
        std::io::stderr().write_all(masked.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
