//! `visibility.roles`: every project role in every project, so comments and worklogs
//! restricted to a role are visible.

use super::{Ctx, count, errored, short_list};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;
use std::collections::BTreeSet;

/// Said in every result: the other half of visibility restrictions cannot be checked.
pub(crate) const GROUPS_NOTE: &str = "comments and worklogs can also be restricted to groups; which groups are used cannot be listed through the REST API, so make sure the user is in every group used that way";

pub(crate) fn decide(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::VisibilityRoles;
    let projects = match &ctx.facts.projects {
        None => return CheckResult::new(id, Status::Skipped, "not read"),
        Some(Err(e)) => return errored(id, "the project list", e),
        Some(Ok(p)) => p,
    };
    let mut missing = Vec::new();
    let mut short_projects = BTreeSet::new();
    let mut failed = Vec::new();
    let mut roles_seen = BTreeSet::new();
    for p in projects {
        match ctx.facts.roles.get(&p.key) {
            Some(Ok(roles)) => {
                for (role_id, name) in roles.available.iter() {
                    roles_seen.insert(*role_id);
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
    if !missing.is_empty() {
        return CheckResult::new(
            id,
            Status::Fail,
            format!(
                "the user lacks {} in {} of {}; comments and worklogs restricted to those roles stay hidden",
                count(missing.len(), "role membership"),
                short_projects.len(),
                count(projects.len(), "project"),
            ),
        )
        .evidence(how)
        .evidence(GROUPS_NOTE)
        .findings(missing)
        .fix("add the user (or one of its groups) to every project role of each listed project (Project settings → People), or to the default members of each role (Jira settings → System → Project roles)");
    }
    if let Some((key, e)) = failed.first() {
        let mut result = errored(id, &format!("the roles of project {key}"), e);
        let keys: Vec<String> = failed.iter().map(|(k, _)| k.clone()).collect();
        result.summary = format!(
            "could not read role membership in {}: {}",
            count(failed.len(), "project"),
            short_list(&keys, 10)
        );
        return result.evidence(how).findings(keys);
    }
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
    .evidence(GROUPS_NOTE)
}
