//! The token endpoint `{site}/rest/oauth2/latest/token`: code exchange (RFC 6749 §4.1.3 with
//! RFC 7636 §4.5's `code_verifier`), refresh (§6) and client credentials (§4.4), each an
//! `application/x-www-form-urlencoded` POST with the client authenticated in the body
//! (§2.3.1), as Jira Data Center documents. A refresh also sends the `redirect_uri`: Data Center
//! checks it there too (RFC 6749 §3.2 has servers ignore a parameter they do not use).
//!
//! The bodies are pure functions; [`TokenClient`] sends them through core's `HttpClient` (only
//! 429 is retried: a token request is not idempotent) and maps every answer.

use super::Oauth2Error;
use jira_auth_core::api_error::{ErrorBody, strip_bom};
use jira_auth_core::http::{HttpClient, HttpError, Idempotency, check_token_status};
use jira_auth_core::secret::{mask_tokens, mask_url};
use jira_auth_core::{AccessToken, ClientSecret, CodeVerifier, RefreshToken};

pub use jira_auth_core::token::TokenSet;

/// One grant's form body (pure).
#[derive(Debug)]
pub enum Grant<'a> {
    Code {
        code: &'a str,
        redirect_uri: &'a str,
        verifier: &'a CodeVerifier,
    },
    Refresh {
        refresh_token: &'a RefreshToken,
        redirect_uri: Option<&'a str>,
    },
    ClientCredentials {
        scopes: &'a [String],
    },
}

/// The form body of `grant` for `client_id` and `client_secret`.
pub fn form_body(grant: &Grant<'_>, client_id: &str, client_secret: &ClientSecret) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    match grant {
        Grant::Code {
            code,
            redirect_uri,
            verifier,
        } => {
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("code_verifier", verifier.expose_secret());
        }
        Grant::Refresh {
            refresh_token,
            redirect_uri,
        } => {
            form.append_pair("grant_type", "refresh_token")
                .append_pair("refresh_token", refresh_token.expose_secret());
            if let Some(r) = redirect_uri {
                form.append_pair("redirect_uri", r);
            }
        }
        Grant::ClientCredentials { scopes } => {
            form.append_pair("grant_type", "client_credentials")
                .append_pair("scope", &scopes.join(" "));
        }
    }
    form.append_pair("client_id", client_id)
        .append_pair("client_secret", client_secret.expose_secret());
    form.finish()
}

/// A Data Center application link's client talking to its token endpoint.
#[derive(Debug, Clone, Copy)]
pub struct TokenClient<'a> {
    pub http: &'a HttpClient,
    pub token_url: &'a url::Url,
    pub client_id: &'a str,
    pub client_secret: &'a ClientSecret,
    /// For advice: ` --profile NAME` or empty.
    pub profile_flag: &'a str,
}

impl TokenClient<'_> {
    /// Sends one token request and reads its answer.
    pub async fn request(&self, grant: &Grant<'_>) -> Result<TokenSet, Oauth2Error> {
        let body = form_body(grant, self.client_id, self.client_secret);
        let request = http::Request::post(self.token_url.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(body.into_bytes())
            .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
        let url = mask_url(self.token_url);
        let response = self
            .http
            .send_with(request, Idempotency::NotIdempotent)
            .await?;
        match check_token_status("POST", &url, response) {
            Ok(r) => {
                parse_token_response(&r.body).map_err(|message| Oauth2Error::BadTokenResponse {
                    url: url.clone(),
                    message,
                })
            }
            Err(HttpError::Api(api)) => Err(self.map_error(grant, api)),
            Err(e) => Err(e.into()),
        }
    }

    fn map_error(&self, grant: &Grant<'_>, api: jira_auth_core::ApiError) -> Oauth2Error {
        let ErrorBody::OAuth2 { error, description } = &api.body else {
            return match api.status {
                404 => Oauth2Error::NotEnabled { url: api.url },
                _ => HttpError::Api(api).into(),
            };
        };
        let description = description.as_deref().map(mask_tokens);
        match (error.as_str(), grant) {
            ("invalid_client", _) => Oauth2Error::ClientRejected {
                error: mask_tokens(error),
                description,
            },
            ("invalid_grant", Grant::Code { .. }) => Oauth2Error::CodeRejected { description },
            ("invalid_grant", Grant::Refresh { .. }) => Oauth2Error::RefreshRejected {
                description,
                profile_flag: self.profile_flag.to_owned(),
            },
            ("invalid_scope", _) => Oauth2Error::ScopeRejected { description },
            ("unauthorized_client" | "unsupported_grant_type", Grant::ClientCredentials { .. }) => {
                Oauth2Error::GrantRefused {
                    error: mask_tokens(error),
                    description,
                    advice: "this client is not a service account; in Jira create one (Administration → System → Service accounts) and use its client id and secret, or log in as a user with `--oauth2`",
                }
            }
            ("unauthorized_client" | "unsupported_grant_type" | "invalid_grant", _) => {
                Oauth2Error::GrantRefused {
                    error: mask_tokens(error),
                    description,
                    advice: "the application link does not allow this grant; check it in Jira (Administration → Applications → Application links)",
                }
            }
            _ => HttpError::Api(api).into(),
        }
    }
}

/// Reads a token endpoint's success body (RFC 6749 §5.1), requiring a bearer token; `expires_in`
/// follows core's rule ([`jira_auth_core::token::lifetime`]). The message names what is wrong, never a value: the body holds
/// secrets. Pure; a fuzz target candidate.
pub fn parse_token_response(body: &[u8]) -> Result<TokenSet, String> {
    #[derive(serde::Deserialize)]
    struct Raw {
        access_token: Option<String>,
        token_type: Option<String>,
        expires_in: Option<serde_json::Value>,
        refresh_token: Option<String>,
        scope: Option<String>,
    }
    let raw: Raw = serde_json::from_slice(strip_bom(body)).map_err(|e| {
        format!(
            "not JSON, or not an object: line {} column {} of {}",
            e.line(),
            e.column(),
            jira_auth_core::plural::count(body.len(), "byte")
        )
    })?;
    let access_token = raw
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or("no `access_token`")?;
    match raw.token_type.as_deref() {
        Some(t) if t.eq_ignore_ascii_case("bearer") => {}
        Some(_) => return Err("a `token_type` other than `bearer`".to_owned()),
        None => return Err("no `token_type`".to_owned()),
    }
    // Some servers send the number as a string; one not believed is an hour (core's rule).
    let expires_in = raw
        .expires_in
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.trim().parse().ok()));
    Ok(TokenSet {
        access_token: AccessToken::new(access_token),
        expires_in: jira_auth_core::token::lifetime(expires_in),
        refresh_token: raw
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(RefreshToken::new),
        scopes: raw
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bodies_are_form_encoded_with_the_client_in_them() {
        let secret = ClientSecret::new("s&cret");
        let verifier = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            form_body(
                &Grant::Code {
                    code: "c 1",
                    redirect_uri: "http://127.0.0.1:1/callback",
                    verifier: &verifier
                },
                "cid",
                &secret
            ),
            "grant_type=authorization_code&code=c+1&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=cid&client_secret=s%26cret"
        );
        let rt = RefreshToken::new("rt-1");
        assert_eq!(
            form_body(
                &Grant::Refresh {
                    refresh_token: &rt,
                    redirect_uri: Some("http://127.0.0.1:1/callback")
                },
                "cid",
                &secret
            ),
            "grant_type=refresh_token&refresh_token=rt-1&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback&client_id=cid&client_secret=s%26cret"
        );
        assert_eq!(
            form_body(
                &Grant::ClientCredentials {
                    scopes: &["READ".into()]
                },
                "cid",
                &secret
            ),
            "grant_type=client_credentials&scope=READ&client_id=cid&client_secret=s%26cret"
        );
    }

    #[test]
    fn responses_are_checked_and_an_unbelievable_lifetime_is_an_hour() {
        let ok = parse_token_response(
            br#"{"access_token":"at","token_type":"Bearer","expires_in":7200,"refresh_token":"rt","scope":"READ WRITE"}"#,
        )
        .unwrap();
        assert_eq!(ok.expires_in, Duration::from_secs(7200));
        assert_eq!(ok.scopes.unwrap(), ["READ", "WRITE"]);
        assert_eq!(ok.refresh_token.unwrap().expose_secret(), "rt");
        let cc = parse_token_response(
            br#"{"access_token":"at","token_type":"bearer","expires_in":"3600"}"#,
        )
        .unwrap();
        assert!(cc.refresh_token.is_none());
        // The answer is kept (a refresh has spent the old refresh token); its lifetime is not.
        for expires_in in ["-5", "0", "99999999999", "\"soon\"", "null", "1.5"] {
            let body = format!(
                r#"{{"access_token":"at","token_type":"bearer","expires_in":{expires_in},"refresh_token":"rt2"}}"#
            );
            let tokens = parse_token_response(body.as_bytes()).unwrap();
            assert_eq!(tokens.expires_in, Duration::from_secs(3600), "{expires_in}");
            assert_eq!(tokens.refresh_token.unwrap().expose_secret(), "rt2");
        }
        for (body, why) in [
            (&br#"{"token_type":"bearer"}"#[..], "no `access_token`"),
            (
                br#"{"access_token":"at","token_type":"mac"}"#,
                "a `token_type` other than `bearer`",
            ),
        ] {
            assert_eq!(parse_token_response(body).unwrap_err(), why);
        }
        let err = parse_token_response(b"access_token=secret-value").unwrap_err();
        assert!(!err.contains("secret-value"), "{err}");
    }
}
