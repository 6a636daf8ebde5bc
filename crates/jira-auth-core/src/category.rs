//! What kind of failure an error is, so the CLI can choose an exit code without knowing every enum.

/// The broad class of a failure. The CLI maps each to a documented exit code
/// (`docs/exit-codes.md`): usage 2, auth 3, network 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Bad input, configuration or local state the user can fix (exit 2).
    Usage,
    /// The server refused the credentials or the permission (exit 3).
    Auth,
    /// The network or the server failed (exit 4).
    Network,
}

/// Implemented by every library error so the binary can pick an exit code. The binary's `?`
/// converts only errors that implement it, so an error type without it cannot leave a command.
pub trait Categorize {
    fn category(&self) -> Category;
}
