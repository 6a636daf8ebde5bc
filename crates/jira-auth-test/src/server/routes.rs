//! The fake Jira Server's routes, one mock per endpoint dispatched by kind: the OAuth 1.0a
//! request-token, authorize and access-token endpoints, and the REST resources behind their
//! credential check.

use super::Endpoint;
use super::signature::encode;
use super::state::{RequestTokenState, Shared};
use std::collections::BTreeMap;
use std::sync::Arc;
use wiremock::{Request, Respond, ResponseTemplate};

pub(super) enum Kind {
    RequestToken,
    Authorize,
    AccessToken,
    Myself,
    ServerInfo,
    Custom(Box<ResponseTemplate>),
}

pub(super) struct Responder {
    pub(super) shared: Arc<Shared>,
    pub(super) kind: Kind,
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let s = &self.shared;
        match &self.kind {
            Kind::RequestToken => {
                let oauth = match s.verify(request, Endpoint::RequestToken) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                let Some(callback) = oauth.get("oauth_callback").map(str::to_owned) else {
                    return s.problem(
                        "parameter_absent",
                        &[("oauth_parameters_absent", "oauth_callback".into())],
                    );
                };
                let mut inner = s.lock();
                inner.counter += 1;
                let n = inner.counter;
                let token = format!("request-token-{n}");
                inner.request_tokens.insert(
                    token.clone(),
                    RequestTokenState {
                        callback,
                        verifier: None,
                        denied: false,
                        used: false,
                    },
                );
                s.respond(200).set_body_raw(
                    format!("oauth_token={token}&oauth_token_secret=request-secret-{n}&oauth_callback_confirmed=true"),
                    "text/plain",
                )
            }
            Kind::Authorize => {
                let query: BTreeMap<String, String> =
                    request.url.query_pairs().into_owned().collect();
                let token = query.get("oauth_token").cloned().unwrap_or_default();
                let mut inner = s.lock();
                inner.counter += 1;
                let n = inner.counter;
                let Some(state) = inner.request_tokens.get_mut(&token) else {
                    return s.respond(200).set_body_raw(
                        "<html><head><title>OAuth Error</title></head><body>The request token is invalid.</body></html>",
                        "text/html",
                    );
                };
                let verifier = if s.config.deny {
                    state.denied = true;
                    "denied".to_owned()
                } else {
                    let v = format!("verifier-{n}");
                    state.verifier = Some(v.clone());
                    v
                };
                if state.callback == "oob" {
                    return s.respond(200).set_body_raw(
                        format!("<html><head><title>Access Approved</title></head><body><p>Enter this verification code:</p><code id=\"verifier\">{verifier}</code></body></html>"),
                        "text/html",
                    );
                }
                let sep = if state.callback.contains('?') {
                    '&'
                } else {
                    '?'
                };
                let location = format!(
                    "{}{sep}oauth_token={}&oauth_verifier={}",
                    state.callback,
                    encode(&token),
                    encode(&verifier)
                );
                s.respond(302).insert_header("Location", location.as_str())
            }
            Kind::AccessToken => {
                let oauth = match s.verify(request, Endpoint::AccessToken) {
                    Ok(o) => o,
                    Err(r) => return r,
                };
                let token = oauth.get("oauth_token").unwrap_or_default().to_owned();
                let verifier = oauth.get("oauth_verifier").unwrap_or_default().to_owned();
                let mut inner = s.lock();
                let Some(state) = inner.request_tokens.get_mut(&token) else {
                    return s.problem("token_rejected", &[]);
                };
                if state.used {
                    return s.problem("token_rejected", &[]);
                }
                if state.denied {
                    return s.problem("permission_denied", &[]);
                }
                match &state.verifier {
                    None => return s.problem("permission_unknown", &[]),
                    Some(v) if *v != verifier => return s.problem("token_rejected", &[]),
                    Some(_) => {}
                }
                state.used = true;
                inner.counter += 1;
                let n = inner.counter;
                let access = format!("access-token-{n}");
                inner
                    .access_tokens
                    .insert(access.clone(), format!("access-secret-{n}"));
                s.respond(200).set_body_raw(
                    format!("oauth_token={access}&oauth_token_secret=access-secret-{n}"),
                    "text/plain",
                )
            }
            Kind::Myself => match self.authenticate(request) {
                Ok(()) => s.respond(200).set_body_json(&s.config.user),
                Err(r) => r,
            },
            Kind::ServerInfo => {
                if request.headers.contains_key("authorization")
                    && let Err(r) = self.authenticate(request)
                {
                    return r;
                }
                s.respond(200).set_body_json(serde_json::json!({
                    "baseUrl": s.base_url,
                    "version": "9.12.2",
                    "versionNumbers": [9, 12, 2],
                    "deploymentType": "Server",
                    "buildNumber": 9120002,
                    "serverTime": crate::jira_site::now_jira(s.config.clock_offset_seconds),
                    "serverTitle": "Fake Jira"
                }))
            }
            Kind::Custom(response) => match self.authenticate(request) {
                Ok(()) => response
                    .as_ref()
                    .clone()
                    .insert_header("Date", s.date().as_str()),
                Err(r) => r,
            },
        }
    }
}

impl Responder {
    /// A REST call: a valid PAT, or a valid signature with a known access token.
    pub(super) fn authenticate(&self, request: &Request) -> Result<(), ResponseTemplate> {
        authenticate(&self.shared, request)
    }
}

/// A REST call: a valid PAT (or a mounted OAuth 2.0 provider's bearer), or a valid OAuth 1.0a
/// signature with a known access token; else Jira's `401` or the `oauth_problem`.
pub(super) fn authenticate(s: &Shared, request: &Request) -> Result<(), ResponseTemplate> {
    let header = request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(token) = header.strip_prefix("Bearer ") {
        let bearer = s.bearer.lock().unwrap_or_else(|e| e.into_inner()).clone();
        return if s.config.pat.as_deref() == Some(token) || bearer.is_some_and(|b| b(token)) {
            Ok(())
        } else {
            Err(s.respond(401).set_body_json(serde_json::json!({
                "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
                "errors": {}
            })))
        };
    }
    if !header.starts_with("OAuth ") {
        return Err(s.respond(401).set_body_json(serde_json::json!({
            "errorMessages": ["You are not authenticated. Authentication required to perform this operation."],
            "errors": {}
        })));
    }
    let oauth = s.verify(request, Endpoint::Rest)?;
    let token = oauth.get("oauth_token").unwrap_or_default();
    if !s.lock().access_tokens.contains_key(token) {
        return Err(s.problem("token_rejected", &[]));
    }
    Ok(())
}
