//! oauth2's `AsyncHttpClient` over the shared [`HttpClient`], so token calls get the same
//! timeouts, `User-Agent`, no-redirect policy and retry rules as every other request.
//!
//! Token requests are sent as [`Idempotency::NotIdempotent`]: an authorization code is single
//! use and a refresh token rotates, so a request the server may have processed is never repeated
//! (only a 429 or a refused connection is). A redirect is never followed; it becomes
//! [`HttpError::Redirect`] naming where it pointed.
//!
//! A token endpoint's body is never shown as it came: a success that is not JSON is described
//! by its size and `Content-Type`, and an error body that is not RFC 6749 §5.2 JSON is parsed
//! with [`jira_auth_core::ErrorBody::parse_masked`]. A leading UTF-8 byte order mark is dropped.

use crate::CloudError;
use jira_auth_core::api_error::{describe_unshown, strip_bom};
use jira_auth_core::http::{HttpClient, HttpError, Idempotency, check_token_status};
use std::future::Future;
use std::pin::Pin;

/// The oauth2 transport: a borrowed shared client.
#[derive(Debug, Clone, Copy)]
pub struct Transport<'a>(pub &'a HttpClient);

impl<'c> oauth2::AsyncHttpClient<'c> for Transport<'_> {
    type Error = HttpError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let method = request.method().to_string();
            let url = url::Url::parse(&request.uri().to_string())
                .map(|u| jira_auth_core::secret::mask_url(&u))
                .unwrap_or_else(|_| request.uri().to_string());
            let mut response = self
                .0
                .send_with(request, Idempotency::NotIdempotent)
                .await?;
            // A byte order mark before the JSON (some Windows stacks send one) is not JSON to
            // serde; the JSON after it is what the server meant.
            let unmarked = strip_bom(&response.body);
            if unmarked.len() < response.body.len() {
                response.body = unmarked.to_vec();
            }
            // oauth2 reads only RFC 6749 §5.2 error bodies; anything else (a redirect, a 5xx, a
            // proxy's HTML page) would become an opaque parse error, so it is reported here
            // with what actually came back, token-shaped values masked.
            let oauth_error_body = response.status.is_client_error()
                && serde_json::from_slice::<serde_json::Value>(&response.body)
                    .is_ok_and(|v| v.get("error").is_some_and(serde_json::Value::is_string));
            let response = if !response.status.is_success() && !oauth_error_body {
                check_token_status(&method, &url, response)?
            } else {
                response
            };
            // A 2xx that is not JSON is a login page, a proxy's page or a server answering in
            // another format (form-encoded tokens): it may hold credentials, so it is described
            // by its size and type, never shown.
            if response.status.is_success() && !is_json_answer(&response.headers, &response.body) {
                let content_type = response
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                return Err(HttpError::Transport {
                    url,
                    message: format!(
                        "answered {} with {} instead of an `application/json` token response (not shown: it may hold credentials); is a proxy, a login page or a server other than Atlassian's in the way?",
                        response.status.as_u16(),
                        describe_unshown(content_type.as_deref(), response.body.len()),
                    ),
                });
            }
            let mut builder = http::Response::builder().status(response.status);
            if let Some(headers) = builder.headers_mut() {
                *headers = response.headers;
            }
            builder
                .body(response.body)
                .map_err(|e| HttpError::InvalidRequest(e.to_string()))
        })
    }
}

/// Whether a success answer is JSON the way oauth2 reads it: a `Content-Type` that is absent or
/// starts with `application/json` (RFC 7231 media types are case-insensitive), and a body that
/// parses as JSON.
fn is_json_answer(headers: &http::HeaderMap, body: &[u8]) -> bool {
    let json_type = headers.get(http::header::CONTENT_TYPE).is_none_or(|v| {
        v.to_str()
            .is_ok_and(|t| t.to_ascii_lowercase().starts_with("application/json"))
    });
    json_type && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
}

/// Whether `body` starts (after white space) like a JSON object or array.
/// A JSON answer from Atlassian read as `T` (a byte order mark skipped); anything that is not JSON
/// (a proxy's or login page, an error page) is named without its content. `url` is only for the
/// message.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    url: &str,
    body: &[u8],
) -> Result<T, CloudError> {
    let body = strip_bom(body);
    if !looks_like_json(body) {
        return Err(CloudError::BadResponse {
            url: url.to_owned(),
            message: format!(
                "{} instead of JSON; is a proxy or a login page in the way?",
                jira_auth_core::ErrorBody::parse(body, None)
            ),
        });
    }
    serde_json::from_slice(body).map_err(|e| CloudError::BadResponse {
        url: url.to_owned(),
        message: e.to_string(),
    })
}

fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['))
}
