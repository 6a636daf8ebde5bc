//! `jira-auth cloud login`: the browser flow, from the authorize URL to the stored token set.
//!
//! After the consent, exactly two requests are made: the code exchange and accessible-resources.
//! Everything it says goes to stderr: a login has no data for stdout.

use super::args::LoginArgs;
use crate::args::GlobalArgs;
use crate::exit::{self, Failure};
use crate::exit::{Category, ContextAs as _};
use crate::output::Narrator;
use jira_auth_cloud::callback::{RedirectUri, parse_pasted};
use jira_auth_cloud::consent::Consent;
use jira_auth_cloud::credentials::Grant;
use jira_auth_cloud::listener::Listener;
use jira_auth_cloud::sites::{self, Site};
use jira_auth_cloud::{CloudError, Endpoints, OFFLINE_ACCESS, authorize};
use jira_auth_core::ClientSecret;
use jira_auth_core::presets::Presets;
use jira_auth_core::random::hex_token;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::{rfc3339, unix_seconds};
use std::io::{BufRead, IsTerminal};
use std::time::{Duration, SystemTime};

pub async fn login(
    global: &GlobalArgs,
    profile: &ProfileName,
    store: &Store,
    a: LoginArgs,
) -> crate::exit::Result<u8> {
    if a.client_credentials {
        return super::service_account::login(global, profile, store, a).await;
    }
    let narrator = Narrator::new(global);
    let info = |text: &str| narrator.say(text);
    let endpoints = Endpoints::parse(&a.endpoints.auth_url, &a.endpoints.api_url)?;
    crate::net::check_url(&endpoints.auth_url)?;
    crate::net::check_url(&endpoints.api_url)?;
    let redirect = RedirectUri::parse(&a.redirect_uri)?;
    crate::suggest::set_preset(a.preset.as_deref());
    let presets = Presets::load(a.preset_file.as_deref())?;
    let scopes =
        authorize::resolve_scopes(&presets, a.preset.as_deref(), &a.scopes, !a.no_refresh)?;
    if a.client_id.trim().is_empty() {
        return Err(Failure::usage(
            "no client id: pass `--client-id ID` or set `JIRA_AUTH_CLIENT_ID` (developer console → your app → Settings)",
        )
        .into());
    }
    if a.paste && a.client_secret_stdin {
        return Err(Failure::usage(
            "`--client-secret-stdin` and `--paste` both read standard input: give the client secret with `--client-secret-file PATH` or `JIRA_AUTH_CLIENT_SECRET` instead",
        )
        .into());
    }
    let secret = client_secret(&a)?;
    let timeout: Duration = a.timeout.into();

    let state = hex_token(16);
    let url = authorize::authorize_url(&endpoints, &a.client_id, &redirect, &scopes, &state);

    let listener = if a.paste {
        None
    } else {
        match Listener::bind(&redirect).await {
            Ok(l) => Some(l),
            Err(why) => {
                info(&format!(
                    "note: {why}; paste mode instead of a local listener"
                ));
                None
            }
        }
    };

    if a.no_browser {
        info("Open this URL in a browser, sign in and click Accept:");
        // The URL alone on one line, so scripts and tests can pick it up.
        eprintln!("{url}");
    } else {
        match crate::browser::open(url.as_str()) {
            Ok(()) => info(&format!(
                "Opened the browser; if nothing appeared, open this URL:\n{url}"
            )),
            Err(why) => {
                info(&format!("Cannot open a browser ({why}); open this URL:"));
                eprintln!("{url}");
            }
        }
    }

    let client_id = a.client_id.trim().to_owned();
    let (code, reply) = match listener {
        Some(l) => {
            info(&format!(
                "Waiting up to {} for the browser to come back to {} …\nIf Atlassian shows an error instead of a consent screen, check the client id `{client_id}` and that the app's Callback URL is exactly `{}` (developer console → your app → Authorization)",
                humantime::format_duration(timeout),
                redirect.as_str(),
                redirect.as_str()
            ));
            let (code, reply) = l.wait(&state, &client_id, timeout).await?;
            (code, Some(reply))
        }
        None => {
            info(&format!(
                "After Accept the browser lands on {} (the page may fail to load: that is fine).\nPaste that page's full URL (or just the code) here and press Enter:",
                redirect.as_str()
            ));
            let line = read_line(timeout).await?;
            (parse_pasted(&line, &state).map_err(CloudError::from)?, None)
        }
    };

    let consent = Consent::new(Grant {
        client_id,
        client_secret: secret,
        requested_scopes: scopes,
        preset: a.preset.clone(),
        endpoints,
        redirect_uri: redirect.as_str().to_owned(),
    });
    let finished = async {
        let granted = consent
            .exchange(&super::run::http_for(store, profile)?, store, profile, code)
            .await?;
        let site_id = pick_site(granted.sites(), a.site.as_deref())?.id.clone();
        let connection = granted.choose(&site_id, unix_seconds(SystemTime::now()))?;
        connection.save(store, profile)?;
        crate::net::remember(store, profile)?;
        crate::exit::Result::Ok(connection)
    }
    .await;
    // The browser has waited for this: it shows how the login really ended.
    crate::browser::answer(
        reply,
        finished.as_ref().map(|c| {
            format!(
                "jira-auth is signed in to {} ({}) as profile `{profile}`. You can close this tab.",
                c.credentials.site_name, c.credentials.site_url
            )
        }),
    )
    .await;
    let connection = finished?;
    let (c, missing) = (&connection.credentials, &connection.missing_scopes);

    if !missing.is_empty() {
        let only_offline = missing.iter().all(|s| s == OFFLINE_ACCESS);
        let advice = if only_offline {
            "no refresh token was issued, so this login lasts one hour"
        } else {
            "add them in the developer console (your app → Permissions → Jira API → Configure), then run `jira-auth cloud login` again"
        };
        eprintln!(
            "warning: not granted: {}; {}",
            missing.join(" "),
            crate::suggest::complete(advice)
        );
    }
    narrator.say(format!(
        "Logged in to {} ({}), cloud id {}\nprofile: {profile}\nscopes: {}\naccess token valid until {}",
        c.site_name,
        c.site_url,
        c.cloud_id,
        c.scopes.join(" "),
        rfc3339(c.access_expires_at)
    ));
    narrator.say(match c.refresh_token {
        Some(_) => format!(
            "refresh token stored; the token family ends {} (365 days), renew with `jira-auth cloud login` before then",
            rfc3339(c.family_started_at + 365 * 86_400)
        ),
        None => "no refresh token (`offline_access` not granted): log in again in an hour".to_owned(),
    });
    Ok(exit::OK)
}

fn client_secret(a: &LoginArgs) -> exit::Result<ClientSecret> {
    Ok(crate::secret_input::client_secret(
        a.client_secret_file.as_deref(),
        a.client_secret_stdin,
        "Client secret (hidden; developer console → your app → Settings): ",
    )?)
}

/// Reads one line of stdin without blocking the runtime, giving up after `timeout`.
async fn read_line(timeout: Duration) -> crate::exit::Result<String> {
    let read = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map(|n| (n > 0).then_some(line))
    });
    match tokio::time::timeout(timeout, read).await {
        Err(_) => Err(Failure::auth(format!(
            "nothing was pasted within {}: run `jira-auth cloud login` again (raise `--timeout` if you need longer)",
            humantime::format_duration(timeout)
        ))
        .into()),
        Ok(joined) => joined
            .context_as(Category::Usage, "the stdin reader failed")?
            .context_as(Category::Usage, "cannot read standard input")?
            .ok_or_else(|| {
                Failure::usage(
                    "standard input ended before a URL or code was pasted: run `jira-auth cloud login` in a terminal, or pipe the URL the browser landed on into it",
                )
                .into()
            }),
    }
}

fn pick_site<'a>(all: &'a [Site], wanted: Option<&str>) -> crate::exit::Result<&'a Site> {
    if let Some(site) = sites::choose(all, wanted)? {
        return Ok(site);
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive {
        return Err(CloudError::SiteAmbiguous {
            available: sites::describe(all),
        }
        .into());
    }
    eprintln!("The token reaches several sites:");
    for (i, s) in all.iter().enumerate() {
        eprintln!("  {}) {} ({}, {})", i + 1, s.name, s.url, s.id);
    }
    let stdin = std::io::stdin();
    for _ in 0..3 {
        eprint!("Choose one [1-{}]: ", all.len());
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line).context_as(
            Category::Usage,
            "cannot read the choice from standard input",
        )?;
        if read == 0 {
            break;
        }
        if let Ok(n) = line.trim().parse::<usize>()
            && (1..=all.len()).contains(&n)
        {
            return Ok(&all[n - 1]);
        }
    }
    Err(CloudError::SiteAmbiguous {
        available: sites::describe(all),
    }
    .into())
}
