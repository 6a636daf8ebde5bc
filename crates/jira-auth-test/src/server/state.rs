//! What the fake Jira Server remembers (request tokens, verifiers, access tokens, seen nonces, its
//! clock) and how it checks a signed request against it.

use super::signature::{OAuthHeader, encode, parse_oauth_header, signature_base_string};
use super::{Endpoint, FakeJiraServerConfig};
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::{Request, ResponseTemplate};

#[derive(Debug, Default)]
pub(super) struct Inner {
    pub(super) counter: u32,
    pub(super) request_tokens: HashMap<String, RequestTokenState>,
    pub(super) access_tokens: HashMap<String, String>,
    pub(super) nonces: HashSet<String>,
    pub(super) forced: VecDeque<(Endpoint, String)>,
}

#[derive(Debug, Clone)]
pub(super) struct RequestTokenState {
    pub(super) callback: String,
    pub(super) verifier: Option<String>,
    pub(super) denied: bool,
    pub(super) used: bool,
}

/// Decides whether a bearer token other than the PAT is valid (an OAuth 2.0 provider's).
pub type BearerCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

pub(super) struct Shared {
    /// OAuth 2.0 access tokens, when a provider is mounted ([`FakeJiraServer::accept_bearer`]).
    pub(super) bearer: Mutex<Option<BearerCheck>>,
    pub(super) config: FakeJiraServerConfig,
    pub(super) key: VerifyingKey<sha1::Sha1>,
    pub(super) inner: Mutex<Inner>,
    pub(super) base_url: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn now(&self) -> SystemTime {
        let real = SystemTime::now();
        let offset = Duration::from_secs(self.config.clock_offset_seconds.unsigned_abs());
        if self.config.clock_offset_seconds >= 0 {
            real + offset
        } else {
            real - offset
        }
    }

    pub(super) fn date(&self) -> String {
        httpdate::fmt_http_date(self.now())
    }

    pub(super) fn respond(&self, status: u16) -> ResponseTemplate {
        ResponseTemplate::new(status).insert_header("Date", self.date().as_str())
    }

    pub(super) fn problem(&self, problem: &str, extra: &[(&str, String)]) -> ResponseTemplate {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("oauth_problem", problem);
        for (k, v) in extra {
            form.append_pair(k, v);
        }
        self.respond(401)
            .insert_header(
                "WWW-Authenticate",
                format!(
                    "OAuth realm=\"{}\", oauth_problem=\"{problem}\"",
                    encode(&self.base_url)
                )
                .as_str(),
            )
            .set_body_raw(form.finish(), "text/plain")
    }

    /// Checks the OAuth header of `request` the way Jira's OAuth plugin does.
    pub(super) fn verify(
        &self,
        request: &Request,
        endpoint: Endpoint,
    ) -> Result<OAuthHeader, ResponseTemplate> {
        let header = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(params) = parse_oauth_header(header) else {
            return Err(self.problem(
                "parameter_absent",
                &[("oauth_parameters_absent", "oauth_consumer_key".into())],
            ));
        };
        let forced = {
            let mut inner = self.lock();
            inner
                .forced
                .iter()
                .position(|(e, _)| *e == endpoint)
                .and_then(|i| inner.forced.remove(i))
        };
        if let Some((_, problem)) = forced {
            return Err(self.problem(&problem, &[]));
        }
        let get = |k: &str| params.get(k).cloned().unwrap_or_default();
        for required in [
            "oauth_consumer_key",
            "oauth_signature_method",
            "oauth_signature",
            "oauth_timestamp",
            "oauth_nonce",
        ] {
            if !params.contains_key(required) {
                return Err(self.problem(
                    "parameter_absent",
                    &[("oauth_parameters_absent", required.into())],
                ));
            }
        }
        if get("oauth_signature_method") != "RSA-SHA1" {
            return Err(self.problem(
                "signature_method_rejected",
                &[("oauth_acceptable_signature_methods", "RSA-SHA1".into())],
            ));
        }
        if params.get("oauth_version").is_some_and(|v| v != "1.0") {
            return Err(self.problem(
                "version_rejected",
                &[("oauth_acceptable_versions", "1.0-1.0".into())],
            ));
        }
        if get("oauth_consumer_key") != self.config.consumer_key {
            return Err(self.problem("consumer_key_unknown", &[]));
        }
        let now = unix(self.now());
        let timestamp: i64 = get("oauth_timestamp").parse().unwrap_or(0);
        if (timestamp - now).abs() > self.config.max_skew_seconds {
            let window = format!(
                "{}-{}",
                now - self.config.max_skew_seconds,
                now + self.config.max_skew_seconds
            );
            return Err(self.problem(
                "timestamp_refused",
                &[("oauth_acceptable_timestamps", window)],
            ));
        }
        let base = signature_base_string(request, &params);
        let signature = base64::engine::general_purpose::STANDARD
            .decode(get("oauth_signature"))
            .ok()
            .and_then(|bytes| Signature::try_from(bytes.as_slice()).ok());
        let valid = signature.is_some_and(|s| self.key.verify(base.as_bytes(), &s).is_ok());
        if !valid {
            return Err(self.problem(
                "signature_invalid",
                &[("oauth_signature_base_string", base)],
            ));
        }
        if !self.lock().nonces.insert(get("oauth_nonce")) {
            return Err(self.problem("nonce_used", &[]));
        }
        Ok(OAuthHeader { params })
    }
}

pub(super) fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
