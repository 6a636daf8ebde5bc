//! `scopes`: the OAuth 2.0 token carries every scope the preset needs.

use super::{Ctx, count};
use crate::report::{CheckId, CheckResult, Status};
use jira_auth_core::jira::Deployment;

/// Where app scopes are edited.
pub(crate) const CONSOLE: &str = "https://developer.atlassian.com/console/myapps/";

pub(crate) fn decide(ctx: &Ctx<'_>) -> CheckResult {
    let id = CheckId::Scopes;
    if ctx.deployment == Deployment::DataCenter {
        return CheckResult::new(
            id,
            Status::Skipped,
            "scopes apply to Jira Cloud OAuth 2.0 tokens only",
        );
    }
    let Some(granted) = &ctx.options.granted_scopes else {
        return CheckResult::new(
            id,
            Status::Skipped,
            "the credential is not an OAuth 2.0 (3LO) token; API tokens act with all of the user's permissions",
        );
    };
    let required = &ctx.options.required_scopes;
    if required.is_empty() {
        return CheckResult::new(
            id,
            Status::Skipped,
            format!("preset `{}` names no scopes", ctx.options.preset),
        );
    }
    let missing: Vec<String> = required
        .iter()
        .filter(|s| !granted.contains(s))
        .cloned()
        .collect();
    let preset = &ctx.options.preset;
    let result = if missing.is_empty() {
        CheckResult::new(
            id,
            Status::Pass,
            format!(
                "the token carries all {} preset `{preset}` needs",
                count(required.len(), "scope")
            ),
        )
    } else {
        CheckResult::new(
            id,
            Status::Fail,
            format!(
                "the token lacks {} of the {} preset `{preset}` needs: {}",
                missing.len(),
                count(required.len(), "scope"),
                super::short_list(&missing, 5)
            ),
        )
        .findings(missing)
        .fix(format!(
            "add the missing scopes to the app in the developer console ({CONSOLE} → your app → Permissions → Jira API), then log in again with `jira-auth cloud login --preset {preset}`"
        ))
    };
    let held = required.len() - result.findings.len();
    result
        .covered(held, required.len(), "scope")
        .evidence(format!("granted: {}", count(granted.len(), "scope")))
        .evidence(format!(
            "required by preset `{preset}`: {}",
            count(required.len(), "scope")
        ))
}
