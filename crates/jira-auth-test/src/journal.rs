//! The request journal: what went over the wire, as text a test can compare exactly.

use wiremock::{MockServer, Request};

/// Headers that vary by client build or connection and say nothing about behaviour.
const UNSTABLE_HEADERS: &[&str] = &["host", "content-length", "accept-encoding", "connection"];

/// One request rendered as `METHOD /path?query`, its sorted headers, and its body.
pub fn render(request: &Request) -> String {
    let mut out = format!("{} {}", request.method, request.url.path());
    if let Some(q) = request.url.query() {
        out.push('?');
        out.push_str(q);
    }
    out.push('\n');
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(k, _)| !UNSTABLE_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("<binary>").to_owned()))
        .collect();
    headers.sort();
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if !request.body.is_empty() {
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(&request.body));
        out.push('\n');
    }
    out
}

/// Every request `server` received so far, in order.
pub async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

/// `METHOD /path` of every request `server` received, in order: the shape of a conversation.
pub async fn lines(server: &MockServer) -> Vec<String> {
    requests(server)
        .await
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect()
}

/// The whole journal of `server`, each request rendered by [`render`], separated by `---`.
pub async fn render_all(server: &MockServer) -> String {
    requests(server)
        .await
        .iter()
        .map(render)
        .collect::<Vec<_>>()
        .join("---\n")
}
