//! The bench's baseline: a plain sequential client that reads what the audit's Cloud checks
//! read, written from Atlassian's REST API v3 document (`fixtures/atlassian/`, the Jira Cloud
//! platform OpenAPI document), not from the auditor's code. One request at a time, a plain
//! `reqwest::Client` (keep-alive, as any script's HTTP library), no retry, no concurrency, no
//! tuning: what a careful script does.
//!
//! What it asks, in the documented shapes:
//! - `GET /rest/api/3/myself?expand=groups,applicationRoles`, `GET /rest/api/3/serverInfo`,
//!   `GET /rest/api/3/mypermissions?permissions=ADMINISTER`, `GET /rest/api/3/role`;
//! - every page of `GET /rest/api/3/project/search` (`maxResults` 100, the documented maximum)
//!   and of `GET /rest/api/3/issuesecurityschemes/search` (50, the documented default);
//! - for the schemes some project uses, every page of `issuesecurityschemes/level` and
//!   `issuesecurityschemes/level/member`, with the documented repeated `schemeId` parameter
//!   (50 ids a request, as the auditor does, so both ask for the same information in as many
//!   requests);
//! - `POST /rest/api/3/permissions/check` for `BROWSE_PROJECTS`, 1,000 projects a request (the
//!   documented maximum);
//! - `GET /rest/api/3/project/{key}/roledetails?currentMember=true` for every project (Jira has
//!   no bulk endpoint for role membership).
//!
//! Pages are followed by the fields `PageBean*` documents: `isLast` ends the list, `nextPage`
//! (the URL of the next page) continues it, else the next `startAt`; at most [`MAX_PAGES`].

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

/// Pages one listing may take before the baseline gives up on the server.
const MAX_PAGES: usize = 10_000;

/// What the baseline read, to hold against the site it read.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Requests sent.
    pub requests: u64,
    pub projects: usize,
    /// Projects `permissions/check` granted `BROWSE_PROJECTS` on.
    pub browsable: usize,
    /// Projects whose role membership was read.
    pub role_lists: usize,
    pub schemes_in_use: usize,
    pub levels: usize,
    pub members: usize,
}

struct Client {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/rest/api/3`
    api: String,
    token: String,
    requests: u64,
}

impl Client {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Result<Value> {
        self.requests += 1;
        let response = request
            .bearer_auth(&self.token)
            .header("accept", "application/json")
            .send()
            .await?;
        let status = response.status();
        let url = response.url().to_string();
        let body = response.bytes().await?;
        if !status.is_success() {
            bail!(
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        serde_json::from_slice(&body).with_context(|| format!("{url} answered no JSON"))
    }

    async fn get(&mut self, path_or_url: &str) -> Result<Value> {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.api)
        };
        let request = self.http.get(url);
        self.send(request).await
    }

    async fn post(&mut self, path: &str, body: &Value) -> Result<Value> {
        let request = self.http.post(format!("{}{path}", self.api)).json(body);
        self.send(request).await
    }

    /// Every `values` item of a paged list, `path` carrying its query without `startAt`.
    async fn pages(&mut self, path: &str, max_results: usize) -> Result<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{path}{sep}startAt=0&maxResults={max_results}");
        let mut start = 0;
        let mut values = Vec::new();
        for _ in 0..MAX_PAGES {
            let page = self.get(&url).await?;
            let items = page["values"]
                .as_array()
                .with_context(|| format!("{path}: a page without `values`"))?;
            start += items.len();
            values.extend(items.iter().cloned());
            if page["isLast"].as_bool() != Some(false) || items.is_empty() {
                return Ok(values);
            }
            url = match page["nextPage"].as_str() {
                Some(next) => next.to_owned(),
                None => format!("{path}{sep}startAt={start}&maxResults={max_results}"),
            };
        }
        bail!("{path}: still paging after {MAX_PAGES} pages")
    }
}

/// Reads the site at `base` (`http://127.0.0.1:PORT`) one request at a time.
pub async fn gather(base: &str, token: &str) -> Result<Gathered> {
    let mut c = Client {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?,
        api: format!("{}/rest/api/3", base.trim_end_matches('/')),
        token: token.to_owned(),
        requests: 0,
    };
    let mut got = Gathered::default();

    c.get("/myself?expand=groups,applicationRoles").await?;
    c.get("/serverInfo").await?;
    c.get("/mypermissions?permissions=ADMINISTER").await?;
    c.get("/role").await?;

    let projects = c
        .pages("/project/search?action=view&orderBy=key", 100)
        .await?;
    got.projects = projects.len();

    let schemes = c.pages("/issuesecurityschemes/search", 50).await?;
    let in_use: Vec<String> = schemes
        .iter()
        .filter(|s| s["projectIds"].as_array().is_some_and(|p| !p.is_empty()))
        .filter_map(|s| match &s["id"] {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        })
        .collect();
    got.schemes_in_use = in_use.len();
    for chunk in in_use.chunks(50) {
        let query: Vec<String> = chunk.iter().map(|id| format!("schemeId={id}")).collect();
        let query = query.join("&");
        got.levels += c
            .pages(&format!("/issuesecurityschemes/level?{query}"), 50)
            .await?
            .len();
        got.members += c
            .pages(&format!("/issuesecurityschemes/level/member?{query}"), 50)
            .await?
            .len();
    }

    let ids: Vec<i64> = projects
        .iter()
        .filter_map(|p| p["id"].as_str().and_then(|id| id.parse().ok()))
        .collect();
    for chunk in ids.chunks(1000) {
        let grants = c
            .post(
                "/permissions/check",
                &json!({"projectPermissions": [{"permissions": ["BROWSE_PROJECTS"], "projects": chunk}]}),
            )
            .await?;
        got.browsable += grants["projectPermissions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|g| g["permission"] == "BROWSE_PROJECTS")
            .filter_map(|g| g["projects"].as_array())
            .map(Vec::len)
            .sum::<usize>();
    }

    for project in &projects {
        let key = project["key"]
            .as_str()
            .context("a project without a `key`")?;
        let roles = c
            .get(&format!("/project/{key}/roledetails?currentMember=true"))
            .await?;
        if roles.is_array() {
            got.role_lists += 1;
        }
    }
    got.requests = c.requests;
    Ok(got)
}
