//! `global.administer` and `product.access`: the two global permissions a connector needs.

use super::{Ctx, errored};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;

pub(crate) fn administer(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::GlobalAdminister;
    let evidence = match ctx.deployment {
        Deployment::Cloud => format!("GET {}/mypermissions?permissions=ADMINISTER", ctx.rest()),
        Deployment::DataCenter => format!("GET {}/mypermissions", ctx.rest()),
    };
    match &ctx.facts.global {
        None => CheckResult::new(id, Status::Skipped, "not read"),
        Some(Err(e)) => errored(id, "the user's global permissions", e),
        Some(Ok(perms)) if !perms.permissions.contains_key("ADMINISTER") => {
            unanswered(id, &evidence, "ADMINISTER")
        }
        Some(Ok(perms)) if perms.has("ADMINISTER") => CheckResult::new(
            id,
            Status::Pass,
            "the user holds the Jira Administrators global permission (ADMINISTER)",
        )
        .evidence(format!("{evidence}: havePermission true"))
        .covered(1, 1, "global permission"),
        Some(Ok(_)) => CheckResult::new(
            id,
            Status::Fail,
            "the user does not hold the Jira Administrators global permission (ADMINISTER); it cannot read users, groups, all projects and project roles",
        )
        .evidence(format!("{evidence}: havePermission false"))
        .covered(0, 1, "global permission")
        .fix(
            "add the user to a group that holds Jira Administrators (Jira settings → System → Global permissions)",
        ),
    }
}

/// Jira answered without the permission asked for: nothing was verified.
fn unanswered(id: CheckId, evidence: &str, key: &str) -> CheckResult {
    CheckResult::new(
        id,
        Status::Error,
        format!("Jira's answer does not mention {key}, so it was not verified"),
    )
    .evidence(format!("{evidence}: no `{key}` in `permissions`"))
    .covered(0, 1, "global permission")
    .fix("run the audit again with `-vv` to see the answer; a proxy may be rewriting it")
}

pub(crate) fn product(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::ProductAccess;
    let roles: Vec<String> = ctx
        .user
        .application_roles
        .items
        .iter()
        .map(|r| r.key.clone())
        .collect();
    let roles_line = if roles.is_empty() {
        "application roles: none".to_owned()
    } else {
        format!("application roles: {}", roles.join(", "))
    };
    match ctx.deployment {
        Deployment::Cloud => {
            let jira: Vec<&String> = roles.iter().filter(|k| k.starts_with("jira-")).collect();
            let evidence = format!("GET {}/myself?expand=groups,applicationRoles", ctx.rest());
            if jira.is_empty() {
                CheckResult::new(
                    id,
                    Status::Fail,
                    "the user has no Jira application role, so it cannot use Jira",
                )
                .evidence(evidence)
                .evidence(roles_line)
                .covered(0, 1, "Jira application role")
                .fix("give one of the user's groups Jira product access (admin.atlassian.com → Products → Jira → Product access)")
            } else {
                CheckResult::new(
                    id,
                    Status::Pass,
                    format!(
                        "the user has Jira product access ({})",
                        jira.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .evidence(evidence)
                .evidence(roles_line)
                .covered(1, 1, "Jira application role")
            }
        }
        Deployment::DataCenter => {
            let evidence = format!("GET {}/mypermissions", ctx.rest());
            match &ctx.facts.global {
                None => CheckResult::new(id, Status::Skipped, "not read"),
                Some(Err(e)) => errored(id, "the user's global permissions", e),
                Some(Ok(perms)) if !perms.permissions.contains_key("USE") => {
                    unanswered(id, &evidence, "USE")
                }
                Some(Ok(perms)) if perms.has("USE") => CheckResult::new(
                    id,
                    Status::Pass,
                    "the user holds Jira Users (USE): it has application access",
                )
                .evidence(format!("{evidence}: USE havePermission true"))
                .evidence(roles_line)
                .covered(1, 1, "global permission"),
                Some(Ok(_)) => CheckResult::new(
                    id,
                    Status::Fail,
                    "the user lacks Jira Users (USE): it has no application access, so server info and server time fail too",
                )
                .evidence(format!("{evidence}: USE havePermission false"))
                .evidence(roles_line)
                .covered(0, 1, "global permission")
                .fix("give one of the user's groups access to a Jira application (Administration → Applications → Application access)"),
            }
        }
    }
}
