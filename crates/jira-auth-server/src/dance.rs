//! The OAuth 1.0a three-legged dance against Jira's OAuth servlet (RFC 5849 §2):
//! request token → authorize URL → access token, then `GET /rest/api/2/myself` to prove it.
//!
//! Endpoints live under the site URL, context path included:
//! `{base}/plugins/servlet/oauth/{request-token,authorize,access-token}`.

use crate::error::{ServerError, Step};
use crate::signer::{Consumer, OAuth1Signer};
use jira_auth_core::api_error::{describe_unshown, strip_bom};
use jira_auth_core::auth::Authorizer;
use jira_auth_core::http::{HttpClient, Response, check_token_status};
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

/// Temporary credentials from the request-token step. The server confirmed the callback
/// (`oauth_callback_confirmed=true`, RFC 5849 §2.1): an answer without it is refused.
#[derive(Debug, Clone)]
pub struct RequestToken {
    pub token: AccessToken,
    pub secret: TokenSecret,
}

/// Parameters an OAuth 1.0a answer or callback may carry once only: with two values the answer
/// means two things, and which one counts would be up to the reader.
pub const SINGLE_VALUED: [&str; 4] = [
    "oauth_token",
    "oauth_token_secret",
    "oauth_verifier",
    "oauth_callback_confirmed",
];

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
        let (url, response) = self
            .post_form(REQUEST_TOKEN_PATH, &signer, Step::RequestToken)
            .await?;
        parse_request_token_answer(
            &url,
            response.status.as_u16(),
            content_type(&response),
            &response.body,
        )
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
        let (url, response) = self
            .post_form(ACCESS_TOKEN_PATH, &signer, Step::AccessToken)
            .await?;
        parse_token_answer(
            &url,
            response.status.as_u16(),
            content_type(&response),
            &response.body,
        )
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

    /// POSTs a signed request to a token endpoint; returns the masked URL and the 2xx answer.
    /// Error bodies are parsed masked: they may echo the token being exchanged.
    async fn post_form(
        &self,
        path: &str,
        signer: &OAuth1Signer,
        step: Step,
    ) -> Result<(String, Response), ServerError> {
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
        let response = check_token_status("POST", &masked, response)
            .map_err(|e| ServerError::classify(e, step, now(), true))?;
        Ok((masked, response))
    }
}

fn content_type(response: &Response) -> Option<&str> {
    response
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
}

/// Parses the request-token answer (RFC 5849 §2.1: `oauth_token`, `oauth_token_secret` and
/// `oauth_callback_confirmed=true`) that `url` answered with `status` (pure).
pub fn parse_request_token_answer(
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<RequestToken, ServerError> {
    let answer = FormAnswer::parse(url, status, content_type, body)?;
    let token = answer.required("oauth_token")?;
    let secret = answer.required("oauth_token_secret")?;
    // Without the confirmation the server speaks OAuth 1.0, whose approval can be sent to a
    // callback someone else chose (the session fixation that 1.0a closed).
    if answer
        .params
        .get("oauth_callback_confirmed")
        .map(String::as_str)
        != Some("true")
    {
        return Err(ServerError::CallbackNotConfirmed {
            url: url.to_owned(),
        });
    }
    Ok(RequestToken {
        token: AccessToken::new(token),
        secret: TokenSecret::new(secret),
    })
}

/// Parses a token endpoint's answer (`oauth_token=..&oauth_token_secret=..`, RFC 5849 §2.3)
/// that `url` answered with `status` into the token and its secret (pure; a fuzz target). An
/// HTML page, a missing or a repeated field is a [`ServerError`] that describes the body by
/// size and type, never by its content.
pub fn parse_token_answer(
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<TokenCredentials, ServerError> {
    let answer = FormAnswer::parse(url, status, content_type, body)?;
    Ok(TokenCredentials {
        token: AccessToken::new(answer.required("oauth_token")?),
        secret: TokenSecret::new(answer.required("oauth_token_secret")?),
    })
}

/// A token endpoint's form answer: its parameters, each of [`SINGLE_VALUED`] at most once, and
/// how to name the body in an error without showing it (it holds token secrets).
struct FormAnswer<'a> {
    url: &'a str,
    status: u16,
    shape: String,
    params: BTreeMap<String, String>,
}

impl<'a> FormAnswer<'a> {
    fn parse(
        url: &'a str,
        status: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, ServerError> {
        let shape = describe_unshown(content_type, body.len());
        let text = String::from_utf8_lossy(strip_bom(body));
        let trimmed = text.trim();
        let head = trimmed
            .get(..trimmed.len().min(512))
            .unwrap_or("")
            .to_ascii_lowercase();
        let html_type =
            content_type.is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("text/html"));
        if html_type
            || head.starts_with("<!doctype html")
            || head.starts_with("<html")
            || head.contains("<body")
        {
            return Err(ServerError::HtmlPage {
                url: url.to_owned(),
                page: shape,
                expected: "OAuth answer",
            });
        }
        let pairs = url::form_urlencoded::parse(trimmed.as_bytes())
            .into_owned()
            .collect();
        let params = single_valued(pairs).map_err(|name| ServerError::RepeatedParameter {
            url: url.to_owned(),
            name,
        })?;
        Ok(Self {
            url,
            status,
            shape,
            params,
        })
    }

    fn required(&self, name: &str) -> Result<String, ServerError> {
        self.params
            .get(name)
            .filter(|v| !v.is_empty())
            .cloned()
            .ok_or_else(|| ServerError::BadResponse {
                url: self.url.to_owned(),
                status: self.status,
                expected: "an OAuth token answer",
                start: format!("{} without `{name}`", self.shape),
            })
    }
}

/// `pairs` as a map, or the first of [`SINGLE_VALUED`] that appears more than once.
fn single_valued(pairs: Vec<(String, String)>) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for (name, value) in pairs {
        if map.contains_key(&name) && SINGLE_VALUED.contains(&name.as_str()) {
            return Err(name);
        }
        map.entry(name).or_insert(value);
    }
    Ok(map)
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
    let masked = mask_url(&url);
    let query = single_valued(url.query_pairs().into_owned().collect()).map_err(|name| {
        ServerError::BadCallback {
            url: masked.clone(),
            message: format!("`{name}` appears more than once"),
        }
    })?;
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
    use jira_auth_core::Categorize as _;

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
        };
        assert_eq!(
            server.authorize_url(&rt).as_str(),
            "https://jira.example.com/jira/plugins/servlet/oauth/authorize?oauth_token=rt+1"
        );
        for bad in ["jira.example.com", "ftp://x", "https://x/?a=1"] {
            assert!(parse_site_url(bad).is_err(), "{bad}");
        }
    }

    const URL: &str = "https://jira.test/plugins/servlet/oauth/request-token";

    #[test]
    fn the_request_token_answer_must_confirm_the_callback() {
        let ok = parse_request_token_answer(
            URL,
            200,
            Some("text/plain"),
            b"oauth_token=rt1&oauth_token_secret=s1&oauth_callback_confirmed=true",
        )
        .unwrap();
        assert_eq!(ok.token.expose_secret(), "rt1");
        assert_eq!(ok.secret.expose_secret(), "s1");
        for body in [
            "oauth_token=rt1&oauth_token_secret=s1",
            "oauth_token=rt1&oauth_token_secret=s1&oauth_callback_confirmed=false",
            "oauth_token=rt1&oauth_token_secret=s1&oauth_callback_confirmed=TRUE",
            "oauth_token=rt1&oauth_token_secret=s1&oauth_callback_confirmed=",
        ] {
            let err = parse_request_token_answer(URL, 200, None, body.as_bytes()).unwrap_err();
            assert_eq!(
                err.to_string(),
                "https://jira.test/plugins/servlet/oauth/request-token answered without `oauth_callback_confirmed=true` (RFC 5849 §2.1): that is OAuth 1.0, whose approval can be redirected to someone else, not the OAuth 1.0a Jira speaks; check that `--url` reaches Jira Server or Data Center directly, not a proxy or another service",
                "{body}"
            );
            assert_eq!(err.category(), jira_auth_core::Category::Network);
        }
    }

    #[test]
    fn repeated_token_parameters_are_refused() {
        let cases = [
            (
                "oauth_token=a&oauth_token=b&oauth_token_secret=s&oauth_callback_confirmed=true",
                "oauth_token",
            ),
            (
                "oauth_token=a&oauth_token_secret=s&oauth_token_secret=t&oauth_callback_confirmed=true",
                "oauth_token_secret",
            ),
            (
                "oauth_token=a&oauth_token_secret=s&oauth_callback_confirmed=true&oauth_callback_confirmed=false",
                "oauth_callback_confirmed",
            ),
            (
                "oauth_token=a&oauth_token_secret=s&oauth_verifier=v&oauth_verifier=w&oauth_callback_confirmed=true",
                "oauth_verifier",
            ),
        ];
        for (body, name) in cases {
            let message = format!(
                "{URL} answered with `{name}` more than once, so its answer could be read two ways; jira-auth refuses it: check that `--url` reaches Jira directly (a proxy or another service may be adding parameters), then run `jira-auth server login` again"
            );
            let request = parse_request_token_answer(URL, 200, None, body.as_bytes()).unwrap_err();
            assert_eq!(request.to_string(), message);
            assert_eq!(request.category(), jira_auth_core::Category::Network);
            let access = parse_token_answer(URL, 200, None, body.as_bytes()).unwrap_err();
            assert_eq!(access.to_string(), message);
        }
        // Other parameters may repeat (RFC 5849 §3.4.1.3.1 sorts repeated names).
        let extra = parse_token_answer(
            URL,
            200,
            None,
            b"oauth_token=a&oauth_token_secret=s&x=1&x=2",
        );
        assert!(extra.is_ok());
    }

    #[test]
    fn unreadable_token_answers_are_described_never_shown() {
        let json = br#"{"oauth_token":"tok-secret-1","oauth_token_secret":"sec-2"}"#;
        let err = parse_token_answer(URL, 200, Some("application/json"), json).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{URL} answered 200 with a body jira-auth cannot read as an OAuth token answer: 59 bytes of `application/json` without `oauth_token`"
            )
        );
        let html = b"<html><head><title>tok-secret-1</title></head><body></body></html>";
        let err = parse_token_answer(URL, 200, Some("text/html; charset=utf-8"), html).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{URL} answered with 66 bytes of `text/html` where Jira's OAuth answer was expected: a single sign-on proxy is probably in front of Jira; use a URL that reaches Jira directly (ask your Jira administrator) or a personal access token with `jira-auth server login --pat`"
            )
        );
        let secret_only =
            parse_token_answer(URL, 201, None, b"oauth_token_secret=sec-2").unwrap_err();
        assert_eq!(
            secret_only.to_string(),
            format!(
                "{URL} answered 201 with a body jira-auth cannot read as an OAuth token answer: 24 bytes with no Content-Type without `oauth_token`"
            )
        );
        for err in [err, secret_only] {
            assert!(!format!("{err} {err:?}").contains("sec-2"));
        }
    }

    #[test]
    fn a_byte_order_mark_before_the_answer_is_ignored() {
        let tokens = parse_token_answer(
            URL,
            200,
            None,
            b"\xEF\xBB\xBFoauth_token=a&oauth_token_secret=s",
        )
        .unwrap();
        assert_eq!(tokens.token.expose_secret(), "a");
    }

    #[test]
    fn callback_with_a_repeated_parameter_is_refused() {
        let expected = AccessToken::new("rt1");
        for (target, name) in [
            (
                "/callback?oauth_token=rt1&oauth_verifier=v1&oauth_verifier=v2",
                "oauth_verifier",
            ),
            (
                "/callback?oauth_token=rt1&oauth_token=rt2&oauth_verifier=v1",
                "oauth_token",
            ),
        ] {
            let err = check_callback(target, &expected).unwrap_err();
            assert!(matches!(err, ServerError::BadCallback { .. }), "{err}");
            assert!(
                err.to_string().ends_with(&format!(
                    "is not a valid OAuth callback: `{name}` appears more than once"
                )),
                "{err}"
            );
            assert!(!err.to_string().contains("rt1"), "{err}");
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
