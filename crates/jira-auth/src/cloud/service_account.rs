//! `jira-auth cloud login --client-credentials`: a Jira Cloud service account, no browser.
//!
//! Two or three requests (`tenant_info` when `--site` is a URL, the mint, the site check); what
//! it says goes to stderr, stdout stays empty. The protocol is
//! `jira_auth_cloud::service_account`.

use super::args::LoginArgs;
use crate::args::GlobalArgs;
use crate::exit::{self, Failure};
use crate::output::Narrator;
use jira_auth_cloud::service_account::{Login, SiteRef};
use jira_auth_cloud::{CloudError, Endpoints, authorize};
use jira_auth_core::presets::Presets;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::rfc3339;

pub async fn login(
    global: &GlobalArgs,
    profile: &ProfileName,
    store: &Store,
    a: LoginArgs,
) -> exit::Result<u8> {
    let endpoints = Endpoints::parse(&a.endpoints.auth_url, &a.endpoints.api_url)?;
    let site = SiteRef::parse(a.site.as_deref().unwrap_or_default())?;
    // `--scope` as for 3LO, minus `offline_access`; none means the credential's own scopes.
    let scopes = match authorize::resolve_scopes(&Presets::load(None)?, None, &a.scopes, false) {
        Err(CloudError::NoScopes) => Vec::new(),
        scopes => scopes?,
    };
    if a.client_id.trim().is_empty() {
        return Err(Failure::usage(
            "the client id is empty: pass `--client-id` or set `JIRA_AUTH_CLIENT_ID` (admin.atlassian.com → Directory → Service accounts → the account's OAuth 2.0 credential)",
        )
        .into());
    }
    let secret = crate::secret_input::client_secret(
        a.client_secret_file.as_deref(),
        a.client_secret_stdin,
        "Client secret of the service account's OAuth 2.0 credential (hidden): ",
    )?;
    let login = Login {
        client_id: a.client_id.trim().to_owned(),
        client_secret: secret,
        scopes,
        site,
        endpoints,
    };
    let c = login.run(&super::run::http()?, store, profile).await?;
    crate::net::remember(store, profile)?;
    Narrator::new(global).say(format!(
        "Logged in service account {} to {} ({}), cloud id {}\nprofile: {profile}\nscopes: {}\naccess token valid until {}; `jira-auth cloud token` mints the next one with the stored client secret (no refresh token)",
        c.client_id,
        c.site_name,
        c.site_url,
        c.cloud_id,
        if c.scopes.is_empty() {
            "(the credential's own)".to_owned()
        } else {
            c.scopes.join(" ")
        },
        rfc3339(c.access_expires_at)
    ));
    Ok(exit::OK)
}
