//! `visibility.roles`: every project role in every project, so comments and worklogs
//! restricted to a role are visible.

use super::{Ctx, INCOMPLETE_FIX, count, errored, short_list};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;
use std::collections::{BTreeMap, BTreeSet};

/// Said in every result: the other half of visibility restrictions cannot be checked.
pub(crate) const GROUPS_NOTE: &str = "comments and worklogs can also be restricted to groups; which groups are used cannot be listed through the REST API, so make sure the user is in every group used that way";

pub(crate) fn decide(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::VisibilityRoles;
    let projects = match &ctx.facts.projects {
        None => return CheckResult::new(id, Status::Skipped, "not read"),
        Some(Err(e)) => return errored(id, "the project list", e),
        Some(Ok(p)) => p,
    };
    let incomplete = projects.incomplete.clone();
    let projects = &projects.items;
    let mut missing = Vec::new();
    let mut pairs = 0;
    let mut short_projects = BTreeSet::new();
    let mut failed = Vec::new();
    let mut roles_seen = BTreeSet::new();
    for p in projects {
        match ctx.facts.roles.get(&p.key) {
            Some(Ok(roles)) => {
                for (role_id, name) in roles.available.iter() {
                    roles_seen.insert(*role_id);
                    pairs += 1;
                    if !roles.member.contains(role_id) {
                        missing.push(format!("{}: {name}", p.key));
                        short_projects.insert(p.key.clone());
                    }
                }
            }
            Some(Err(e)) => failed.push((p.key.clone(), e)),
            None => {}
        }
    }
    let how = match ctx.deployment {
        Deployment::Cloud => format!(
            "GET {0}/role, then GET {0}/project/KEY/roledetails?currentMember=true per project",
            ctx.rest()
        ),
        Deployment::DataCenter => format!(
            "GET {0}/project/KEY/role, then GET {0}/project/KEY/role/ID per role (actors matched against the user and its groups)",
            ctx.rest()
        ),
    };
    // `--deep`: the restrictions actually used by worklogs.
    let mut deep_evidence = None;
    let mut hidden_groups = Vec::new();
    let mut deep_failed = None;
    match &ctx.facts.worklogs {
        None => {}
        Some(Err(e)) => deep_failed = Some(e),
        Some(Ok((scanned, restrictions))) => {
            let keys = super::security::UserKeys::of(ctx.user);
            let mut used: BTreeMap<(String, String), usize> = BTreeMap::new();
            for v in restrictions {
                let name = v
                    .value
                    .clone()
                    .or_else(|| v.identifier.clone())
                    .unwrap_or_default();
                *used.entry((v.kind.clone(), name)).or_default() += 1;
                if v.kind == "group" {
                    let member = [&v.value, &v.identifier]
                        .into_iter()
                        .flatten()
                        .any(|g| keys.groups.contains(g));
                    if !member {
                        let label = format!(
                            "worklogs restricted to group {}",
                            v.value
                                .clone()
                                .or_else(|| v.identifier.clone())
                                .unwrap_or_default()
                        );
                        if !hidden_groups.contains(&label) {
                            hidden_groups.push(label);
                        }
                    }
                }
            }
            let list: Vec<String> = used
                .iter()
                .map(|((kind, name), n)| format!("{kind} {name} ({n})"))
                .collect();
            deep_evidence = Some(format!(
                "--deep: scanned {0} with GET {1}/worklog/updated and POST {1}/worklog/list; restrictions in use: {2}",
                count(*scanned, "worklog"),
                ctx.rest(),
                if list.is_empty() {
                    "none".to_owned()
                } else {
                    list.join(", ")
                }
            ));
        }
    }
    let judged = projects.len() - failed.len();
    let add_deep = |mut r: CheckResult| {
        r = r
            .covered(pairs - missing.len(), pairs, "project role membership")
            .covered(judged, projects.len(), "project");
        if let Some(why) = &incomplete {
            r = r.evidence(why.clone());
        }
        if let Some(e) = &deep_evidence {
            r = r.evidence(e.clone());
        }
        if let Some(f) = deep_failed {
            r = r.evidence(format!("--deep: could not scan worklogs: {}", f.message));
        }
        r
    };
    if !missing.is_empty() || !hidden_groups.is_empty() {
        let groups_fix = if hidden_groups.is_empty() {
            ""
        } else {
            "; add the user to every group named in worklog restrictions"
        };
        let summary = if missing.is_empty() {
            format!(
                "the user is not in {} used to restrict worklogs; those worklogs stay hidden",
                count(hidden_groups.len(), "group")
            )
        } else {
            format!(
                "the user lacks {} in {} of {}; comments and worklogs restricted to those roles stay hidden",
                count(missing.len(), "role membership"),
                short_projects.len(),
                count(projects.len(), "project"),
            )
        };
        let mut findings = missing.clone();
        findings.extend(hidden_groups);
        return add_deep(
            CheckResult::new(id, Status::Fail, summary)
                .evidence(how)
                .evidence(GROUPS_NOTE)
                .findings(findings)
                .fix(format!("add the user (or one of its groups) to every project role of each listed project (Project settings → People), or to the default members of each role (Jira settings → System → Project roles){groups_fix}")),
        );
    }
    if let Some((key, e)) = failed.first() {
        let mut result = errored(id, &format!("the roles of project {key}"), e);
        let keys: Vec<String> = failed.iter().map(|(k, _)| k.clone()).collect();
        result.summary = format!(
            "could not read role membership in {}: {}",
            count(failed.len(), "project"),
            short_list(&keys, 10)
        );
        return add_deep(result.evidence(how).findings(keys));
    }
    if let Some(e) = deep_failed {
        return errored(id, "the worklogs (`--deep`)", e).evidence(how);
    }
    if projects.is_empty() || roles_seen.is_empty() {
        let what = if projects.is_empty() {
            "Jira listed no project"
        } else {
            "Jira listed no project role in any project"
        };
        return add_deep(
            CheckResult::new(id, Status::Warn, format!("{what}, so no role membership was verified"))
                .evidence(how)
                .evidence(GROUPS_NOTE)
                .fix("check that the user can browse projects (see `projects.browse`) and may read project roles, then run the audit again"),
        );
    }
    if incomplete.is_some() {
        return add_deep(
            CheckResult::new(
                id,
                Status::Warn,
                format!(
                    "the user holds all {} in the {} listed, but Jira stopped the project list short, so some projects were not checked",
                    count(roles_seen.len(), "project role"),
                    count(projects.len(), "project")
                ),
            )
            .evidence(how)
            .fix(INCOMPLETE_FIX),
        );
    }
    add_deep(
        CheckResult::new(
            id,
            Status::Pass,
            format!(
                "the user holds all {} in all {}",
                count(roles_seen.len(), "project role"),
                count(projects.len(), "project")
            ),
        )
        .evidence(how)
        .evidence(GROUPS_NOTE),
    )
}
