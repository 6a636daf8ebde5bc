//! The decisions: pure functions from [`Facts`] to [`CheckResult`]s. No I/O here, so every
//! rule is unit-tested with data.

pub(crate) mod access;
pub(crate) mod projects;
pub(crate) mod roles;
pub(crate) mod scopes;
pub(crate) mod security;
pub(crate) mod server;

use crate::AuditOptions;
use crate::gather::{Facts, Failed};
use crate::model::Myself;
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::Category;
use jira_auth_core::jira::Deployment;

/// Everything a decision may look at.
#[derive(Debug)]
pub(crate) struct Ctx<'a> {
    pub deployment: Deployment,
    pub user: &'a Myself,
    pub facts: &'a Facts,
    pub options: &'a AuditOptions,
}

impl Ctx<'_> {
    /// `/rest/api/3` or `/rest/api/2`, for evidence lines.
    pub fn rest(&self) -> &'static str {
        self.deployment.rest_prefix()
    }
}

pub(crate) fn decide(id: CheckId, ctx: &Ctx<'_>) -> CheckResult {
    match id {
        CheckId::Scopes => scopes::decide(ctx),
        CheckId::GlobalAdminister => access::administer(ctx),
        CheckId::ProductAccess => access::product(ctx),
        CheckId::ProjectsBrowse => projects::decide(ctx),
        CheckId::SecurityLevels => security::decide(ctx),
        CheckId::VisibilityRoles => roles::decide(ctx),
        CheckId::ServerInfo => server::decide(ctx),
    }
}

/// What to do when Jira stopped a list short (a page that added nothing new).
pub(crate) const INCOMPLETE_FIX: &str =
    "run the audit again; if it persists, a proxy or Jira is repeating pages (see the evidence)";

/// The `error` result for a check whose input could not be read.
pub(crate) fn errored(id: CheckId, what: &str, failed: &Failed) -> CheckResult {
    let fix = match (failed.status, failed.category) {
        (Some(401), _) => {
            "Jira refused the credential: check it, or log in again (`jira-auth cloud login` / `jira-auth server login`)".to_owned()
        }
        (Some(403), _) => format!(
            "the user may not read {what}: this usually needs the Jira Administrators global permission (see `global.administer`)"
        ),
        (Some(404), _) => {
            "Jira does not know this endpoint: check the URL (context path) and `--deployment`"
                .to_owned()
        }
        (_, Category::Network) => {
            "the network or Jira failed: check connectivity and run the audit again".to_owned()
        }
        _ => "run the audit again with `-vv` to see the requests".to_owned(),
    };
    CheckResult::new(id, Status::Error, format!("could not read {what}"))
        .evidence(failed.message.clone())
        .fix(fix)
}

/// `A, B, C` or `A, B, … and 12 more` for summaries; findings keep the full list.
pub(crate) fn short_list(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!(
        "{}, … and {} more",
        items[..max].join(", "),
        items.len() - max
    )
}

/// `1 project` / `2 projects`.
pub(crate) use jira_auth_core::plural::count;
