//! Secrets as types.
//!
//! Every credential jira-auth handles is a newtype whose `Debug` prints `Name([redacted])` and whose
//! `Display` prints `[redacted]`, so a secret in a log line, an error or a `{:?}` dump shows
//! nothing. Reading the value is an explicit [`expose_secret`](ClientSecret::expose_secret) call,
//! easy to grep for. Serde (de)serialises the plain value: the store and the exports need it.
//! Every value made is also registered with [`crate::redact`], so the binary's error printer can
//! mask it wherever a server echoed it back.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                let value = value.into();
                crate::redact::hold(&value);
                Self(value)
            }

            /// The secret value. Call it only where the value must leave the process: a request
            /// on the wire, the store file, or an export the user asked for.
            pub fn expose_secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(Self::new)
            }
        }
    };
}

secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1): whoever holds it can redeem the authorization code.
    CodeVerifier
);
secret_type!(
    /// An OAuth 2.0 client secret from the Atlassian developer console.
    ClientSecret
);
secret_type!(
    /// An OAuth 2.0 access token (Jira Cloud 3LO) or OAuth 1.0a access token (Jira Server).
    AccessToken
);
secret_type!(
    /// An OAuth 2.0 refresh token. Single use: Atlassian rotates it on every refresh.
    RefreshToken
);
secret_type!(
    /// The OAuth 1.0a token secret that comes with a request or access token.
    TokenSecret
);
secret_type!(
    /// An RSA private key in PEM form (PKCS#8 or PKCS#1).
    PrivateKeyPem
);
secret_type!(
    /// A Jira Data Center personal access token (sent as `Authorization: Bearer`).
    PersonalAccessToken
);
secret_type!(
    /// An Atlassian account API token (sent with the account's email as HTTP basic auth).
    ApiToken
);

/// Parameter names whose values are secrets wherever they appear: a URL's query or fragment,
/// a form body, a JSON error body. Compared without regard to case.
pub const SECRET_PARAMS: &[&str] = &[
    "code",
    "state",
    "access_token",
    "refresh_token",
    "id_token",
    "token",
    "api_token",
    "client_secret",
    "code_verifier",
    "client_assertion",
    "password",
    "ticket",
    "oauth_token",
    "oauth_token_secret",
    "oauth_verifier",
    "oauth_signature",
];

/// What a masked value is shown as.
pub const MASK: &str = "****";

/// Whether `name` is one of [`SECRET_PARAMS`].
pub fn is_secret_param(name: &str) -> bool {
    SECRET_PARAMS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// Renders a URL for messages and logs with user info and secret-bearing query values masked.
///
/// `https://u:p@host/cb?code=abc&x=1` becomes `https://****:****@host/cb?code=****&x=1`. A
/// fragment made of `name=value` pairs (the implicit grant's `#access_token=…&state=…`) has its
/// secret values masked the same way; any other fragment is kept as it is.
pub fn mask_url(url: &url::Url) -> String {
    let mut masked = url.clone();
    if !masked.username().is_empty() {
        let _ = masked.set_username(MASK);
    }
    if masked.password().is_some() {
        let _ = masked.set_password(Some(MASK));
    }
    if masked.query().is_some() {
        let pairs = masked_pairs(url.query().unwrap_or_default());
        masked.query_pairs_mut().clear().extend_pairs(pairs);
    }
    if let Some(fragment) = url.fragment()
        && fragment.contains('=')
    {
        let pairs = masked_pairs(fragment);
        if pairs.iter().any(|(k, _)| is_secret_param(k)) {
            let text = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish();
            masked.set_fragment(Some(&text));
        }
    }
    masked.to_string()
}

/// `a=1&code=x` as pairs, the values of secret names replaced by [`MASK`].
fn masked_pairs(form: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(form.as_bytes())
        .map(|(k, v)| {
            let value = if is_secret_param(&k) {
                MASK.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), value)
        })
        .collect()
}

/// The shortest run of token characters masked without a secret name in front of it.
pub const OPAQUE_MIN_LEN: usize = 20;

/// Masks every token-shaped value in `text` (a body a server sent, which may echo credentials)
/// with [`MASK`]. A value is token-shaped when it is
///
/// 1. the value of a parameter named in [`SECRET_PARAMS`], written as a form or query pair
///    (`refresh_token=…`, up to `&`, white space or punctuation), a JSON or quoted member
///    (`"access_token": "…"`, up to the closing quote) or a header parameter
///    (`oauth_token="…"`); or
/// 2. a run of [`OPAQUE_MIN_LEN`] or more characters from `A-Z a-z 0-9 - . _ ~ + / %` (with
///    trailing `=` padding) that holds at least one letter and one digit: JWTs, opaque tokens,
///    client secrets and codes, whatever name (if any) stands in front of them.
///
/// Words, numbers, dates and short identifiers stay readable; a long id or hash is masked too,
/// which costs a little diagnosis and never a secret.
pub fn mask_tokens(text: &str) -> String {
    mask_opaque_runs(&mask_named_values(text))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn mask_named_values(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_name_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_name_byte(bytes[i]) {
            i += 1;
        }
        if !is_secret_param(&text[start..i]) {
            continue;
        }
        if let Some((from, to)) = value_span(bytes, start, i) {
            out.push_str(&text[copied..from]);
            out.push_str(MASK);
            copied = to;
            i = to;
        }
    }
    out.push_str(&text[copied..]);
    out
}

/// Where the value of the name at `bytes[start..end]` lies, if it has a non-empty one.
fn value_span(bytes: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let at = |i: usize| bytes.get(i).copied();
    let skip_spaces = |mut i: usize| {
        while at(i).is_some_and(|b| b == b' ' || b == b'\t') {
            i += 1;
        }
        i
    };
    let quote = start
        .checked_sub(1)
        .and_then(&at)
        .filter(|q| matches!(q, b'"' | b'\'') && at(end) == Some(*q));
    let (from, quoted) = match quote {
        // `"name": "value"` (JSON, or a quoted repr): only a string value is a secret.
        Some(q) => {
            let colon = skip_spaces(end + 1);
            if at(colon) != Some(b':') {
                return None;
            }
            let open = skip_spaces(colon + 1);
            if at(open) != Some(q) {
                return None;
            }
            (open + 1, Some(q))
        }
        // `name=value` or `name="value"`.
        None if at(end) == Some(b'=') => match at(end + 1) {
            Some(q @ (b'"' | b'\'')) => (end + 2, Some(q)),
            _ => (end + 1, None),
        },
        None => return None,
    };
    let mut to = from;
    match quoted {
        Some(q) => {
            while let Some(b) = at(to) {
                if b == q {
                    break;
                }
                // A JSON escape never ends the string.
                to += if b == b'\\' { 2 } else { 1 };
            }
            to = to.min(bytes.len());
        }
        None => {
            while at(to).is_some_and(|b| !b.is_ascii_whitespace() && !b"&\"'<>,;#)]}".contains(&b))
            {
                to += 1;
            }
        }
    }
    (to > from).then_some((from, to))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/%".contains(&b)
}

fn mask_opaque_runs(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !is_token_byte(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_token_byte(bytes[i]) {
            i += 1;
        }
        // base64 padding belongs to the token; `=` before a value separates a name from it.
        let mut end = i;
        while end < bytes.len() && end - i < 2 && bytes[end] == b'=' {
            end += 1;
        }
        if end < bytes.len() && (is_token_byte(bytes[end]) || bytes[end] == b'=') {
            end = i;
        }
        let run = &bytes[start..i];
        if run.len() >= OPAQUE_MIN_LEN
            && run.iter().any(u8::is_ascii_alphabetic)
            && run.iter().any(u8::is_ascii_digit)
        {
            out.push_str(&text[copied..start]);
            out.push_str(MASK);
            copied = end;
        }
        i = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let value = "s3cr3t-value-123";
        let rendered = [
            format!("{:?}", ClientSecret::new(value)),
            format!("{}", ClientSecret::new(value)),
            format!("{:?}", AccessToken::new(value)),
            format!("{:?}", RefreshToken::new(value)),
            format!("{:?}", TokenSecret::new(value)),
            format!("{:?}", PrivateKeyPem::new(value)),
            format!("{:?}", PersonalAccessToken::new(value)),
            format!("{:?}", ApiToken::new(value)),
            format!("{:#?}", Some(RefreshToken::new(value))),
        ];
        for text in &rendered {
            assert!(!text.contains(value), "{text} leaks the secret");
        }
        assert_eq!(rendered[0], "ClientSecret([redacted])");
        assert_eq!(rendered[1], "[redacted]");
    }

    #[test]
    fn secrets_inside_structs_stay_redacted() {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: AccessToken,
        }
        let text = format!(
            "{:?}",
            Holder {
                token: AccessToken::new("tok-xyz")
            }
        );
        assert_eq!(text, "Holder { token: AccessToken([redacted]) }");
    }

    #[test]
    fn serde_keeps_the_plain_value_for_the_store() {
        let json = serde_json::to_string(&RefreshToken::new("r1")).unwrap();
        assert_eq!(json, "\"r1\"");
        let back: RefreshToken = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose_secret(), "r1");
    }

    #[test]
    fn mask_url_hides_credentials_and_secret_query_values() {
        let url = url::Url::parse("https://me:pw@example.com/cb?code=abc&x=1&state=s").unwrap();
        assert_eq!(
            mask_url(&url),
            "https://****:****@example.com/cb?code=****&x=1&state=****"
        );
        let plain = url::Url::parse("https://example.com/rest/api/2/myself").unwrap();
        assert_eq!(mask_url(&plain), "https://example.com/rest/api/2/myself");
    }

    #[test]
    fn mask_url_hides_id_tokens_passwords_and_tickets_in_any_case() {
        let url = url::Url::parse(
            "https://sso.example/login?id_token=eyJ.x.y&password=hunter2&ticket=ST-1-abc&Access_Token=a&user=jane",
        )
        .unwrap();
        assert_eq!(
            mask_url(&url),
            "https://sso.example/login?id_token=****&password=****&ticket=****&Access_Token=****&user=jane"
        );
    }

    #[test]
    fn mask_url_hides_token_values_in_the_fragment() {
        let url = url::Url::parse(
            "http://127.0.0.1:8080/cb#access_token=at-123&token_type=Bearer&state=s1&expires_in=3600",
        )
        .unwrap();
        assert_eq!(
            mask_url(&url),
            "http://127.0.0.1:8080/cb#access_token=****&token_type=Bearer&state=****&expires_in=3600"
        );
        // Both at once, and a fragment that is not pairs stays as it was.
        let both = url::Url::parse("https://h/p?code=c#id_token=i").unwrap();
        assert_eq!(mask_url(&both), "https://h/p?code=****#id_token=****");
        let anchor = url::Url::parse("https://h/docs#section-2").unwrap();
        assert_eq!(mask_url(&anchor), "https://h/docs#section-2");
        let harmless = url::Url::parse("https://h/docs#a=1&b=two%20words").unwrap();
        assert_eq!(mask_url(&harmless), "https://h/docs#a=1&b=two%20words");
    }

    #[test]
    fn named_values_are_masked_in_forms_json_and_headers() {
        let cases = [
            (
                "access_token=at-1&refresh_token=rt%2F1&expires_in=3600",
                "access_token=****&refresh_token=****&expires_in=3600",
            ),
            (
                r#"{"error":"x","id_token": "a.b.c","client_secret":"s\"q","code":401}"#,
                r#"{"error":"x","id_token": "****","client_secret":"****","code":401}"#,
            ),
            (
                r#"OAuth oauth_token="t1", oauth_verifier='v', realm="r""#,
                r#"OAuth oauth_token="****", oauth_verifier='****', realm="r""#,
            ),
            (
                "bad code=abc; password=hunter2, ticket=T<br>",
                "bad code=****; password=****, ticket=****<br>",
            ),
            // Names inside longer names, prose and empty values are left alone.
            (
                "my_code=1 error code: 500 token= x_access_token=2",
                "my_code=1 error code: 500 token= x_access_token=2",
            ),
            ("state=", "state="),
            (r#""code": "#, r#""code": "#),
            (r#""token": "unterminated"#, r#""token": "****"#),
        ];
        for (input, expected) in cases {
            assert_eq!(mask_tokens(input), expected, "{input}");
        }
    }

    #[test]
    fn long_opaque_values_are_masked_whatever_their_name() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let cases = [
            (format!("unknown grant {jwt}"), "unknown grant ****".to_owned()),
            (
                "session=at-0001-0123456789abcdef&n=1".to_owned(),
                "session=****&n=1".to_owned(),
            ),
            (
                "secret: dGhpcyBpcyBhIHNlY3JldCB2YWx1ZTE=, then".to_owned(),
                "secret: ****, then".to_owned(),
            ),
            (
                "id 1324a887-45db-1bf4-1e99-ef0ff456d421 refused".to_owned(),
                "id **** refused".to_owned(),
            ),
            // No digit, no letter, or too short: words, dates, numbers, paths stay.
            (
                "internationalization_and_localization 2024-01-01T10:00:00Z 1700000000-1700000600 abc123def456ghi789j".to_owned(),
                "internationalization_and_localization 2024-01-01T10:00:00Z 1700000000-1700000600 abc123def456ghi789j".to_owned(),
            ),
            ("Ünïcödé ✓ at-0001-0123456789abcdef✓".to_owned(), "Ünïcödé ✓ ****✓".to_owned()),
        ];
        for (input, expected) in cases {
            assert_eq!(mask_tokens(&input), expected, "{input}");
        }
    }
}
