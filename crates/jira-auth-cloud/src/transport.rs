//! oauth2's `AsyncHttpClient` over the shared [`HttpClient`], so token calls get the same
//! timeouts, `User-Agent`, no-redirect policy and retry rules as every other request.
//!
//! Token requests are sent as [`Idempotency::NotIdempotent`]: an authorization code is single
//! use and a refresh token rotates, so a request the server may have processed is never repeated
//! (only a 429 or a refused connection is). A redirect is never followed; it becomes
//! [`HttpError::Redirect`] naming where it pointed.

use jira_auth_core::http::{HttpClient, HttpError, Idempotency, check_status};
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
            let response = self
                .0
                .send_with(request, Idempotency::NotIdempotent)
                .await?;
            // oauth2 reads only RFC 6749 §5.2 error bodies; anything else (a redirect, a 5xx, a
            // proxy's HTML page) would become an opaque parse error, so it is reported here
            // with what actually came back.
            let oauth_error_body = response.status.is_client_error()
                && serde_json::from_slice::<serde_json::Value>(&response.body)
                    .is_ok_and(|v| v.get("error").is_some_and(serde_json::Value::is_string));
            let response = if !response.status.is_success() && !oauth_error_body {
                check_status(&method, &url, response)?
            } else {
                response
            };
            // A 200 that is not JSON is a login page or a proxy's page: say which.
            if response.status.is_success() && !looks_like_json(&response.body) {
                return Err(HttpError::Transport {
                    url,
                    message: format!(
                        "answered {} with {} instead of a JSON token response; is a proxy or a login page in the way?",
                        response.status.as_u16(),
                        jira_auth_core::ErrorBody::parse(&response.body, None)
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

/// Whether `body` starts (after white space) like a JSON object or array.
pub(crate) fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['))
}
