//! Jira Server / Data Center authentication: OAuth 1.0a with RSA-SHA1, and personal access tokens.
//!
//! - [`signature`]: RFC 5849 signing as pure functions (base string, encoding, RSA-SHA1, header).
//! - [`key`]: reading PKCS#8/PKCS#1 private keys with clear refusals, and key generation.
//!
//! Architecture invariant: nothing in this crate prints; it returns data and typed errors.

pub mod key;
pub mod signature;
