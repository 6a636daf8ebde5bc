//! The Jira REST resources a site answers (Cloud v3 or Data Center v2): the route table
//! (`answer`) and the handlers it calls, in the shapes Atlassian documents; paging like Jira's.

use super::model::{Deployment, Level, Project, Scheme};
use super::state::State;
use super::{PROJECT_PAGE_MAX, Paging, SECURITY_PAGE_MAX, WORKLOG_PAGE};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use wiremock::Request;

/// A status and a JSON body (`None`: empty body).
pub(super) type Reply = (u16, Option<Value>);

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
    pub(super) fn prefix(&self) -> &'static str {
        match self.site.deployment {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        }
    }

    /// An absolute URL on this site, as Jira writes `self` links.
    pub(super) fn link(&self, path: &str) -> String {
        format!("{}{}{}{path}", self.base, self.context_path, self.prefix())
    }

    pub(super) fn answer(&self, request: &Request) -> Reply {
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

    pub(super) fn admin(&self) -> bool {
        self.site
            .global_permissions
            .iter()
            .any(|p| p == "ADMINISTER")
    }

    pub(super) fn project(&self, key: &str) -> Option<&Project> {
        self.index.get(key).map(|&i| &self.site.projects[i])
    }

    pub(super) fn myself(&self) -> Value {
        let mut user = self.site.myself_json();
        user["self"] = json!(self.link("/myself"));
        user
    }

    pub(super) fn mypermissions(&self, project: Option<&str>, asked: Option<&str>) -> Reply {
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

    pub(super) fn permissions_check(&self, body: &[u8]) -> Reply {
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

    pub(super) fn project_json(&self, p: &Project) -> Value {
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
    pub(super) fn scheme_json(&self, s: &Scheme, with_levels: bool) -> Value {
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
    pub(super) fn level_json(&self, s: &Scheme, l: &Level, default: Option<bool>) -> Value {
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
    pub(super) fn page(
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
pub(super) fn level_members(schemes: &[Scheme], only: &[String], levels: &[String]) -> Vec<Value> {
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
pub(super) fn civil_from_days(z: i64) -> (i64, i64, i64) {
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
