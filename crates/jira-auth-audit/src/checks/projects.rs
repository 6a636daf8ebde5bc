//! `projects.browse`: Browse Projects in every project.

use super::{Ctx, INCOMPLETE_FIX, count, errored, short_list};
use crate::gather::{BULK_PROJECTS, PROJECT_PAGE};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;

pub(crate) fn decide(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::ProjectsBrowse;
    let projects = match &ctx.facts.projects {
        None => return CheckResult::new(id, Status::Skipped, "not read"),
        Some(Err(e)) => return errored(id, "the project list", e),
        Some(Ok(p)) => p,
    };
    let incomplete = projects.incomplete.clone();
    let projects = &projects.items;
    let total = projects.len();
    let mut denied = Vec::new();
    let mut failed = Vec::new();
    for p in projects {
        match ctx.facts.browse.get(&p.key) {
            Some(Ok(true)) => {}
            Some(Ok(false)) => denied.push(p.key.clone()),
            Some(Err(e)) => failed.push((p.key.clone(), e)),
            None => {}
        }
    }
    let listed = match ctx.deployment {
        Deployment::Cloud => format!(
            "listed {} with GET {}/project/search?action=view ({} of {PROJECT_PAGE}); checked with POST {}/permissions/check ({} of up to {BULK_PROJECTS} projects)",
            count(total, "project"),
            ctx.rest(),
            count(total.div_ceil(PROJECT_PAGE).max(1), "page"),
            ctx.rest(),
            count(total.div_ceil(BULK_PROJECTS), "call"),
        ),
        Deployment::DataCenter => format!(
            "listed {} with GET {}/project; checked with GET {}/mypermissions?projectKey=KEY per project",
            count(total, "project"),
            ctx.rest(),
            ctx.rest(),
        ),
    };
    let browsable = total - denied.len() - failed.len();
    let finish = |r: CheckResult| {
        let r = r
            .evidence(listed.clone())
            .covered(browsable, total, "project");
        match &incomplete {
            Some(why) => r.evidence(why.clone()),
            None => r,
        }
    };
    if !denied.is_empty() {
        return finish(CheckResult::new(
            id,
            Status::Fail,
            format!(
                "the user cannot browse {} of {}: {}",
                denied.len(),
                count(total, "project"),
                short_list(&denied, 10)
            ),
        )
        .findings(denied)
        .fix("grant Browse Projects to one of the user's groups in the permission scheme of each listed project (Project settings → Permissions)"));
    }
    if let Some((key, e)) = failed.first() {
        let mut result = errored(id, &format!("the permissions of project {key}"), e);
        result.summary = format!(
            "could not read Browse Projects for {}",
            count(failed.len(), "project")
        );
        return finish(result.findings(failed.iter().map(|(k, _)| k.clone()).collect()));
    }
    if incomplete.is_some() {
        return finish(
            CheckResult::new(
                id,
                Status::Warn,
                format!(
                    "the user can browse all {} listed, but Jira stopped the project list short, so some projects were not checked",
                    count(total, "project")
                ),
            )
            .fix(INCOMPLETE_FIX),
        );
    }
    if total == 0 {
        return finish(
            CheckResult::new(
                id,
                Status::Warn,
                "Jira listed no project for the user, so nothing was verified",
            )
            .fix("grant Browse Projects (or Jira Administrators, see `global.administer`) and run the audit again; a site with no project has nothing to index"),
        );
    }
    let admin_known_missing = matches!(&ctx.facts.global, Some(Ok(p)) if !p.has("ADMINISTER"));
    if admin_known_missing {
        return finish(CheckResult::new(
            id,
            Status::Warn,
            format!(
                "the user can browse all {} it can see, but without Jira Administrators the projects it cannot browse are not even listed",
                count(total, "project")
            ),
        )
        .fix("grant the Jira Administrators global permission (see `global.administer`) and run the audit again"));
    }
    finish(CheckResult::new(
        id,
        Status::Pass,
        format!("the user can browse all {}", count(total, "project")),
    ))
}
