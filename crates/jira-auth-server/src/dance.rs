//! The OAuth 1.0a three-legged dance against Jira's OAuth servlet (RFC 5849 §2):
//! request token → authorize URL → access token, then `GET /rest/api/2/myself` to prove it.
//!
//! Endpoints live under the site URL, context path included:
//! `{base}/plugins/servlet/oauth/{request-token,authorize,access-token}`.

use crate::error::{ServerError, Step};
use crate::signer::{Consumer, OAuth1Signer};
use jira_auth_core::auth::Authorizer;
use jira_auth_core::http::{HttpClient, check_status};
use jira_auth_core::jira::{Deployment, JiraClient};
use jira_auth_core::random::constant_time_eq;
use jira_auth_core::secret::mask_url;
use jira_auth_core::{AccessToken, TokenSecret};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

pub const REQUEST_TOKEN_PATH: &str = "/plugins/servlet/oauth/request-token";
pub const AUTHORIZE_PATH: &str = "/plugins/servlet/oauth/authorize";
pub const ACCESS_TOKEN_PATH: &str = "/plugins/servlet/oauth/access-token";
/// `oauth_callback` value for out-of-band: Jira shows the verifier for the user to type.
pub const OOB: &str = "oob";

/// Temporary credentials from the request-token step.
#[derive(Debug, Clone)]
pub struct RequestToken {
    pub token: AccessToken,
    pub secret: TokenSecret,
    pub callback_confirmed: bool,
}

/// Token credentials: what a login stores.
#[derive(Debug, Clone)]
pub struct TokenCredentials {
    pub token: AccessToken,
    pub secret: TokenSecret,
}

/// The parts of `GET /rest/api/2/myself` that say who you are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Myself {
    /// The username (`name`), e.g. `jsmith`.
    pub name: String,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub email_address: Option<String>,
}

/// `oauth_token` and `oauth_verifier` as they came back on the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackParams {
    pub token: String,
    pub verifier: String,
}

/// A Jira Server / Data Center site: its base URL (with context path) and the shared client.
#[derive(Debug, Clone)]
pub struct JiraServer {
    http: HttpClient,
    base: Url,
}

/// Parses and normalises a site URL: `http(s)` only, no query or fragment, no trailing slash.
pub fn parse_site_url(input: &str) -> Result<Url, ServerError> {
    let shown = Url::parse(input.trim())
        .map(|u| mask_url(&u))
        .unwrap_or_else(|_| input.to_owned());
    let bad = |message: &str| ServerError::Url {
        url: shown.clone(),
        message: message.to_owned(),
    };
    let mut url = Url::parse(input.trim()).map_err(|e| bad(&e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        // It would travel in every log line of the HTTP stack; jira-auth signs or uses a PAT.
        return Err(bad(
            "remove the user name and password from the URL: jira-auth authenticates with OAuth 1.0a or a personal access token",
        ));
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use an `https://` (or `http://`) URL"));
    }
    if url.host_str().is_none() {
        return Err(bad("the URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "give the site URL only, e.g. `https://jira.example.com` or `https://host/jira`",
        ));
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    Ok(url)
}

impl JiraServer {
    pub fn new(http: HttpClient, base: Url) -> Self {
        let mut base = base;
        let path = base.path().trim_end_matches('/').to_owned();
        base.set_path(&path);
        Self { http, base }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// `{base}{path}`, keeping the context path.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}{}", self.base.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        url
    }

    /// Step 1: temporary credentials, with `oauth_callback` = `callback` (a URL or [`OOB`]).
    pub async fn request_token(
        &self,
        consumer: &Consumer,
        callback: &str,
    ) -> Result<RequestToken, ServerError> {
        let signer = OAuth1Signer::new(consumer.clone())
            .with_clock(self.http.clock().clone())
            .with_callback(callback);
        let form = self
            .post_form(REQUEST_TOKEN_PATH, &signer, Step::RequestToken)
            .await?;
        let url = mask_url(&self.endpoint(REQUEST_TOKEN_PATH));
        Ok(RequestToken {
            token: AccessToken::new(required(&form, "oauth_token", &url)?),
            secret: TokenSecret::new(required(&form, "oauth_token_secret", &url)?),
            callback_confirmed: form
                .get("oauth_callback_confirmed")
                .is_some_and(|v| v == "true"),
        })
    }

    /// Step 2: the page where the user approves (`{base}/plugins/servlet/oauth/authorize?oauth_token=..`).
    pub fn authorize_url(&self, request_token: &RequestToken) -> Url {
        let mut url = self.endpoint(AUTHORIZE_PATH);
        url.query_pairs_mut()
            .append_pair("oauth_token", request_token.token.expose_secret());
        url
    }

    /// Step 3: exchange the approved request token and its verifier for token credentials.
    pub async fn access_token(
        &self,
        consumer: &Consumer,
        request_token: &RequestToken,
        verifier: &str,
    ) -> Result<TokenCredentials, ServerError> {
        let signer = OAuth1Signer::new(consumer.clone())
            .with_clock(self.http.clock().clone())
            .with_token(request_token.token.clone())
            .with_verifier(verifier);
        let form = self
            .post_form(ACCESS_TOKEN_PATH, &signer, Step::AccessToken)
            .await?;
        let url = mask_url(&self.endpoint(ACCESS_TOKEN_PATH));
        Ok(TokenCredentials {
            token: AccessToken::new(required(&form, "oauth_token", &url)?),
            secret: TokenSecret::new(required(&form, "oauth_token_secret", &url)?),
        })
    }

    /// A Jira REST client on this site with `auth`.
    pub fn client(&self, auth: Arc<dyn Authorizer>) -> JiraClient {
        JiraClient::new(
            self.http.clone(),
            self.base.clone(),
            Deployment::DataCenter,
            auth,
        )
    }

    /// `GET /rest/api/2/myself` with `auth`: proves the credential and says whose it is.
    pub async fn myself(&self, auth: Arc<dyn Authorizer>) -> Result<Myself, ServerError> {
        let client = self.client(auth);
        let now = || self.http.clock().now();
        let url = client
            .rest("/myself")
            .map_err(|e| ServerError::from_jira(e, Step::Rest, now()))?;
        client
            .get_json(&url)
            .await
            .map_err(|e| ServerError::from_jira(e, Step::Rest, now()))
    }

    async fn post_form(
        &self,
        path: &str,
        signer: &OAuth1Signer,
        step: Step,
    ) -> Result<BTreeMap<String, String>, ServerError> {
        let url = self.endpoint(path);
        let masked = mask_url(&url);
        let request = http::Request::post(url.as_str())
            .header(http::header::ACCEPT, "application/x-www-form-urlencoded")
            .body(Vec::new())
            .map_err(|e| ServerError::Url {
                url: masked.clone(),
                message: e.to_string(),
            })?;
        let now = || self.http.clock().now();
        let response = self
            .http
            .send_authorized(request, signer)
            .await
            .map_err(|e| ServerError::classify(e, step, now(), true))?;
        let response = check_status("POST", &masked, response)
            .map_err(|e| ServerError::classify(e, step, now(), true))?;
        parse_form(&masked, &response.body)
    }
}

/// Parses a token endpoint's answer (`oauth_token=..&oauth_token_secret=..`) into the token and
/// its secret (pure; a fuzz target). An HTML page or a missing field is a [`ServerError`].
pub fn parse_token_answer(
    url: &str,
    body: &[u8],
) -> Result<(AccessToken, TokenSecret), ServerError> {
    let form = parse_form(url, body)?;
    Ok((
        AccessToken::new(required(&form, "oauth_token", url)?),
        TokenSecret::new(required(&form, "oauth_token_secret", url)?),
    ))
}

fn parse_form(url: &str, body: &[u8]) -> Result<BTreeMap<String, String>, ServerError> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype html") || lower.starts_with("<html") || lower.contains("<body")
    {
        return Err(ServerError::HtmlPage {
            url: url.to_owned(),
            page: jira_auth_core::ErrorBody::parse(body, None).to_string(),
            expected: "OAuth answer",
        });
    }
    Ok(url::form_urlencoded::parse(trimmed.as_bytes())
        .into_owned()
        .collect())
}

fn required(form: &BTreeMap<String, String>, name: &str, url: &str) -> Result<String, ServerError> {
    form.get(name)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| ServerError::BadResponse {
            url: url.to_owned(),
            status: 200,
            expected: "an OAuth token answer",
            start: format!("no `{name}` among {:?}", form.keys().collect::<Vec<_>>()),
        })
}

/// Whether the callback `target` carries `expected_token`: a callback for another login (an old
/// tab, a stray) is ignored by the listener rather than ending this one.
pub fn callback_token_matches(target: &str, expected_token: &AccessToken) -> bool {
    Url::parse(&format!("http://127.0.0.1{target}")).is_ok_and(|url| {
        url.query_pairs().any(|(k, v)| {
            k == "oauth_token" && constant_time_eq(&v, expected_token.expose_secret())
        })
    })
}

/// Parses the callback's request target (`/callback?oauth_token=..&oauth_verifier=..`) and
/// checks, in constant time, that the token is the one this login asked for.
pub fn check_callback(
    target: &str,
    expected_token: &AccessToken,
) -> Result<CallbackParams, ServerError> {
    let url =
        Url::parse(&format!("http://127.0.0.1{target}")).map_err(|e| ServerError::BadCallback {
            url: target.to_owned(),
            message: e.to_string(),
        })?;
    let query: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
    let masked = mask_url(&url);
    let get = |name: &str| {
        query
            .get(name)
            .cloned()
            .ok_or_else(|| ServerError::BadCallback {
                url: masked.clone(),
                message: format!("`{name}` is missing"),
            })
    };
    let token = get("oauth_token")?;
    if !constant_time_eq(&token, expected_token.expose_secret()) {
        return Err(ServerError::TokenMismatch);
    }
    let verifier = get("oauth_verifier")?;
    if verifier == "denied" {
        return Err(ServerError::Denied);
    }
    Ok(CallbackParams { token, verifier })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn site_urls_are_normalised_and_endpoints_keep_the_context_path() {
        let http = HttpClient::builder().build().unwrap();
        let base = parse_site_url("https://Jira.Example.com/jira/").unwrap();
        assert_eq!(base.as_str(), "https://jira.example.com/jira");
        let server = JiraServer::new(http, base);
        assert_eq!(
            server.endpoint(REQUEST_TOKEN_PATH).as_str(),
            "https://jira.example.com/jira/plugins/servlet/oauth/request-token"
        );
        let rt = RequestToken {
            token: AccessToken::new("rt 1"),
            secret: TokenSecret::new("s"),
            callback_confirmed: true,
        };
        assert_eq!(
            server.authorize_url(&rt).as_str(),
            "https://jira.example.com/jira/plugins/servlet/oauth/authorize?oauth_token=rt+1"
        );
        for bad in ["jira.example.com", "ftp://x", "https://x/?a=1"] {
            assert!(parse_site_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn callback_is_checked() {
        let expected = AccessToken::new("rt1");
        assert_eq!(
            check_callback("/callback?oauth_token=rt1&oauth_verifier=v%201", &expected).unwrap(),
            CallbackParams {
                token: "rt1".into(),
                verifier: "v 1".into()
            }
        );
        assert!(matches!(
            check_callback("/callback?oauth_token=other&oauth_verifier=v", &expected),
            Err(ServerError::TokenMismatch)
        ));
        assert!(matches!(
            check_callback("/callback?oauth_token=rt1&oauth_verifier=denied", &expected),
            Err(ServerError::Denied)
        ));
        let missing = check_callback("/callback?oauth_token=rt1", &expected).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "the callback to http://127.0.0.1/callback?oauth_token=**** is not a valid OAuth callback: `oauth_verifier` is missing"
        );
    }
}
