//! `security.levels`: the user is a member of every level of every issue security scheme.
//!
//! Cloud reads the schemes in use, their levels and the members of every level, and resolves
//! each holder against the user; team-managed projects have no scheme and are reported as not
//! covered. Data Center has no endpoint for level members: it compares the levels of each
//! project's scheme with the levels the user may set there, and says the check is partial.

use super::{Ctx, INCOMPLETE_FIX, count, errored, short_list};
use crate::gather::{CloudSecurity, Facts, SECURITY_PAGE};
use crate::model::{Holder, LevelMember, SchemeWithProjects, SecurityLevel};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;
use std::collections::{BTreeMap, BTreeSet};

/// Why holders that name a person per issue give no blanket access.
const PER_ISSUE: &[(&str, &str)] = &[
    ("reporter", "only the issue's reporter"),
    ("reporterCreate", "only the issue's reporter"),
    ("assignee", "only the issue's assignee"),
    ("projectLead", "only the project lead"),
    (
        "userCustomField",
        "only users named in a field of the issue",
    ),
    (
        "groupCustomField",
        "only groups named in a field of the issue",
    ),
];

/// How one holder relates to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Grant {
    /// Grants the user access in every project.
    Everywhere,
    /// Grants access where the user holds this project role.
    Role(i64),
    /// Names someone else, or a group the user is not in.
    Other,
    /// Grants access per issue only (reporter, assignee, …): not counted.
    PerIssue(&'static str),
}

pub(crate) fn classify(holder: &Holder, ctx_user: &UserKeys) -> Grant {
    let value = holder.value.as_deref().unwrap_or("");
    let parameter = holder.parameter.as_deref().unwrap_or("");
    match holder.kind.as_str() {
        "anyone" => Grant::Everywhere,
        "user" if ctx_user.ids.contains(value) || ctx_user.ids.contains(parameter) => {
            Grant::Everywhere
        }
        "group" if ctx_user.groups.contains(value) || ctx_user.groups.contains(parameter) => {
            Grant::Everywhere
        }
        // An application role holder without a value means "any logged-in user with access".
        "applicationRole"
            if (value.is_empty() && parameter.is_empty() && !ctx_user.app_roles.is_empty())
                || ctx_user.app_roles.contains(value)
                || ctx_user.app_roles.contains(parameter) =>
        {
            Grant::Everywhere
        }
        "projectRole" => value
            .parse()
            .or_else(|_| parameter.parse())
            .map(Grant::Role)
            .unwrap_or(Grant::Other),
        kind => PER_ISSUE
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, why)| Grant::PerIssue(why))
            .unwrap_or(Grant::Other),
    }
}

/// The identifiers the user is known by.
#[derive(Debug, Default)]
pub(crate) struct UserKeys {
    pub ids: BTreeSet<String>,
    pub groups: BTreeSet<String>,
    pub app_roles: BTreeSet<String>,
}

impl UserKeys {
    pub(crate) fn of(user: &crate::model::Myself) -> Self {
        let mut keys = UserKeys::default();
        keys.ids.extend(
            [&user.account_id, &user.key, &user.name]
                .into_iter()
                .flatten()
                .cloned(),
        );
        for g in &user.groups.items {
            keys.groups.insert(g.name.clone());
            keys.groups.extend(g.group_id.clone());
        }
        keys.app_roles
            .extend(user.application_roles.items.iter().map(|r| r.key.clone()));
        keys
    }
}

fn holder_label(h: &Holder) -> String {
    match h.parameter.as_deref().or(h.value.as_deref()) {
        Some(p) if !p.is_empty() => format!("{} {p}", h.kind),
        _ => h.kind.clone(),
    }
}

/// What one level needs, Cloud side.
#[derive(Default)]
struct LevelNeeds {
    everywhere: bool,
    roles: BTreeSet<i64>,
    per_issue: BTreeSet<String>,
    others: Vec<String>,
}

fn level_needs(members: &[LevelMember], keys: &UserKeys) -> BTreeMap<String, LevelNeeds> {
    let mut out: BTreeMap<String, LevelNeeds> = BTreeMap::new();
    for m in members {
        let needs = out.entry(m.issue_security_level_id.text()).or_default();
        match classify(&m.holder, keys) {
            Grant::Everywhere => needs.everywhere = true,
            Grant::Role(r) => {
                needs.roles.insert(r);
            }
            Grant::PerIssue(_) => {
                needs.per_issue.insert(m.holder.kind.clone());
            }
            Grant::Other => needs.others.push(holder_label(&m.holder)),
        }
    }
    out
}

/// The ids of projects whose role membership the Cloud decision needs: those using a scheme
/// with a level held by a project role.
pub(crate) fn projects_needing_roles(facts: &Facts) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(CloudSecurity {
        schemes: Ok(schemes),
        levels: Ok(levels),
        members: Ok(members),
    }) = &facts.cloud_security
    else {
        return out;
    };
    let scheme_of: BTreeMap<String, String> = levels
        .items
        .iter()
        .filter_map(|l| Some((l.id.text(), l.issue_security_scheme_id.as_ref()?.text())))
        .collect();
    let schemes_with_roles: BTreeSet<String> = members
        .items
        .iter()
        .filter(|m| m.holder.kind == "projectRole")
        .filter_map(|m| {
            m.issue_security_scheme_id
                .as_ref()
                .map(|s| s.text())
                .or_else(|| scheme_of.get(&m.issue_security_level_id.text()).cloned())
        })
        .collect();
    for s in &schemes.items {
        if schemes_with_roles.contains(&s.id.text()) {
            out.extend(s.project_ids.iter().map(|id| id.to_string()));
        }
    }
    out
}

pub(crate) fn decide(ctx: &Ctx<'_>) -> CheckResult {
    match ctx.deployment {
        Deployment::Cloud => cloud(ctx),
        Deployment::DataCenter => data_center(ctx),
    }
}

/// Why a team-managed project is not covered.
const TEAM_MANAGED: &str = "team-managed: it has no issue security scheme, and its issue restrictions are not exposed by the REST API";

fn cloud(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::SecurityLevels;
    let Some(sec) = &ctx.facts.cloud_security else {
        return CheckResult::new(id, Status::Skipped, "not read");
    };
    let schemes = match &sec.schemes {
        Ok(s) => s,
        Err(e) => {
            return errored(
                id,
                "the issue security schemes and the projects using them",
                e,
            );
        }
    };
    let levels = match &sec.levels {
        Ok(l) => l,
        Err(e) => return errored(id, "the issue security levels", e),
    };
    let members = match &sec.members {
        Ok(m) => m,
        Err(e) => return errored(id, "the members of the issue security levels", e),
    };
    let how = format!(
        "GET {0}/issuesecurityschemes/search (schemes and their projects), then GET {0}/issuesecurityschemes/level and GET {0}/issuesecurityschemes/level/member for the schemes in use (pages of {SECURITY_PAGE})",
        ctx.rest()
    );
    let listed = match &ctx.facts.projects {
        Some(Ok(p)) => Some(p),
        _ => None,
    };
    let key_of: BTreeMap<String, String> = listed
        .map(|p| {
            p.items
                .iter()
                .map(|p| (p.id.text(), p.key.clone()))
                .collect()
        })
        .unwrap_or_default();
    let team_managed: Vec<String> = listed
        .map(|p| {
            p.items
                .iter()
                .filter(|p| p.team_managed())
                .map(|p| format!("{} ({TEAM_MANAGED})", p.key))
                .collect()
        })
        .unwrap_or_default();
    let used: Vec<&SchemeWithProjects> = schemes
        .items
        .iter()
        .filter(|s| !s.project_ids.is_empty())
        .collect();
    let unused = schemes.items.len() - used.len();

    let keys = UserKeys::of(ctx.user);
    let needs = level_needs(&members.items, &keys);
    let mut levels_of: BTreeMap<String, Vec<&SecurityLevel>> = BTreeMap::new();
    let mut unattributed = Vec::new();
    for level in &levels.items {
        match &level.issue_security_scheme_id {
            Some(s) => levels_of.entry(s.text()).or_default().push(level),
            None => unattributed.push(level),
        }
    }

    let mut total_levels = 0;
    let mut findings = Vec::new();
    let mut per_issue_seen = BTreeSet::new();
    let mut role_errors = BTreeSet::new();
    let mut judge = |name: String, level: &SecurityLevel, projects: &[String]| {
        total_levels += 1;
        let Some(n) = needs.get(&level.id.text()) else {
            findings.push(format!("{name}: the level has no members"));
            return;
        };
        per_issue_seen.extend(n.per_issue.iter().cloned());
        if n.everywhere {
            return;
        }
        if !n.roles.is_empty() && !projects.is_empty() {
            let mut lacking = Vec::new();
            for key in projects {
                match ctx.facts.roles.get(key) {
                    Some(Ok(r)) if r.member.iter().any(|id| n.roles.contains(id)) => {}
                    Some(Err(_)) | None => {
                        role_errors.insert(key.clone());
                    }
                    Some(Ok(_)) => lacking.push(key.clone()),
                }
            }
            if !lacking.is_empty() {
                findings.push(format!(
                    "{name}: not in the level's project roles in {}",
                    short_list(&lacking, 10)
                ));
            }
            return;
        }
        let mut held_by: Vec<String> = n.per_issue.iter().cloned().collect();
        held_by.extend(n.others.iter().cloned());
        if !n.roles.is_empty() {
            held_by.push("project roles (no project of the scheme could be named)".to_owned());
        }
        if n.others.is_empty() && !n.per_issue.is_empty() && n.roles.is_empty() {
            findings.push(format!(
                "{name}: held only by {} (per-issue holders give no blanket access)",
                held_by.join(", ")
            ));
        } else {
            findings.push(format!(
                "{name}: the user is not among its holders ({})",
                held_by.join(", ")
            ));
        }
    };
    for scheme in &used {
        let projects: Vec<String> = scheme
            .project_ids
            .iter()
            .map(|id| {
                key_of
                    .get(&id.to_string())
                    .cloned()
                    .unwrap_or_else(|| id.to_string())
            })
            .collect();
        for level in levels_of.get(&scheme.id.text()).into_iter().flatten() {
            judge(
                format!("{} / {}", scheme.name, level.name),
                level,
                &projects,
            );
        }
    }
    // A level the server did not attribute to a scheme is judged without project roles.
    for level in unattributed {
        judge(format!("(unknown scheme) / {}", level.name), level, &[]);
    }

    let incomplete: Vec<String> = [
        listed.and_then(|p| p.incomplete.clone()),
        schemes.incomplete.clone(),
        levels.incomplete.clone(),
        members.incomplete.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    let verified_levels = total_levels - findings.len().min(total_levels);
    let project_total = listed.map_or(0, |p| p.items.len());
    let scope = format!(
        "{} in {} in use",
        count(total_levels, "security level"),
        count(used.len(), "scheme")
    );
    let mut result = if !findings.is_empty() {
        CheckResult::new(
            id,
            Status::Fail,
            format!(
                "the user is missing from {} of {scope}; issues at those levels stay hidden",
                findings.len(),
            ),
        )
        .findings(findings)
        .fix("add one of the user's groups to each listed level (Jira settings → Issues → Issue security schemes → Security levels)")
    } else if !role_errors.is_empty() {
        let keys: Vec<String> = role_errors.into_iter().collect();
        CheckResult::new(
            id,
            Status::Error,
            format!(
                "could not read the user's project roles in {}, which some levels are granted to",
                count(keys.len(), "project")
            ),
        )
        .findings(keys)
        .fix("see `visibility.roles` for why the project roles could not be read")
    } else if !incomplete.is_empty() {
        CheckResult::new(
            id,
            Status::Warn,
            format!(
                "the user is a member of all {scope} that were listed, but Jira stopped a list short, so some levels may not have been checked"
            ),
        )
        .fix(INCOMPLETE_FIX)
    } else if !used.is_empty() && total_levels == 0 {
        CheckResult::new(
            id,
            Status::Warn,
            format!(
                "Jira listed no security level in the {} in use, so nothing was verified",
                count(used.len(), "issue security scheme")
            ),
        )
        .fix("check that the user may read the issue security schemes (Jira Administrators, see `global.administer`), then run the audit again")
    } else if schemes.items.is_empty() {
        CheckResult::new(
            id,
            Status::Pass,
            "the site has no issue security schemes, so no level hides issues",
        )
    } else if used.is_empty() {
        CheckResult::new(
            id,
            Status::Pass,
            format!(
                "no project uses any of the {}, so no level hides issues",
                count(schemes.items.len(), "issue security scheme")
            ),
        )
    } else {
        CheckResult::new(
            id,
            Status::Pass,
            format!("the user is a member of all {scope}"),
        )
    };
    result = result
        .evidence(how)
        .covered(verified_levels, total_levels, "security level");
    if listed.is_some() {
        result = result.covered(project_total - team_managed.len(), project_total, "project");
    }
    for reason in incomplete {
        result = result.evidence(reason);
    }
    if unused > 0 {
        result = result.evidence(format!(
            "not checked: {} used by no project (no issue can carry their levels)",
            count(unused, "scheme")
        ));
    }
    if !per_issue_seen.is_empty() {
        let why: Vec<String> = PER_ISSUE
            .iter()
            .filter(|(k, _)| per_issue_seen.contains(*k))
            .map(|(k, why)| format!("{k} ({why})"))
            .collect();
        result = result.evidence(format!(
            "not counted, they grant access per issue only: {}",
            why.join(", ")
        ));
    }
    result.not_covered(team_managed)
}

fn data_center(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::SecurityLevels;
    let projects = match &ctx.facts.projects {
        None => return CheckResult::new(id, Status::Skipped, "not read"),
        Some(Err(e)) => return errored(id, "the project list", e),
        Some(Ok(p)) => &p.items,
    };
    let how = format!(
        "GET {0}/project/KEY/issuesecuritylevelscheme (all levels) vs GET {0}/project/KEY/securitylevel (levels the user may set) per project",
        ctx.rest()
    );
    let partial_note = "partial: Jira Data Center has no REST endpoint for level members, so membership is inferred from the levels the user may set, which also needs Set Issue Security";
    let mut missing = Vec::new();
    let mut unreadable = Vec::new();
    let mut failed = Vec::new();
    let mut levels = 0;
    let mut secured = 0;
    for p in projects {
        let Some(sec) = ctx.facts.dc_security.get(&p.key) else {
            continue;
        };
        let visible = match &sec.visible {
            Ok(v) => v,
            Err(e) => {
                failed.push((p.key.clone(), e.clone()));
                continue;
            }
        };
        match &sec.scheme {
            Ok(None) => {}
            Ok(Some(scheme)) => {
                secured += 1;
                let seen: BTreeSet<String> = visible.iter().map(|l| l.id.text()).collect();
                for level in &scheme.levels {
                    levels += 1;
                    if !seen.contains(&level.id.text()) {
                        missing.push(format!("{}: {} / {}", p.key, scheme.name, level.name));
                    }
                }
            }
            Err(_) => unreadable.push(p.key.clone()),
        }
    }
    let missing_count = missing.len();
    let judged = projects.len() - failed.len() - unreadable.len();
    let result = if !missing.is_empty() {
        CheckResult::new(
            id,
            Status::Warn,
            format!(
                "{} of {} in {} cannot be set by the user: it is probably not a member (or lacks Set Issue Security there)",
                missing.len(),
                count(levels, "security level"),
                count(secured, "project")
            ),
        )
        .findings(missing)
        .fix("add one of the user's groups to each listed level (Administration → Issues → Issue security schemes) and grant it Set Issue Security in the project's permission scheme")
    } else if !failed.is_empty() {
        let keys: Vec<String> = failed.iter().map(|(k, _)| k.clone()).collect();
        let mut r = errored(
            id,
            &format!("the security levels of {}", keys[0]),
            &failed[0].1,
        );
        r.summary = format!(
            "could not read the security levels of {}",
            count(keys.len(), "project")
        );
        r.findings(keys)
    } else if !unreadable.is_empty() {
        CheckResult::new(
            id,
            Status::Warn,
            format!(
                "the issue security scheme of {} cannot be read, so its levels cannot be compared",
                count(unreadable.len(), "project")
            ),
        )
        .findings(unreadable)
        .fix("grant the Jira Administrators global permission (see `global.administer`) and run the audit again")
    } else if projects.is_empty() {
        CheckResult::new(
            id,
            Status::Warn,
            "Jira listed no project, so no security level was verified",
        )
        .fix("check that the user can browse projects (see `projects.browse`) and run the audit again")
    } else if secured > 0 && levels == 0 {
        CheckResult::new(
            id,
            Status::Warn,
            format!(
                "the issue security schemes of {} list no level, so nothing was verified",
                count(secured, "project")
            ),
        )
        .fix("check that the user may read the issue security schemes (Jira Administrators, see `global.administer`), then run the audit again")
    } else {
        CheckResult::new(
            id,
            Status::Pass,
            format!(
                "the user may set all {} of the {} with an issue security scheme (Data Center lists no level members: nothing wrong found, not proved)",
                count(levels, "security level"),
                count(secured, "project")
            ),
        )
    };
    result
        .partial()
        .evidence(how)
        .evidence(partial_note)
        .covered(levels - missing_count, levels, "security level")
        .covered(judged, projects.len(), "project")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(kind: &str, value: &str) -> Holder {
        Holder {
            kind: kind.into(),
            parameter: None,
            value: (!value.is_empty()).then(|| value.to_owned()),
        }
    }

    #[test]
    fn holders_are_resolved_against_the_user() {
        let keys = UserKeys {
            ids: ["acc-1".to_owned()].into(),
            groups: ["jira-admins".to_owned(), "gid-1".to_owned()].into(),
            app_roles: ["jira-software".to_owned()].into(),
        };
        let cases = [
            (holder("user", "acc-1"), Grant::Everywhere),
            (holder("user", "acc-2"), Grant::Other),
            (holder("group", "gid-1"), Grant::Everywhere),
            (holder("group", "gid-2"), Grant::Other),
            (holder("applicationRole", ""), Grant::Everywhere),
            (holder("applicationRole", "jira-servicedesk"), Grant::Other),
            (holder("anyone", ""), Grant::Everywhere),
            (holder("projectRole", "10002"), Grant::Role(10002)),
            (
                holder("reporter", ""),
                Grant::PerIssue("only the issue's reporter"),
            ),
            (
                holder("assignee", ""),
                Grant::PerIssue("only the issue's assignee"),
            ),
            (
                holder("projectLead", ""),
                Grant::PerIssue("only the project lead"),
            ),
            (
                holder("groupCustomField", "customfield_1"),
                Grant::PerIssue("only groups named in a field of the issue"),
            ),
        ];
        for (h, want) in cases {
            assert_eq!(classify(&h, &keys), want, "{h:?}");
        }
        let mut by_name = holder("group", "gid-9");
        by_name.parameter = Some("jira-admins".into());
        assert_eq!(classify(&by_name, &keys), Grant::Everywhere);
    }
}
