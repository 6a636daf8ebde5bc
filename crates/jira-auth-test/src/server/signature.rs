//! An independent RFC 5849 implementation, for checking only: the `Authorization: OAuth` header
//! parser, percent-decoding and -encoding, and the signature base string, written apart from the
//! signer under test so that a bug in one cannot hide behind the same bug in the other.

use std::collections::BTreeMap;
use wiremock::Request;

#[derive(Debug)]
pub(super) struct OAuthHeader {
    pub(super) params: BTreeMap<String, String>,
}

impl OAuthHeader {
    pub(super) fn get(&self, k: &str) -> Option<&str> {
        self.params.get(k).map(String::as_str)
    }
}

/// `OAuth k="v", k2="v2"` → decoded pairs. `None` when it is not an OAuth header.
pub(super) fn parse_oauth_header(header: &str) -> Option<BTreeMap<String, String>> {
    let rest = header.strip_prefix("OAuth ")?;
    let mut out = BTreeMap::new();
    for item in rest.split(',') {
        let (k, v) = item.trim().split_once('=')?;
        let v = v.strip_prefix('"')?.strip_suffix('"')?;
        out.insert(decode(k, false), decode(v, false));
    }
    Some(out)
}

/// Percent-decoding; `plus_is_space` for form data.
pub(super) fn decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// RFC 3986 unreserved characters stay, every other byte becomes `%XX` (uppercase).
pub(super) fn encode(s: &str) -> String {
    let mut out = String::new();
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(super) fn form_pairs(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k, true), decode(v, true))
        })
        .collect()
}

/// The signature base string of a received request (RFC 5849 §3.4.1).
pub(super) fn signature_base_string(request: &Request, oauth: &BTreeMap<String, String>) -> String {
    // wiremock's `request.url` names `localhost`; a real server sees the `Host` the client sent.
    let url = &request.url;
    let scheme = "http";
    let host_header = request
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_lowercase();
    let (host, port) = match host_header.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (h.to_owned(), p.to_owned()),
        _ => (host_header.clone(), String::new()),
    };
    let port = if port.is_empty() || port == "80" {
        String::new()
    } else {
        format!(":{port}")
    };
    let uri = format!("{scheme}://{host}{port}{}", url.path());

    let mut params: Vec<(String, String)> = Vec::new();
    if let Some(q) = url.query() {
        params.extend(form_pairs(q));
    }
    for (k, v) in oauth {
        if k != "oauth_signature" && k != "realm" {
            params.push((k.clone(), v.clone()));
        }
    }
    let is_form = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if is_form {
        params.extend(form_pairs(&String::from_utf8_lossy(&request.body)));
    }
    // Sort on the encoded (name, value) pair, then join.
    let mut encoded: Vec<(String, String)> =
        params.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    encoded.sort();
    let normalized: Vec<String> = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}&{}&{}",
        request.method.as_str().to_uppercase(),
        encode(&uri),
        encode(&normalized.join("&"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn independent_encoder_and_header_parser() {
        assert_eq!(encode("a b+c/é~"), "a%20b%2Bc%2F%C3%A9~");
        assert_eq!(decode("a%20b+c", true), "a b c");
        assert_eq!(decode("a%2", false), "a%2");
        let parsed =
            parse_oauth_header("OAuth oauth_consumer_key=\"my%20key\", oauth_nonce=\"n\"").unwrap();
        assert_eq!(parsed["oauth_consumer_key"], "my key");
        assert!(parse_oauth_header("Bearer x").is_none());
    }
}
