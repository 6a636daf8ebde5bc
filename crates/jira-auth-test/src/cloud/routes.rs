//! The fake Atlassian's routes, one handler each: the consent page and its Accept and Cancel
//! links, the token endpoint (authorization code, refresh token, client credentials),
//! `accessible-resources`, and the gateway's credential check.

use super::state::{Access, Code, Family, Refresh, Shared, State, family_alive};
use super::*;
use serde_json::{Value, json};
use std::collections::HashMap;
use url::Url;
use wiremock::{Request, Respond, ResponseTemplate};

#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    ConsentPage,
    Accept,
    Deny,
    Token,
    Resources,
    Myself,
    ServerInfo,
}

pub(super) struct Responder {
    pub(super) shared: Shared,
    pub(super) kind: Kind,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = request.url.query().unwrap_or_default();
        match self.kind {
            Kind::ConsentPage => consent_page(&self.shared, query),
            Kind::Accept => redirect(accept(&self.shared, query)),
            Kind::Deny => redirect(deny(&self.shared, query)),
            Kind::Token => token(&self.shared, request),
            Kind::Resources => match bearer_ok(&self.shared, request) {
                Ok(()) => {
                    ResponseTemplate::new(200).set_body_json(self.shared.lock().sites.clone())
                }
                Err(r) => *r,
            },
            Kind::Myself => myself(&self.shared, request),
            Kind::ServerInfo => service_account::server_info(&self.shared, request),
        }
    }
}

pub(super) fn pairs(text: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// Validates an authorize request like Atlassian: `Err` is the text of its error page.
pub(super) fn validate(shared: &Shared, query: &str) -> Result<HashMap<String, String>, String> {
    let p = pairs(query);
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != shared.config.client_id {
        return Err(format!("unknown client_id `{}`", get("client_id")));
    }
    if get("response_type") != "code" {
        return Err("response_type must be `code`".into());
    }
    if get("audience") != "api.atlassian.com" {
        return Err("audience must be `api.atlassian.com`".into());
    }
    if get("redirect_uri").is_empty() || Url::parse(get("redirect_uri")).is_err() {
        return Err("redirect_uri is missing or invalid".into());
    }
    if let Some(registered) = &shared.config.callback_url
        && get("redirect_uri") != registered
    {
        return Err(format!(
            "redirect_uri `{}` does not match the app's callback URL",
            get("redirect_uri")
        ));
    }
    if get("scope").is_empty() {
        return Err("scope is missing".into());
    }
    if get("state").is_empty() {
        return Err("state is missing".into());
    }
    Ok(p)
}

pub(super) fn consent_page(shared: &Shared, query: &str) -> ResponseTemplate {
    match validate(shared, query) {
        Err(e) => ResponseTemplate::new(400).set_body_raw(
            format!("<html><body><h1>Something went wrong</h1><p>{e}</p></body></html>"),
            "text/html",
        ),
        Ok(p) => {
            let q = query.replace('&', "&amp;");
            let scopes = p.get("scope").cloned().unwrap_or_default();
            ResponseTemplate::new(200).set_body_raw(
                format!(
                    "<!doctype html><html><head><title>Authorize app</title></head><body>\n\
                     <h1>Fake Atlassian: authorize {client}</h1>\n<p>Scopes: {scopes}</p>\n\
                     <a id=\"accept\" href=\"/authorize/accept?{q}\">Accept</a>\n\
                     <a id=\"cancel\" href=\"/authorize/deny?{q}\">Cancel</a>\n</body></html>\n",
                    client = shared.config.client_id
                ),
                "text/html",
            )
        }
    }
}

pub(super) fn redirect(location: Result<String, String>) -> ResponseTemplate {
    match location {
        Ok(l) => ResponseTemplate::new(302).insert_header("Location", l.as_str()),
        Err(e) => ResponseTemplate::new(400).set_body_string(e),
    }
}

pub(super) fn with_params(redirect_uri: &str, params: &[(&str, &str)]) -> Result<String, String> {
    let mut url = Url::parse(redirect_uri).map_err(|e| e.to_string())?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.to_string())
}

pub(super) fn accept(shared: &Shared, query: &str) -> Result<String, String> {
    let p = validate(shared, query)?;
    let requested: Vec<String> = p["scope"].split(' ').map(str::to_owned).collect();
    let granted = match &shared.config.app_scopes {
        None => requested,
        Some(app) => requested
            .into_iter()
            .filter(|s| s == "offline_access" || app.contains(s))
            .collect(),
    };
    let mut state = shared.lock();
    let code = state.next("code");
    let issued = state.now();
    state.codes.insert(
        code.clone(),
        Code {
            client_id: p["client_id"].clone(),
            redirect_uri: p["redirect_uri"].clone(),
            scopes: granted,
            issued,
            used: false,
        },
    );
    with_params(
        &p["redirect_uri"],
        &[("code", &code), ("state", &p["state"])],
    )
}

pub(super) fn deny(shared: &Shared, query: &str) -> Result<String, String> {
    let p = validate(shared, query)?;
    with_params(
        &p["redirect_uri"],
        &[
            ("error", "access_denied"),
            ("error_description", "User did not authorize the request"),
            ("state", &p["state"]),
        ],
    )
}

pub(super) fn oauth_error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": error, "error_description": description }))
}

pub(super) fn token(shared: &Shared, request: &Request) -> ResponseTemplate {
    let is_json = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let p: HashMap<String, String> = if is_json {
        serde_json::from_slice::<HashMap<String, Value>>(&request.body)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
            .collect()
    } else {
        pairs(&String::from_utf8_lossy(&request.body))
    };
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("grant_type") == "client_credentials" {
        return service_account::token(shared, request, &p);
    }
    if get("client_id") != shared.config.client_id
        || get("client_secret") != shared.config.client_secret
    {
        return oauth_error(401, "access_denied", "Unauthorized");
    }
    let mut state = shared.lock();
    let now = state.now();
    match get("grant_type") {
        "authorization_code" => {
            let Some(code) = state.codes.get_mut(get("code")) else {
                return oauth_error(403, "invalid_grant", "Invalid authorization code");
            };
            if code.used
                || now > code.issued + 600
                || code.client_id != get("client_id")
                || code.redirect_uri != get("redirect_uri")
            {
                code.used = true;
                return oauth_error(403, "invalid_grant", "Invalid authorization code");
            }
            code.used = true;
            let scopes = code.scopes.clone();
            let family = if scopes.iter().any(|s| s == "offline_access") {
                state.families.push(Family {
                    started: now,
                    last_used: now,
                    revoked: false,
                });
                Some(state.families.len() - 1)
            } else {
                None
            };
            issue(shared, &mut state, scopes, family, true)
        }
        "refresh_token" => {
            if let Some((status, body)) = state.refresh_error.clone() {
                return ResponseTemplate::new(status).set_body_json(body);
            }
            let invalid = || oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.");
            let Some(r) = state.refresh.get(get("refresh_token")) else {
                return invalid();
            };
            let (family, scopes, rotated_at) = (r.family, r.scopes.clone(), r.rotated_at);
            if state.families[family].revoked || !family_alive(&state.families[family], now) {
                state.families[family].revoked = true;
                return invalid();
            }
            if let Some(at) = rotated_at
                && now - at > REUSE_INTERVAL.as_secs()
            {
                // Reuse after the grace period: treat as theft, revoke the whole family.
                state.families[family].revoked = true;
                return invalid();
            }
            state.families[family].last_used = now;
            let rotate = !shared.config.omit_refresh_token_on_refresh;
            if rotate && let Some(r) = state.refresh.get_mut(get("refresh_token")) {
                r.rotated_at.get_or_insert(now);
            }
            issue(shared, &mut state, scopes, Some(family), rotate)
        }
        other => oauth_error(
            400,
            "unsupported_grant_type",
            &format!("grant_type `{other}`"),
        ),
    }
}

pub(super) fn issue(
    shared: &Shared,
    state: &mut State,
    scopes: Vec<String>,
    family: Option<usize>,
    with_refresh: bool,
) -> ResponseTemplate {
    let now = state.now();
    let access = state.next("at");
    state.issued.push(access.clone());
    state.access.insert(
        access.clone(),
        Access {
            expires: now + shared.config.expires_in,
            sites: None,
        },
    );
    let mut body = json!({
        "access_token": access,
        "expires_in": shared.config.expires_in,
        "token_type": "Bearer",
        "scope": scopes.join(" "),
    });
    if let (Some(family), true) = (family, with_refresh) {
        let refresh = state.next("rt");
        state.issued.push(refresh.clone());
        state.refresh.insert(
            refresh.clone(),
            Refresh {
                family,
                scopes,
                rotated_at: None,
            },
        );
        body["refresh_token"] = Value::from(refresh);
    }
    answer(state, body)
}

/// A successful token answer with `body`, written as [`TokenAnswer`] says.
pub(super) fn answer(state: &State, body: Value) -> ResponseTemplate {
    match state.token_answer {
        TokenAnswer::Json => ResponseTemplate::new(200).set_body_json(body),
        TokenAnswer::JsonAfterBom => {
            let mut bytes = b"\xEF\xBB\xBF".to_vec();
            bytes.extend_from_slice(body.to_string().as_bytes());
            ResponseTemplate::new(200).set_body_raw(bytes, "application/json")
        }
        TokenAnswer::Form => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for name in [
                "access_token",
                "refresh_token",
                "token_type",
                "expires_in",
                "scope",
            ] {
                match &body[name] {
                    Value::String(v) => form.append_pair(name, v),
                    Value::Null => &mut form,
                    other => form.append_pair(name, &other.to_string()),
                };
            }
            ResponseTemplate::new(200)
                .set_body_raw(form.finish(), "application/x-www-form-urlencoded")
        }
    }
}

pub(super) fn bearer_ok(shared: &Shared, request: &Request) -> Result<(), Box<ResponseTemplate>> {
    let unauthorized = || {
        Box::new(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": 401, "message": "Unauthorized"})),
        )
    };
    let token = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(unauthorized)?;
    let state = shared.lock();
    let cloud_id = request
        .url
        .path()
        .strip_prefix("/ex/jira/")
        .and_then(|rest| rest.split('/').next());
    match state.access.get(token) {
        Some(a)
            if a.expires > state.now()
                && a.sites.as_ref().is_none_or(|sites| {
                    cloud_id.is_none_or(|id| sites.iter().any(|s| s == id))
                }) =>
        {
            Ok(())
        }
        _ => Err(unauthorized()),
    }
}

pub(super) fn myself(shared: &Shared, request: &Request) -> ResponseTemplate {
    if let Err(r) = bearer_ok(shared, request) {
        return *r;
    }
    let cloud_id = request.url.path().split('/').nth(3).unwrap_or_default();
    let known = shared.lock().sites.as_array().is_some_and(|sites| {
        sites
            .iter()
            .any(|s| s.get("id").and_then(Value::as_str) == Some(cloud_id))
    });
    if !known {
        return ResponseTemplate::new(404)
            .set_body_json(json!({"errorMessages": ["Site not found"], "errors": {}}));
    }
    ResponseTemplate::new(200).set_body_json(crate::fixtures::json("cloud/myself/myself.json"))
}
