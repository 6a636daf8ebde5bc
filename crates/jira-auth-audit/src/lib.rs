//! The permission auditor: proves that a Jira technical user can see everything a connector
//! indexes, and says precisely what is missing when it cannot.
//!
//! [`audit`] reads the user, then what the selected checks need (see [`gather`] for the
//! request plan), decides every check with pure functions (`checks`), and returns a
//! [`Report`]. Requests go through the shared [`JiraClient`] (its retry policy handles 429 and
//! 503) and its [`Limiter`]: adaptive by default, growing while answers are healthy and fast up
//! to [`AuditOptions::concurrency`], backing off on the server's rate-limit signals
//! (`jira_auth_core::limit`); fixed at that number with [`AuditOptions::fixed`]. When the
//! hourly quota is spent, requests not yet sent fail at once, so the checks that needed them
//! come out `error` and the report is still whole.
//!
//! Architecture invariant: the auditor never prints and never decides exit codes; the CLI
//! presents the report and applies its `--fail-on` policy.

mod api;
mod checks;
mod gather;
mod model;
pub mod report;

pub use api::MAX_PAGES;
#[doc(hidden)]
pub use api::run_paging;
#[doc(hidden)]
pub use model::decode_every_shape;
pub use report::{CheckId, CheckResult, Coverage, Report, Status, Summary, Target, User};

use jira_auth_core::jira::{Deployment, JiraClient, JiraError};
use jira_auth_core::limit::{Limiter, Mode};
use jira_auth_core::presets::Preset;
use jira_auth_core::secret::mask_url;
use jira_auth_core::time::{rfc3339, unix_seconds};
use jira_auth_core::{Categorize, Category};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The most requests in flight by default (the adaptive limit's ceiling).
pub const DEFAULT_CONCURRENCY: usize = 32;

/// Where the audit is, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Requests answered.
    pub done: u64,
    /// Requests answered, in flight and known to come (it grows as lists are read).
    pub planned: u64,
    /// Requests allowed in flight now.
    pub limit: usize,
    pub in_flight: usize,
    /// Answers that were `429` or `503`.
    pub throttled: u64,
    /// The site reported its hourly quota nearly spent.
    pub quota_low: bool,
}

/// Told after every request, for a progress display. Called from the audit's tasks.
pub trait Progress: Send + Sync + std::fmt::Debug {
    fn update(&self, tally: &Tally);
}

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The preset's name, for the report and messages.
    pub preset: String,
    /// The checks to run, in report order.
    pub checks: Vec<CheckId>,
    /// Scopes the preset needs (`scopes` check).
    pub required_scopes: Vec<String>,
    /// Scopes the credential carries: `None` when it is not an OAuth 2.0 token.
    pub granted_scopes: Option<Vec<String>>,
    /// Requests in flight at most: the adaptive limit's ceiling, or the fixed number.
    pub concurrency: usize,
    /// Keep `concurrency` requests in flight whatever the server says (each throttled request
    /// waits on its own), instead of adapting.
    pub fixed: bool,
    /// The credential kind for the report, never the secret (`Authorizer::describe`).
    pub credential: String,
    /// `visibility.roles` also scans every worklog for the restrictions actually in use.
    pub deep: bool,
    /// Pages one list may take before the audit stops with [`AuditError::EndlessList`].
    pub max_pages: usize,
}

impl AuditOptions {
    /// Options from a preset: its checks (unknown ids are an error) and its scopes.
    pub fn from_preset(name: &str, preset: &Preset) -> Result<Self, AuditError> {
        let mut checks = BTreeSet::new();
        for id in &preset.checks {
            let check = id
                .parse::<CheckId>()
                .map_err(|_| AuditError::UnknownCheck {
                    preset: name.to_owned(),
                    check: id.clone(),
                    known: CheckId::ALL.map(CheckId::as_str).join(", "),
                })?;
            checks.insert(check);
        }
        Ok(Self {
            preset: name.to_owned(),
            checks: CheckId::ALL
                .into_iter()
                .filter(|c| checks.contains(c))
                .collect(),
            required_scopes: preset.scopes.clone(),
            granted_scopes: None,
            concurrency: DEFAULT_CONCURRENCY,
            fixed: false,
            credential: String::new(),
            deep: false,
            max_pages: api::MAX_PAGES,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("preset `{preset}` names an unknown check `{check}`; known checks: {known}")]
    UnknownCheck {
        preset: String,
        check: String,
        known: String,
    },
    #[error(
        "cannot read the technical user from Jira, so nothing was audited: check the URL, `--deployment` and the credential"
    )]
    Myself(#[source] Box<JiraError>),
    #[error(
        "{0}; the audit stopped, because a list it cannot finish proves nothing: check that the URL points at Jira and not at a proxy or mock that repeats pages"
    )]
    EndlessList(String),
}

impl Categorize for AuditError {
    fn category(&self) -> Category {
        match self {
            AuditError::UnknownCheck { .. } => Category::Usage,
            AuditError::Myself(e) => e.category(),
            AuditError::EndlessList(_) => Category::Network,
        }
    }
}

impl AuditOptions {
    /// The limiter these options ask for.
    pub fn limiter(&self) -> Limiter {
        let n = self.concurrency.max(1);
        Limiter::new(if self.fixed {
            Mode::Fixed(n)
        } else {
            Mode::Adaptive { ceiling: n }
        })
    }
}

/// Runs the audit against `client`'s site with its credential, through the client's limiter
/// (one from [`AuditOptions::limiter`] when it has none).
pub async fn audit(
    client: JiraClient,
    options: &AuditOptions,
    progress: Option<Arc<dyn Progress>>,
) -> Result<Report, AuditError> {
    let started = client.http().clock().now();
    let deployment = client.deployment();
    let (client, limiter) = match client.http().limiter().cloned() {
        Some(limiter) => (client, limiter),
        None => {
            let limiter = Arc::new(options.limiter());
            (client.with_limiter(limiter.clone()), limiter)
        }
    };
    let api = api::Api::new(client, limiter, options.max_pages, progress);
    let myself: model::Myself = api
        .get("/myself?expand=groups,applicationRoles")
        .await
        .map_err(|e| AuditError::Myself(Box::new(e)))?;
    let selected: BTreeSet<CheckId> = options.checks.iter().copied().collect();
    let facts = gather::gather(&api, &selected, &myself, options.deep).await;
    if let Some(limit) = api.limit_hit() {
        return Err(AuditError::EndlessList(limit));
    }
    let ctx = checks::Ctx {
        deployment,
        user: &myself,
        facts: &facts,
        options,
    };
    let results: Vec<CheckResult> = options
        .checks
        .iter()
        .map(|id| checks::decide(*id, &ctx))
        .collect();
    let user = User {
        id: myself
            .account_id
            .clone()
            .or_else(|| myself.key.clone())
            .or_else(|| myself.name.clone())
            .unwrap_or_default(),
        name: if deployment == Deployment::DataCenter {
            myself.name.clone()
        } else {
            None
        },
        display_name: myself.display_name.clone().unwrap_or_default(),
        groups: myself.groups.items.iter().map(|g| g.name.clone()).collect(),
        application_roles: myself
            .application_roles
            .items
            .iter()
            .map(|r| r.key.clone())
            .collect(),
    };
    Ok(Report {
        schema_version: report::SCHEMA_VERSION,
        tool: format!("jira-auth {}", env!("CARGO_PKG_VERSION")),
        preset: options.preset.clone(),
        started_at: rfc3339(unix_seconds(started)),
        target: Target {
            url: mask_url(api.client().base()),
            deployment,
            credential: options.credential.clone(),
            user,
        },
        summary: Report::summarize(&results),
        checks: results,
        requests: api.requests(),
    })
}

/// The fewest requests a Cloud audit running every check needs, with the page sizes it uses
/// (`project/search` 100, issue security endpoints 50, `permissions/check` 1000 projects):
/// `myself`, `mypermissions`, `serverInfo`, `role`, the pages of `project/search` and
/// `issuesecurityschemes/search`, the pages of `issuesecurityschemes/level` and `level/member`
/// for the schemes in use (none when no project uses a scheme), the bulk permission checks,
/// and one `roledetails` per project (Jira has no bulk endpoint for role membership).
pub fn cloud_minimum_requests(
    projects: usize,
    schemes: usize,
    levels: usize,
    level_members: usize,
) -> u64 {
    let pages = |n: usize, size: usize| n.div_ceil(size).max(1);
    let pages_if_any = |n: usize, size: usize| n.div_ceil(size);
    (4 + pages(projects, gather::PROJECT_PAGE)
        + projects.div_ceil(gather::BULK_PROJECTS)
        + projects
        + pages(schemes, gather::SECURITY_PAGE)
        + pages_if_any(levels, gather::SECURITY_PAGE)
        + pages_if_any(level_members, gather::SECURITY_PAGE)) as u64
}
