//! Shared plumbing for jira-auth.
//!
//! - [`secret`]: one newtype per secret, with a redacting `Debug`/`Display`.
//! - [`http`]: the one HTTP client (reqwest + rustls) and its retry policy.
//! - [`api_error`]: Atlassian and Jira error bodies as typed errors that keep the server's text.
//! - [`store`]: named profiles on disk (or, with the `keyring` feature, in the OS keyring),
//!   written atomically under an advisory lock.
//! - [`auth`]: the [`auth::Authorizer`] trait (bearer, PAT, basic; OAuth 1.0a lives in the server crate).
//! - [`jira`]: a small Jira REST client over an authorizer.
//! - [`limit`]: adaptive concurrency (AIMD) for commands that send many requests, fed by the
//!   server's rate-limit and quota headers.
//! - [`network`]: extra CAs, client certificates, proxies and the plain-http rule.
//! - [`loopback`]: the one-shot loopback listener for browser callbacks, with a router per protocol.
//! - [`presets`]: named scope and check sets shared by `cloud login` and `audit`.
//! - [`random`]: OS-RNG values for OAuth `state` and nonces.
//! - [`redact`]: the secret values this process holds, masked in whatever it prints.
//! - [`fault`]: pause and full-disk points for the crash tests (debug builds only).
//!
//! Architecture invariant: nothing in this crate prints (but the debug-only pause point of
//! [`fault`]); it returns data and typed errors.

pub mod api_error;
pub mod auth;
pub mod authorization;
pub mod category;
pub mod fault;
pub mod http;
pub mod jira;
pub mod limit;
pub mod loopback;
pub mod network;
pub mod pkce;
pub mod plural;
pub mod presets;
pub mod random;
pub mod redact;
pub mod rotation;
pub mod secret;
pub mod store;
pub mod time;
pub mod token;

pub use api_error::{ApiError, ErrorBody};
pub use category::{Categorize, Category};
pub use secret::{
    AccessToken, ApiToken, ClientSecret, CodeVerifier, PersonalAccessToken, PrivateKeyPem,
    RefreshToken, TokenSecret,
};
