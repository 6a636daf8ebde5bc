//! OAuth 1.0a request signing with RSA-SHA1 (RFC 5849 §3), as pure functions: no I/O, no clock,
//! no randomness except the blinding factor inside the RSA operation.
//!
//! Why our own signer rather than an OAuth 1.0a crate: Jira Server only speaks RSA-SHA1, which is
//! one base string (§3.4.1), one percent-encoding (§3.6), one RSASSA-PKCS1-v1_5 call (§3.4.3) and
//! one header (§3.5.1): about two hundred lines on `rsa` + `sha1` + `percent-encoding`, all of them
//! crates we already build. An OAuth crate would pin its own `rsa` major (oauth1-request has one
//! feature per `rsa` version) and we would chase it on every bump; this module is tested against
//! the published RSA-SHA1 test case (fixed nonce and timestamp, exact signature) instead.
//!
//! - [`encode`]: §3.6 percent-encoding (unreserved set only, uppercase hex, UTF-8).
//! - [`base_string`](mod@base_string): §3.4.1 signature base string from method, URL, protocol parameters, body.
//! - [`rsa_sha1`]: §3.4.3 RSASSA-PKCS1-v1_5 over SHA-1, with blinding.
//! - [`header`]: §3.5.1 the `Authorization: OAuth ...` header.

pub mod base_string;
pub mod encode;
pub mod header;
pub mod rsa_sha1;

pub use base_string::base_string;
pub use encode::percent_encode;
pub use header::authorization_header;

/// The `oauth_signature_method` value: the only one Jira Server accepts.
pub const SIGNATURE_METHOD: &str = "RSA-SHA1";

/// The OAuth protocol parameters of one request (§3.1), before signing.
///
/// `nonce` and `timestamp` are inputs so tests can fix them; [`crate::signer::OAuth1Signer`]
/// draws a fresh 128-bit nonce and reads its clock for every attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolParams {
    pub consumer_key: String,
    /// `oauth_token`: the request token (access-token step) or the access token (REST calls).
    pub token: Option<String>,
    pub nonce: String,
    pub timestamp: i64,
    /// `oauth_callback` (request-token step only): a URL or `oob`.
    pub callback: Option<String>,
    /// `oauth_verifier` (access-token step only).
    pub verifier: Option<String>,
}

impl ProtocolParams {
    /// The `oauth_*` pairs that take part in the signature (not `oauth_signature`, not `realm`),
    /// unencoded.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("oauth_consumer_key".to_owned(), self.consumer_key.clone()),
            ("oauth_nonce".to_owned(), self.nonce.clone()),
            (
                "oauth_signature_method".to_owned(),
                SIGNATURE_METHOD.to_owned(),
            ),
            ("oauth_timestamp".to_owned(), self.timestamp.to_string()),
            ("oauth_version".to_owned(), "1.0".to_owned()),
        ];
        if let Some(token) = &self.token {
            pairs.push(("oauth_token".to_owned(), token.clone()));
        }
        if let Some(callback) = &self.callback {
            pairs.push(("oauth_callback".to_owned(), callback.clone()));
        }
        if let Some(verifier) = &self.verifier {
            pairs.push(("oauth_verifier".to_owned(), verifier.clone()));
        }
        pairs
    }
}

/// What a request looks like to the signature: method, full URL, and its body when that body is
/// `application/x-www-form-urlencoded` (any other body is not signed, §3.4.1.3.1).
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub url: &'a url::Url,
    pub form_body: Option<&'a [u8]>,
}

/// Signs `request` and returns the `Authorization` header value.
pub fn sign(
    key: &rsa::RsaPrivateKey,
    request: SignedRequest<'_>,
    params: &ProtocolParams,
) -> Result<String, rsa_sha1::SignError> {
    let base = base_string(request, &params.pairs());
    let signature = rsa_sha1::sign(key, &base)?;
    Ok(authorization_header(params, &signature))
}

#[cfg(test)]
mod tests;
