#![allow(clippy::unwrap_used)]

use super::base_string::{base_string_uri, normalized_parameters};
use super::*;
use url::Url;

const RFC_TEST_KEY: &str = include_str!("../../../../fixtures/server/rfc-test-key.pem");

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect()
}

fn photos_params() -> ProtocolParams {
    ProtocolParams {
        consumer_key: "dpf43f3p2l4k3l03".into(),
        token: None,
        nonce: "13917289812797014437".into(),
        timestamp: 1196666512,
        callback: None,
        verifier: None,
    }
}

/// The published RSA-SHA1 test case (OAuth test cases §9.3, "photos.example.net").
#[test]
fn published_rsa_sha1_vector() {
    let url =
        Url::parse("http://photos.example.net/photos?file=vacaction.jpg&size=original").unwrap();
    let request = SignedRequest {
        method: "GET",
        url: &url,
        form_body: None,
    };
    let params = photos_params();
    let base = base_string(request, &params.pairs());
    assert_eq!(
        base,
        "GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacaction.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3D13917289812797014437%26oauth_signature_method%3DRSA-SHA1%26oauth_timestamp%3D1196666512%26oauth_version%3D1.0%26size%3Doriginal"
    );
    let key = crate::key::parse_private_key_pem(RFC_TEST_KEY).unwrap();
    let signature = rsa_sha1::sign(&key, &base).unwrap();
    assert_eq!(
        signature,
        "jvTp/wX1TYtByB1m+Pbyo0lnCOLIsyGCH7wke8AUs3BpnwZJtAuEJkvQL2/9n4s5wUmUl4aCI4BwpraNx4RtEXMe5qg5T1LVTGliMRpKasKsW//e+RinhejgCuzoH26dyF8iY2ZZ/5D1ilgeijhV/vBka5twt399mXwaYdCwFYE="
    );
    assert_eq!(
        sign(&key, request, &params).unwrap(),
        "OAuth oauth_consumer_key=\"dpf43f3p2l4k3l03\", oauth_nonce=\"13917289812797014437\", \
         oauth_signature=\"jvTp%2FwX1TYtByB1m%2BPbyo0lnCOLIsyGCH7wke8AUs3BpnwZJtAuEJkvQL2%2F9n4s5wUmUl4aCI4BwpraNx4RtEXMe5qg5T1LVTGliMRpKasKsW%2F%2Fe%2BRinhejgCuzoH26dyF8iY2ZZ%2F5D1ilgeijhV%2FvBka5twt399mXwaYdCwFYE%3D\", \
         oauth_signature_method=\"RSA-SHA1\", oauth_timestamp=\"1196666512\", oauth_version=\"1.0\""
    );
}

/// The same vector with the parameters in a form body instead of the query: same signature.
#[test]
fn form_body_parameters_are_signed() {
    let url = Url::parse("http://photos.example.net/photos").unwrap();
    let request = SignedRequest {
        method: "get",
        url: &url,
        form_body: Some(b"file=vacaction.jpg&size=original"),
    };
    let key = crate::key::parse_private_key_pem(RFC_TEST_KEY).unwrap();
    let base = base_string(request, &photos_params().pairs());
    assert!(base.starts_with("GET&"), "{base}");
    assert!(
        rsa_sha1::sign(&key, &base)
            .unwrap()
            .starts_with("jvTp/wX1TYtByB1m")
    );
}

/// RFC 5849 §3.4.1.3: reserved characters, an encoded `=` inside a value, duplicate names,
/// empty values, `+` in a form body, all sorted by encoded name then value.
#[test]
fn rfc5849_parameter_normalization_example() {
    let url = Url::parse("http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b").unwrap();
    let request = SignedRequest {
        method: "POST",
        url: &url,
        form_body: Some(b"c2&a3=2+q"),
    };
    let protocol = pairs(&[
        ("oauth_consumer_key", "9djdj82h48djs9d2"),
        ("oauth_token", "kkk9d7dh3k39sjv7"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "137131201"),
        ("oauth_nonce", "7d8f3e4a"),
        ("oauth_signature", "djosJKDKJSD8743243%2Fjdk33klY%3D"),
        ("realm", "Example"),
    ]);
    assert_eq!(
        normalized_parameters(request, &protocol),
        "a2=r%20b&a3=2%20q&a3=a&b5=%3D%253D&c%40=&c2=&oauth_consumer_key=9djdj82h48djs9d2&oauth_nonce=7d8f3e4a&oauth_signature_method=HMAC-SHA1&oauth_timestamp=137131201&oauth_token=kkk9d7dh3k39sjv7"
    );
    assert_eq!(
        base_string(request, &protocol),
        "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
    );
}

#[test]
fn base_string_uri_cases() {
    let cases = [
        // RFC 5849 §3.4.1.2 examples: default port dropped, path kept as sent
        (
            "http://EXAMPLE.COM:80/r%20v/X?id=123",
            "http://example.com/r%20v/X",
        ),
        (
            "https://www.example.net:8080/?q=1",
            "https://www.example.net:8080/",
        ),
        (
            "HTTPS://Jira.Example.com:443/jira/rest/api/2/myself",
            "https://jira.example.com/jira/rest/api/2/myself",
        ),
        (
            "http://127.0.0.1:8080/plugins/servlet/oauth/request-token",
            "http://127.0.0.1:8080/plugins/servlet/oauth/request-token",
        ),
        ("https://jira.example.com", "https://jira.example.com/"),
        (
            "http://jira.example.com:443/x#frag",
            "http://jira.example.com:443/x",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            base_string_uri(&Url::parse(input).unwrap()),
            expected,
            "{input}"
        );
    }
}

#[test]
fn percent_encoding_cases() {
    let cases = [
        ("abcXYZ019-._~", "abcXYZ019-._~"),
        (" ", "%20"),
        ("+", "%2B"),
        ("!*'()", "%21%2A%27%28%29"),
        ("a=b&c", "a%3Db%26c"),
        ("/?#[]@", "%2F%3F%23%5B%5D%40"),
        ("%", "%25"),
        ("café ☃", "caf%C3%A9%20%E2%98%83"),
        ("", ""),
    ];
    for (input, expected) in cases {
        assert_eq!(percent_encode(input), expected, "{input:?}");
    }
}

#[test]
fn unicode_and_empty_values_in_query_and_callback() {
    let url = Url::parse("https://jira.example.com:8443/jira/rest/api/2/search?jql=summary~%22caf%C3%A9%22&fields=&fields=key").unwrap();
    let params = ProtocolParams {
        consumer_key: "jira-auth".into(),
        token: Some("tok".into()),
        nonce: "n".into(),
        timestamp: 1,
        callback: Some("http://127.0.0.1:5000/callback?x=1".into()),
        verifier: Some("".into()),
    };
    let request = SignedRequest {
        method: "GET",
        url: &url,
        form_body: None,
    };
    assert_eq!(
        base_string(request, &params.pairs()),
        "GET&https%3A%2F%2Fjira.example.com%3A8443%2Fjira%2Frest%2Fapi%2F2%2Fsearch&fields%3D%26fields%3Dkey%26jql%3Dsummary~%2522caf%25C3%25A9%2522%26oauth_callback%3Dhttp%253A%252F%252F127.0.0.1%253A5000%252Fcallback%253Fx%253D1%26oauth_consumer_key%3Djira-auth%26oauth_nonce%3Dn%26oauth_signature_method%3DRSA-SHA1%26oauth_timestamp%3D1%26oauth_token%3Dtok%26oauth_verifier%3D%26oauth_version%3D1.0"
    );
}

#[test]
fn header_encodes_values_and_sorts_names() {
    let params = ProtocolParams {
        consumer_key: "my key".into(),
        token: Some("t/1".into()),
        nonce: "abc".into(),
        timestamp: 42,
        callback: Some("oob".into()),
        verifier: None,
    };
    assert_eq!(
        authorization_header(&params, "s+/="),
        "OAuth oauth_callback=\"oob\", oauth_consumer_key=\"my%20key\", oauth_nonce=\"abc\", oauth_signature=\"s%2B%2F%3D\", oauth_signature_method=\"RSA-SHA1\", oauth_timestamp=\"42\", oauth_token=\"t%2F1\", oauth_version=\"1.0\""
    );
}
