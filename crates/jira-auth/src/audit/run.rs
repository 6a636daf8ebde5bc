//! Execution of `jira-auth audit`.

use super::args::AuditArgs;
use super::present::{self, Format};
use super::progress::StderrProgress;
use super::target::{self, AuditTarget};
use crate::args::GlobalArgs;
use crate::exit::{self, Failure};
use crate::exit::{Category, ContextAs as _};
use crate::output::{Narrator, Styles};
use jira_auth_audit::{AuditOptions, Progress};
use jira_auth_core::http::HttpClient;
use jira_auth_core::jira::JiraClient;
use jira_auth_core::limit::Quota;
use jira_auth_core::plural::count;
use jira_auth_core::presets::Presets;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::{rfc3339, unix_seconds};
use std::io::IsTerminal as _;
use std::sync::Arc;

pub async fn run(global: &GlobalArgs, args: AuditArgs) -> crate::exit::Result<u8> {
    let outputs = present::outputs(&args.format, args.output.clone())?;
    for output in &outputs {
        if let Some(path) = &output.file {
            check_writable(path)?;
        }
    }
    let presets = Presets::load(args.preset_file.as_deref())?;
    let preset = presets.get(&args.preset)?;
    let mut options = AuditOptions::from_preset(&args.preset, preset)?;
    options.concurrency = usize::from(args.concurrency);
    options.fixed = args.fixed;
    options.deep = args.deep;

    let (target, http) = resolve_target(global, &args).await?;
    options.granted_scopes = target.granted_scopes.clone();
    options.credential = target.auth.describe();
    let site = target.site.clone();
    let limiter = Arc::new(options.limiter());
    let client = JiraClient::new(http, target.base, target.deployment, target.auth)
        .with_limiter(limiter.clone());

    let progress = (!global.quiet && std::io::stderr().is_terminal())
        .then(|| Arc::new(StderrProgress::default()));
    let report = jira_auth_audit::audit(
        client,
        &options,
        progress.clone().map(|p| p as Arc<dyn Progress>),
    )
    .await;
    if let Some(p) = &progress {
        p.finish();
    }
    let mut report = report?;
    if let Some(site) = site {
        // The person reading the report knows the site, not Atlassian's API gateway.
        report.target.url = site;
    }
    let limits = limiter.snapshot();
    if limits.quota_low && limits.spent.is_none() {
        Narrator::new(global).say(quota_note(limits.quota));
    }

    let styles = Styles::detect(global.color);
    for output in &outputs {
        let color = output.file.is_none() && output.format == Format::Text && styles.stdout;
        let text = present::render(&report, output.format, color, args.fail_on);
        match &output.file {
            None => print!("{text}"),
            Some(path) => std::fs::write(path, text).with_context_as(Category::Usage, || {
                format!("cannot write the report to `{}`", path.display())
            })?,
        }
    }
    if let Some(spent) = limits.spent {
        return Err(Failure {
            code: exit::NETWORK,
            message: format!(
                "{spent}; the report shows what was read before it, and every check that needed more is `error`, not `pass`"
            ),
        }
        .into());
    }
    Ok(if present::report_fails(&report, args.fail_on) {
        exit::FINDINGS
    } else {
        exit::OK
    })
}

/// A report file that cannot be written is found before the audit runs, not after it.
/// A file this check creates is removed again: the audit may still fail before writing it.
fn check_writable(path: &std::path::Path) -> crate::exit::Result<()> {
    let existed = path.exists();
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context_as(Category::Usage, || {
            format!(
                "cannot write the report to `{}`, so nothing was audited: choose a file in a directory that exists and that you may write to",
                path.display()
            )
        })?;
    if !existed {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

/// Said when the site reported its hourly quota nearly spent during the audit.
fn quota_note(quota: Option<Quota>) -> String {
    let left = match quota {
        Some(Quota {
            remaining,
            limit: Some(limit),
            ..
        }) => format!(" ({remaining} of {} left)", count(limit, "point")),
        Some(Quota { remaining, .. }) => format!(" ({} left)", count(remaining, "point")),
        None => String::new(),
    };
    let reset = quota
        .and_then(|q| q.reset_at)
        .map(|at| format!(", resetting at {}", rfc3339(unix_seconds(at))))
        .unwrap_or_default();
    format!(
        "note: Jira reported this credential's hourly API quota nearly spent{left}{reset}; the audit slowed down to leave room for the connector"
    )
}

/// `--url` wins; otherwise the stored profile named by `--profile` (whose remembered network
/// paths the client then uses).
async fn resolve_target(
    global: &GlobalArgs,
    args: &AuditArgs,
) -> crate::exit::Result<(AuditTarget, HttpClient)> {
    if let Some(url) = &args.url {
        let mut target = target::ad_hoc(args, url)?;
        crate::net::check_url(&target.base)?;
        let http = crate::net::client()?;
        if args.deployment.is_none() {
            let (deployment, how) = target::detect(&http, &target).await?;
            target.deployment = deployment;
            crate::output::Narrator::new(global).say(format!(
                "Auditing {} as {} ({how}; `--deployment` overrides)",
                target.base,
                match deployment {
                    jira_auth_core::jira::Deployment::Cloud => "Jira Cloud",
                    jira_auth_core::jira::Deployment::DataCenter => "Jira Data Center",
                }
            ));
        }
        return Ok((target, http));
    }
    let name = ProfileName::new(global.profile.clone())?;
    let store = Store::from_env()?;
    let profile = store.load(&name)?.ok_or_else(|| {
        Failure::usage(format!(
            "no profile `{name}` in `{}`: log in first (`jira-auth cloud login` or `jira-auth server login`) or audit ad hoc with `--url`",
            store.dir().display()
        ))
    })?;
    let http = crate::net::client_for(&store, &name)?;
    let target = target::from_profile(&store, &name, &profile, args.deployment, &http).await?;
    Ok((target, http))
}
