//! `cargo xtask fuzz [--engine E] [--seconds N] [--iterations M] [--seed S] [TARGET]`: runs the
//! fuzz targets of `jira-auth-fuzz-targets` over the seeds in `fuzz/corpus/<target>/`.
//!
//! Two engines:
//! - `libfuzzer` ([`libfuzzer`]): coverage-guided, through cargo-fuzz and the crate in `fuzz/`
//!   (its own workspace). Used by default when `cargo fuzz` is installed. It works on stable
//!   Rust with `--sanitizer none` (the default here); a sanitizer needs `-Zsanitizer`, so
//!   `--sanitizer address` sets `RUSTC_BOOTSTRAP=1` for that build.
//! - `seeds` (this module): a stable-Rust mutation loop without coverage feedback, the fallback.
//!   Per target: the seeds, then random mutations of them (bit flips, byte inserts and
//!   deletes, chunk duplication, splices of two inputs, digits replaced by interesting numbers,
//!   dictionary tokens) for N seconds or M iterations, each input run under
//!   [`std::panic::catch_unwind`]. A panicking input is written to
//!   `target/fuzz-crashes/<target>/crash-<hash>` and the run fails. Mutated inputs that ran
//!   cleanly join the corpus at random, so the search drifts away from the seeds. xtask builds
//!   in the dev profile, so integer overflow panics here too.
//!
//! `--input FILE TARGET` replays one input (a seed-runner crash or a libFuzzer artifact) through
//! the same target function, with the panic message.

mod libfuzzer;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use jira_auth_fuzz_targets::{TARGETS, Target};

const HELP: &str = "\
cargo xtask fuzz [--engine auto|libfuzzer|seeds] [--sanitizer S] [--seconds N] [--iterations M]
                 [--seed S] [TARGET]
cargo xtask fuzz --input FILE TARGET

Runs each target (or TARGET) on its seeds in fuzz/corpus/<target>/, then on mutations for
N seconds (default 10) or M iterations. The engine `auto` (the default) is libFuzzer through
`cargo fuzz` when it is installed, else the stable seed runner. libFuzzer keeps what it learns
in fuzz/target/corpus/<target>/ and a crash in fuzz/artifacts/<target>/; the seed runner saves a
crash under target/fuzz-crashes/<target>/. `--sanitizer` (libFuzzer only, default none) takes
cargo fuzz's names (address, leak, memory, thread) and builds with RUSTC_BOOTSTRAP=1.";

/// Which fuzzer runs the targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// libFuzzer if `cargo fuzz` is installed, else the seed runner.
    Auto,
    LibFuzzer,
    Seeds,
}

impl std::str::FromStr for Engine {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "auto" => Self::Auto,
            "libfuzzer" => Self::LibFuzzer,
            "seeds" => Self::Seeds,
            other => bail!("unknown engine `{other}`: auto, libfuzzer or seeds"),
        })
    }
}

/// The entry point (`cargo xtask fuzz …`).
pub fn run(args: &[String]) -> Result<()> {
    let mut engine = Engine::Auto;
    let mut sanitizer = "none".to_owned();
    let mut seconds = 10u64;
    let mut iterations = None;
    let mut seed = None;
    let mut input = None;
    let mut wanted = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("`{flag}` needs a value\n\n{HELP}"))
        };
        match arg.as_str() {
            "--engine" => engine = value("--engine")?.parse()?,
            "--sanitizer" => sanitizer = value("--sanitizer")?,
            "--seconds" => seconds = value("--seconds")?.parse().context("--seconds")?,
            "--iterations" => {
                iterations = Some(value("--iterations")?.parse().context("--iterations")?)
            }
            "--seed" => seed = Some(value("--seed")?.parse().context("--seed")?),
            "--input" => input = Some(PathBuf::from(value("--input")?)),
            "-h" | "--help" => {
                println!("{HELP}\n\nTargets:");
                for t in TARGETS {
                    println!("  {:<16} {}", t.name, t.about);
                }
                return Ok(());
            }
            name if !name.starts_with('-') && wanted.is_none() => wanted = Some(name.to_owned()),
            other => bail!("unexpected argument `{other}`\n\n{HELP}"),
        }
    }
    let targets: Vec<&Target> = match &wanted {
        Some(name) => vec![target(name)?],
        None => TARGETS.iter().collect(),
    };
    if let Some(path) = input {
        let [t] = targets.as_slice() else {
            bail!("`--input` needs a TARGET");
        };
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        return match run_one(t, &bytes) {
            Ok(()) => {
                println!("{}: no panic on {}", t.name, path.display());
                Ok(())
            }
            Err(message) => bail!("{} panicked on {}: {message}", t.name, path.display()),
        };
    }
    let budget = Budget {
        time: Duration::from_secs(seconds),
        iterations,
    };
    let use_libfuzzer = match engine {
        Engine::LibFuzzer => true,
        Engine::Seeds => false,
        Engine::Auto => {
            let found = libfuzzer::available();
            if !found {
                println!(
                    "fuzz: `cargo fuzz` is not installed (`cargo install cargo-fuzz --locked`); using the seed runner"
                );
            }
            found
        }
    };
    if use_libfuzzer {
        libfuzzer::run(&root(), &targets, budget, seed, &sanitizer)
    } else {
        if sanitizer != "none" {
            bail!("`--sanitizer` needs the libFuzzer engine");
        }
        run_seeds(&targets, budget, seed.unwrap_or_else(time_seed))
    }
}

/// The stable seed runner over `targets`.
fn run_seeds(targets: &[&Target], budget: Budget, seed: u64) -> Result<()> {
    let mut failed = Vec::new();
    for t in targets {
        let report = fuzz(t, &corpus_dir(t.name), budget, seed)?;
        println!(
            "fuzz {:<16} {:>8} runs in {:>5.1} s ({} seeds, seed {seed}): {}",
            t.name,
            report.runs,
            report.elapsed.as_secs_f64(),
            report.seeds,
            match &report.crash {
                None => "no panic".to_owned(),
                Some(c) => format!(
                    "PANIC on a {}-byte input, saved to {}",
                    c.input.len(),
                    c.saved.display()
                ),
            }
        );
        if let Some(c) = report.crash {
            eprintln!("{}: {}", t.name, c.message);
            failed.push(t.name);
        }
    }
    if !failed.is_empty() {
        bail!(
            "panics in {}: replay with `cargo xtask fuzz --input FILE TARGET`",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The target called `name`.
pub fn target(name: &str) -> Result<&'static Target> {
    TARGETS.iter().find(|t| t.name == name).with_context(|| {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        format!("no fuzz target `{name}`; targets: {}", names.join(", "))
    })
}

/// How long to fuzz one target.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub time: Duration,
    pub iterations: Option<u64>,
}

/// What fuzzing one target did.
#[derive(Debug)]
pub struct Report {
    pub runs: u64,
    pub seeds: usize,
    pub elapsed: Duration,
    pub crash: Option<Crash>,
}

/// A panicking input.
#[derive(Debug)]
pub struct Crash {
    pub input: Vec<u8>,
    pub message: String,
    pub saved: PathBuf,
}

/// The workspace root (the parent of xtask's manifest folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `fuzz/corpus/<target>`.
pub fn corpus_dir(target: &str) -> PathBuf {
    root().join("fuzz/corpus").join(target)
}

/// The seed inputs of a corpus folder, sorted by file name.
pub fn seeds(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the corpus {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .collect()
}

/// Runs `t` on `input`, turning a panic into its message.
pub fn run_one(t: &Target, input: &[u8]) -> Result<(), String> {
    quiet_panics::install();
    let outcome = std::panic::catch_unwind(|| (t.run)(input));
    outcome.map_err(|payload| {
        quiet_panics::take().unwrap_or_else(|| {
            payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned())
        })
    })
}

/// Runs the seeds, then mutations, within `budget`. Stops at the first panic and saves it.
pub fn fuzz(t: &Target, corpus: &Path, budget: Budget, seed: u64) -> Result<Report> {
    let started = Instant::now();
    let mut corpus = seeds(corpus)?;
    if corpus.is_empty() {
        bail!("no seeds in {}", corpus_dir(t.name).display());
    }
    let seed_count = corpus.len();
    let mut rng = Rng::new(seed ^ fnv(t.name.as_bytes()));
    let mut runs = 0u64;
    let mut queue: Vec<Vec<u8>> = corpus.clone();
    loop {
        let input = match queue.pop() {
            Some(seed_input) => seed_input,
            None => {
                let done = budget.iterations.map_or_else(
                    || started.elapsed() >= budget.time,
                    |max| runs >= max + seed_count as u64,
                );
                if done {
                    break;
                }
                mutate(&corpus, &mut rng)
            }
        };
        runs += 1;
        if let Err(message) = run_one(t, &input) {
            let saved = save_crash(t.name, &input)?;
            return Ok(Report {
                runs,
                seeds: seed_count,
                elapsed: started.elapsed(),
                crash: Some(Crash {
                    input,
                    message,
                    saved,
                }),
            });
        }
        // No coverage feedback: keep a few clean mutants so the search can wander.
        if runs as usize > seed_count && corpus.len() < 4096 && rng.below(64) == 0 {
            corpus.push(input);
        }
    }
    Ok(Report {
        runs,
        seeds: seed_count,
        elapsed: started.elapsed(),
        crash: None,
    })
}

fn save_crash(target: &str, input: &[u8]) -> Result<PathBuf> {
    let dir = root().join("target/fuzz-crashes").join(target);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!("crash-{:016x}", fnv(input)));
    std::fs::write(&path, input).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn time_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x5eed)
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// xorshift64*: small, fast, reproducible from `--seed`.
#[derive(Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const MAX_LEN: usize = 64 * 1024;

/// Numbers that break arithmetic and parsers.
const INTERESTING: &[&str] = &[
    "0",
    "-1",
    "1",
    "255",
    "65536",
    "2147483647",
    "-2147483648",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "99999999999999999999999",
    "1e308",
    "1e400",
    "-0",
    "0.5",
    "NaN",
];

/// Tokens of the formats under test.
const DICTIONARY: &[&str] = &[
    "null",
    "true",
    "false",
    "[]",
    "{}",
    "\"\"",
    "\"",
    ":",
    ",",
    "%",
    "%00",
    "%ff",
    "%zz",
    "=",
    "&",
    "?",
    "#",
    "+",
    "\r\n",
    "\r\n\r\n",
    "\n",
    "\\u0000",
    "\\ud800",
    "-----BEGIN ",
    "-----END ",
    "-----",
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "oauth_token=",
    "oauth_token_secret=",
    "oauth_problem=",
    "state=",
    "code=",
    "error=",
    "Host: ",
    "\"version\":",
    "\"cloud\":",
    "\"server\":",
    "\"expires_in\":",
    "<html>",
    "\u{feff}",
    "\u{fffd}",
    "é",
];

/// One mutant of a random corpus entry: 1 to 4 stacked mutations.
pub fn mutate(corpus: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut data = corpus[rng.below(corpus.len())].clone();
    for _ in 0..=rng.below(4) {
        let at = |rng: &mut Rng, data: &Vec<u8>| rng.below(data.len() + 1);
        match rng.below(9) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = at(rng, &data);
                data.insert(i, rng.next() as u8);
            }
            2 if !data.is_empty() => {
                let i = rng.below(data.len());
                let n = 1 + rng.below((data.len() - i).min(16));
                data.drain(i..i + n);
            }
            3 if !data.is_empty() => {
                let i = rng.below(data.len());
                let n = 1 + rng.below((data.len() - i).min(64));
                let chunk = data[i..i + n].to_vec();
                let j = at(rng, &data);
                data.splice(j..j, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = at(rng, &data);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            5 => replace_number(&mut data, rng),
            6 => {
                let token = DICTIONARY[rng.below(DICTIONARY.len())].as_bytes();
                let i = at(rng, &data);
                data.splice(i..i, token.iter().copied());
            }
            7 if !data.is_empty() => {
                let n = rng.below(data.len());
                data.truncate(n);
            }
            _ => {
                let i = at(rng, &data);
                let byte = *[0u8, 0xff, 0x7f, 0x80, b'"', b'\\', b'%', b'\n']
                    .get(rng.below(8))
                    .unwrap_or(&0);
                data.insert(i, byte);
            }
        }
    }
    data.truncate(MAX_LEN);
    data
}

/// Replaces one run of ASCII digits (or inserts at a random place) with an interesting number.
fn replace_number(data: &mut Vec<u8>, rng: &mut Rng) {
    let number = INTERESTING[rng.below(INTERESTING.len())].as_bytes();
    let digits: Vec<usize> = (0..data.len())
        .filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_digit()))
        .collect();
    if digits.is_empty() {
        let i = rng.below(data.len() + 1);
        data.splice(i..i, number.iter().copied());
        return;
    }
    let start = digits[rng.below(digits.len())];
    let end = (start..data.len())
        .find(|&i| !data[i].is_ascii_digit())
        .unwrap_or(data.len());
    data.splice(start..end, number.iter().copied());
}

/// A panic hook that records the message instead of printing it (fuzzing panics on purpose).
mod quiet_panics {
    use std::cell::RefCell;
    use std::sync::Once;

    thread_local! {
        static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    pub fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let at = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                LAST.with(|l| *l.borrow_mut() = Some(format!("{message}{at}")));
            }));
        });
    }

    pub fn take() -> Option<String> {
        LAST.with(|l| l.borrow_mut().take())
    }
}
