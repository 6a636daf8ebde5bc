//! Exit codes (documented in `docs/exit-codes.md`), the binary's [`Error`], and the one place
//! errors are printed.
//!
//! An [`Error`] gets its exit code when it is made, never by looking its cause up later. There
//! are three ways to make one, each naming the code:
//!
//! - `?` on a library error: `From` exists only for types that implement [`Categorize`], and
//!   records [`Categorize::category`] at that moment;
//! - a [`Failure`], an error of the CLI's own with an explicit code;
//! - [`ContextAs::context_as`], for errors of other crates (`std::io`, `serde_json`, tokio) that
//!   know no category: the caller names it.
//!
//! So an error type nobody categorised cannot reach the user with a guessed exit code: `?` on
//! it does not compile (the doctests on [`Error`] show both sides).

use std::fmt;
use std::process::ExitCode;

pub use jira_auth_core::{Categorize, Category};

/// Everything went as asked.
pub const OK: u8 = 0;
/// The command ran, and what it checked failed (audit findings, an expired token in `status`).
pub const FINDINGS: u8 = 1;
/// Bad usage, bad configuration or bad local state: fix the command line or files.
pub const USAGE: u8 = 2;
/// The server refused the credentials or permission: log in again or fix the grant.
pub const AUTH: u8 = 3;
/// The network or the server failed: retry later or check connectivity.
pub const NETWORK: u8 = 4;

/// The exit code of a category.
pub fn code_of(category: Category) -> u8 {
    match category {
        Category::Usage => USAGE,
        Category::Auth => AUTH,
        Category::Network => NETWORK,
    }
}

/// What a command returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error on its way to the user: the message with its causes, and the exit code chosen where
/// it was made.
///
/// A library error converts with `?` only when its type implements [`Categorize`]:
///
/// ```
/// use jira_auth::exit::{Categorize, Category, NETWORK};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("the server is down")]
/// struct Categorised;
///
/// impl Categorize for Categorised {
///     fn category(&self) -> Category {
///         Category::Network
///     }
/// }
///
/// fn command() -> jira_auth::exit::Result<u8> {
///     Err(Categorised)?
/// }
/// assert_eq!(command().unwrap_err().code(), NETWORK);
/// ```
///
/// The same type without the `Categorize` impl does not compile, so it can never fall through
/// to a default code:
///
/// ```compile_fail,E0277
/// #[derive(Debug, thiserror::Error)]
/// #[error("the server is down")]
/// struct Uncategorised;
///
/// fn command() -> jira_auth::exit::Result<u8> {
///     Err(Uncategorised)?
/// }
/// ```
///
/// Nor does `?` on an error of another crate: its caller says what it means.
///
/// ```compile_fail,E0277
/// fn command() -> jira_auth::exit::Result<String> {
///     Ok(std::fs::read_to_string("report.txt")?)
/// }
/// ```
///
/// ```
/// use jira_auth::exit::{Category, ContextAs as _, USAGE};
///
/// fn command() -> jira_auth::exit::Result<String> {
///     std::fs::read_to_string("/nonexistent/report.txt")
///         .context_as(Category::Usage, "cannot read `report.txt`")
/// }
/// assert_eq!(command().unwrap_err().code(), USAGE);
/// ```
pub struct Error {
    code: u8,
    error: anyhow::Error,
}

impl Error {
    /// An error of another crate, with the category its caller gives it.
    pub fn categorised<E>(category: Category, error: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Self {
            code: code_of(category),
            error: anyhow::Error::new(error),
        }
    }

    /// The exit code this error ends the process with.
    pub fn code(&self) -> u8 {
        self.code
    }

    /// Wraps the error in a higher-level message; the exit code stays.
    pub fn context<C>(self, context: C) -> Self
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        Self {
            code: self.code,
            error: self.error.context(context),
        }
    }

    /// The message, then each cause.
    pub fn chain(&self) -> anyhow::Chain<'_> {
        self.error.chain()
    }
}

impl<E> From<E> for Error
where
    E: Categorize + std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        Self {
            code: code_of(error.category()),
            error: anyhow::Error::new(error),
        }
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        Self {
            code: failure.code,
            error: anyhow::Error::new(failure),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit {}: {:?}", self.code, self.error)
    }
}

/// `.context(…)` on a result whose error already has an exit code (a categorised library
/// error, a [`Failure`], an [`Error`]); the code stays.
pub trait Context<T> {
    fn context<C>(self, context: C) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static;

    fn with_context<C, F>(self, context: F) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> C;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context<C>(self, context: C) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        self.map_err(|e| e.into().context(context))
    }

    fn with_context<C, F>(self, context: F) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.map_err(|e| e.into().context(context()))
    }
}

/// `.context_as(category, …)` on a result whose error knows no category (`std::io::Error`,
/// `serde_json::Error`, a tokio join error): the caller names it.
pub trait ContextAs<T> {
    fn context_as<C>(self, category: Category, context: C) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static;

    fn with_context_as<C, F>(self, category: Category, context: F) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> C;
}

impl<T, E> ContextAs<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn context_as<C>(self, category: Category, context: C) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static,
    {
        self.map_err(|e| Error::categorised(category, e).context(context))
    }

    fn with_context_as<C, F>(self, category: Category, context: F) -> Result<T>
    where
        C: fmt::Display + Send + Sync + 'static,
        F: FnOnce() -> C,
    {
        self.map_err(|e| Error::categorised(category, e).context(context()))
    }
}

/// An error the CLI raises itself, with the exit code it deserves.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }
    pub fn auth(message: impl Into<String>) -> Self {
        Self {
            code: AUTH,
            message: message.into(),
        }
    }
    pub fn findings(message: impl Into<String>) -> Self {
        Self {
            code: FINDINGS,
            message: message.into(),
        }
    }
}

/// Prints `error: <message>` and each distinct cause once, then returns the exit code.
pub fn report(error: &Error) -> ExitCode {
    let mut text = format!("error: {error}");
    let mut last = error.to_string();
    for cause in error.chain().skip(1) {
        let c = cause.to_string();
        if !last.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
        last = c;
    }
    // A server may echo a credential inside its error text: never print one this process holds.
    eprintln!(
        "{}",
        jira_auth_core::redact::mask_held(&crate::suggest::complete(&text))
    );
    ExitCode::from(error.code())
}

/// The error's message and its distinct causes on one line, for a page or a JSON object.
pub fn message(error: &Error) -> String {
    let mut text = error.to_string();
    let mut last = text.clone();
    for cause in error.chain().skip(1) {
        let c = cause.to_string();
        if !last.contains(&c) {
            text.push_str(&format!(": {c}"));
        }
        last = c;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_category_has_its_documented_code() {
        // docs/exit-codes.md
        assert_eq!(code_of(Category::Usage), 2);
        assert_eq!(code_of(Category::Auth), 3);
        assert_eq!(code_of(Category::Network), 4);
        assert_eq!((OK, FINDINGS), (0, 1));
    }

    #[test]
    fn the_code_is_the_one_recorded_when_the_error_was_made_and_context_keeps_it() {
        let store = jira_auth_core::store::StoreError::NoConfigDir;
        let loading: Result<()> = Err(store).context("loading profile");
        let loading = loading.unwrap_err();
        assert_eq!(loading.code(), USAGE);
        assert_eq!(loading.chain().count(), 2);

        let api = jira_auth_core::ApiError {
            method: "GET".into(),
            url: "https://x.test/".into(),
            status: 401,
            body: jira_auth_core::ErrorBody::Empty,
            server_date: None,
        };
        let http = jira_auth_core::http::HttpError::Api(api);
        assert_eq!(Error::from(http).code(), AUTH);

        let net = jira_auth_core::http::HttpError::Timeout {
            url: "u".into(),
            seconds: 1,
        };
        let net = Error::from(net).context("cannot check the credentials");
        assert_eq!(net.code(), NETWORK);
        assert_eq!(net.to_string(), "cannot check the credentials");

        let failure: Result<()> = Err(Failure::findings("2 checks failed")).context("audit");
        assert_eq!(failure.unwrap_err().code(), FINDINGS);

        let io = std::io::Error::other("disk on fire");
        let written: Result<()> = Err(io).context_as(Category::Network, "cannot send");
        let written = written.unwrap_err();
        assert_eq!(written.code(), NETWORK);
        assert_eq!(
            written.chain().map(|c| c.to_string()).collect::<Vec<_>>(),
            ["cannot send", "disk on fire"]
        );
    }

    /// Library errors through the one conversion `?` uses: the code is their own category's,
    /// variant by variant.
    #[test]
    fn library_errors_convert_with_their_own_category() {
        fn code<E: Into<Error>>(e: E) -> u8 {
            e.into().code()
        }
        let unknown = jira_auth_core::presets::PresetError::Unknown {
            name: "x".into(),
            known: "psoxy".into(),
        };
        assert_eq!(code(unknown), USAGE);
        assert_eq!(code(jira_auth_server::key::KeyError::BadBits(1024)), USAGE);
        assert_eq!(code(jira_auth_server::ServerError::Denied), AUTH);
        let timeout = jira_auth_core::http::HttpError::Timeout {
            url: "u".into(),
            seconds: 1,
        };
        let wrapped = jira_auth_server::ServerError::Http(Box::new(timeout));
        assert_eq!(code(wrapped), NETWORK);
    }
}
