//! [`OAuth1Signer`]: the RSA-SHA1 [`Authorizer`], so the shared HTTP client signs every attempt
//! afresh (new nonce, current timestamp) and a retried request is never answered `nonce_used`.

use crate::signature::{self, ProtocolParams, SignedRequest};
use jira_auth_core::AccessToken;
use jira_auth_core::auth::{AuthorizeError, Authorizer};
use jira_auth_core::random::hex_token;
use jira_auth_core::time::{Clock, SystemClock, unix_seconds};
use rsa::RsaPrivateKey;
use std::fmt;
use std::sync::Arc;

/// Bytes of OS randomness in each `oauth_nonce` (128 bits, hex-encoded to 32 characters).
pub const NONCE_BYTES: usize = 16;

/// The consumer half of OAuth 1.0a: the Application Link's consumer key and its private key.
#[derive(Clone)]
pub struct Consumer {
    pub key: String,
    private_key: Arc<RsaPrivateKey>,
}

impl Consumer {
    pub fn new(key: impl Into<String>, private_key: RsaPrivateKey) -> Self {
        Self {
            key: key.into(),
            private_key: Arc::new(private_key),
        }
    }

    pub fn private_key(&self) -> &RsaPrivateKey {
        &self.private_key
    }
}

impl fmt::Debug for Consumer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("key", &self.key)
            .field("private_key", &"[redacted]")
            .finish()
    }
}

/// Signs requests with RSA-SHA1 as `consumer`, optionally with a token (request or access).
#[derive(Clone)]
pub struct OAuth1Signer {
    consumer: Consumer,
    token: Option<AccessToken>,
    callback: Option<String>,
    verifier: Option<String>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for OAuth1Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth1Signer")
            .field("consumer", &self.consumer)
            .field("token", &self.token)
            .field("callback", &self.callback)
            .field("verifier", &self.verifier.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl OAuth1Signer {
    /// A signer with no token (the request-token step).
    pub fn new(consumer: Consumer) -> Self {
        Self {
            consumer,
            token: None,
            callback: None,
            verifier: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// Signs with `oauth_token` (the access token for REST calls, the request token when
    /// exchanging it).
    pub fn with_token(mut self, token: AccessToken) -> Self {
        self.token = Some(token);
        self
    }

    /// Adds `oauth_callback` (request-token step).
    pub fn with_callback(mut self, callback: impl Into<String>) -> Self {
        self.callback = Some(callback.into());
        self
    }

    /// Adds `oauth_verifier` (access-token step).
    pub fn with_verifier(mut self, verifier: impl Into<String>) -> Self {
        self.verifier = Some(verifier.into());
        self
    }

    /// Uses `clock` for `oauth_timestamp`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn consumer(&self) -> &Consumer {
        &self.consumer
    }

    /// The `Authorization` header value for one attempt of `request`, with `nonce`.
    pub fn header_for(
        &self,
        request: &http::Request<Vec<u8>>,
        nonce: String,
    ) -> Result<String, AuthorizeError> {
        let url = url::Url::parse(&request.uri().to_string())
            .map_err(|e| AuthorizeError(format!("cannot sign a request to a bad URL: {e}")))?;
        let is_form = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        let params = ProtocolParams {
            consumer_key: self.consumer.key.clone(),
            token: self.token.as_ref().map(|t| t.expose_secret().to_owned()),
            nonce,
            timestamp: unix_seconds(self.clock.now()),
            callback: self.callback.clone(),
            verifier: self.verifier.clone(),
        };
        let signed = SignedRequest {
            method: request.method().as_str(),
            url: &url,
            form_body: is_form.then_some(request.body().as_slice()),
        };
        signature::sign(self.consumer.private_key(), signed, &params)
            .map_err(|e| AuthorizeError(e.to_string()))
    }
}

impl Authorizer for OAuth1Signer {
    fn authorize(&self, request: &mut http::Request<Vec<u8>>) -> Result<(), AuthorizeError> {
        let value = self.header_for(request, hex_token(NONCE_BYTES))?;
        let mut header = http::HeaderValue::from_str(&value)
            .map_err(|_| AuthorizeError("the OAuth header is not a valid header value".into()))?;
        header.set_sensitive(true);
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, header);
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "OAuth 1.0a (RSA-SHA1) with consumer key `{}`",
            self.consumer.key
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use jira_auth_core::time::{RecordingClock, from_unix_seconds};

    fn consumer() -> Consumer {
        let pem = jira_auth_test::fixtures::text("server/rfc-test-key.pem");
        Consumer::new(
            "dpf43f3p2l4k3l03",
            crate::key::parse_private_key_pem(&pem).unwrap(),
        )
    }

    #[test]
    fn signs_the_published_vector_through_the_authorizer_path() {
        let signer = OAuth1Signer::new(consumer()).with_clock(Arc::new(
            RecordingClock::starting_at(from_unix_seconds(1196666512)),
        ));
        let request =
            http::Request::get("http://photos.example.net/photos?file=vacaction.jpg&size=original")
                .body(Vec::new())
                .unwrap();
        let header = signer
            .header_for(&request, "13917289812797014437".into())
            .unwrap();
        assert!(
            header
                .contains("oauth_signature=\"jvTp%2FwX1TYtByB1m%2BPbyo0lnCOLIsyGCH7wke8AUs3BpnwZJ"),
            "{header}"
        );
    }

    #[test]
    fn every_attempt_gets_a_fresh_128_bit_nonce_and_a_sensitive_header() {
        let signer = OAuth1Signer::new(consumer()).with_token(AccessToken::new("at"));
        let nonce_of = |request: &http::Request<Vec<u8>>| {
            let value = request.headers()["authorization"]
                .to_str()
                .unwrap()
                .to_owned();
            let start = value.find("oauth_nonce=\"").unwrap() + 13;
            value[start..start + 32].to_owned()
        };
        let mut a = http::Request::get("https://jira.test/rest/api/2/myself")
            .body(Vec::new())
            .unwrap();
        let mut b = a.clone();
        signer.authorize(&mut a).unwrap();
        signer.authorize(&mut b).unwrap();
        assert!(a.headers()["authorization"].is_sensitive());
        let (na, nb) = (nonce_of(&a), nonce_of(&b));
        assert!(na.chars().all(|c| c.is_ascii_hexdigit()), "{na}");
        assert_ne!(na, nb);
        assert!(
            a.headers()["authorization"]
                .to_str()
                .unwrap()
                .contains("oauth_token=\"at\"")
        );
    }

    #[test]
    fn debug_redacts_key_token_and_verifier() {
        let signer = OAuth1Signer::new(consumer())
            .with_token(AccessToken::new("secret-token"))
            .with_verifier("secret-verifier");
        let text = format!("{signer:?}");
        assert!(
            !text.contains("secret-token") && !text.contains("secret-verifier"),
            "{text}"
        );
        assert!(text.contains("private_key: \"[redacted]\""), "{text}");
        assert_eq!(
            signer.describe(),
            "OAuth 1.0a (RSA-SHA1) with consumer key `dpf43f3p2l4k3l03`"
        );
    }
}
