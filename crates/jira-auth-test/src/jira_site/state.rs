//! A running site's state and its one wiremock responder: the credential gate of the fake it is
//! attached to, the burst limit and the hourly quota, the latency, and the journal of exchanges.
//! What each request gets is decided in [`routes`](super::routes).

use super::model::Site;
use super::routes::level_members;
use super::{Behaviour, Exchange, GateFn, QUOTA_RESET_SECONDS};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use wiremock::{Request, Respond, ResponseTemplate};

#[derive(Debug)]
pub(super) struct State {
    pub(super) site: Site,
    pub(super) behaviour: Behaviour,
    pub(super) requests: AtomicU64,
    pub(super) throttled: AtomicU64,
    pub(super) seen: Mutex<HashSet<String>>,
    /// When each request being served under the burst limit is done.
    pub(super) serving: Mutex<std::collections::VecDeque<std::time::Instant>>,
    /// Quota points spent.
    pub(super) points: AtomicU64,
    pub(super) exchanges: Mutex<Vec<Exchange>>,
    /// `http://127.0.0.1:PORT`, for the absolute links Jira puts in bodies.
    pub(super) base: String,
    /// Stripped from request paths: a Data Center context path such as `/jira`.
    pub(super) context_path: String,
    /// Precomputed answers for the big lists, so a 10,000-project site stays cheap to serve.
    pub(super) index: HashMap<String, usize>,
    pub(super) listed_projects: Vec<Value>,
    pub(super) scheme_projects: Vec<Value>,
    pub(super) members: Vec<Value>,
    /// Set when attached to another fake: its credential check, before anything else.
    pub(super) gate: Option<GateFn>,
}

impl State {
    pub(super) fn new(
        site: Site,
        behaviour: Behaviour,
        base: String,
        context_path: String,
        gate: Option<GateFn>,
    ) -> Arc<State> {
        let admin = site.global_permissions.iter().any(|p| p == "ADMINISTER");
        let mut index = HashMap::new();
        for (i, p) in site.projects.iter().enumerate() {
            index.insert(p.key.clone(), i);
            index.insert(p.id.to_string(), i);
        }
        let mut by_scheme: HashMap<i64, Vec<i64>> = HashMap::new();
        for p in &site.projects {
            if let Some(s) = p.security_scheme {
                by_scheme.entry(s).or_default().push(p.id);
            }
        }
        let members = level_members(&site.security_schemes, &[], &[]);
        let mut state = State {
            site,
            behaviour,
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            seen: Mutex::new(HashSet::new()),
            serving: Mutex::new(std::collections::VecDeque::new()),
            points: AtomicU64::new(0),
            exchanges: Mutex::new(Vec::new()),
            base,
            context_path,
            index,
            listed_projects: Vec::new(),
            scheme_projects: Vec::new(),
            members,
            gate,
        };
        // `action=view`: projects the user can browse, all of them for an administrator.
        state.listed_projects = state
            .site
            .projects
            .iter()
            .filter(|p| p.browse || admin)
            .map(|p| state.project_json(p))
            .collect();
        state.scheme_projects = state
            .site
            .security_schemes
            .iter()
            .map(|s| {
                let mut scheme = json!({"id": s.id, "name": s.name, "description": "",
                    "self": state.link(&format!("/issuesecurityscheme/{}", s.id)),
                    "projectIds": by_scheme.get(&s.id).cloned().unwrap_or_default()});
                if let Some(first) = s.levels.first() {
                    scheme["defaultLevel"] = json!(first.id);
                }
                scheme
            })
            .collect();
        Arc::new(state)
    }
}

#[derive(Debug)]
pub(super) struct Responder(pub(super) Arc<State>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        state.requests.fetch_add(1, Ordering::Relaxed);
        if let Some(GateFn(gate)) = &state.gate
            && let Err(refused) = gate(request)
        {
            return refused;
        }
        let mut headers: Vec<(&str, String)> = Vec::new();
        let quota_left = state.behaviour.quota.map(|quota| {
            let spent = state.points.fetch_add(1, Ordering::Relaxed);
            let left = quota.saturating_sub(spent);
            headers.push((
                "beta-ratelimit-policy",
                format!("\"tenant-app-quota\";q={quota};w=3600"),
            ));
            headers.push((
                "beta-ratelimit",
                format!(
                    "\"tenant-app-quota\";r={};t={QUOTA_RESET_SECONDS}",
                    left.saturating_sub(1)
                ),
            ));
            if left.saturating_mul(10) < quota {
                headers.push(("x-beta-ratelimit-nearlimit", "true".into()));
            }
            left
        });
        let throttled = || {
            state.throttled.fetch_add(1, Ordering::Relaxed);
            (
                429,
                Some(json!({"errorMessages": ["Rate limit exceeded."]})),
            )
        };
        let (status, body) = if quota_left == Some(0) {
            headers.push(("x-beta-ratelimit-reason", "jira-quota-tenant-based".into()));
            headers.push(("retry-after", QUOTA_RESET_SECONDS.to_string()));
            throttled()
        } else if state.behaviour.rate_limit_storm && state.first_attempt(request) {
            headers.push(("retry-after", "0".into()));
            throttled()
        } else if !state.admitted() {
            headers.push(("retry-after", "1".into()));
            headers.push(("ratelimit-reason", "jira-burst-based".into()));
            throttled()
        } else {
            state.answer(request)
        };
        let mut response = ResponseTemplate::new(status);
        for (name, value) in headers {
            response = response.insert_header(name, value.as_str());
        }
        if let Some(body) = &body {
            response = response.set_body_json(body);
        }
        if !state.behaviour.no_journal {
            state.record(request, status, body);
        }
        if state.behaviour.latency.is_zero() {
            response
        } else {
            response.set_delay(state.behaviour.latency)
        }
    }
}

impl State {
    /// Whether the burst limit lets this request be served now (and if so, takes its place).
    pub(super) fn admitted(&self) -> bool {
        let Some(limit) = self.behaviour.burst_limit else {
            return true;
        };
        let now = std::time::Instant::now();
        let mut serving = self.serving.lock().unwrap_or_else(|e| e.into_inner());
        serving.retain(|done| *done > now);
        if serving.len() >= limit {
            return false;
        }
        serving.push_back(now + self.behaviour.latency);
        true
    }

    pub(super) fn first_attempt(&self, request: &Request) -> bool {
        let key = format!(
            "{} {}\n{}",
            request.method,
            request.url,
            String::from_utf8_lossy(&request.body)
        );
        self.seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key)
    }

    pub(super) fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn record(&self, request: &Request, status: u16, response_body: Option<Value>) {
        let exchange = Exchange {
            method: request.method.to_string(),
            path: self.rest_path(request).to_owned(),
            query: request
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            request_body: serde_json::from_slice(&request.body).ok(),
            status,
            response_body,
        };
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(exchange);
    }

    /// The request path below the context path and the API gateway's `/ex/jira/{cloudId}`.
    pub(super) fn rest_path<'r>(&self, request: &'r Request) -> &'r str {
        let full = request.url.path();
        let full = full
            .strip_prefix(self.context_path.as_str())
            .unwrap_or(full);
        match full.strip_prefix("/ex/jira/") {
            Some(rest) => rest.find('/').map_or("", |i| &rest[i..]),
            None => full,
        }
    }
}
