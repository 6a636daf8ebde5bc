//! The audit [`Report`]: what every check found, as data. Its JSON form is a documented,
//! versioned contract (`docs/audit.md`, "JSON schema"): fields are only ever added within a
//! schema version; renaming or removing one bumps [`SCHEMA_VERSION`].

use jira_auth_core::jira::Deployment;
use serde::{Deserialize, Serialize};

/// The version of the report's JSON schema.
pub const SCHEMA_VERSION: u32 = 2;

/// A stable check id. The string forms are a contract with presets and CI configurations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CheckId {
    #[serde(rename = "scopes")]
    Scopes,
    #[serde(rename = "global.administer")]
    GlobalAdminister,
    #[serde(rename = "product.access")]
    ProductAccess,
    #[serde(rename = "projects.browse")]
    ProjectsBrowse,
    #[serde(rename = "security.levels")]
    SecurityLevels,
    #[serde(rename = "visibility.roles")]
    VisibilityRoles,
    #[serde(rename = "server.info")]
    ServerInfo,
}

impl CheckId {
    /// Every check, in report order.
    pub const ALL: [CheckId; 7] = [
        CheckId::Scopes,
        CheckId::GlobalAdminister,
        CheckId::ProductAccess,
        CheckId::ProjectsBrowse,
        CheckId::SecurityLevels,
        CheckId::VisibilityRoles,
        CheckId::ServerInfo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Scopes => "scopes",
            CheckId::GlobalAdminister => "global.administer",
            CheckId::ProductAccess => "product.access",
            CheckId::ProjectsBrowse => "projects.browse",
            CheckId::SecurityLevels => "security.levels",
            CheckId::VisibilityRoles => "visibility.roles",
            CheckId::ServerInfo => "server.info",
        }
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            CheckId::Scopes => "OAuth scopes",
            CheckId::GlobalAdminister => "Jira Administrators global permission",
            CheckId::ProductAccess => "Jira product access",
            CheckId::ProjectsBrowse => "Browse Projects in every project",
            CheckId::SecurityLevels => "Member of every issue security level",
            CheckId::VisibilityRoles => "Every project role in every project",
            CheckId::ServerInfo => "Server info and clock",
        }
    }

    /// The group the check belongs to in grouped presentations.
    pub fn group(self) -> &'static str {
        match self {
            CheckId::Scopes => "Credential",
            CheckId::GlobalAdminister | CheckId::ProductAccess => "Global permissions",
            CheckId::ProjectsBrowse | CheckId::SecurityLevels | CheckId::VisibilityRoles => {
                "Content visibility"
            }
            CheckId::ServerInfo => "Server",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CheckId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CheckId::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| s.to_owned())
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    /// The check does not apply to this target or credential.
    Skipped,
    /// The check could not be decided: Jira refused or failed a request it needs.
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skipped => "skipped",
            Status::Error => "error",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: CheckId,
    pub title: String,
    pub status: Status,
    /// One sentence: what was found.
    pub summary: String,
    /// True when the check could only be decided in part (Data Center security levels): a
    /// `pass` then means "nothing wrong found", not "proved".
    pub partial: bool,
    /// What the decision rests on: counts, endpoints, values seen.
    pub evidence: Vec<String>,
    /// The offending items, complete: missing scopes, project keys, `scheme / level` names,
    /// `PROJECT: role` pairs.
    pub findings: Vec<String>,
    /// What the decision verified, per kind of item (`12 of 12 security levels`). A check
    /// that verified nothing where something must exist is never a `pass`.
    pub coverage: Vec<Coverage>,
    /// Items the check could not verify, each with the reason (a team-managed project, a
    /// list the server stopped short).
    pub not_covered: Vec<String>,
    /// What to do about a `fail`, `warn` or `error`.
    pub fix: Option<String>,
}

impl CheckResult {
    pub fn new(id: CheckId, status: Status, summary: impl Into<String>) -> Self {
        Self {
            id,
            title: id.title().to_owned(),
            status,
            summary: summary.into(),
            partial: false,
            evidence: Vec::new(),
            findings: Vec::new(),
            coverage: Vec::new(),
            not_covered: Vec::new(),
            fix: None,
        }
    }

    /// Records that `verified` of `total` items of a kind (`"project"`) were verified.
    pub fn covered(mut self, verified: usize, total: usize, what: &str) -> Self {
        self.coverage.push(Coverage {
            what: what.to_owned(),
            verified: verified as u64,
            total: total as u64,
        });
        self
    }

    pub fn not_covered(mut self, items: Vec<String>) -> Self {
        self.not_covered.extend(items);
        self
    }

    /// `verified 12 of 12 security levels, 3 of 4 projects`, or `None` without coverage.
    pub fn coverage_line(&self) -> Option<String> {
        if self.coverage.is_empty() {
            return None;
        }
        let parts: Vec<String> = self
            .coverage
            .iter()
            .map(|c| {
                let what = if c.total == 1 {
                    c.what.clone()
                } else {
                    format!("{}s", c.what)
                };
                format!("{} of {} {what}", c.verified, c.total)
            })
            .collect();
        Some(format!("verified {}", parts.join(", ")))
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn findings(mut self, items: Vec<String>) -> Self {
        self.findings = items;
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }

    pub fn partial(mut self) -> Self {
        self.partial = true;
        self
    }
}

/// How much of one kind of item a check verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// The kind of item, singular: `security level`, `project`, `project role`, `scope`.
    pub what: String,
    pub verified: u64,
    pub total: u64,
}

/// Who and what was audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The REST base URL, masked.
    pub url: String,
    pub deployment: Deployment,
    /// The credential kind, never the secret ("API token of bot@example.com").
    pub credential: String,
    /// The technical user as Jira sees it.
    pub user: User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Cloud account id; the user key on Data Center.
    pub id: String,
    /// The Data Center user name, when there is one.
    pub name: Option<String>,
    pub display_name: String,
    pub groups: Vec<String>,
    pub application_roles: Vec<String>,
}

/// Counts per status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
    pub skipped: usize,
    pub error: usize,
}

/// The whole audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: String,
    pub preset: String,
    /// When the audit started, RFC 3339 UTC.
    pub started_at: String,
    pub target: Target,
    pub checks: Vec<CheckResult>,
    pub summary: Summary,
    /// REST requests the auditor made (retries of one request count once).
    pub requests: u64,
}

impl Report {
    pub fn summarize(checks: &[CheckResult]) -> Summary {
        let mut s = Summary::default();
        for c in checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
                Status::Skipped => s.skipped += 1,
                Status::Error => s.error += 1,
            }
        }
        s
    }

    /// The worst status in the report (`pass` when there are no checks).
    pub fn worst(&self) -> Status {
        let rank = |s: Status| match s {
            Status::Pass | Status::Skipped => 0,
            Status::Warn => 1,
            Status::Fail | Status::Error => 2,
        };
        self.checks
            .iter()
            .map(|c| c.status)
            .max_by_key(|s| rank(*s))
            .unwrap_or(Status::Pass)
    }
}
