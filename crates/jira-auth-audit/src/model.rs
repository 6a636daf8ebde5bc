//! The parts of Jira's REST responses the auditor reads. Shapes follow Atlassian's published
//! OpenAPI documents (Cloud platform v3, Data Center 10.3); unknown fields are ignored and
//! optional ones default, so a newer Jira does not break the audit.

use crate::api::Keyed;
use serde::Deserialize;
use std::collections::BTreeMap;

/// An id Jira sends as a number on some endpoints and a string on others.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(untagged)]
pub enum Id {
    Num(i64),
    Str(String),
}

impl Id {
    pub fn text(&self) -> String {
        match self {
            Id::Num(n) => n.to_string(),
            Id::Str(s) => s.clone(),
        }
    }
}

/// `GET /myself?expand=groups,applicationRoles`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: ListWrapper<Group>,
    #[serde(default)]
    pub application_roles: ListWrapper<ApplicationRole>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ListWrapper<T> {
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
}

impl<T> Default for ListWrapper<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub name: String,
    #[serde(default)]
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ApplicationRole {
    pub key: String,
}

/// `GET /mypermissions`: `{"permissions": {"KEY": {"havePermission": true}}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct MyPermissions {
    #[serde(default)]
    pub permissions: BTreeMap<String, Permission>,
}

impl MyPermissions {
    pub fn has(&self, key: &str) -> bool {
        self.permissions.get(key).is_some_and(|p| p.have_permission)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default)]
    pub have_permission: bool,
}

/// A project as `GET /project/search` (Cloud) and `GET /project` (Data Center) list it.
#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub id: Id,
    pub key: String,
    /// Cloud: `classic` (company-managed) or `next-gen` (team-managed).
    #[serde(default)]
    pub style: Option<String>,
    /// Cloud: true for a team-managed project.
    #[serde(default)]
    pub simplified: Option<bool>,
}

impl Project {
    /// A Cloud team-managed project: it has no issue security scheme on the REST API.
    pub fn team_managed(&self) -> bool {
        self.simplified == Some(true) || self.style.as_deref() == Some("next-gen")
    }
}

impl Keyed for Project {
    fn key(&self) -> String {
        self.id.text()
    }
}

/// An offset page: `project/search`, `issuesecurityschemes/search`, `level`, `level/member`.
/// `values` is required: a body without it is not a page, and reading it as an empty one
/// would make a check pass on nothing.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub values: Vec<T>,
    /// Only a hint for how many pages to fetch at once; anything but a whole number that
    /// fits is ignored.
    #[serde(default, deserialize_with = "count_hint")]
    pub total: Option<usize>,
    #[serde(default)]
    pub is_last: Option<bool>,
}

fn count_hint<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(d)?;
    Ok(value
        .as_ref()
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| usize::try_from(n).ok()))
}

/// `POST /permissions/check` answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkPermissionGrants {
    #[serde(default)]
    pub project_permissions: Vec<BulkProjectPermissionGrants>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BulkProjectPermissionGrants {
    pub permission: String,
    #[serde(default)]
    pub projects: Vec<i64>,
}

/// `GET /role` (all roles) and `GET /project/{key}/roledetails` entries.
#[derive(Debug, Clone, Deserialize)]
pub struct Role {
    pub id: i64,
    pub name: String,
    /// Set for team-managed (next-gen) project roles, which exist in one project only.
    #[serde(default)]
    pub scope: Option<serde_json::Value>,
}

/// `GET /project/{key}/role/{id}` on Data Center.
#[derive(Debug, Clone, Deserialize)]
pub struct RoleWithActors {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub actors: Vec<RoleActor>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoleActor {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: String,
}

/// A scheme with its levels: Data Center's `GET /project/{key}/issuesecuritylevelscheme`.
#[derive(Debug, Clone, Deserialize)]
pub struct SecurityScheme {
    pub name: String,
    #[serde(default)]
    pub levels: Vec<SecurityLevel>,
}

/// A level: Cloud `GET /issuesecurityschemes/level` values (with their scheme), Data Center
/// scheme and `securitylevel` entries.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityLevel {
    pub id: Id,
    pub name: String,
    #[serde(default)]
    pub issue_security_scheme_id: Option<Id>,
}

impl Keyed for SecurityLevel {
    fn key(&self) -> String {
        self.id.text()
    }
}

/// `GET /issuesecurityschemes/search` values: a scheme and the projects that use it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemeWithProjects {
    pub id: Id,
    pub name: String,
    #[serde(default)]
    pub project_ids: Vec<i64>,
}

impl Keyed for SchemeWithProjects {
    fn key(&self) -> String {
        self.id.text()
    }
}

/// `GET /issuesecurityschemes/level/member` values.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LevelMember {
    pub id: Id,
    pub issue_security_level_id: Id,
    #[serde(default)]
    pub issue_security_scheme_id: Option<Id>,
    pub holder: Holder,
}

impl Keyed for LevelMember {
    fn key(&self) -> String {
        self.id.text()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Holder {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub parameter: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
}

/// DC `GET /project/{key}/securitylevel`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SecurityLevelList {
    #[serde(default)]
    pub levels: Vec<SecurityLevel>,
}

/// `GET /serverInfo`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub deployment_type: Option<String>,
    #[serde(default)]
    pub server_time: Option<String>,
}

/// `GET /worklog/updated` page.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedWorklogs {
    #[serde(default)]
    pub values: Vec<ChangedWorklog>,
    #[serde(default)]
    pub next_page: Option<String>,
    #[serde(default)]
    pub last_page: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedWorklog {
    pub worklog_id: i64,
}

/// `POST /worklog/list` entries: only the visibility matters here.
#[derive(Debug, Clone, Deserialize)]
pub struct Worklog {
    #[serde(default)]
    pub visibility: Option<Visibility>,
}

/// A comment or worklog restriction: `{"type": "group" | "role", "value": "...", "identifier": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub struct Visibility {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub identifier: Option<String>,
}

/// Decodes `body` as every response shape the auditor reads (with `serde_json`, as the Jira
/// client does) and reads each result the way the checks do: page items keyed for
/// deduplication, `total` taken as a hint, permissions looked up, ids rendered. Returns how many
/// shapes accepted the body. Pure; it exists for the fuzz targets and is not part of the API.
#[doc(hidden)]
pub fn decode_every_shape(body: &[u8]) -> usize {
    use serde::de::DeserializeOwned;
    use std::collections::HashSet;
    use std::hint::black_box;

    fn read<T: DeserializeOwned + std::fmt::Debug>(body: &[u8]) -> Option<T> {
        match serde_json::from_slice::<T>(body) {
            Ok(value) => {
                black_box(format!("{value:?}"));
                Some(value)
            }
            Err(e) => {
                black_box(e.to_string());
                None
            }
        }
    }
    /// The items a page adds, deduplicated by key as `Api::paged` does.
    fn fresh<T: Keyed>(page: &Page<T>, seen: &mut HashSet<String>) -> usize {
        black_box(page.total.map(|t| t.div_ceil(page.values.len().max(1))));
        page.values.iter().filter(|v| seen.insert(v.key())).count()
    }

    let mut accepted = 0;
    let mut seen = HashSet::new();
    if let Some(page) = read::<Page<Project>>(body) {
        black_box(page.values.iter().filter(|p| p.team_managed()).count());
        accepted += usize::from(fresh(&page, &mut seen) <= page.values.len());
    }
    if let Some(page) = read::<Page<SchemeWithProjects>>(body) {
        accepted += usize::from(fresh(&page, &mut seen) <= page.values.len());
    }
    if let Some(page) = read::<Page<SecurityLevel>>(body) {
        accepted += usize::from(fresh(&page, &mut seen) <= page.values.len());
    }
    if let Some(page) = read::<Page<LevelMember>>(body) {
        black_box(
            page.values
                .iter()
                .map(|m| m.issue_security_level_id.text())
                .collect::<Vec<_>>(),
        );
        accepted += usize::from(fresh(&page, &mut seen) <= page.values.len());
    }
    if let Some(projects) = read::<Vec<Project>>(body) {
        black_box(projects.iter().map(Keyed::key).collect::<HashSet<_>>());
        accepted += 1;
    }
    if let Some(permissions) = read::<MyPermissions>(body) {
        black_box(permissions.has("BROWSE_PROJECTS"));
        accepted += 1;
    }
    if let Some(scheme) = read::<SecurityScheme>(body) {
        black_box(scheme.levels.iter().map(Keyed::key).collect::<Vec<_>>());
        accepted += 1;
    }
    if let Some(levels) = read::<SecurityLevelList>(body) {
        black_box(levels.levels.iter().map(Keyed::key).collect::<Vec<_>>());
        accepted += 1;
    }
    if let Some(worklogs) = read::<Vec<Worklog>>(body) {
        let mut restrictions: Vec<&Visibility> = worklogs
            .iter()
            .filter_map(|w| w.visibility.as_ref())
            .collect();
        restrictions.sort();
        restrictions.dedup();
        accepted += 1;
    }
    accepted += usize::from(read::<Myself>(body).is_some());
    accepted += usize::from(read::<BulkPermissionGrants>(body).is_some());
    accepted += usize::from(read::<Vec<Role>>(body).is_some());
    accepted += usize::from(read::<BTreeMap<String, String>>(body).is_some());
    accepted += usize::from(read::<RoleWithActors>(body).is_some());
    accepted += usize::from(read::<ServerInfo>(body).is_some());
    accepted += usize::from(read::<ChangedWorklogs>(body).is_some());
    accepted
}
