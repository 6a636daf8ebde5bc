//! A fake Jira site (Cloud REST v3 or Data Center REST v2) for the auditor, built from a
//! scenario file (`fixtures/audit/<scenario>/site.json`) or generated ([`Site::synthetic`]).
//!
//! One wiremock responder serves every endpoint the auditor reads from a [`Site`] model, with
//! real paging (`startAt`, `maxResults`, capped like Jira), so a scenario states facts ("the
//! user holds role 10002 in ENG") rather than canned pages. Every body has the shape Atlassian
//! documents for the operation (`fixtures/atlassian/`), not the shape our client reads: issue
//! security levels, for one, come only from `issuesecurityschemes/level` and
//! `issuesecurityschemes/{id}`, never inline in the scheme list. Each exchange is recorded
//! ([`JiraSite::exchanges`]) so the contract tests can hold it against those documents. It can add a fixed latency to every
//! response (the bench), answer the first attempt of every request with `429` (a rate-limit
//! storm), enforce a burst limit or an hourly points quota the way Jira Cloud reports them
//! ([`Behaviour::burst_limit`], [`Behaviour::quota`]), and count requests. Everything else (an unknown path, a wrong credential) is
//! answered the way Jira does: 404 or 401 with a Jira error body.
//!
//! A site served from another fake ([`JiraSite::attach`]) checks credentials with that fake's
//! [`Gate`]: the fake Atlassian's gateway accepts only the access tokens its token endpoint
//! issued, the fake Jira Server a PAT or a verified OAuth 1.0a signature, as the real ones do.
//!
//! Scenario shape (all fields but `deployment` and `myself` optional):
//! ```json
//! { "deployment": "cloud" | "data_center",
//!   "authorization": "Basic …",            // the exact header expected; 401 otherwise
//!   "myself": { "accountId": "…", "name": "…", "displayName": "…",
//!               "groups": [{"name": "…", "groupId": "…"}], "applicationRoles": ["jira-software"] },
//!   "global_permissions": ["ADMINISTER", "USE"],
//!   "server_info": { "deploymentType": "Cloud", "version": "…" },   // serverTime is added live
//!   "roles": [{"id": 10002, "name": "Administrators"}],
//!   "projects": [{"id": 10000, "key": "ENG", "name": "…", "browse": true,
//!                 "roles": [10002], "security_scheme": 10100,
//!                 "team_managed": false,                            // Cloud only
//!                 "settable_levels": [10200]}],                     // Data Center only
//!   "security_schemes": [{"id": 10100, "name": "…", "levels": [{"id": 10200, "name": "…",
//!                          "members": [{"type": "group", "parameter": "…", "value": "…"}]}]}],
//!   "worklogs": [{"id": 1, "issueId": "10100", "visibility": {"type": "group", "value": "hr"}}],
//!   "forbidden": ["/issuesecurityschemes"] }   // paths answered 403
//! ```

mod model;
mod routes;
mod state;

pub use model::{Deployment, Level, Myself, Project, Role, Scheme, Site};
pub(crate) use routes::now_jira;
use state::{Responder, State};

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

/// Jira's page-size caps: `project/search` 100, the issue security endpoints 50.
pub const PROJECT_PAGE_MAX: usize = 100;
pub const SECURITY_PAGE_MAX: usize = 50;
/// Worklog ids per `worklog/updated` page and per `worklog/list` call.
pub const WORKLOG_PAGE: usize = 1000;

/// Knobs of a running fake.
#[derive(Debug, Clone, Default)]
pub struct Behaviour {
    /// Added to every response.
    pub latency: Duration,
    /// Answer the first attempt of every distinct request with `429 Retry-After: 0`.
    pub rate_limit_storm: bool,
    /// Do not keep a journal (the bench sends tens of thousands of requests).
    pub no_journal: bool,
    /// How every paged endpoint pages.
    pub paging: Paging,
    /// Jira Cloud's burst limit: with this many requests being served (each for `latency`), a
    /// further one is answered `429` with `Retry-After: 1` and `RateLimit-Reason:
    /// jira-burst-based` (also after `latency`).
    pub burst_limit: Option<usize>,
    /// Jira Cloud's points-based hourly quota, one point a request: every answer carries
    /// `Beta-RateLimit-Policy` and `Beta-RateLimit` (with `X-Beta-RateLimit-NearLimit: true`
    /// under a tenth left); once spent, `429` with `X-Beta-RateLimit-Reason:
    /// jira-quota-tenant-based`. The window resets [`QUOTA_RESET_SECONDS`] from now.
    pub quota: Option<u64>,
}

/// Seconds until the fake's quota window resets, in its `Beta-RateLimit` `t` and `Retry-After`.
pub const QUOTA_RESET_SECONDS: u64 = 1800;

/// How the paged endpoints answer: honestly, or the ways hostile or broken servers do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Paging {
    #[default]
    Honest,
    /// Every `startAt` gets the first page again, `isLast: false`, no `total`.
    IgnoreStartAt,
    /// Pages never end: past the real items, each page holds a new made-up one.
    Endless,
    /// Honest pages claiming `total: 10000000000`.
    HugeTotal,
    /// A body without `values`: not a page at all.
    NotAPage,
}

/// What the fake records of each request, for the contract tests.
pub use crate::contract::Exchange;

/// The credential check of the fake a site is attached to: `Ok` lets the request through to the
/// site, `Err` is that fake's own refusal (the API gateway's `401 {"code":401,…}`, Jira's `401`
/// or an `oauth_problem`), answered as it is.
pub type Gate = Arc<dyn Fn(&Request) -> Result<(), ResponseTemplate> + Send + Sync>;

/// A [`Gate`] with a `Debug`, so [`State`] keeps deriving it.
pub(super) struct GateFn(pub(super) Gate);

impl std::fmt::Debug for GateFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

/// A running fake site.
#[derive(Debug)]
pub struct JiraSite {
    /// Never dropped: wiremock's `Drop` runs `futures::executor::block_on(verify())` on the
    /// dropping thread, which under a multi-thread tokio runtime was seen to spin forever on the
    /// server state's lock when the site is dropped right after a burst of requests (a hung
    /// test binary). This fake mounts no expectations, so there is nothing to verify; the server
    /// thread and port live until the process exits.
    pub server: std::mem::ManuallyDrop<MockServer>,
    state: Arc<State>,
}

impl JiraSite {
    pub async fn start(site: Site) -> JiraSite {
        Self::start_with(site, Behaviour::default()).await
    }

    pub async fn start_with(site: Site, behaviour: Behaviour) -> JiraSite {
        let mut builder = MockServer::builder();
        if behaviour.no_journal {
            builder = builder.disable_request_recording();
        }
        let server = builder.start().await;
        let state = State::new(site, behaviour, server.uri(), String::new(), None);
        Mock::given(any())
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        JiraSite {
            server: std::mem::ManuallyDrop::new(server),
            state,
        }
    }

    /// Serves `site` from a server another fake runs (the fake Atlassian's API gateway, the fake
    /// Jira Server), for every path below `context_path` + `/rest/`. With `priority` 1 the site
    /// answers before the other fake's mocks (wiremock: lower wins, default 5); with 10 the other
    /// fake's own resources (a verified `/myself`) answer first and the site serves the rest.
    /// Every request must pass `gate`, the other fake's credential check
    /// ([`FakeAtlassian::gate`](crate::cloud::FakeAtlassian::gate),
    /// [`FakeJiraServer::gate`](crate::server::FakeJiraServer::gate)), and the site's own
    /// `authorization` when it pins one.
    pub async fn attach(
        site: Site,
        server: &MockServer,
        context_path: &str,
        priority: u8,
        gate: Gate,
    ) -> AttachedSite {
        let state = State::new(
            site,
            Behaviour::default(),
            server.uri(),
            context_path.to_owned(),
            Some(GateFn(gate)),
        );
        Mock::given(wiremock::matchers::path_regex(format!(
            "^{}/rest/",
            crate::filters::regex_escape(context_path)
        )))
        .respond_with(Responder(state.clone()))
        .with_priority(priority)
        .mount(server)
        .await;
        AttachedSite { state }
    }

    /// The site root the auditor is pointed at (`--url`).
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// Requests answered so far (429s included).
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Requests answered `429` so far.
    pub fn throttled(&self) -> u64 {
        self.state.throttled.load(Ordering::Relaxed)
    }

    /// Every exchange so far, in the order answered (none with [`Behaviour::no_journal`]).
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.exchanges()
    }
}

/// A site served from another fake's server (see [`JiraSite::attach`]).
#[derive(Debug)]
pub struct AttachedSite {
    state: Arc<State>,
}

impl AttachedSite {
    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Every exchange so far, in the order answered.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.state.exchanges()
    }
}

#[cfg(test)]
mod tests {
    use super::routes::civil_from_days;
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_782), (2026, 11, 25));
    }

    #[tokio::test]
    async fn an_attached_site_serves_below_its_context_path_and_yields_by_priority() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::path("/jira/rest/api/2/myself"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"name": "owner"})))
            .mount(&server)
            .await;
        let gate: Gate = Arc::new(|request: &Request| {
            if request
                .headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer test-pat")
            {
                Ok(())
            } else {
                Err(ResponseTemplate::new(401))
            }
        });
        let site = JiraSite::attach(Site::scenario("dc-healthy"), &server, "/jira", 10, gate).await;
        let get = |p: &str| {
            let url = format!("{}{p}", server.uri());
            async move {
                let r = reqwest::Client::new()
                    .get(url)
                    .header("authorization", "Bearer test-pat")
                    .send()
                    .await
                    .unwrap();
                (
                    r.status().as_u16(),
                    r.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
        // The other fake's own resource wins at priority 10 ...
        assert_eq!(get("/jira/rest/api/2/myself").await.1["name"], "owner");
        // ... and the site answers the rest below the context path.
        let (status, info) = get("/jira/rest/api/2/serverInfo").await;
        assert_eq!(status, 200);
        assert_eq!(info["version"], "10.3.1");
        assert_eq!(get("/rest/api/2/serverInfo").await.0, 404);
        assert_eq!(site.requests(), 1);
        // The gate refuses what the other fake would refuse, before the site answers.
        let refused = reqwest::Client::new()
            .get(format!("{}/jira/rest/api/2/serverInfo", server.uri()))
            .header("authorization", "Bearer garbage")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
}
