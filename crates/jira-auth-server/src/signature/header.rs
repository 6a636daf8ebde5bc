//! RFC 5849 §3.5.1: the `Authorization: OAuth ...` header.
//!
//! `OAuth name="value", ...` with every name and value percent-encoded per §3.6. No `realm`:
//! Jira ignores it and it is optional.

use super::ProtocolParams;
use super::encode::percent_encode;

/// The header value for `params` plus their `oauth_signature`.
pub fn authorization_header(params: &ProtocolParams, signature: &str) -> String {
    let mut pairs = params.pairs();
    pairs.push(("oauth_signature".to_owned(), signature.to_owned()));
    pairs.sort();
    let fields: Vec<String> = pairs
        .iter()
        .map(|(n, v)| format!("{}=\"{}\"", percent_encode(n), percent_encode(v)))
        .collect();
    format!("OAuth {}", fields.join(", "))
}
