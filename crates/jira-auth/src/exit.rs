//! Exit codes (documented in `docs/exit-codes.md`) and the one place errors are printed.

use jira_auth_core::{Categorize, Category};
use std::process::ExitCode;

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

pub fn code_of(category: Category) -> u8 {
    match category {
        Category::Usage => USAGE,
        Category::Auth => AUTH,
        Category::Network => NETWORK,
    }
}

/// The exit code for an error: the first cause in the chain that knows its category.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return f.code;
        }
        if let Some(c) = categorize(cause) {
            return code_of(c);
        }
    }
    USAGE
}

fn categorize(cause: &(dyn std::error::Error + 'static)) -> Option<Category> {
    macro_rules! try_types {
        ($($t:ty),* $(,)?) => {
            $(if let Some(e) = cause.downcast_ref::<$t>() { return Some(e.category()); })*
        };
    }
    try_types!(
        jira_auth_core::http::HttpError,
        jira_auth_core::store::StoreError,
        jira_auth_core::jira::JiraError,
        jira_auth_core::presets::PresetError,
        jira_auth_core::auth::AuthorizeError,
        jira_auth_cloud::CloudError,
        jira_auth_cloud::callback::CallbackError,
        jira_auth_server::ServerError,
        jira_auth_server::key::KeyError,
        jira_auth_audit::AuditError,
        jira_auth_serve::ServeError,
    );
    if cause.downcast_ref::<std::io::Error>().is_some() {
        return Some(Category::Usage);
    }
    None
}

/// Prints `error: <message>` and each distinct cause once, then returns the exit code.
pub fn report(error: &anyhow::Error) -> ExitCode {
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
    eprintln!("{}", jira_auth_core::redact::mask_held(&text));
    ExitCode::from(code_for(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context as _;

    #[test]
    fn code_follows_the_first_categorised_cause() {
        let store = jira_auth_core::store::StoreError::NoConfigDir;
        assert_eq!(
            code_for(&anyhow::Error::new(store).context("loading profile")),
            USAGE
        );

        let api = jira_auth_core::ApiError {
            method: "GET".into(),
            url: "https://x.test/".into(),
            status: 401,
            body: jira_auth_core::ErrorBody::Empty,
            server_date: None,
        };
        let http = jira_auth_core::http::HttpError::Api(api);
        assert_eq!(code_for(&anyhow::Error::new(http)), AUTH);

        let net = jira_auth_core::http::HttpError::Timeout {
            url: "u".into(),
            seconds: 1,
        };
        assert_eq!(code_for(&anyhow::Error::new(net)), NETWORK);

        let failure: anyhow::Result<()> = Err(Failure::findings("2 checks failed").into());
        assert_eq!(code_for(&failure.context("audit").unwrap_err()), FINDINGS);
    }
}
