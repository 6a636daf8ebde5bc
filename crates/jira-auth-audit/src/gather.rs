//! Reads what the checks decide on, in as few round trips as the API allows.
//!
//! Wave 1 (concurrent): server info, global permissions, the project list, all project roles,
//! the security schemes, their project mappings and level members. Wave 2 (concurrent, needs
//! the project list, and starts as soon as it is read, alongside the rest of wave 1): Browse
//! Projects per project (bulk on Cloud), role membership per project, security levels per
//! project (Data Center). On Cloud without `visibility.roles`, role membership is read only for
//! projects whose security levels name a project role (wave 3, after both).
//! Every request goes through [`Api`], which bounds requests in flight.

use crate::api::{Api, Keyed, Listed};
use crate::model::*;
use crate::report::CheckId;
use futures::future::join_all;
use jira_auth_core::jira::{Deployment, JiraError};
use jira_auth_core::{Categorize, Category};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::SystemTime;

/// A request that failed, kept as text for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failed {
    pub message: String,
    pub status: Option<u16>,
    pub category: Category,
}

impl From<JiraError> for Failed {
    fn from(e: JiraError) -> Self {
        let status = match &e {
            JiraError::Http(jira_auth_core::http::HttpError::Api(api)) => Some(api.status),
            _ => None,
        };
        Failed {
            message: e.to_string(),
            status,
            category: e.category(),
        }
    }
}

pub(crate) type Fetched<T> = Result<T, Failed>;

/// Project roles of one project: those that exist there and those the user holds.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProjectRoles {
    /// Shared between projects on Cloud, where every project has the same roles.
    pub available: Arc<BTreeMap<i64, String>>,
    pub member: BTreeSet<i64>,
}

/// Security facts of one Data Center project.
#[derive(Debug, Clone)]
pub(crate) struct DcProjectSecurity {
    /// The project's scheme with all its levels (`None`: the project has none).
    pub scheme: Fetched<Option<SecurityScheme>>,
    /// The levels the caller may set in the project.
    pub visible: Fetched<Vec<SecurityLevel>>,
}

/// Cloud security facts: the schemes with the projects using each, then the levels and their
/// members, both read only for schemes some project uses (no issue can carry another's level).
#[derive(Debug, Clone)]
pub(crate) struct CloudSecurity {
    pub schemes: Fetched<Listed<SchemeWithProjects>>,
    pub levels: Fetched<Listed<SecurityLevel>>,
    pub members: Fetched<Listed<LevelMember>>,
}

#[derive(Debug)]
pub(crate) struct Facts {
    pub global: Option<Fetched<MyPermissions>>,
    pub server: Option<Fetched<(ServerInfo, SystemTime)>>,
    pub projects: Option<Fetched<Listed<Project>>>,
    /// Browse Projects per project key.
    pub browse: BTreeMap<String, Fetched<bool>>,
    /// Role facts per project key.
    pub roles: BTreeMap<String, Fetched<ProjectRoles>>,
    pub cloud_security: Option<CloudSecurity>,
    pub dc_security: BTreeMap<String, DcProjectSecurity>,
    /// `--deep`: the restriction of every restricted worklog, and how many worklogs were read.
    pub worklogs: Option<Fetched<(usize, Vec<Visibility>)>>,
}

/// Project list page size on Cloud (`project/search` allows at most 100).
pub(crate) const PROJECT_PAGE: usize = 100;
/// Page size for the issue security endpoints (their documented default).
pub(crate) const SECURITY_PAGE: usize = 50;
/// Projects per `POST /permissions/check` (the documented maximum).
pub(crate) const BULK_PROJECTS: usize = 1000;
/// Worklog ids per `POST /worklog/list` (the documented maximum).
pub(crate) const BULK_WORKLOGS: usize = 1000;
/// Scheme ids per issue security level request (`schemeId=…&schemeId=…`), which keeps the URL
/// short (50 ids of up to 19 digits).
pub(crate) const SCHEMES_PER_REQUEST: usize = 50;

pub(crate) async fn gather(
    api: &Api,
    checks: &BTreeSet<CheckId>,
    user: &Myself,
    deep: bool,
) -> Facts {
    let deployment = api.client().deployment();
    let want = |c: CheckId| checks.contains(&c);
    let need_projects = want(CheckId::ProjectsBrowse)
        || want(CheckId::SecurityLevels)
        || want(CheckId::VisibilityRoles);
    let cloud = deployment == Deployment::Cloud;

    // Wave 1.
    let server = async {
        if !want(CheckId::ServerInfo) {
            return None;
        }
        let info = api.get::<ServerInfo>("/serverInfo").await;
        let now = api.client().http().clock().now();
        Some(info.map(|i| (i, now)).map_err(Failed::from))
    };
    let global = async {
        if !(want(CheckId::GlobalAdminister) || want(CheckId::ProductAccess)) {
            return None;
        }
        // Data Center documents no `permissions` filter: it answers every permission.
        let path = match deployment {
            Deployment::Cloud => "/mypermissions?permissions=ADMINISTER",
            Deployment::DataCenter => "/mypermissions",
        };
        Some(api.get::<MyPermissions>(path).await.map_err(Failed::from))
    };
    let projects = async {
        if !need_projects {
            return None;
        }
        Some(match deployment {
            Deployment::Cloud => {
                api.paged::<Project>("/project/search?action=view&orderBy=key", PROJECT_PAGE)
                    .await
            }
            Deployment::DataCenter => api
                .get::<Vec<Project>>("/project")
                .await
                .map(unique)
                .map_err(Failed::from),
        })
    };
    let all_roles = async {
        if !(cloud && want(CheckId::VisibilityRoles)) {
            return None;
        }
        Some(api.get::<Vec<Role>>("/role").await.map_err(Failed::from))
    };
    let cloud_security = async {
        if !(cloud && want(CheckId::SecurityLevels)) {
            return None;
        }
        let schemes = api
            .paged::<SchemeWithProjects>("/issuesecurityschemes/search", SECURITY_PAGE)
            .await;
        let used: Vec<String> = match &schemes {
            Ok(s) => s
                .items
                .iter()
                .filter(|s| !s.project_ids.is_empty())
                .map(|s| s.id.text())
                .collect(),
            Err(_) => Vec::new(),
        };
        let (levels, members) = tokio::join!(
            per_scheme::<SecurityLevel>(api, "/issuesecurityschemes/level", &used),
            per_scheme::<LevelMember>(api, "/issuesecurityschemes/level/member", &used),
        );
        let (levels, members) = match &schemes {
            Err(e) => (Err(e.clone()), Err(e.clone())),
            Ok(_) => (levels, members),
        };
        Some(CloudSecurity {
            schemes,
            levels,
            members,
        })
    };
    let worklogs = async {
        if !(deep && want(CheckId::VisibilityRoles)) {
            return None;
        }
        Some(worklog_restrictions(api).await)
    };
    // Wave 2 starts as soon as the project list is read, while the rest of wave 1 (the
    // security schemes, their levels and members) is still paging: a barrier between the two
    // would leave the limiter's places empty while the last pages of wave 1 trickle in.
    let per_project = async {
        let (projects, all_roles) = tokio::join!(projects, all_roles);
        let Some(Ok(Listed { items, .. })) = &projects else {
            return (projects, BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
        };
        let browse = async {
            if !want(CheckId::ProjectsBrowse) {
                return BTreeMap::new();
            }
            match deployment {
                Deployment::Cloud => browse_cloud(api, items).await,
                Deployment::DataCenter => browse_dc(api, items).await,
            }
        };
        let roles = async {
            if !want(CheckId::VisibilityRoles) {
                return BTreeMap::new();
            }
            let keys: Vec<&Project> = items.iter().collect();
            match (deployment, &all_roles) {
                (Deployment::Cloud, Some(Ok(all))) => roles_cloud(api, &keys, all).await,
                (Deployment::Cloud, Some(Err(e))) => keys
                    .iter()
                    .map(|p| (p.key.clone(), Err(e.clone())))
                    .collect(),
                _ => roles_dc(api, &keys, user).await,
            }
        };
        let dc_security = async {
            if cloud || !want(CheckId::SecurityLevels) {
                return BTreeMap::new();
            }
            security_dc(api, items).await
        };
        let (browse, roles, dc_security) = tokio::join!(browse, roles, dc_security);
        (projects, browse, roles, dc_security)
    };
    let (server, global, (projects, browse, roles, dc_security), cloud_security, worklogs) =
        tokio::join!(server, global, per_project, cloud_security, worklogs);

    let mut facts = Facts {
        global,
        server,
        projects,
        browse,
        roles,
        cloud_security,
        dc_security,
        worklogs,
    };
    let Some(Ok(Listed {
        items: projects, ..
    })) = &facts.projects
    else {
        return facts;
    };

    // Wave 3: on Cloud, role membership for projects whose levels name a project role, when
    // `visibility.roles` did not already read it for every project.
    if cloud && want(CheckId::SecurityLevels) && !want(CheckId::VisibilityRoles) {
        let needed = crate::checks::security::projects_needing_roles(&facts);
        let keys: Vec<&Project> = projects
            .iter()
            .filter(|p| needed.contains(&p.id.text()))
            .collect();
        facts.roles = roles_cloud(api, &keys, &[]).await;
    }
    facts
}

async fn browse_cloud(api: &Api, projects: &[Project]) -> BTreeMap<String, Fetched<bool>> {
    let chunks: Vec<&[Project]> = projects.chunks(BULK_PROJECTS).collect();
    let answers = join_all(chunks.iter().map(|chunk| async move {
        // `projects` is `uniqueItems` in the request schema.
        let ids: BTreeSet<i64> = chunk
            .iter()
            .filter_map(|p| p.id.text().parse().ok())
            .collect();
        let body = serde_json::json!({
            "projectPermissions": [{"permissions": ["BROWSE_PROJECTS"], "projects": ids}]
        });
        api.post::<BulkPermissionGrants>("/permissions/check", &body)
            .await
    }))
    .await;
    let mut out = BTreeMap::new();
    for (chunk, answer) in chunks.iter().zip(answers) {
        match answer {
            Ok(grants) => {
                let granted: BTreeSet<i64> = grants
                    .project_permissions
                    .iter()
                    .filter(|g| g.permission == "BROWSE_PROJECTS")
                    .flat_map(|g| g.projects.iter().copied())
                    .collect();
                for p in *chunk {
                    let ok = p.id.text().parse().is_ok_and(|id| granted.contains(&id));
                    out.insert(p.key.clone(), Ok(ok));
                }
            }
            Err(e) => {
                let failed = Failed::from(e);
                for p in *chunk {
                    out.insert(p.key.clone(), Err(failed.clone()));
                }
            }
        }
    }
    out
}

async fn browse_dc(api: &Api, projects: &[Project]) -> BTreeMap<String, Fetched<bool>> {
    let answers = api
        .bounded(projects, |p| async move {
            let path = format!("/mypermissions?projectKey={}", p.key);
            let answer = api.get::<MyPermissions>(&path).await;
            (
                p.key.clone(),
                answer
                    .map(|m| m.has("BROWSE_PROJECTS") || m.has("BROWSE"))
                    .map_err(Failed::from),
            )
        })
        .await;
    answers.into_iter().collect()
}

pub(crate) async fn roles_cloud(
    api: &Api,
    projects: &[&Project],
    all: &[Role],
) -> BTreeMap<String, Fetched<ProjectRoles>> {
    // Team-managed roles carry a scope and exist in one project only: they are not expected
    // everywhere.
    let available: Arc<BTreeMap<i64, String>> = Arc::new(
        all.iter()
            .filter(|r| r.scope.is_none())
            .map(|r| (r.id, r.name.clone()))
            .collect(),
    );
    let answers = api
        .bounded(projects, |p| {
            let available = available.clone();
            async move {
                let path = format!("/project/{}/roledetails?currentMember=true", p.key);
                let answer = api.get::<Vec<Role>>(&path).await;
                let facts = answer.map_err(Failed::from).map(|held| ProjectRoles {
                    available,
                    member: held.iter().map(|r| r.id).collect(),
                });
                (p.key.clone(), facts)
            }
        })
        .await;
    answers.into_iter().collect()
}

async fn roles_dc(
    api: &Api,
    projects: &[&Project],
    user: &Myself,
) -> BTreeMap<String, Fetched<ProjectRoles>> {
    let answers = api
        .bounded(projects, |p| async move {
            (p.key.clone(), roles_dc_one(api, &p.key, user).await)
        })
        .await;
    answers.into_iter().collect()
}

async fn roles_dc_one(api: &Api, key: &str, user: &Myself) -> Fetched<ProjectRoles> {
    // `{"Developers": "https://jira/rest/api/2/project/KEY/role/10001", ...}`
    let links: BTreeMap<String, String> = api.get(&format!("/project/{key}/role")).await?;
    let ids: Vec<i64> = links
        .values()
        .filter_map(|url| url.rsplit('/').next().and_then(|id| id.parse().ok()))
        .collect();
    let roles = futures::future::try_join_all(ids.iter().map(|id| {
        let path = format!("/project/{key}/role/{id}");
        async move { api.get::<RoleWithActors>(&path).await }
    }))
    .await?;
    let name = user.name.clone().unwrap_or_default();
    let groups: BTreeSet<&str> = user.groups.items.iter().map(|g| g.name.as_str()).collect();
    let mut facts = ProjectRoles::default();
    let mut available = BTreeMap::new();
    for role in roles {
        let held = role.actors.iter().any(|a| match a.kind.as_str() {
            "atlassian-user-role-actor" => a.name == name,
            "atlassian-group-role-actor" => groups.contains(a.name.as_str()),
            _ => false,
        });
        if held {
            facts.member.insert(role.id);
        }
        available.insert(role.id, role.name);
    }
    facts.available = Arc::new(available);
    Ok(facts)
}

/// The levels the user may set are compared only with a scheme's levels: a project without a
/// scheme, or whose scheme cannot be read, is decided without them, so they are not asked for.
async fn security_dc(api: &Api, projects: &[Project]) -> BTreeMap<String, DcProjectSecurity> {
    let answers = api
        .bounded(projects, |p| async move {
            let scheme_path = format!("/project/{}/issuesecuritylevelscheme", p.key);
            let visible_path = format!("/project/{}/securitylevel", p.key);
            let scheme = api.get::<SecurityScheme>(&scheme_path).await;
            let visible = match &scheme {
                Ok(_) => api.get::<SecurityLevelList>(&visible_path).await,
                Err(_) => Ok(SecurityLevelList::default()),
            };
            let scheme = match scheme {
                Ok(s) => Ok(Some(s)),
                Err(e) => {
                    let failed = Failed::from(e);
                    // Jira answers 404 when the project has no issue security scheme.
                    if failed.status == Some(404) {
                        Ok(None)
                    } else {
                        Err(failed)
                    }
                }
            };
            (
                p.key.clone(),
                DcProjectSecurity {
                    scheme,
                    visible: visible.map(|l| l.levels).map_err(Failed::from),
                },
            )
        })
        .await;
    answers.into_iter().collect()
}

/// Every worklog id (`GET /worklog/updated?since=0`, following `nextPage`), then their
/// restrictions (`POST /worklog/list`, 1000 ids a call). Returns how many worklogs were read and
/// the restriction of each restricted one. Ids are deduplicated, a page that adds no new id ends
/// the walk, and more pages than the audit's page limit is an error.
async fn worklog_restrictions(api: &Api) -> Result<(usize, Vec<Visibility>), Failed> {
    let mut ids = Vec::new();
    let mut seen = BTreeSet::new();
    let mut page: ChangedWorklogs = api.get("/worklog/updated?since=0").await?;
    let mut pages = 1;
    loop {
        let before = ids.len();
        ids.extend(
            page.values
                .iter()
                .map(|w| w.worklog_id)
                .filter(|id| seen.insert(*id)),
        );
        let advanced = ids.len() > before;
        match (&page.next_page, page.last_page) {
            (Some(next), Some(false) | None) if advanced => {
                if pages >= api.max_pages() {
                    return Err(api.too_many(
                        format!(
                            "GET {}/worklog/updated",
                            api.client().deployment().rest_prefix()
                        ),
                        pages,
                        ids.len(),
                    ));
                }
                let next = next.clone();
                page = api.get_absolute(&next).await?;
                pages += 1;
            }
            _ => break,
        }
    }
    let chunks: Vec<Vec<i64>> = ids.chunks(BULK_WORKLOGS).map(<[i64]>::to_vec).collect();
    let lists = api
        .bounded(chunks, |chunk| async move {
            api.post::<Vec<Worklog>>("/worklog/list", &serde_json::json!({ "ids": chunk }))
                .await
        })
        .await;
    let mut restrictions = Vec::new();
    for list in lists {
        restrictions.extend(list?.into_iter().filter_map(|w| w.visibility));
    }
    Ok((ids.len(), restrictions))
}

/// Every item of `path` for the schemes `scheme_ids`, asked [`SCHEMES_PER_REQUEST`] scheme ids
/// at a time; no request when there are none.
async fn per_scheme<T>(api: &Api, path: &str, scheme_ids: &[String]) -> Fetched<Listed<T>>
where
    T: serde::de::DeserializeOwned + Keyed,
{
    let chunks: Vec<String> = scheme_ids
        .chunks(SCHEMES_PER_REQUEST)
        .map(|chunk| {
            let query: Vec<String> = chunk.iter().map(|id| format!("schemeId={id}")).collect();
            format!("{path}?{}", query.join("&"))
        })
        .collect();
    let lists = join_all(chunks.iter().map(|p| api.paged::<T>(p, SECURITY_PAGE))).await;
    let mut all = Listed {
        items: Vec::new(),
        incomplete: None,
    };
    for list in lists {
        let list = list?;
        all.items.extend(list.items);
        all.incomplete = all.incomplete.or(list.incomplete);
    }
    Ok(all)
}

/// `items` without repeats (by [`Keyed::key`], as paged lists are), as a complete listing.
fn unique<T: Keyed>(items: Vec<T>) -> Listed<T> {
    let mut seen = BTreeSet::new();
    Listed {
        items: items.into_iter().filter(|i| seen.insert(i.key())).collect(),
        incomplete: None,
    }
}
