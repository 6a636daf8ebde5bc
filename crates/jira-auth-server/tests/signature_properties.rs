//! Property tests of the RFC 5849 pieces: §3.6 percent-encoding round trips and its output
//! alphabet, and §3.4.1 base-string invariants (three `&`-separated parts, sorted normalized
//! parameters, order and placement of parameters not mattering, `oauth_signature` and `realm`
//! left out).

#![allow(clippy::unwrap_used)]

use jira_auth_server::signature::base_string::{base_string_uri, normalized_parameters};
use jira_auth_server::signature::{SignedRequest, base_string, percent_encode};
use percent_encoding::percent_decode_str;
use proptest::prelude::*;

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8().unwrap().into_owned()
}

fn is_unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Parameter names and values: any Unicode, with the characters that matter (`&`, `=`, `+`,
/// `%`, space) made likely.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-zA-Z0-9 &=+%~._\\-/?#é]{0,12}",]
}

fn params() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec((text(), text()), 0..6)
}

fn form(pairs: &[(String, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn url_with(query: &[(String, String)], path: &str) -> url::Url {
    let mut url = url::Url::parse("https://Jira.Example.com:443/").unwrap();
    url.set_path(path);
    if !query.is_empty() {
        url.set_query(Some(&form(query)));
    }
    url
}

fn protocol() -> Vec<(String, String)> {
    vec![
        ("oauth_consumer_key".into(), "jira-auth".into()),
        ("oauth_nonce".into(), "n0nce".into()),
        ("oauth_signature_method".into(), "RSA-SHA1".into()),
        ("oauth_timestamp".into(), "1700000000".into()),
        ("oauth_version".into(), "1.0".into()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn percent_encoding_round_trips(s in any::<String>()) {
        prop_assert_eq!(decode(&percent_encode(&s)), s);
    }

    #[test]
    fn percent_encoding_uses_only_unreserved_characters_and_uppercase_escapes(s in any::<String>()) {
        let encoded = percent_encode(&s);
        let bytes = encoded.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                prop_assert!(i + 2 < bytes.len(), "a truncated escape in {}", encoded);
                let hex = &encoded[i + 1..i + 3];
                prop_assert!(hex.chars().all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c)), "{}", hex);
                // Only bytes outside the unreserved set are escaped.
                let byte = u8::from_str_radix(hex, 16).unwrap();
                prop_assert!(!(byte.is_ascii() && is_unreserved(byte as char)), "{} escaped", hex);
                i += 3;
            } else {
                prop_assert!(is_unreserved(bytes[i] as char), "{:?} left raw", bytes[i] as char);
                i += 1;
            }
        }
    }

    #[test]
    fn unreserved_text_is_left_alone(s in "[A-Za-z0-9._~-]{0,40}") {
        prop_assert_eq!(percent_encode(&s), s);
    }

    #[test]
    fn the_base_string_is_three_encoded_parts_with_sorted_parameters(
        method in "[a-zA-Z]{1,7}",
        path in "(/[a-zA-Z0-9._~-]{0,8}){0,3}",
        query in params(),
        body in params(),
    ) {
        let url = url_with(&query, &path);
        let body_text = form(&body);
        let request = SignedRequest {
            method: &method,
            url: &url,
            form_body: (!body.is_empty()).then_some(body_text.as_bytes()),
        };
        let base = base_string(request, &protocol());
        let parts: Vec<&str> = base.split('&').collect();
        prop_assert_eq!(parts.len(), 3, "{}", base);
        prop_assert_eq!(parts[0], method.to_ascii_uppercase());
        let uri = decode(parts[1]);
        prop_assert_eq!(&uri, &base_string_uri(&url));
        prop_assert!(uri.starts_with("https://jira.example.com/"), "{}", uri);
        prop_assert!(!uri.contains('?') && !uri.contains('#') && !uri.contains(":443"), "{}", uri);
        let normalized = decode(parts[2]);
        prop_assert_eq!(&normalized, &normalized_parameters(request, &protocol()));
        // Every pair is `encoded-name=encoded-value`, sorted, and there is one per parameter.
        let pairs: Vec<(&str, &str)> = normalized
            .split('&')
            .map(|p| p.split_once('=').unwrap())
            .collect();
        prop_assert_eq!(pairs.len(), query.len() + body.len() + protocol().len());
        let mut sorted = pairs.clone();
        sorted.sort();
        prop_assert_eq!(&pairs, &sorted);
        for (n, v) in &pairs {
            prop_assert_eq!(percent_encode(&decode(n)), *n);
            prop_assert_eq!(percent_encode(&decode(v)), *v);
        }
    }

    #[test]
    fn parameter_order_and_query_or_body_placement_do_not_change_the_base_string(
        all in params(),
        split in 0usize..6,
        rotate in 0usize..6,
    ) {
        let split = split.min(all.len());
        let (query, body) = all.split_at(split);
        let url = url_with(query, "/rest/api/2/search");
        let body_text = form(body);
        let a = base_string(
            SignedRequest { method: "POST", url: &url, form_body: Some(body_text.as_bytes()) },
            &protocol(),
        );
        // Everything in the query, in another order.
        let mut rotated = all.clone();
        if !rotated.is_empty() {
            let r = rotate % rotated.len();
            rotated.rotate_left(r);
        }
        let url_all = url_with(&rotated, "/rest/api/2/search");
        let b = base_string(
            SignedRequest { method: "post", url: &url_all, form_body: None },
            &protocol(),
        );
        prop_assert_eq!(a, b);
    }

    #[test]
    fn signature_and_realm_never_take_part(value in text()) {
        let url = url_with(&[], "/");
        let request = SignedRequest { method: "GET", url: &url, form_body: None };
        let mut with = protocol();
        with.push(("oauth_signature".into(), value.clone()));
        with.push(("realm".into(), value));
        prop_assert_eq!(base_string(request, &with), base_string(request, &protocol()));
    }
}
