//! Execution of `jira-auth cloud …`.

use super::args::{CloudArgs, CloudCommand, ExportArgs, ExportFormat, JsonArgs, StatusArgs};
use super::present;
use crate::args::GlobalArgs;
use crate::exit;
use crate::exit::{Category, ContextAs as _};
use crate::output::Narrator;
use jira_auth_cloud::credentials::{self, LoginKind, REFRESH_MARGIN, RefreshMode, Status};
use jira_auth_cloud::{CloudError, export, sites};
use jira_auth_core::http::HttpClient;
use jira_auth_core::presets::Presets;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::{rfc3339, unix_seconds};
use std::io::{IsTerminal, Write};
use std::time::SystemTime;

pub async fn run(global: &GlobalArgs, args: CloudArgs) -> crate::exit::Result<u8> {
    let profile = ProfileName::new(global.profile.clone())?;
    let store = Store::from_env()?;
    match args.command {
        CloudCommand::Login(a) => super::login::login(global, &profile, &store, *a).await,
        CloudCommand::Token => token(&profile, &store).await,
        CloudCommand::Refresh => refresh(Narrator::new(global), &profile, &store).await,
        CloudCommand::Sites(a) => list_sites(&profile, &store, a).await,
        CloudCommand::Status(a) => status(&profile, &store, a),
        CloudCommand::Export(a) => export(Narrator::new(global), &profile, &store, a).await,
        CloudCommand::Logout => logout(Narrator::new(global), &profile, &store),
        CloudCommand::Serve(a) => super::serve::run(global, *a).await,
    }
}

/// The stored credentials with at least [`REFRESH_MARGIN`] of access-token validity, refreshed
/// under the lock when needed. The common case (a valid stored token) reads one file and builds
/// no HTTP client at all.
async fn usable_credentials(
    profile: &ProfileName,
    store: &Store,
) -> crate::exit::Result<credentials::CloudCredentials> {
    let stored = credentials::load(store, profile)?;
    // The file just read names the login's preset: advice to log in again asks for it too.
    crate::suggest::set_preset(stored.preset.as_deref());
    if stored.access_remaining(unix_seconds(SystemTime::now())) >= REFRESH_MARGIN.as_secs() as i64 {
        return Ok(stored);
    }
    let mode = RefreshMode::IfExpiring(REFRESH_MARGIN);
    Ok(
        credentials::ensure_fresh(store, profile, &http_for(store, profile)?, mode)
            .await?
            .credentials,
    )
}

pub(crate) fn http() -> crate::exit::Result<HttpClient> {
    Ok(crate::net::client()?)
}

/// The client for a command on `profile`, with the network paths its login remembered.
pub(crate) fn http_for(store: &Store, profile: &ProfileName) -> crate::exit::Result<HttpClient> {
    crate::net::client_for(store, profile)
}

/// `cloud token`: a valid access token on stdout.
async fn token(profile: &ProfileName, store: &Store) -> crate::exit::Result<u8> {
    let credentials = usable_credentials(profile, store).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", credentials.access_token.expose_secret())
        .context_as(Category::Usage, "cannot write to stdout")?;
    Ok(exit::OK)
}

/// `cloud refresh`: redeems the refresh token; what happened is narration, stdout stays empty.
async fn refresh(
    narrator: Narrator,
    profile: &ProfileName,
    store: &Store,
) -> crate::exit::Result<u8> {
    let before = credentials::load(store, profile)?;
    crate::suggest::set_preset(before.preset.as_deref());
    let fresh = credentials::ensure_fresh(
        store,
        profile,
        &http_for(store, profile)?,
        RefreshMode::Always,
    )
    .await?;
    let c = &fresh.credentials;
    if c.kind == LoginKind::ServiceAccount {
        narrator.say(format!(
            "Minted a new access token for service account profile `{profile}` ({}): valid until {}",
            c.site_name,
            rfc3339(c.access_expires_at)
        ));
        return Ok(exit::OK);
    }
    let rotated = if c.refresh_token != before.refresh_token {
        "rotated refresh token stored"
    } else {
        "the server sent no new refresh token, the old one stays"
    };
    narrator.say(format!(
        "Refreshed profile `{profile}` ({}): access token valid until {}; {rotated}",
        c.site_name,
        rfc3339(c.access_expires_at)
    ));
    Ok(exit::OK)
}

async fn list_sites(profile: &ProfileName, store: &Store, a: JsonArgs) -> crate::exit::Result<u8> {
    let http = http_for(store, profile)?;
    let fresh = credentials::ensure_fresh(
        store,
        profile,
        &http,
        RefreshMode::IfExpiring(REFRESH_MARGIN),
    )
    .await?;
    crate::suggest::set_preset(fresh.credentials.preset.as_deref());
    let first = sites::accessible_resources(
        &http,
        &fresh.credentials.endpoints()?,
        &fresh.credentials.access_token,
    )
    .await;
    // A token Atlassian refused (revoked, or a clock that lied about its expiry): one refresh,
    // one retry, then a message that names the command that fixes it.
    let refused = |status: u16, refreshed: bool| CloudError::AccessTokenRefused {
        profile: profile.to_string(),
        status,
        refreshed,
    };
    let (fresh, all) = match first {
        Err(e) if let Some(status) = e.refused_token() => {
            if fresh.refreshed || fresh.credentials.refresh_token.is_none() {
                return Err(refused(status, fresh.refreshed).into());
            }
            let fresh =
                credentials::ensure_fresh(store, profile, &http, RefreshMode::Always).await?;
            let c = &fresh.credentials;
            match sites::accessible_resources(&http, &c.endpoints()?, &c.access_token).await {
                Err(e) if let Some(status) = e.refused_token() => {
                    return Err(refused(status, true).into());
                }
                other => (fresh, other?),
            }
        }
        other => (fresh, other?),
    };
    let c = &fresh.credentials;
    if a.json {
        println!(
            "{}",
            crate::output::json(&present::sites_json(&all, &c.cloud_id))?
        );
    } else {
        print!("{}", present::sites_table(&all, Some(&c.cloud_id)));
    }
    Ok(exit::OK)
}

fn status(profile: &ProfileName, store: &Store, a: StatusArgs) -> crate::exit::Result<u8> {
    let c = match credentials::load(store, profile) {
        Ok(c) => c,
        // A script reading `--json` gets JSON on stdout either way; the exit code stays.
        Err(e) if a.json => {
            let e = exit::Error::from(e);
            let object = serde_json::json!({
                "profile": profile.as_str(),
                "error": crate::suggest::complete(&exit::message(&e)),
                "exit_code": e.code(),
            });
            println!("{}", crate::output::json(&object)?);
            return Err(e);
        }
        Err(e) => return Err(e.into()),
    };
    let expected = match &c.preset {
        Some(name) => {
            let presets = Presets::load(a.preset_file.as_deref())?;
            let mut scopes = presets.get(name)?.scopes.clone();
            if c.refresh_token.is_some() {
                scopes.push(jira_auth_cloud::OFFLINE_ACCESS.to_owned());
            }
            scopes
        }
        None => c.requested_scopes.clone(),
    };
    let report = Status::compute(profile, &c, unix_seconds(SystemTime::now()), &expected);
    crate::suggest::set_preset(c.preset.as_deref());
    if a.json {
        println!("{}", crate::output::json(&report)?);
    } else {
        print!(
            "{}",
            crate::suggest::complete(&present::status_text(&report))
        );
        for w in &report.warnings {
            eprintln!("warning: {}", crate::suggest::complete(w));
        }
    }
    Ok(if report.usable {
        exit::OK
    } else {
        exit::FINDINGS
    })
}

async fn export(
    narrator: Narrator,
    profile: &ProfileName,
    store: &Store,
    a: ExportArgs,
) -> crate::exit::Result<u8> {
    // Read under the lock, so a refresh running now finishes first; then export a token that
    // is still valid for a while, refreshing first if it is about to expire.
    let stored = credentials::load_locked(store, profile)?;
    crate::suggest::set_preset(stored.preset.as_deref());
    if stored.kind == LoginKind::ServiceAccount && a.format == ExportFormat::Psoxy {
        return Err(jira_auth_cloud::CloudError::NoRefreshTokenToExport {
            profile: profile.to_string(),
        }
        .into());
    }
    let c = if stored.access_remaining(unix_seconds(SystemTime::now()))
        >= REFRESH_MARGIN.as_secs() as i64
    {
        stored
    } else {
        let mode = RefreshMode::IfExpiring(REFRESH_MARGIN);
        credentials::ensure_fresh(store, profile, &http_for(store, profile)?, mode)
            .await?
            .credentials
    };
    let format = match a.format {
        ExportFormat::Env => export::Format::Env,
        ExportFormat::Json => export::Format::Json,
        ExportFormat::Tfvars => export::Format::Tfvars,
        ExportFormat::Psoxy => export::Format::Psoxy,
    };
    let text = export::render(&c, format)?;
    if let Some(path) = &a.output {
        jira_auth_core::store::write_atomically(path, text.as_bytes())?;
        narrator.say(format!(
            "Wrote the {} export of profile `{profile}` to `{}` (mode 0600)",
            format_name(a.format),
            path.display()
        ));
    } else if std::io::stdout().is_terminal() {
        narrator.say(format!(
            "warning: these are live secrets and stdout is a terminal: write them to a private file with `jira-auth cloud export --format {}{} --output FILE`, or pipe them into a secret store",
            format_name(a.format),
            jira_auth_cloud::error::profile_flag(profile.as_str())
        ));
    }
    if matches!(a.format, ExportFormat::Psoxy) {
        narrator.say(format!(
            "note: once psoxy uses this refresh token it rotates it; stop using profile `{profile}` for this token family (or log in again for jira-auth's own use)"
        ));
    }
    if a.output.is_none() {
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context_as(Category::Usage, "cannot write to stdout")?;
    }
    Ok(exit::OK)
}

fn format_name(f: ExportFormat) -> &'static str {
    match f {
        ExportFormat::Env => "env",
        ExportFormat::Json => "json",
        ExportFormat::Tfvars => "tfvars",
        ExportFormat::Psoxy => "psoxy",
    }
}

/// `cloud logout`: forgets the tokens; what happened is narration, stdout stays empty.
fn logout(narrator: Narrator, profile: &ProfileName, store: &Store) -> crate::exit::Result<u8> {
    let forgot = credentials::forget(store, profile)?;
    crate::net::forget_if_alone(store, profile)?;
    if forgot {
        narrator.say(format!(
            "Forgot the Jira Cloud login of profile `{profile}`. To revoke the app's access too, remove it under your Atlassian account's Connected apps"
        ));
    } else {
        narrator.say(format!("Profile `{profile}` had no Jira Cloud login"));
    }
    Ok(exit::OK)
}
