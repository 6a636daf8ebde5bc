//! oauth2's `AsyncHttpClient` over the shared [`HttpClient`], so token calls get the same
//! timeouts, `User-Agent`, no-redirect policy and retry rules as every other request.
//!
//! Token requests are sent as [`Idempotency::NotIdempotent`]: an authorization code is single
//! use and a refresh token rotates, so a request the server may have processed is never repeated
//! (only a 429 or a refused connection is).

use jira_auth_core::http::{HttpClient, HttpError, Idempotency};
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
            let response = self
                .0
                .send_with(request, Idempotency::NotIdempotent)
                .await?;
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
