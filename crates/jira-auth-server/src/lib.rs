//! Jira Server / Data Center authentication: OAuth 1.0a with RSA-SHA1, and personal access tokens.
//!
//! - [`signature`]: RFC 5849 signing as pure functions (base string, encoding, RSA-SHA1, header).
//! - [`key`]: reading PKCS#8/PKCS#1 private keys with clear refusals, and key generation.
//! - [`signer`]: [`signer::OAuth1Signer`], the [`jira_auth_core::auth::Authorizer`] that signs
//!   every attempt afresh.
//! - [`dance`]: request token → authorize URL → access token, and `/myself`.
//! - [`callback`]: a one-shot loopback listener for the OAuth callback.
//! - [`profile`]: the `server` section of a stored profile.
//! - [`error`]: [`ServerError`], with advice for every `oauth_problem`.
//!
//! Data flow of `server login`: [`dance::JiraServer::request_token`] (signed POST with
//! `oauth_callback`) → the user approves at [`dance::JiraServer::authorize_url`] → the callback
//! (or the typed verifier) → [`dance::JiraServer::access_token`] → `/myself` → [`profile::save`].
//!
//! Architecture invariant: nothing in this crate prints; it returns data and typed errors.

pub mod callback;
pub mod dance;
pub mod error;
pub mod key;
pub mod oauth2;
pub mod profile;
pub mod signature;
pub mod signer;

pub use error::{ServerError, Step};
