//! RFC 5849 §3.4.1: the signature base string.
//!
//! `METHOD&encode(base string URI)&encode(normalized parameters)`, where
//! - the method is uppercased (§3.4.1.1);
//! - the base string URI has a lowercase scheme and host, no default port (80 for http, 443 for
//!   https), the path as sent (`/` when empty), no query and no fragment (§3.4.1.2);
//! - the parameters are the query's, the protocol `oauth_*` ones (without `oauth_signature` and
//!   `realm`) and an `application/x-www-form-urlencoded` body's, each name and value
//!   percent-encoded (§3.6), sorted by encoded name then encoded value, duplicates kept, joined as
//!   `name=value` with `&` (§3.4.1.3.2).

use super::SignedRequest;
use super::encode::percent_encode;

/// The base string URI of `url` (§3.4.1.2).
pub fn base_string_uri(url: &url::Url) -> String {
    // `url` already lowercases scheme and host and forgets a default port.
    let scheme = url.scheme().to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = if url.path().is_empty() {
        "/"
    } else {
        url.path()
    };
    format!("{scheme}://{host}{port}{path}")
}

/// The normalized request parameters (§3.4.1.3.2).
pub fn normalized_parameters(request: SignedRequest<'_>, protocol: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, value: &str| {
        pairs.push((percent_encode(name), percent_encode(value)));
    };
    if let Some(query) = request.url.query() {
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            push(&name, &value);
        }
    }
    for (name, value) in protocol {
        if name != "oauth_signature" && name != "realm" {
            push(name, value);
        }
    }
    if let Some(body) = request.form_body {
        for (name, value) in url::form_urlencoded::parse(body) {
            push(&name, &value);
        }
    }
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The signature base string (§3.4.1.1).
pub fn base_string(request: SignedRequest<'_>, protocol: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        request.method.to_ascii_uppercase(),
        percent_encode(&base_string_uri(request.url)),
        percent_encode(&normalized_parameters(request, protocol)),
    )
}
