//! The HTTP routes: `/`, `/initiate-oauth`, `/oauth/callback`, `/oauth/select-site`,
//! `/health-check`. Protocol work is the cloud crate's; this module decides what to check, in
//! which order, and what page answers.

use crate::config::{CALLBACK_PATH, MAX_BODY_BYTES};
use crate::cookie::{
    self, CookieError, LIFETIME, PICK_COOKIE, STATE_COOKIE, clear_cookie, read_cookie, set_cookie,
};
use crate::flow::FlowError;
use crate::html;
use crate::state::{AppState, Finished, Outcome, Parked, PickOutcome};
use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
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
use std::time::Duration;
use tower::ServiceBuilder;

const STATE_PURPOSE: &str = "state";
const PICK_PURPOSE: &str = "pick";
/// How long a callback waits for Atlassian before answering a page that looks again.
const PATIENCE: Duration = Duration::from_secs(2);
/// How often that page looks again, in seconds.
const REFRESH_SECONDS: u64 = 2;

/// The service's routes over `state`. Tests serve it on `127.0.0.1:0`; [`crate::serve`] binds
/// the configured address.
pub fn router(state: AppState) -> Router {
    let limits = state.config().limits;
    // A refusal of the limits is still a page of ours: the error handler renders it and the
    // outer layer adds the security headers.
    let limited = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded))
        .load_shed()
        .concurrency_limit(limits.max_requests.max(1))
        .timeout(limits.response_timeout);
    Router::new()
        .route("/", get(home))
        .route("/initiate-oauth", get(initiate))
        .route(CALLBACK_PATH, get(callback))
        .route("/oauth/select-site", post(select_site))
        .route("/health-check", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(limited)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// The page for a request the limits refused: too many at once, or too slow to answer.
async fn overloaded(error: tower::BoxError) -> Response {
    let refusal = if error.is::<tower::timeout::error::Elapsed>() {
        FlowError::TimedOut
    } else {
        FlowError::Busy
    };
    refuse(refusal, &[])
}

/// Headers on every response: nothing cached (pages name sites, cookies carry state), no
/// framing, no sniffing, no `Referer` (the callback URL carries the code), and a CSP that
/// allows nothing but the inline style and forms posting back here.
async fn security_headers(response: Response) -> Response {
    let mut response = ours(response);
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

/// A framework refusal (a body over the limit, a form that does not parse) as a page of ours
/// instead of bare text: every answer a browser shows comes from `html`.
fn ours(response: Response) -> Response {
    let status = response.status();
    let is_ours = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if is_ours || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let refusal = match status {
        StatusCode::PAYLOAD_TOO_LARGE => FlowError::TooLarge,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => FlowError::TimedOut,
        StatusCode::SERVICE_UNAVAILABLE => FlowError::Busy,
        _ => FlowError::PickUnknown,
    };
    let mut replaced = page(
        status,
        html::failure(refusal.title(), &refusal.to_string()),
        &[],
    );
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            replaced.headers_mut().append(name.clone(), value.clone());
        }
    }
    replaced
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

async fn method_not_allowed() -> Response {
    page(
        StatusCode::METHOD_NOT_ALLOWED,
        html::method_not_allowed(),
        &[],
    )
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

/// `GET /oauth/callback`: a consent seen before shows its outcome; else the cookie, then the
/// state, then the exchange budget, then (on its own task) the code exchange,
/// accessible-resources, the allow list, and a stored login or the site picker.
async fn callback(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    // Reload, Back, or the waiting page looking again: the consent ran once, show its outcome.
    if let Some(state) = query_state(&query)
        && let Some(outcome) = app.outcome(&state)
    {
        return show(&app, &headers, &state, &outcome).await;
    }
    let secure = app.config().public_url.is_https();
    let clear = [clear_cookie(STATE_COOKIE, secure)];
    let now = app.now();
    let expires_at = now + LIFETIME.as_secs() as i64;
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
    let code = match parse_query(&query, &state) {
        // The cookie holds a later consent of this browser: keep it, its callback may come.
        Callback::Stray(_) if query_state(&query).is_some() => {
            return refuse(FlowError::Replaced, &[]);
        }
        Callback::Stray(_) => return refuse(FlowError::StateMismatch, &[]),
        Callback::Failed(e) => {
            let refusal = FlowError::from_callback(e);
            if let Some(outcome) = app.begin(&state, expires_at) {
                outcome.finish(Finished::Failed(refusal.clone()));
            }
            return refuse(refusal, &clear);
        }
        Callback::Code(code) => code,
    };
    // Checked before the consent is recorded, so the same callback works once the minute passes.
    if !app.take_exchange() {
        tracing::warn!(
            limit = app.config().limits.exchanges_per_minute,
            "code exchange refused: the per-minute budget is spent"
        );
        let mut response = refuse(FlowError::TooManyExchanges, &[]);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    }
    let Some(outcome) = app.begin(&state, expires_at) else {
        // Another request for the same callback began it a moment ago.
        return match app.outcome(&state) {
            Some(outcome) => show(&app, &headers, &state, &outcome).await,
            None => refuse(FlowError::Reused, &clear),
        };
    };
    // The consent runs on its own task: a slow Atlassian gets a waiting page instead of a
    // silent hang, and a closed tab does not abandon a half-done exchange.
    let task_app = app.clone();
    let task_outcome = outcome.clone();
    tokio::spawn(async move {
        let finished = connect(&task_app, code, &task_outcome).await;
        task_outcome.finish(finished);
    });
    show(&app, &headers, &state, &outcome).await
}

/// The `state` parameter of a callback query, if any.
fn query_state(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `headers` carry a valid sealed cookie `name` holding `value`.
fn holds(app: &AppState, headers: &HeaderMap, name: &str, purpose: &str, value: &str) -> bool {
    read_cookie(headers, name)
        .and_then(|sealed| cookie::open(&app.0.key, purpose, sealed, app.now()).ok())
        .is_some_and(|held| constant_time_eq(&held, value))
}

/// The page for consent `state`'s outcome. The browser that started it (it still holds the
/// state cookie) gets the outcome itself; any later look gets what the consent did.
async fn show(app: &AppState, headers: &HeaderMap, state: &str, outcome: &Outcome) -> Response {
    let secure = app.config().public_url.is_https();
    let first = holds(app, headers, STATE_COOKIE, STATE_PURPOSE, state);
    let clear: Vec<String> = if first {
        vec![clear_cookie(STATE_COOKIE, secure)]
    } else {
        Vec::new()
    };
    let profile = app.config().profile.as_str();
    match outcome.wait(PATIENCE).await {
        None => page(StatusCode::OK, html::connecting(REFRESH_SECONDS), &[]),
        Some(Finished::Connected { site, missing }) if first && outcome.first_showing() => page(
            StatusCode::OK,
            html::connected(profile, &site, &missing),
            &clear,
        ),
        Some(Finished::Connected { site, .. }) => {
            page(StatusCode::OK, html::already_connected(profile, &site), &[])
        }
        Some(Finished::Choosing { pick, sites }) => {
            if first {
                let sealed = cookie::seal(
                    &app.0.key,
                    PICK_PURPOSE,
                    &pick,
                    app.now() + LIFETIME.as_secs() as i64,
                );
                let mut cookies = clear;
                cookies.push(set_cookie(PICK_COOKIE, &sealed, secure));
                page(StatusCode::OK, html::picker(&pick, &sites, None), &cookies)
            } else if holds(app, headers, PICK_COOKIE, PICK_PURPOSE, &pick) {
                page(StatusCode::OK, html::picker(&pick, &sites, None), &[])
            } else {
                refuse(FlowError::Reused, &[])
            }
        }
        Some(Finished::Failed(e)) => refuse(e, &clear),
    }
}

fn upstream(error: CloudError) -> FlowError {
    tracing::warn!("consent failed: {error}");
    FlowError::from_cloud(error)
}

/// The consent after a valid callback: exchange, sites, allow list, and a stored login or a
/// token set parked for the picker.
async fn connect(app: &AppState, code: oauth2::AuthorizationCode, outcome: &Outcome) -> Finished {
    match exchange_and_choose(app, code, outcome).await {
        Ok(finished) => finished,
        Err(e) => Finished::Failed(e),
    }
}

async fn exchange_and_choose(
    app: &AppState,
    code: oauth2::AuthorizationCode,
    outcome: &Outcome,
) -> Result<Finished, FlowError> {
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
            Ok(Finished::Connected { site, missing })
        }
        _ => {
            let pick = hex_token(16);
            tracing::info!(sites = allowed.len(), "waiting for a site choice");
            let expires_at = app.now() + LIFETIME.as_secs() as i64;
            app.alias(&pick_key(&pick), outcome, expires_at);
            app.park(
                pick.clone(),
                Parked {
                    granted,
                    sites: allowed.clone(),
                    expires_at,
                    outcome: outcome.clone(),
                },
            );
            Ok(Finished::Choosing {
                pick,
                sites: allowed,
            })
        }
    }
}

/// Saves the login for `site` under the profile, exactly as `cloud login` stores it.
async fn store(app: &AppState, granted: Granted, site: &Site) -> Result<Vec<String>, FlowError> {
    let config = app.config();
    let connection = granted.choose(&site.id, app.now()).map_err(upstream)?;
    let (home, profile) = (config.store.clone(), config.profile.clone());
    let (saving, network) = (connection.clone(), config.network.clone());
    let saved = tokio::task::spawn_blocking(move || {
        saving.save(&home, &profile).map_err(|e| e.to_string())?;
        home.lock(&profile)
            .and_then(|guard| network.remember(&guard))
            .map_err(|e| e.to_string())
    })
    .await;
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

/// The outcome table's key for a pick id (state and pick ids share the table).
fn pick_key(pick: &str) -> String {
    format!("pick:{pick}")
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
    // The form sent again after the choice was made (reload, Back and resend).
    if !pick.is_empty()
        && let Some(outcome) = app.outcome(&pick_key(&pick))
        && let Some(Finished::Connected { site, .. }) = outcome.current()
    {
        return page(
            StatusCode::OK,
            html::already_connected(app.config().profile.as_str(), &site),
            &[],
        );
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
        // The cookie holds the picker of a later consent in this browser.
        return refuse(FlowError::Replaced, &[]);
    }
    match app.take_pick(&pick, &site_id) {
        PickOutcome::Unknown => refuse(FlowError::PickUnknown, &clear),
        // The picker again, with the reason above it: the advice can be followed right there.
        PickOutcome::NoSuchSite(sites) => {
            let refusal = FlowError::NoSuchSite;
            tracing::warn!(status = 400, "consent refused: {}", refusal.title());
            page(
                refusal.status(),
                html::picker(&pick, &sites, Some(&refusal.to_string())),
                &[],
            )
        }
        PickOutcome::Taken(granted, site, outcome) => match store(&app, *granted, &site).await {
            Ok(missing) => {
                outcome.finish(Finished::Connected {
                    site: site.clone(),
                    missing: missing.clone(),
                });
                page(
                    StatusCode::OK,
                    html::connected(app.config().profile.as_str(), &site, &missing),
                    &clear,
                )
            }
            Err(e) => {
                outcome.finish(Finished::Failed(e.clone()));
                refuse(e, &clear)
            }
        },
    }
}
