//! How a request gets its credentials: one trait, applied afresh on every attempt.
//!
//! Applying it per attempt matters for OAuth 1.0a, where a retried request needs a new nonce and
//! timestamp (a reused nonce is answered `oauth_problem=nonce_used`).

use crate::secret::{AccessToken, ApiToken, PersonalAccessToken};
use base64::Engine as _;
use std::fmt::Debug;

/// Why a request could not be authorized.
#[derive(Debug, thiserror::Error)]
#[error("cannot authorize the request: {0}")]
pub struct AuthorizeError(pub String);

impl crate::category::Categorize for AuthorizeError {
    fn category(&self) -> crate::category::Category {
        crate::category::Category::Usage
    }
}

/// Adds credentials to a request that is about to be sent.
pub trait Authorizer: Send + Sync + Debug {
    fn authorize(&self, request: &mut http::Request<Vec<u8>>) -> Result<(), AuthorizeError>;

    /// A short description for messages ("OAuth 2.0 bearer token"), never containing a secret.
    fn describe(&self) -> String;
}

fn set_authorization(
    request: &mut http::Request<Vec<u8>>,
    value: String,
) -> Result<(), AuthorizeError> {
    let mut header = http::HeaderValue::from_str(&value).map_err(|_| {
        AuthorizeError("the credential contains characters not allowed in a header".into())
    })?;
    header.set_sensitive(true);
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, header);
    Ok(())
}

/// `Authorization: Bearer <token>`: Jira Cloud 3LO access tokens.
#[derive(Debug, Clone)]
pub struct Bearer(pub AccessToken);

impl Authorizer for Bearer {
    fn authorize(&self, request: &mut http::Request<Vec<u8>>) -> Result<(), AuthorizeError> {
        set_authorization(request, format!("Bearer {}", self.0.expose_secret()))
    }
    fn describe(&self) -> String {
        "OAuth 2.0 bearer token".into()
    }
}

/// `Authorization: Bearer <PAT>`: Jira Data Center personal access tokens.
#[derive(Debug, Clone)]
pub struct PatBearer(pub PersonalAccessToken);

impl Authorizer for PatBearer {
    fn authorize(&self, request: &mut http::Request<Vec<u8>>) -> Result<(), AuthorizeError> {
        set_authorization(request, format!("Bearer {}", self.0.expose_secret()))
    }
    fn describe(&self) -> String {
        "personal access token".into()
    }
}

/// HTTP basic with an Atlassian account email and API token (Jira Cloud, ad hoc audits).
#[derive(Debug, Clone)]
pub struct BasicApiToken {
    pub email: String,
    pub token: ApiToken,
}

impl Authorizer for BasicApiToken {
    fn authorize(&self, request: &mut http::Request<Vec<u8>>) -> Result<(), AuthorizeError> {
        let raw = format!("{}:{}", self.email, self.token.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        set_authorization(request, format!("Basic {encoded}"))
    }
    fn describe(&self) -> String {
        format!("API token of {}", self.email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(auth: &dyn Authorizer) -> String {
        let mut req = http::Request::get("https://x.test/")
            .body(Vec::new())
            .unwrap();
        auth.authorize(&mut req).unwrap();
        let value = req.headers().get("authorization").unwrap();
        assert!(value.is_sensitive());
        value.to_str().unwrap().to_owned()
    }

    #[test]
    fn bearer_and_basic_headers() {
        assert_eq!(header(&Bearer(AccessToken::new("at1"))), "Bearer at1");
        assert_eq!(
            header(&PatBearer(PersonalAccessToken::new("pat1"))),
            "Bearer pat1"
        );
        let basic = BasicApiToken {
            email: "bot@example.com".into(),
            token: ApiToken::new("s3cr3t"),
        };
        // base64("bot@example.com:s3cr3t")
        assert_eq!(header(&basic), "Basic Ym90QGV4YW1wbGUuY29tOnMzY3IzdA==");
        assert!(!basic.describe().contains("s3cr3t"));
    }
}
