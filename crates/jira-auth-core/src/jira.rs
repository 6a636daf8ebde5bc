//! A small Jira REST client: a base URL, an [`Authorizer`], the shared [`HttpClient`].
//!
//! Used by `server request` and the auditor. Cloud sites are reached through the API gateway
//! (`{api}/ex/jira/{cloudId}`) with REST v3; Server / Data Center at its own URL (with its
//! context path) with REST v2.

use crate::auth::{AuthorizeError, Authorizer};
use crate::category::{Categorize, Category};
use crate::http::{HttpClient, HttpError, Response};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use url::Url;

/// Which Jira this is: decides the REST API version and some endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    Cloud,
    DataCenter,
}

impl Deployment {
    /// `/rest/api/3` on Cloud, `/rest/api/2` on Server / Data Center.
    pub fn rest_prefix(self) -> &'static str {
        match self {
            Deployment::Cloud => "/rest/api/3",
            Deployment::DataCenter => "/rest/api/2",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JiraError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Authorize(#[from] AuthorizeError),
    #[error(
        "{url} answered {status} with a body that is not the JSON expected ({message}); it starts: {start}"
    )]
    Decode {
        url: String,
        status: u16,
        message: String,
        start: String,
    },
    #[error("bad Jira URL `{0}`: {1}")]
    Url(String, String),
}

impl Categorize for JiraError {
    fn category(&self) -> Category {
        match self {
            JiraError::Http(e) => e.category(),
            JiraError::Authorize(_) | JiraError::Url(..) => Category::Usage,
            JiraError::Decode { .. } => Category::Network,
        }
    }
}

/// A Jira REST client bound to one site and one credential.
#[derive(Debug, Clone)]
pub struct JiraClient {
    http: HttpClient,
    base: Url,
    deployment: Deployment,
    auth: Arc<dyn Authorizer>,
}

impl JiraClient {
    /// `base` is the site root: `https://jira.example.com/jira` (context path kept) or
    /// `https://api.atlassian.com/ex/jira/<cloudId>`.
    pub fn new(
        http: HttpClient,
        base: Url,
        deployment: Deployment,
        auth: Arc<dyn Authorizer>,
    ) -> Self {
        let mut base = base;
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&trimmed);
        Self {
            http,
            base,
            deployment,
            auth,
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn deployment(&self) -> Deployment {
        self.deployment
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// This client with its requests going through `limiter` (see [`HttpClient::with_limiter`]).
    pub fn with_limiter(mut self, limiter: Arc<crate::limit::Limiter>) -> Self {
        self.http = self.http.with_limiter(limiter);
        self
    }

    /// The absolute URL for `path` (`/rest/api/2/myself`, with optional `?query`) under the base.
    /// An absolute `http(s)://` URL is taken as is.
    pub fn url(&self, path_and_query: &str) -> Result<Url, JiraError> {
        if path_and_query.starts_with("http://") || path_and_query.starts_with("https://") {
            return Url::parse(path_and_query)
                .map_err(|e| JiraError::Url(path_and_query.to_owned(), e.to_string()));
        }
        let joined = format!(
            "{}{}{}",
            self.base.as_str().trim_end_matches('/'),
            if path_and_query.starts_with('/') {
                ""
            } else {
                "/"
            },
            path_and_query
        );
        Url::parse(&joined).map_err(|e| JiraError::Url(joined.clone(), e.to_string()))
    }

    /// The REST URL for `path` under `/rest/api/{2|3}`, e.g. `rest("/myself")`.
    pub fn rest(&self, path_and_query: &str) -> Result<Url, JiraError> {
        self.url(&format!(
            "{}{}",
            self.deployment.rest_prefix(),
            path_and_query
        ))
    }

    /// Sends a request (authorized afresh on every attempt) and returns the raw response,
    /// whatever its status.
    pub async fn send(&self, request: http::Request<Vec<u8>>) -> Result<Response, JiraError> {
        Ok(self
            .http
            .send_authorized(request, self.auth.as_ref())
            .await?)
    }

    /// GET `url` and decode a 2xx JSON body; any other status is an [`HttpError::Api`].
    pub async fn get_json<T: DeserializeOwned>(&self, url: &Url) -> Result<T, JiraError> {
        let request = http::Request::get(url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|e| JiraError::Url(url.to_string(), e.to_string()))?;
        self.send_json(request).await
    }

    /// POST a JSON body to `url` and decode the JSON answer.
    pub async fn post_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        body: &serde_json::Value,
    ) -> Result<T, JiraError> {
        let request = http::Request::post(url.as_str())
            .header(http::header::ACCEPT, "application/json")
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .map_err(|e| JiraError::Url(url.to_string(), e.to_string()))?;
        self.send_json(request).await
    }

    async fn send_json<T: DeserializeOwned>(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<T, JiraError> {
        let method = request.method().to_string();
        let url = crate::secret::mask_url(
            &Url::parse(&request.uri().to_string())
                .map_err(|e| JiraError::Url(request.uri().to_string(), e.to_string()))?,
        );
        let response = self.send(request).await?;
        let response = crate::http::check_status(&method, &url, response)?;
        decode(&url, &response)
    }
}

/// Decodes a JSON body, or explains what came instead (an SSO page, a truncated body).
/// A leading UTF-8 byte order mark is skipped; the start shown has its token-shaped values
/// masked (a proxy may answer with credentials in it).
pub fn decode<T: DeserializeOwned>(url: &str, response: &Response) -> Result<T, JiraError> {
    let body = crate::api_error::strip_bom(&response.body);
    serde_json::from_slice(body).map_err(|e| JiraError::Decode {
        url: url.to_owned(),
        status: response.status.as_u16(),
        message: e.to_string(),
        start: crate::secret::mask_tokens(
            &String::from_utf8_lossy(&body[..body.len().min(80)])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ),
    })
}
