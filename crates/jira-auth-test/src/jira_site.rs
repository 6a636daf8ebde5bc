//! A fake Jira site (Cloud REST v3 or Data Center REST v2) for the auditor, built from a
//! scenario file (`fixtures/audit/<scenario>/site.json`) or generated ([`Site::synthetic`]).
//!
//! One wiremock responder serves every endpoint the auditor reads from a [`Site`] model, with
//! real paging (`startAt`, `maxResults`, capped like Jira), so a scenario states facts ("the
//! user holds role 10002 in ENG") rather than canned pages. Every body has the shape Atlassian
//! documents for the operation (`fixtures/atlassian/`), not the shape our client reads: issue
//! security levels, for one, come only from `issuesecurityschemes/level` and
//! `issuesecurityschemes/{id}`, never inline in the scheme list. Each exchange is recorded
//! ([`JiraSite::exchanges`]) so the contract tests can hold it against those documents. It can add a fixed latency to every
//! response (the bench), answer the first attempt of every request with `429` (a rate-limit
//! storm), enforce a burst limit or an hourly points quota the way Jira Cloud reports them
//! ([`Behaviour::burst_limit`], [`Behaviour::quota`]), and count requests. Everything else (an unknown path, a wrong credential) is
//! answered the way Jira does: 404 or 401 with a Jira error body.
//!
//! A site served from another fake ([`JiraSite::attach`]) checks credentials with that fake's
//! [`Gate`]: the fake Atlassian's gateway accepts only the access tokens its token endpoint
//! issued, the fake Jira Server a PAT or a verified OAuth 1.0a signature, as the real ones do.
//!
//! Scenario shape (all fields but `deployment` and `myself` optional):
//! ```json
//! { "deployment": "cloud" | "data_center",
//!   "authorization": "Basic …",            // the exact header expected; 401 otherwise
//!   "myself": { "accountId": "…", "name": "…", "displayName": "…",
//!               "groups": [{"name": "…", "groupId": "…"}], "applicationRoles": ["jira-software"] },
//!   "global_permissions": ["ADMINISTER", "USE"],
//!   "server_info": { "deploymentType": "Cloud", "version": "…" },   // serverTime is added live
//!   "roles": [{"id": 10002, "name": "Administrators"}],
//!   "projects": [{"id": 10000, "key": "ENG", "name": "…", "browse": true,
//!                 "roles": [10002], "security_scheme": 10100,
//!                 "team_managed": false,                            // Cloud only
//!                 "settable_levels": [10200]}],                     // Data Center only
//!   "security_schemes": [{"id": 10100, "name": "…", "levels": [{"id": 10200, "name": "…",
//!                          "members": [{"type": "group", "parameter": "…", "value": "…"}]}]}],
//!   "worklogs": [{"id": 1, "issueId": "10100", "visibility": {"type": "group", "value": "hr"}}],
//!   "forbidden": ["/issuesecurityschemes"] }   // paths answered 403
//! ```

use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// Jira's page-size caps: `project/search` 100, the issue security endpoints 50.
pub const PROJECT_PAGE_MAX: usize = 100;
pub const SECURITY_PAGE_MAX: usize = 50;
/// Worklog ids per `worklog/updated` page and per `worklog/list` call.
pub const WORKLOG_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    Cloud,
    DataCenter,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Site {
    pub deployment: Deployment,
    #[serde(default)]
    pub authorization: Option<String>,
    pub myself: Myself,
    #[serde(default)]
    pub global_permissions: Vec<String>,
    #[serde(default)]
    pub server_info: Value,
    #[serde(default)]
    pub roles: Vec<Role>,
    #[serde(default)]
    pub projects: Vec<Project>,
    #[serde(default)]
    pub security_schemes: Vec<Scheme>,
    #[serde(default)]
    pub forbidden: Vec<String>,
    /// Worklogs as `worklog/list` returns them (`id`, `issueId`, optional `visibility`);
    /// `worklog/updated` lists them in id order, 1000 a page.
    #[serde(default)]
    pub worklogs: Vec<Value>,
    /// Seconds the site's clock runs ahead of ours (negative: behind), in `serverTime`.
    #[serde(default)]
    pub clock_skew_seconds: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub groups: Vec<Value>,
    #[serde(default)]
    pub application_roles: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: i64,
    pub key: String,
    #[serde(default)]
    pub name: String,
    #[serde(default = "yes")]
    pub browse: bool,
    /// Role ids the user holds here.
    #[serde(default)]
    pub roles: Vec<i64>,
    #[serde(default)]
    pub security_scheme: Option<i64>,
    /// Data Center: level ids `securitylevel` returns (the levels the user may set).
    #[serde(default)]
    pub settable_levels: Vec<i64>,
    /// Cloud: a team-managed (next-gen) project, which has no issue security scheme.
    #[serde(default)]
    pub team_managed: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
pub struct Scheme {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub levels: Vec<Level>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Level {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub members: Vec<Value>,
}

impl Site {
    /// The site of `fixtures/audit/<scenario>/site.json`.
    /// `/myself?expand=groups,applicationRoles` as Jira renders it for this site's user.
    pub fn myself_json(&self) -> Value {
        let m = &self.myself;
        let mut user = json!({
            "self": "",
            "displayName": m.display_name,
            "active": true,
            "groups": {"size": m.groups.len(), "items": m.groups},
            "applicationRoles": {"size": m.application_roles.len(),
                "items": m.application_roles.iter().map(|k| json!({"key": k, "name": k})).collect::<Vec<_>>()},
        });
        if let Value::Object(map) = &mut user {
            if let Some(id) = &m.account_id {
                map.insert("accountId".into(), json!(id));
            }
            if let Some(name) = &m.name {
                map.insert("name".into(), json!(name));
                map.insert("key".into(), json!(format!("JIRAUSER-{name}")));
            }
        }
        user
    }

    pub fn scenario(name: &str) -> Site {
        Self::from_file(
            &crate::fixtures::dir()
                .join("audit")
                .join(name)
                .join("site.json"),
        )
    }

    pub fn from_file(path: &Path) -> Site {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("scenario {} cannot be read: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("scenario {} is not valid: {e}", path.display()))
    }

    /// A large healthy Cloud site: `projects` projects, `schemes` issue security schemes of
    /// `levels` levels each (every level held by a group of the user, `reporter` and a
    /// project role), `roles` project roles all held by the user everywhere. Projects are
    /// spread over the schemes round-robin.
    pub fn synthetic(projects: usize, schemes: usize, levels: usize, roles: usize) -> Site {
        let role_ids: Vec<i64> = (0..roles as i64).map(|i| 10_000 + i).collect();
        Site {
            deployment: Deployment::Cloud,
            authorization: None,
            myself: Myself {
                account_id: Some("5b10ac8d82e05b22cc7d4ef5".into()),
                name: None,
                display_name: "Connector Bot".into(),
                groups: vec![json!({"name": "connector-readers", "groupId": "g-readers"})],
                application_roles: vec!["jira-software".into()],
            },
            global_permissions: vec!["ADMINISTER".into()],
            server_info: json!({"deploymentType": "Cloud", "version": "1001.0.0-SNAPSHOT"}),
            roles: role_ids
                .iter()
                .map(|&id| Role {
                    id,
                    name: format!("Role {id}"),
                })
                .collect(),
            projects: (0..projects as i64)
                .map(|i| Project {
                    id: 100_000 + i,
                    key: format!("P{i}"),
                    name: format!("Project {i}"),
                    browse: true,
                    roles: role_ids.clone(),
                    security_scheme: (schemes > 0).then(|| 200_000 + i % schemes as i64),
                    settable_levels: Vec::new(),
                    team_managed: false,
                })
                .collect(),
            security_schemes: (0..schemes as i64)
                .map(|s| Scheme {
                    id: 200_000 + s,
                    name: format!("Scheme {s}"),
                    levels: (0..levels as i64)
                        .map(|l| Level {
                            id: 300_000 + s * 100 + l,
                            name: format!("Level {l}"),
                            members: vec![
                                json!({"type": "group", "parameter": "connector-readers", "value": "g-readers"}),
                                json!({"type": "reporter"}),
                                json!({"type": "projectRole", "parameter": "10000", "value": "10000"}),
                            ],
                        })
                        .collect(),
                })
                .collect(),
            forbidden: Vec::new(),
            worklogs: Vec::new(),
            clock_skew_seconds: 0,
        }
    }
}

/// Knobs of a running fake.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Added to every response.
    pub latency: Duration,
    /// Answer the first attempt of every distinct request with `429 Retry-After: 0`.
    pub rate_limit_storm: bool,
    /// Do not keep a journal (the bench sends tens of thousands of requests).
    pub no_journal: bool,
    /// How every paged endpoint pages.
    pub paging: Paging,
    /// Jira Cloud's burst limit: with this many requests being served (each for `latency`), a
    /// further one is answered `429` with `Retry-After: 1` and `RateLimit-Reason:
    /// jira-burst-based` (also after `latency`).
    pub burst_limit: Option<usize>,
    /// Jira Cloud's points-based hourly quota, one point a request: every answer carries
    /// `Beta-RateLimit-Policy` and `Beta-RateLimit` (with `X-Beta-RateLimit-NearLimit: true`
    /// under a tenth left); once spent, `429` with `X-Beta-RateLimit-Reason:
    /// jira-quota-tenant-based`. The window resets [`QUOTA_RESET_SECONDS`] from now.
    pub quota: Option<u64>,
}

/// Seconds until the fake's quota window resets, in its `Beta-RateLimit` `t` and `Retry-After`.
pub const QUOTA_RESET_SECONDS: u64 = 1800;

/// How the paged endpoints answer: honestly, or the ways hostile or broken servers do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Paging {
    #[default]
    Honest,
    /// Every `startAt` gets the first page again, `isLast: false`, no `total`.
    IgnoreStartAt,
    /// Pages never end: past the real items, each page holds a new made-up one.
    Endless,
    /// Honest pages claiming `total: 10000000000`.
    HugeTotal,
    /// A body without `values`: not a page at all.
    NotAPage,
}

/// What the fake records of each request, for the contract tests.
pub use crate::contract::Exchange;

/// The credential check of the fake a site is attached to: `Ok` lets the request through to the
/// site, `Err` is that fake's own refusal (the API gateway's `401 {"code":401,…}`, Jira's `401`
/// or an `oauth_problem`), answered as it is.
pub type Gate = Arc<dyn Fn(&Request) -> Result<(), ResponseTemplate> + Send + Sync>;

/// A [`Gate`] with a `Debug`, so [`State`] keeps deriving it.
struct GateFn(Gate);

impl std::fmt::Debug for GateFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// A running fake site.
#[derive(Debug)]
pub struct JiraSite {
    /// Never dropped: wiremock's `Drop` runs `futures::executor::block_on(verify())` on the
    /// dropping thread, which under a multi-thread tokio runtime was seen to spin forever on the
    /// server state's lock when the site is dropped right after a burst of requests (a hung
    /// test binary). This fake mounts no expectations, so there is nothing to verify; the server
    /// thread and port live until the process exits.
    pub server: std::mem::ManuallyDrop<MockServer>,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    site: Site,
    behaviour: Behaviour,
    requests: AtomicU64,
    throttled: AtomicU64,
    seen: Mutex<HashSet<String>>,
    /// When each request being served under the burst limit is done.
    serving: Mutex<std::collections::VecDeque<std::time::Instant>>,
    /// Quota points spent.
    points: AtomicU64,
    exchanges: Mutex<Vec<Exchange>>,
    /// `http://127.0.0.1:PORT`, for the absolute links Jira puts in bodies.
    base: String,
    /// Stripped from request paths: a Data Center context path such as `/jira`.
    context_path: String,
    /// Precomputed answers for the big lists, so a 10,000-project site stays cheap to serve.
    index: HashMap<String, usize>,
    listed_projects: Vec<Value>,
    scheme_projects: Vec<Value>,
    members: Vec<Value>,
    /// Set when attached to another fake: its credential check, before anything else.
    gate: Option<GateFn>,
}

impl JiraSite {
    pub async fn start(site: Site) -> JiraSite {
        Self::start_with(site, Behaviour::default()).await
    }

    pub async fn start_with(site: Site, behaviour: Behaviour) -> JiraSite {
        let mut builder = MockServer::builder();
        if behaviour.no_journal {
            builder = builder.disable_request_recording();
        }
        let server = builder.start().await;
        let state = State::new(site, behaviour, server.uri(), String::new(), None);
        Mock::given(any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        JiraSite {
            server: std::mem::ManuallyDrop::new(server),
            state,
        }
    }

    /// Serves `site` from a server another fake runs (the fake Atlassian's API gateway, the fake
    /// Jira Server), for every path below `context_path` + `/rest/`. With `priority` 1 the site
    /// answers before the other fake's mocks (wiremock: lower wins, default 5); with 10 the other
    /// fake's own resources (a verified `/myself`) answer first and the site serves the rest.
    /// Every request must pass `gate`, the other fake's credential check
    /// ([`FakeAtlassian::gate`](crate::cloud::FakeAtlassian::gate),
    /// [`FakeJiraServer::gate`](crate::server::FakeJiraServer::gate)), and the site's own
    /// `authorization` when it pins one.
    pub async fn attach(
        site: Site,
        server: &MockServer,
        context_path: &str,
        priority: u8,
        gate: Gate,
    ) -> AttachedSite {
        let state = State::new(
            site,
            Behaviour::default(),
            server.uri(),
            context_path.to_owned(),
            Some(GateFn(gate)),
        );
        Mock::given(wiremock::matchers::path_regex(format!(
            "^{}/rest/",
            regex_escape(context_path)
        )))
        .respond_with(Responder(state.clone()))
        .with_priority(priority)
        .mount(server)
        .await;
        AttachedSite { state }
    }

    /// The site root the auditor is pointed at (`--url`).
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Requests answered so far (429s included).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Requests answered `429` so far.
    pub fn throttled(&self) -> u64 {
        self.state.throttled.load(Ordering::Relaxed)
    }

    /// Every exchange so far, in the order answered (none with [`Behaviour::no_journal`]).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.exchanges()
    }
}

/// A site served from another fake's server (see [`JiraSite::attach`]).
#[derive(Debug)]
pub struct AttachedSite {
    state: Arc<State>,
}

impl AttachedSite {
    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Every exchange so far, in the order answered.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.exchanges()
    }
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

impl State {
    fn new(
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
struct Responder(Arc<State>);

/// A status and a JSON body (`None`: empty body).
type Reply = (u16, Option<Value>);

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

fn error(status: u16, message: &str) -> Reply {
    (
        status,
        Some(json!({"errorMessages": [message], "errors": {}})),
    )
}

fn ok(body: Value) -> Reply {
    (200, Some(body))
}

impl State {
    /// Whether the burst limit lets this request be served now (and if so, takes its place).
    fn admitted(&self) -> bool {
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

    fn first_attempt(&self, request: &Request) -> bool {
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

    fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, request: &Request, status: u16, response_body: Option<Value>) {
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
    fn rest_path<'r>(&self, request: &'r Request) -> &'r str {
        let full = request.url.path();
        let full = full
            .strip_prefix(self.context_path.as_str())
            .unwrap_or(full);
        match full.strip_prefix("/ex/jira/") {
            Some(rest) => rest.find('/').map_or("", |i| &rest[i..]),
            None => full,
        }
    }

    fn prefix(&self) -> &'static str {
        match self.site.deployment {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        }
    }

    /// An absolute URL on this site, as Jira writes `self` links.
    fn link(&self, path: &str) -> String {
        format!("{}{}{}{path}", self.base, self.context_path, self.prefix())
    }

    fn answer(&self, request: &Request) -> Reply {
        let site = &self.site;
        if let Some(expected) = &site.authorization {
            let got = request
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok());
            if got != Some(expected.as_str()) {
                return error(
                    401,
                    "You are not authenticated. Authentication required to perform this operation.",
                );
            }
        }
        let prefix = self.prefix();
        let Some(path) = self.rest_path(request).strip_prefix(prefix) else {
            return error(404, "Not Found");
        };
        if site.forbidden.iter().any(|f| path.starts_with(f.as_str())) {
            return error(403, "You do not have permission to access this resource.");
        }
        let query: BTreeMap<String, Vec<String>> =
            request
                .url
                .query_pairs()
                .fold(BTreeMap::new(), |mut m, (k, v)| {
                    m.entry(k.into_owned()).or_default().push(v.into_owned());
                    m
                });
        let q = |k: &str| query.get(k).and_then(|v| v.first()).map(String::as_str);
        let all = |k: &str| query.get(k).cloned().unwrap_or_default();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method.as_str();
        let paging = |values: &[Value], cap: usize| {
            ok(self.page(path, &query, values, q("startAt"), q("maxResults"), cap))
        };
        match (method, segments.as_slice()) {
            ("GET", ["myself"]) => ok(self.myself()),
            ("GET", ["serverInfo"]) => {
                let mut info = site.server_info.clone();
                if let Value::Object(map) = &mut info {
                    map.insert(
                        "serverTime".into(),
                        json!(now_jira(site.clock_skew_seconds)),
                    );
                }
                ok(info)
            }
            ("GET", ["mypermissions"]) => self.mypermissions(q("projectKey"), q("permissions")),
            ("GET", ["project", "search"]) => paging(&self.listed_projects, PROJECT_PAGE_MAX),
            ("GET", ["project"]) if site.deployment == Deployment::DataCenter => ok(Value::Array(
                site.projects
                    .iter()
                    .filter(|p| p.browse || self.admin())
                    .map(|p| self.project_json(p))
                    .collect(),
            )),
            ("POST", ["permissions", "check"]) => self.permissions_check(&request.body),
            ("GET", ["role"]) => ok(Value::Array(
                site.roles
                    .iter()
                    .map(|r| json!({"id": r.id, "name": r.name, "description": "", "self": self.link(&format!("/role/{}", r.id))}))
                    .collect(),
            )),
            ("GET", ["project", key, "roledetails"]) => {
                let Some(p) = self.project(key) else {
                    return error(404, &format!("No project could be found with key '{key}'."));
                };
                let current = q("currentMember") == Some("true");
                ok(Value::Array(
                    site.roles
                        .iter()
                        .filter(|r| !current || p.roles.contains(&r.id))
                        .map(|r| json!({"id": r.id, "name": r.name, "description": "", "self": self.link(&format!("/project/{}/role/{}", p.key, r.id)), "admin": false, "default": false, "roleConfigurable": true}))
                        .collect(),
                ))
            }
            ("GET", ["project", key, "role"]) => {
                let Some(p) = self.project(key) else {
                    return error(404, &format!("No project could be found with key '{key}'."));
                };
                ok(Value::Object(
                    site.roles
                        .iter()
                        .map(|r| {
                            (
                                r.name.clone(),
                                json!(self.link(&format!("/project/{}/role/{}", p.key, r.id))),
                            )
                        })
                        .collect(),
                ))
            }
            ("GET", ["project", key, "role", id]) => {
                let (Some(p), Some(r)) = (
                    self.project(key),
                    site.roles.iter().find(|r| r.id.to_string() == *id),
                ) else {
                    return error(404, "No project role found.");
                };
                let actor = if p.roles.contains(&r.id) {
                    json!({"id": 1, "type": "atlassian-user-role-actor", "name": site.myself.name.clone().unwrap_or_default(), "displayName": site.myself.display_name})
                } else {
                    json!({"id": 2, "type": "atlassian-user-role-actor", "name": "someone.else", "displayName": "Someone Else"})
                };
                ok(json!({"id": r.id, "name": r.name, "description": "", "self": self.link(&format!("/project/{}/role/{}", p.key, r.id)), "actors": [actor]}))
            }
            ("GET", ["issuesecurityschemes"]) => ok(json!({
                "issueSecuritySchemes": site.security_schemes.iter().map(|s| self.scheme_json(s, false)).collect::<Vec<_>>()
            })),
            ("GET", ["issuesecurityschemes", "search"]) => {
                let ids = all("id");
                let projects = all("projectId");
                let values: Vec<Value> = self
                    .scheme_projects
                    .iter()
                    .filter(|s| ids.is_empty() || ids.contains(&s["id"].to_string()))
                    .filter(|s| {
                        projects.is_empty()
                            || s["projectIds"].as_array().is_some_and(|p| {
                                p.iter().any(|id| projects.contains(&id.to_string()))
                            })
                    })
                    .cloned()
                    .collect();
                paging(&values, SECURITY_PAGE_MAX)
            }
            ("GET", ["issuesecurityschemes", "level"]) => {
                let (schemes, ids) = (all("schemeId"), all("id"));
                let only_default = q("onlyDefault") == Some("true");
                let values: Vec<Value> = site
                    .security_schemes
                    .iter()
                    .filter(|s| schemes.is_empty() || schemes.contains(&s.id.to_string()))
                    .flat_map(|s| {
                        s.levels
                            .iter()
                            .enumerate()
                            .map(move |(i, l)| (s, i == 0, l))
                    })
                    .filter(|(_, default, l)| {
                        (ids.is_empty() || ids.contains(&l.id.to_string()))
                            && (!only_default || *default)
                    })
                    .map(|(s, default, l)| self.level_json(s, l, Some(default)))
                    .collect();
                paging(&values, SECURITY_PAGE_MAX)
            }
            ("GET", ["issuesecurityschemes", "level", "member"]) => {
                let (schemes, levels) = (all("schemeId"), all("levelId"));
                let values: Vec<Value> = if schemes.is_empty() && levels.is_empty() {
                    self.members.clone()
                } else {
                    level_members(&site.security_schemes, &schemes, &levels)
                };
                paging(&values, SECURITY_PAGE_MAX)
            }
            ("GET", ["issuesecurityschemes", id]) => {
                match site
                    .security_schemes
                    .iter()
                    .find(|s| s.id.to_string() == *id)
                {
                    Some(s) => ok(self.scheme_json(s, true)),
                    None => error(404, "The issue security scheme was not found."),
                }
            }
            ("GET", ["project", key, "issuesecuritylevelscheme"]) => {
                let Some(p) = self.project(key) else {
                    return error(404, &format!("No project could be found with key '{key}'."));
                };
                match p
                    .security_scheme
                    .and_then(|id| site.security_schemes.iter().find(|s| s.id == id))
                {
                    Some(s) => ok(self.scheme_json(s, true)),
                    None => error(404, "The project has no issue security scheme."),
                }
            }
            ("GET", ["project", key, "securitylevel"]) => {
                let Some(p) = self.project(key) else {
                    return error(404, &format!("No project could be found with key '{key}'."));
                };
                let levels: Vec<Value> = site
                    .security_schemes
                    .iter()
                    .flat_map(|s| s.levels.iter().map(move |l| (s, l)))
                    .filter(|(_, l)| p.settable_levels.contains(&l.id))
                    .map(|(s, l)| self.level_json(s, l, None))
                    .collect();
                ok(json!({"levels": levels}))
            }
            ("GET", ["worklog", "updated"]) => {
                let since: i64 = q("since").and_then(|s| s.parse().ok()).unwrap_or(0);
                let mut ids: Vec<i64> = site
                    .worklogs
                    .iter()
                    .filter_map(|w| w["id"].as_i64())
                    .filter(|id| *id > since)
                    .collect();
                ids.sort_unstable();
                let last = ids.len() <= WORKLOG_PAGE;
                ids.truncate(WORKLOG_PAGE);
                let until = ids.last().copied().unwrap_or(since);
                let mut body = json!({
                    "since": since,
                    "until": until,
                    "self": self.link(&format!("/worklog/updated?since={since}")),
                    "lastPage": last,
                    "values": ids.iter().map(|id| json!({"worklogId": id, "updatedTime": id, "properties": []})).collect::<Vec<_>>(),
                });
                if !last {
                    body["nextPage"] = json!(self.link(&format!("/worklog/updated?since={until}")));
                }
                ok(body)
            }
            ("POST", ["worklog", "list"]) => {
                let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                    return error(400, "Invalid request payload.");
                };
                let ids: Vec<i64> = body["ids"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_i64).collect())
                    .unwrap_or_default();
                if ids.len() > WORKLOG_PAGE {
                    return error(400, "A maximum of 1000 worklogs can be requested.");
                }
                ok(Value::Array(
                    site.worklogs
                        .iter()
                        .filter(|w| w["id"].as_i64().is_some_and(|id| ids.contains(&id)))
                        .cloned()
                        .collect(),
                ))
            }
            _ => error(404, &format!("No fake for {method} {path}")),
        }
    }

    fn admin(&self) -> bool {
        self.site
            .global_permissions
            .iter()
            .any(|p| p == "ADMINISTER")
    }

    fn project(&self, key: &str) -> Option<&Project> {
        self.index.get(key).map(|&i| &self.site.projects[i])
    }

    fn myself(&self) -> Value {
        let mut user = self.site.myself_json();
        user["self"] = json!(self.link("/myself"));
        user
    }

    fn mypermissions(&self, project: Option<&str>, asked: Option<&str>) -> Reply {
        let mut perms = serde_json::Map::new();
        let entry = |key: &str, kind: &str, have: bool| json!({"id": "1", "key": key, "name": key, "type": kind, "description": "", "havePermission": have});
        if let Some(key) = project {
            let Some(p) = self.project(key) else {
                return error(404, &format!("No project could be found with key '{key}'."));
            };
            perms.insert(
                "BROWSE_PROJECTS".into(),
                entry("BROWSE_PROJECTS", "PROJECT", p.browse),
            );
        } else {
            let keys: Vec<String> = match asked {
                Some(list) => list.split(',').map(str::to_owned).collect(),
                None => vec!["ADMINISTER".into(), "USE".into()],
            };
            for k in keys {
                let have = self.site.global_permissions.contains(&k);
                perms.insert(k.clone(), entry(&k, "GLOBAL", have));
            }
        }
        ok(json!({"permissions": perms}))
    }

    fn permissions_check(&self, body: &[u8]) -> Reply {
        let Ok(body) = serde_json::from_slice::<Value>(body) else {
            return error(400, "Invalid request payload.");
        };
        let mut grants = Vec::new();
        for pp in body["projectPermissions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let ids: Vec<i64> = pp["projects"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_i64).collect())
                .unwrap_or_default();
            if ids.len() > 1000 {
                return error(400, "A maximum of 1000 projects can be checked.");
            }
            for perm in pp["permissions"].as_array().cloned().unwrap_or_default() {
                let perm = perm.as_str().unwrap_or("").to_owned();
                let projects: Vec<i64> = ids
                    .iter()
                    .copied()
                    .filter(|id| {
                        perm == "BROWSE_PROJECTS"
                            && self.project(&id.to_string()).is_some_and(|p| p.browse)
                    })
                    .collect();
                grants.push(json!({"permission": perm, "projects": projects, "issues": []}));
            }
        }
        ok(json!({"globalPermissions": [], "projectPermissions": grants}))
    }

    fn project_json(&self, p: &Project) -> Value {
        let mut project = json!({
            "id": p.id.to_string(), "key": p.key, "name": p.name,
            "self": self.link(&format!("/project/{}", p.id)),
        });
        if self.site.deployment == Deployment::Cloud {
            project["style"] = json!(if p.team_managed {
                "next-gen"
            } else {
                "classic"
            });
            project["simplified"] = json!(p.team_managed);
        }
        project
    }

    /// A scheme as `issuesecurityschemes` lists it (no levels) or as `issuesecurityschemes/{id}`
    /// and Data Center's `issuesecuritylevelscheme` give it (`with_levels`).
    fn scheme_json(&self, s: &Scheme, with_levels: bool) -> Value {
        let mut scheme = json!({
            "id": s.id, "name": s.name, "description": "",
            "self": self.link(&format!("/issuesecurityschemes/{}", s.id)),
        });
        if let Some(first) = s.levels.first() {
            scheme["defaultSecurityLevelId"] = json!(first.id);
        }
        if with_levels {
            scheme["levels"] = s
                .levels
                .iter()
                .map(|l| self.level_json(s, l, None))
                .collect();
        }
        scheme
    }

    /// A level as `issuesecurityschemes/level` lists it (with `isDefault` and its scheme) or as
    /// a scheme and `securitylevel` embed it (`default: None`).
    fn level_json(&self, s: &Scheme, l: &Level, default: Option<bool>) -> Value {
        let mut level = json!({
            "id": l.id.to_string(), "name": l.name, "description": "",
            "self": self.link(&format!("/securitylevel/{}", l.id)),
        });
        if let Some(default) = default {
            level["isDefault"] = json!(default);
            level["issueSecuritySchemeId"] = json!(s.id.to_string());
        }
        level
    }

    /// A Jira offset page of `values`, with the `self` and `nextPage` links Jira sends.
    fn page(
        &self,
        path: &str,
        query: &BTreeMap<String, Vec<String>>,
        values: &[Value],
        start: Option<&str>,
        max: Option<&str>,
        cap: usize,
    ) -> Value {
        let paging = self.behaviour.paging;
        let start: usize = match paging {
            Paging::IgnoreStartAt => 0,
            _ => start.and_then(|s| s.parse().ok()).unwrap_or(0),
        };
        let max: usize = max.and_then(|s| s.parse().ok()).unwrap_or(50).clamp(1, cap);
        if paging == Paging::NotAPage {
            return json!({"self": self.link(path)});
        }
        if paging == Paging::Endless && start >= values.len() {
            let mut made_up = values.first().cloned().unwrap_or_else(|| json!({}));
            made_up["id"] = json!(format!("{}", 900_000_000 + start));
            made_up["key"] = json!(format!("X{start}"));
            return json!({"startAt": start, "maxResults": 1, "isLast": false, "values": [made_up]});
        }
        let end = start.saturating_add(max).min(values.len());
        let slice = if start < values.len() {
            &values[start..end]
        } else {
            &[]
        };
        let link = |at: usize| {
            let mut url = url::Url::parse(&self.link(path)).unwrap_or_else(|_| {
                url::Url::parse("http://127.0.0.1/").unwrap_or_else(|e| panic!("{e}"))
            });
            {
                let mut pairs = url.query_pairs_mut();
                for (k, vs) in query {
                    if k != "startAt" && k != "maxResults" {
                        for v in vs {
                            pairs.append_pair(k, v);
                        }
                    }
                }
                pairs.append_pair("startAt", &at.to_string());
                pairs.append_pair("maxResults", &max.to_string());
            }
            url.to_string()
        };
        let last = end >= values.len() && paging != Paging::Endless;
        let mut page = json!({
            "self": link(start), "startAt": start, "maxResults": max, "total": values.len(),
            "isLast": last, "values": slice,
        });
        match paging {
            Paging::IgnoreStartAt => {
                page["isLast"] = json!(false);
                if let Value::Object(map) = &mut page {
                    map.remove("total");
                }
            }
            Paging::HugeTotal => page["total"] = json!(10_000_000_000_u64),
            _ => {}
        }
        if !last {
            page["nextPage"] = json!(link(end));
        }
        page
    }
}

/// The members of the levels of `schemes` (all when empty) limited to `levels` (all when
/// empty), as `level/member` lists them.
fn level_members(schemes: &[Scheme], only: &[String], levels: &[String]) -> Vec<Value> {
    let mut values = Vec::new();
    for s in schemes {
        if !only.is_empty() && !only.contains(&s.id.to_string()) {
            continue;
        }
        for l in &s.levels {
            if !levels.is_empty() && !levels.contains(&l.id.to_string()) {
                continue;
            }
            for (i, m) in l.members.iter().enumerate() {
                values.push(json!({
                    "id": format!("{}{}", l.id, i),
                    "issueSecurityLevelId": l.id.to_string(),
                    "issueSecuritySchemeId": s.id.to_string(),
                    "holder": m,
                }));
            }
        }
    }
    values
}

/// Now plus `skew` seconds, as Jira writes it: `2026-11-25T08:49:00.000+0000`.
/// Jira's timestamp format (`2026-11-25T09:36:20.123+0000`) for now shifted by `skew` seconds.
pub(crate) fn now_jira(skew: i64) -> String {
    let now = SystemTime::now();
    let shifted = if skew >= 0 {
        now + Duration::from_secs(skew.unsigned_abs())
    } else {
        now - Duration::from_secs(skew.unsigned_abs())
    };
    let d = shifted.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, day) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}+0000",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
    }

    #[tokio::test]
    async fn an_attached_site_serves_below_its_context_path_and_yields_by_priority() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::path("/jira/rest/api/2/myself"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "owner"})))
            .mount(&server)
            .await;
        let gate: Gate = Arc::new(|request: &Request| {
            if request
                .headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer test-pat")
            {
                Ok(())
            } else {
                Err(ResponseTemplate::new(401))
            }
        });
        let site = JiraSite::attach(Site::scenario("dc-healthy"), &server, "/jira", 10, gate).await;
        let get = |p: &str| {
            let url = format!("{}{p}", server.uri());
            async move {
                let r = reqwest::Client::new()
                    .get(url)
                    .header("authorization", "Bearer test-pat")
                    .send()
                    .await
                    .unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        // The other fake's own resource wins at priority 10 ...
        assert_eq!(get("/jira/rest/api/2/myself").await.1["name"], "owner");
        // ... and the site answers the rest below the context path.
        let (status, info) = get("/jira/rest/api/2/serverInfo").await;
        assert_eq!(status, 200);
        assert_eq!(info["version"], "10.3.1");
        assert_eq!(get("/rest/api/2/serverInfo").await.0, 404);
        assert_eq!(site.requests(), 1);
        // The gate refuses what the other fake would refuse, before the site answers.
        let refused = reqwest::Client::new()
            .get(format!("{}/jira/rest/api/2/serverInfo", server.uri()))
            .header("authorization", "Bearer garbage")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
}
