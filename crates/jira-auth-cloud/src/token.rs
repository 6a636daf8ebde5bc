//! The token endpoint (RFC 6749 §4.1.3 code exchange, §6 refresh, §4.4 client credentials)
//! through the `oauth2` crate.
//!
//! Client credentials go in the request body (`AuthType::RequestBody`, RFC 6749 §2.3.1), which
//! is what Atlassian documents. Atlassian answers errors with 403 or 401 and an RFC 6749 §5.2
//! body; `invalid_grant` or `unauthorized_client` on a refresh means the token family is gone
//! (expired, revoked, or a rotated token was reused after the grace period).

use crate::callback::RedirectUri;
use crate::transport::Transport;
use crate::{CloudError, Endpoints};
use jira_auth_core::api_error::strip_bom;
use jira_auth_core::http::HttpClient;
use jira_auth_core::secret::mask_tokens;
use jira_auth_core::{AccessToken, ClientSecret, RefreshToken};
use oauth2::basic::{BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{RequestTokenError, TokenResponse};

pub use jira_auth_core::token::TokenSet;

/// An OAuth app (client id and secret) talking to one authorization server.
#[derive(Debug, Clone)]
pub struct TokenClient<'a> {
    pub http: &'a HttpClient,
    pub endpoints: &'a Endpoints,
    pub client_id: &'a str,
    pub client_secret: &'a ClientSecret,
}

type Error = RequestTokenError<jira_auth_core::http::HttpError, BasicErrorResponse>;

impl TokenClient<'_> {
    fn client(
        &self,
    ) -> oauth2::basic::BasicClient<
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    > {
        oauth2::basic::BasicClient::new(oauth2::ClientId::new(self.client_id.to_owned()))
            .set_client_secret(oauth2::ClientSecret::new(
                self.client_secret.expose_secret().to_owned(),
            ))
            .set_token_uri(oauth2::TokenUrl::from_url(self.endpoints.token()))
            .set_auth_type(oauth2::AuthType::RequestBody)
    }

    /// Exchanges an authorization code (one request).
    pub async fn exchange_code(
        &self,
        code: oauth2::AuthorizationCode,
        redirect: &RedirectUri,
    ) -> Result<TokenSet, CloudError> {
        let redirect = redirect.oauth2();
        let response = self
            .client()
            .set_redirect_uri(redirect)
            .exchange_code(code)
            .request_async(&Transport(self.http))
            .await
            .map_err(|e| self.map_error(e, false))?;
        Ok(token_set(&response))
    }

    /// Redeems a refresh token (one request). The caller persists the result at once.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<TokenSet, CloudError> {
        let token = oauth2::RefreshToken::new(refresh_token.expose_secret().to_owned());
        let response = self
            .client()
            .exchange_refresh_token(&token)
            .request_async(&Transport(self.http))
            .await
            .map_err(|e| self.map_error(e, true))?;
        Ok(token_set(&response))
    }

    /// Mints an access token with the client credentials grant (RFC 6749 §4.4.2), as a Jira
    /// Cloud service account does: `scope` only when `scopes` is not empty (the credential's
    /// own scopes apply otherwise). One request; the answer carries no refresh token
    /// (§4.4.3), and one that does is ignored.
    pub async fn client_credentials(&self, scopes: &[String]) -> Result<TokenSet, CloudError> {
        let response = self
            .client()
            .exchange_client_credentials()
            .add_scopes(scopes.iter().map(|s| oauth2::Scope::new(s.clone())))
            .request_async(&Transport(self.http))
            .await
            .map_err(|e| self.map_client_credentials_error(e, scopes))?;
        let mut tokens = token_set(&response);
        tokens.refresh_token = None;
        Ok(tokens)
    }

    /// RFC 6749 §5.2 for the client credentials grant: the id or secret is wrong
    /// (`invalid_client`, or Atlassian's `access_denied`), the client may not use this grant
    /// (`unauthorized_client`, `unsupported_grant_type`: a 3LO app's id), or a scope is not the
    /// credential's (`invalid_scope`).
    fn map_client_credentials_error(&self, error: Error, scopes: &[String]) -> CloudError {
        let RequestTokenError::ServerResponse(body) = &error else {
            return self.map_error(error, false);
        };
        let code = mask_tokens(body.error().as_ref());
        let description = body.error_description().map(|d| mask_tokens(d));
        match body.error() {
            BasicErrorResponseType::InvalidClient => CloudError::ServiceAccountRejected {
                error: code,
                description,
            },
            BasicErrorResponseType::Extension(e) if e == "access_denied" => {
                CloudError::ServiceAccountRejected {
                    error: code,
                    description,
                }
            }
            BasicErrorResponseType::UnauthorizedClient
            | BasicErrorResponseType::UnsupportedGrantType => CloudError::NotAServiceAccount {
                error: code,
                description,
            },
            BasicErrorResponseType::InvalidScope => CloudError::ScopeRejected {
                requested: scopes.join(" "),
                error: code,
                description,
            },
            _ => CloudError::ServiceAccountRejected {
                error: code,
                description,
            },
        }
    }

    fn map_error(&self, error: Error, refreshing: bool) -> CloudError {
        let url = jira_auth_core::secret::mask_url(&self.endpoints.token());
        match error {
            RequestTokenError::ServerResponse(body) => {
                // The server's words, but a server may echo the code or token it was sent.
                let code = mask_tokens(body.error().as_ref());
                let description = body.error_description().map(|d| mask_tokens(d));
                match body.error() {
                    BasicErrorResponseType::InvalidGrant
                    | BasicErrorResponseType::UnauthorizedClient
                        if refreshing =>
                    {
                        CloudError::FamilyInvalid {
                            error: code,
                            description,
                        }
                    }
                    BasicErrorResponseType::InvalidClient
                    | BasicErrorResponseType::UnauthorizedClient => CloudError::ClientRejected {
                        error: code,
                        description,
                    },
                    BasicErrorResponseType::Extension(e) if e == "access_denied" => {
                        CloudError::ClientRejected {
                            error: code,
                            description,
                        }
                    }
                    _ if refreshing => CloudError::FamilyInvalid {
                        error: code,
                        description,
                    },
                    _ => CloudError::CodeRejected {
                        error: code,
                        description,
                    },
                }
            }
            RequestTokenError::Request(e) => CloudError::from(e),
            // The body of a token response holds secrets: name where parsing failed, never the
            // value (serde's message may quote it).
            RequestTokenError::Parse(e, _) => CloudError::BadTokenResponse {
                url,
                message: format!(
                    "unexpected JSON at `{}`",
                    mask_tokens(&e.path().to_string())
                ),
            },
            RequestTokenError::Other(message) => CloudError::BadTokenResponse {
                url,
                message: mask_tokens(&message),
            },
        }
    }
}

/// Parses a token endpoint's success body the way the `oauth2` crate does (serde into
/// [`BasicTokenResponse`]) and converts it like every exchange and refresh (pure; a fuzz target).
/// The message names where parsing failed, never a value: the body holds secrets.
pub fn parse_token_response(body: &[u8]) -> Result<TokenSet, CloudError> {
    let response: BasicTokenResponse =
        serde_json::from_slice(strip_bom(body)).map_err(|e| CloudError::BadTokenResponse {
            url: "the token response".to_owned(),
            message: format!("unexpected JSON at line {} column {}", e.line(), e.column()),
        })?;
    Ok(token_set(&response))
}

fn token_set(response: &BasicTokenResponse) -> TokenSet {
    TokenSet {
        access_token: AccessToken::new(response.access_token().secret().clone()),
        expires_in: jira_auth_core::token::lifetime(response.expires_in().map(|d| d.as_secs())),
        refresh_token: response
            .refresh_token()
            .map(|r| RefreshToken::new(r.secret().clone())),
        scopes: response
            .scopes()
            .map(|s| s.iter().map(|s| s.to_string()).collect()),
    }
}
