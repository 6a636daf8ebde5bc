//! The HTTP routes: `/`, `/initiate-oauth`, `/oauth/callback`, `/oauth/select-site`,
//! `/health-check`. Protocol work is the cloud crate's; this module decides what to check, in
//! which order, and what page answers.

use crate::config::CALLBACK_PATH;
use crate::cookie::{
    self, CookieError, LIFETIME, PICK_COOKIE, STATE_COOKIE, clear_cookie, read_cookie, set_cookie,
};
use crate::flow::FlowError;
use crate::html;
use crate::state::{AppState, Parked, PickOutcome};
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jira_auth_cloud::CloudError;
use jira_auth_cloud::authorize::authorize_url;
use jira_auth_cloud::callback::{Callback, parse_query};
use jira_auth_cloud::consent::{Consent, Granted};
use jira_auth_cloud::credentials::{self, Grant};
use jira_auth_cloud::sites::{Site, describe};
use jira_auth_core::random::{constant_time_eq, hex_token};
use jira_auth_core::time::rfc3339;

const STATE_PURPOSE: &str = "state";
const PICK_PURPOSE: &str = "pick";

/// The service's routes over `state`. Tests serve it on `127.0.0.1:0`; [`crate::serve`] binds
/// the configured address.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/initiate-oauth", get(initiate))
        .route(CALLBACK_PATH, get(callback))
        .route("/oauth/select-site", post(select_site))
        .route("/health-check", get(health))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Headers on every response: nothing cached (pages name sites, cookies carry state), no
/// framing, no sniffing, no `Referer` (the callback URL carries the code), and a CSP that
/// allows nothing but the inline style and forms posting back here.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn page(status: StatusCode, body: String, cookies: &[String]) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn refuse(error: FlowError, cookies: &[String]) -> Response {
    tracing::warn!(
        status = error.status().as_u16(),
        "consent refused: {}",
        error.title()
    );
    page(
        error.status(),
        html::failure(error.title(), &error.to_string()),
        cookies,
    )
}

async fn home(State(app): State<AppState>) -> Response {
    let config = app.config();
    let (store, profile) = (config.store.clone(), config.profile.clone());
    let loaded = tokio::task::spawn_blocking(move || credentials::load(&store, &profile)).await;
    let stored = match loaded {
        Ok(Ok(c)) => Some(c),
        Ok(Err(CloudError::NotLoggedIn { .. })) => None,
        Ok(Err(e)) => {
            tracing::warn!("cannot read profile `{}`: {e}", config.profile);
            None
        }
        Err(e) => {
            tracing::warn!("reading the profile failed: {e}");
            None
        }
    };
    let view = html::HomeView {
        client_id: &config.client_id,
        profile: config.profile.as_str(),
        scopes: &config.scopes,
        allow_sites: &config.allow_sites,
        connected: stored.as_ref().map(|c| html::ConnectedView {
            site_name: &c.site_name,
            site_url: &c.site_url,
            cloud_id: &c.cloud_id,
            since: rfc3339(c.family_started_at),
        }),
    };
    page(StatusCode::OK, html::home(&view), &[])
}

async fn health() -> Response {
    let body = serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn not_found() -> Response {
    page(StatusCode::NOT_FOUND, html::not_found(), &[])
}

/// `GET /initiate-oauth`: a fresh `state` in a signed cookie, and a 302 to Atlassian.
async fn initiate(State(app): State<AppState>) -> Response {
    let config = app.config();
    let state = hex_token(16);
    let expires_at = app.now() + LIFETIME.as_secs() as i64;
    let sealed = cookie::seal(&app.0.key, STATE_PURPOSE, &state, expires_at);
    let url = authorize_url(
        &config.endpoints,
        &config.client_id,
        app.redirect_uri(),
        &config.scopes,
        &state,
    );
    tracing::info!("consent started");
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(url.as_str()) {
        headers.insert(header::LOCATION, location);
    }
    if let Ok(c) = HeaderValue::from_str(&set_cookie(
        STATE_COOKIE,
        &sealed,
        config.public_url.is_https(),
    )) {
        headers.insert(header::SET_COOKIE, c);
    }
    response
}

/// `GET /oauth/callback`: cookie, then state, then single use, then the code exchange,
/// accessible-resources, the allow list, and a stored login or the site picker.
async fn callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let secure = app.config().public_url.is_https();
    let clear = [clear_cookie(STATE_COOKIE, secure)];
    let now = app.now();
    let Some(sealed) = read_cookie(&headers, STATE_COOKIE) else {
        return refuse(FlowError::MissingCookie, &[]);
    };
    let state = match cookie::open(&app.0.key, STATE_PURPOSE, sealed, now) {
        Ok(state) => state,
        Err(CookieError::Expired) => return refuse(FlowError::Expired, &clear),
        Err(CookieError::Malformed | CookieError::BadSignature) => {
            return refuse(FlowError::BadCookie, &clear);
        }
    };
    let code = match parse_query(query.as_deref().unwrap_or_default(), &state) {
        // Not this browser's consent: keep its cookie, its own callback may still come.
        Callback::Stray(_) => return refuse(FlowError::StateMismatch, &[]),
        Callback::Failed(e) => {
            app.consume(&state, now + LIFETIME.as_secs() as i64);
            return refuse(FlowError::from_callback(e), &clear);
        }
        Callback::Code(code) => code,
    };
    if !app.consume(&state, now + LIFETIME.as_secs() as i64) {
        return refuse(FlowError::Reused, &clear);
    }
    match connect(&app, code).await {
        Ok(Connected::Stored(site, missing)) => page(
            StatusCode::OK,
            html::connected(app.config().profile.as_str(), &site, &missing),
            &clear,
        ),
        Ok(Connected::Choose(pick, sites)) => {
            let sealed = cookie::seal(
                &app.0.key,
                PICK_PURPOSE,
                &pick,
                now + LIFETIME.as_secs() as i64,
            );
            page(
                StatusCode::OK,
                html::picker(&pick, &sites),
                &[clear[0].clone(), set_cookie(PICK_COOKIE, &sealed, secure)],
            )
        }
        Err(e) => refuse(e, &clear),
    }
}

enum Connected {
    /// Stored: the site, and the requested scopes that were not granted.
    Stored(Site, Vec<String>),
    /// Parked for a choice: the pick id and the sites to choose from.
    Choose(String, Vec<Site>),
}

fn upstream(error: CloudError) -> FlowError {
    tracing::warn!("consent failed: {error}");
    FlowError::from_cloud(error)
}

async fn connect(app: &AppState, code: oauth2::AuthorizationCode) -> Result<Connected, FlowError> {
    let config = app.config();
    let consent = Consent::new(Grant {
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone(),
        requested_scopes: config.scopes.clone(),
        preset: config.preset.clone(),
        endpoints: config.endpoints.clone(),
        redirect_uri: app.redirect_uri().as_str().to_owned(),
    });
    let granted = consent
        .exchange(&app.0.http, &config.store, &config.profile, code)
        .await
        .map_err(upstream)?;
    let sites = granted.sites();
    let allowed = crate::allow::filter(&config.allow_sites, sites);
    match allowed.as_slice() {
        [] => {
            tracing::warn!(
                "consent for a site outside `--allow-site` refused: {}",
                describe(sites)
            );
            Err(FlowError::SiteNotAllowed {
                allowed: config.allow_sites.join(", "),
                granted: sites
                    .iter()
                    .map(|s| format!("{} ({})", s.name, s.url))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
        [site] => {
            let site = site.clone();
            let missing = store(app, granted, &site).await?;
            Ok(Connected::Stored(site, missing))
        }
        _ => {
            let pick = hex_token(16);
            tracing::info!(sites = allowed.len(), "waiting for a site choice");
            app.park(
                pick.clone(),
                Parked {
                    granted,
                    sites: allowed.clone(),
                    expires_at: app.now() + LIFETIME.as_secs() as i64,
                },
            );
            Ok(Connected::Choose(pick, allowed))
        }
    }
}

/// Saves the login for `site` under the profile, exactly as `cloud login` stores it.
async fn store(app: &AppState, granted: Granted, site: &Site) -> Result<Vec<String>, FlowError> {
    let config = app.config();
    let connection = granted.choose(&site.id, app.now()).map_err(upstream)?;
    let (home, profile) = (config.store.clone(), config.profile.clone());
    let saving = connection.clone();
    let saved = tokio::task::spawn_blocking(move || saving.save(&home, &profile)).await;
    match saved {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::error!("storing the credentials failed: {e}");
            return Err(FlowError::Store);
        }
        Err(e) => {
            tracing::error!("storing the credentials failed: {e}");
            return Err(FlowError::Store);
        }
    }
    tracing::info!(
        site = %site.name,
        cloud_id = %site.id,
        profile = %config.profile,
        "Jira site connected"
    );
    Ok(connection.missing_scopes)
}

/// `POST /oauth/select-site` (form `pick`, `site`): the picker's answer. The pick id must match
/// the signed `HttpOnly` cookie (double submit), and `SameSite=Lax` keeps the cookie off
/// cross-site POSTs, so another page cannot choose for the user.
async fn select_site(State(app): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let secure = app.config().public_url.is_https();
    let clear = [clear_cookie(PICK_COOKIE, secure)];
    let mut pick = String::new();
    let mut site_id = String::new();
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        match k.as_ref() {
            "pick" => pick = v.into_owned(),
            "site" => site_id = v.into_owned(),
            _ => {}
        }
    }
    let Some(sealed) = read_cookie(&headers, PICK_COOKIE) else {
        return refuse(FlowError::MissingCookie, &[]);
    };
    let expected = match cookie::open(&app.0.key, PICK_PURPOSE, sealed, app.now()) {
        Ok(p) => p,
        Err(CookieError::Expired) => return refuse(FlowError::Expired, &clear),
        Err(_) => return refuse(FlowError::BadCookie, &clear),
    };
    if !constant_time_eq(&pick, &expected) {
        return refuse(FlowError::StateMismatch, &[]);
    }
    match app.take_pick(&pick, &site_id) {
        PickOutcome::Unknown => refuse(FlowError::PickUnknown, &clear),
        PickOutcome::NoSuchSite => refuse(FlowError::NoSuchSite, &[]),
        PickOutcome::Taken(granted, site) => match store(&app, *granted, &site).await {
            Ok(missing) => page(
                StatusCode::OK,
                html::connected(app.config().profile.as_str(), &site, &missing),
                &clear,
            ),
            Err(e) => refuse(e, &clear),
        },
    }
}
