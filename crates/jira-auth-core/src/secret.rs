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

/// Query parameters whose values are secrets when they appear in a URL.
const SECRET_QUERY_KEYS: &[&str] = &[
    "code",
    "state",
    "access_token",
    "refresh_token",
    "client_secret",
    "oauth_token",
    "oauth_verifier",
    "oauth_signature",
    "token",
];

/// Renders a URL for messages and logs with user info and secret-bearing query values masked.
///
/// `https://u:p@host/cb?code=abc&x=1` becomes `https://****:****@host/cb?code=****&x=1`.
pub fn mask_url(url: &url::Url) -> String {
    let mut masked = url.clone();
    if !masked.username().is_empty() {
        let _ = masked.set_username("****");
    }
    if masked.password().is_some() {
        let _ = masked.set_password(Some("****"));
    }
    if masked.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_QUERY_KEYS.contains(&k.as_ref());
                (
                    k.into_owned(),
                    if secret {
                        "****".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        masked.query_pairs_mut().clear().extend_pairs(pairs);
    }
    masked.to_string()
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
}
