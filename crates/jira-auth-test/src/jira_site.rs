//! A fake Jira site (Cloud REST v3 or Data Center REST v2) for the auditor, built from a
//! scenario file (`fixtures/audit/<scenario>/site.json`) or generated ([`Site::synthetic`]).
//!
//! One wiremock responder serves every endpoint the auditor reads from a [`Site`] model, with
//! real paging (`startAt`, `maxResults`, capped like Jira), so a scenario states facts ("the
//! user holds role 10002 in ENG") rather than canned pages. It can add a fixed latency to every
//! response (the bench), answer the first attempt of every request with `429` (a rate-limit
//! storm), and count requests. Everything else (an unknown path, a wrong credential) is
//! answered the way Jira does: 404 or 401 with a Jira error body.
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
}

/// A running fake site.
#[derive(Debug)]
pub struct JiraSite {
    pub server: MockServer,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    site: Site,
    behaviour: Behaviour,
    requests: AtomicU64,
    throttled: AtomicU64,
    seen: Mutex<HashSet<String>>,
    /// `http://127.0.0.1:PORT`, for the absolute links Jira puts in bodies.
    base: String,
    /// Stripped from request paths: a Data Center context path such as `/jira`.
    context_path: String,
    /// Precomputed answers for the big lists, so a 10,000-project site stays cheap to serve.
    index: HashMap<String, usize>,
    listed_projects: Vec<Value>,
    scheme_projects: Vec<Value>,
    members: Vec<Value>,
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
        let state = State::new(site, behaviour, server.uri(), String::new());
        Mock::given(any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        JiraSite { server, state }
    }

    /// Serves `site` from a server another fake runs (the fake Atlassian's API gateway, the fake
    /// Jira Server), for every path below `context_path` + `/rest/`. With `priority` 1 the site
    /// answers before the other fake's mocks (wiremock: lower wins, default 5); with 10 the other
    /// fake's own resources (a verified `/myself`) answer first and the site serves the rest.
    pub async fn attach(
        site: Site,
        server: &MockServer,
        context_path: &str,
        priority: u8,
    ) -> AttachedSite {
        let state = State::new(
            site,
            Behaviour::default(),
            server.uri(),
            context_path.to_owned(),
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
    fn new(site: Site, behaviour: Behaviour, base: String, context_path: String) -> Arc<State> {
        let admin = site.global_permissions.iter().any(|p| p == "ADMINISTER");
        let mut index = HashMap::new();
        for (i, p) in site.projects.iter().enumerate() {
            index.insert(p.key.clone(), i);
            index.insert(p.id.to_string(), i);
        }
        // `action=view`: projects the user can browse, all of them for an administrator.
        let listed_projects = site
            .projects
            .iter()
            .filter(|p| p.browse || admin)
            .map(project_json)
            .collect();
        let mut by_scheme: HashMap<i64, Vec<i64>> = HashMap::new();
        for p in &site.projects {
            if let Some(s) = p.security_scheme {
                by_scheme.entry(s).or_default().push(p.id);
            }
        }
        let scheme_projects = site
            .security_schemes
            .iter()
            .map(|s| {
                json!({"id": s.id, "name": s.name, "self": "",
                    "projectIds": by_scheme.get(&s.id).cloned().unwrap_or_default()})
            })
            .collect();
        let members = level_members(&site.security_schemes, &[]);
        Arc::new(State {
            site,
            behaviour,
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            seen: Mutex::new(HashSet::new()),
            base,
            context_path,
            index,
            listed_projects,
            scheme_projects,
            members,
        })
    }
}

#[derive(Debug)]
struct Responder(Arc<State>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.0;
        state.requests.fetch_add(1, Ordering::Relaxed);
        let response = if state.behaviour.rate_limit_storm && state.first_attempt(request) {
            state.throttled.fetch_add(1, Ordering::Relaxed);
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"errorMessages": ["Rate limit exceeded."]}))
        } else {
            state.answer(request)
        };
        if state.behaviour.latency.is_zero() {
            response
        } else {
            response.set_delay(state.behaviour.latency)
        }
    }
}

fn error(status: u16, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({"errorMessages": [message], "errors": {}}))
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

impl State {
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

    fn answer(&self, request: &Request) -> ResponseTemplate {
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
        let prefix = match site.deployment {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        };
        // Cloud through the API gateway: `/ex/jira/{cloudId}/rest/api/3/...`.
        let full = request.url.path();
        let full = full
            .strip_prefix(self.context_path.as_str())
            .unwrap_or(full);
        let full = match full.strip_prefix("/ex/jira/") {
            Some(rest) => rest.find('/').map_or("", |i| &rest[i..]),
            None => full,
        };
        let Some(path) = full.strip_prefix(prefix) else {
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
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let method = request.method.as_str();
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
            ("GET", ["project", "search"]) => {
                ok(page(
                    &self.listed_projects,
                    q("startAt"),
                    q("maxResults"),
                    PROJECT_PAGE_MAX,
                ))
            }
            ("GET", ["project"]) if site.deployment == Deployment::DataCenter => ok(Value::Array(
                site.projects
                    .iter()
                    .filter(|p| p.browse || self.admin())
                    .map(project_json)
                    .collect(),
            )),
            ("POST", ["permissions", "check"]) => self.permissions_check(&request.body),
            ("GET", ["role"]) => ok(Value::Array(
                site.roles
                    .iter()
                    .map(|r| json!({"id": r.id, "name": r.name, "self": format!("{prefix}/role/{}", r.id)}))
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
                        .map(|r| json!({"id": r.id, "name": r.name, "admin": false, "default": false, "roleConfigurable": true}))
                        .collect(),
                ))
            }
            ("GET", ["project", key, "role"]) => {
                let Some(_) = self.project(key) else {
                    return error(404, &format!("No project could be found with key '{key}'."));
                };
                let base = &self.base;
                ok(Value::Object(
                    site.roles
                        .iter()
                        .map(|r| {
                            (
                                r.name.clone(),
                                json!(format!("{base}{prefix}/project/{key}/role/{}", r.id)),
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
                    json!({"id": 1, "type": "atlassian-user-role-actor", "name": site.myself.name.clone().unwrap_or_default()})
                } else {
                    json!({"id": 2, "type": "atlassian-user-role-actor", "name": "someone.else"})
                };
                ok(json!({"id": r.id, "name": r.name, "actors": [actor]}))
            }
            ("GET", ["issuesecurityschemes"]) => ok(json!({
                "issueSecuritySchemes": site.security_schemes.iter().map(scheme_json).collect::<Vec<_>>()
            })),
            ("GET", ["issuesecurityschemes", "search"]) => ok(page(
                &self.scheme_projects,
                q("startAt"),
                q("maxResults"),
                SECURITY_PAGE_MAX,
            )),
            ("GET", ["issuesecurityschemes", "level", "member"]) => {
                let schemes = query.get("schemeId").cloned().unwrap_or_default();
                let filtered;
                let values = if schemes.is_empty() {
                    &self.members
                } else {
                    filtered = level_members(&site.security_schemes, &schemes);
                    &filtered
                };
                ok(page(values, q("startAt"), q("maxResults"), SECURITY_PAGE_MAX))
            }
            ("GET", ["project", key, "issuesecuritylevelscheme"]) => {
                let Some(p) = self.project(key) else {
                    return error(404, &format!("No project could be found with key '{key}'."));
                };
                match p
                    .security_scheme
                    .and_then(|id| site.security_schemes.iter().find(|s| s.id == id))
                {
                    Some(s) => ok(scheme_json(s)),
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
                    .flat_map(|s| s.levels.iter())
                    .filter(|l| p.settable_levels.contains(&l.id))
                    .map(|l| json!({"id": l.id.to_string(), "name": l.name, "description": ""}))
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
                let mut body = json!({
                    "since": since,
                    "lastPage": last,
                    "values": ids.iter().map(|id| json!({"worklogId": id, "updatedTime": id, "properties": []})).collect::<Vec<_>>(),
                });
                if let (false, Some(until)) = (last, ids.last()) {
                    let base = &self.base;
                    body["until"] = json!(until);
                    body["nextPage"] = json!(format!("{base}{}/worklog/updated?since={until}", request.url.path().trim_end_matches("/worklog/updated")));
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
        self.site.myself_json()
    }

    fn mypermissions(&self, project: Option<&str>, asked: Option<&str>) -> ResponseTemplate {
        let mut perms = serde_json::Map::new();
        let entry = |key: &str, have: bool| json!({"id": "", "key": key, "name": key, "type": "", "havePermission": have});
        if let Some(key) = project {
            let Some(p) = self.project(key) else {
                return error(404, &format!("No project could be found with key '{key}'."));
            };
            perms.insert("BROWSE_PROJECTS".into(), entry("BROWSE_PROJECTS", p.browse));
        } else {
            let keys: Vec<String> = match asked {
                Some(list) => list.split(',').map(str::to_owned).collect(),
                None => vec!["ADMINISTER".into(), "USE".into()],
            };
            for k in keys {
                let have = self.site.global_permissions.contains(&k);
                perms.insert(k.clone(), entry(&k, have));
            }
        }
        ok(json!({"permissions": perms}))
    }

    fn permissions_check(&self, body: &[u8]) -> ResponseTemplate {
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
}

/// The members of every level of `schemes` (all schemes when `only` is empty), as
/// `level/member` lists them.
fn level_members(schemes: &[Scheme], only: &[String]) -> Vec<Value> {
    let mut values = Vec::new();
    for s in schemes {
        if !only.is_empty() && !only.contains(&s.id.to_string()) {
            continue;
        }
        for l in &s.levels {
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

fn project_json(p: &Project) -> Value {
    json!({"id": p.id.to_string(), "key": p.key, "name": p.name, "self": ""})
}

fn scheme_json(s: &Scheme) -> Value {
    json!({
        "id": s.id, "name": s.name, "self": "", "description": "",
        "levels": s.levels.iter().map(|l| json!({"id": l.id.to_string(), "name": l.name, "description": "", "issueSecuritySchemeId": s.id.to_string()})).collect::<Vec<_>>()
    })
}

/// A Jira offset page of `values`.
fn page(values: &[Value], start: Option<&str>, max: Option<&str>, cap: usize) -> Value {
    let start: usize = start.and_then(|s| s.parse().ok()).unwrap_or(0);
    let max: usize = max.and_then(|s| s.parse().ok()).unwrap_or(50).clamp(1, cap);
    let end = (start + max).min(values.len());
    let slice = if start < values.len() {
        &values[start..end]
    } else {
        &[]
    };
    json!({
        "self": "", "startAt": start, "maxResults": max, "total": values.len(),
        "isLast": end >= values.len(), "values": slice,
    })
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

    #[test]
    fn pages_are_capped_and_flag_the_last() {
        let values: Vec<Value> = (0..120).map(|i| json!(i)).collect();
        let p = page(&values, Some("100"), Some("500"), 100);
        assert_eq!(p["maxResults"], 100);
        assert_eq!(p["values"].as_array().unwrap().len(), 20);
        assert_eq!(p["isLast"], true);
        assert_eq!(p["total"], 120);
    }

    #[tokio::test]
    async fn an_attached_site_serves_below_its_context_path_and_yields_by_priority() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::path("/jira/rest/api/2/myself"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "owner"})))
            .mount(&server)
            .await;
        let site = JiraSite::attach(Site::scenario("dc-healthy"), &server, "/jira", 10).await;
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
    }
}
