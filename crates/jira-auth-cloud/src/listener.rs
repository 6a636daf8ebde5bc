//! The browser's redirect for a Jira Cloud login (RFC 8252 §7.3): core's loopback listener
//! ([`jira_auth_core::loopback`]) with this protocol's router. The router ends the wait on the
//! first callback that carries this login's `state`: a code, whose browser waits for the
//! caller's page with the login's real outcome ([`Reply`]), or the error the user or Atlassian
//! gave, answered at once; a callback without or with another `state` is answered and ignored.

use crate::CloudError;
use crate::callback::{Callback, CallbackError, RedirectUri, parse_query};
use jira_auth_core::loopback::{self, Loopback, LoopbackError, Page, Reply, Routed, Router};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The most request head bytes read from one connection.
pub const MAX_REQUEST_BYTES: usize = loopback::MAX_HEAD_BYTES;

/// What a callback ends the wait with.
pub type Outcome = Result<oauth2::AuthorizationCode, CallbackError>;

/// The OAuth 2.0 callback: the redirect URI's path, and the `state` this login sent.
#[derive(Debug)]
pub struct CloudCallback {
    path: String,
    state: String,
}

impl Router for CloudCallback {
    type Outcome = Outcome;

    fn path(&self) -> &str {
        &self.path
    }

    fn route(&self, query: &str) -> Routed<Outcome> {
        match parse_query(query, &self.state) {
            Callback::Code(code) => Routed {
                status: 200,
                // Shown only when the login does not say how it ended in time.
                page: Page::new(
                    "Finishing the login",
                    "jira-auth received the authorization and is finishing the login: the terminal shows whether it worked.",
                ),
                outcome: Some(Ok(code)),
            },
            Callback::Failed(e) => Routed {
                status: 400,
                page: Page::new("Login failed", e.to_string()),
                outcome: Some(Err(e)),
            },
            Callback::Stray(why) => {
                tracing::debug!("ignoring a callback request: {why}");
                Routed::ignored(
                    400,
                    "Not this login",
                    "This request does not belong to the running `jira-auth cloud login`; it keeps waiting.",
                )
            }
        }
    }
}

/// What a request head read on `port` means for a login waiting on `path` with `state`: the
/// status to answer and, if it ends the wait, the outcome. Pure, and a fuzz target.
pub fn route(head: &str, path: &str, state: &str, port: u16) -> (u16, Option<Outcome>) {
    let router = CloudCallback {
        path: path.to_owned(),
        state: state.to_owned(),
    };
    let routed = loopback::classify(&router, head, port);
    (routed.status, routed.outcome)
}

/// Listening sockets for one redirect URI.
#[derive(Debug)]
pub struct Listener {
    loopback: Loopback,
    path: String,
    redirect_uri: String,
}

impl Listener {
    /// Binds the loopback addresses of `redirect`. `Err` carries why that is impossible (not a
    /// loopback URI, a port in use on any of its addresses, a privileged port): the caller falls
    /// back to paste mode and says why.
    pub async fn bind(redirect: &RedirectUri) -> Result<Self, String> {
        let Some((addrs, port)) = redirect.loopback() else {
            return Err(format!(
                "`{}` is not an http loopback address (localhost, 127.0.0.1 or [::1])",
                redirect.as_str()
            ));
        };
        let loopback = Loopback::bind(&addrs, port)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Self {
            loopback,
            path: redirect.path().to_owned(),
            redirect_uri: redirect.as_str().to_owned(),
        })
    }

    /// The addresses actually listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.loopback.local_addrs()
    }

    /// Serves requests until one carries `expected_state`, too many strays came, or `timeout`
    /// passes. A code comes with the browser's [`Reply`], to answer once the login is done; an
    /// error in the callback (a declined consent) is answered here. `client_id` is named in the
    /// timeout error, as what to check when the callback never comes.
    pub async fn wait(
        self,
        expected_state: &str,
        client_id: &str,
        timeout: Duration,
    ) -> Result<(oauth2::AuthorizationCode, Reply), CloudError> {
        let router = Arc::new(CloudCallback {
            path: self.path,
            state: expected_state.to_owned(),
        });
        match self.loopback.wait(router, timeout).await {
            Ok((Ok(code), reply)) => Ok((code, reply)),
            Ok((Err(e), reply)) => {
                reply.provisional().await;
                Err(CloudError::Callback(e))
            }
            Err(LoopbackError::Timeout {
                listen,
                seconds,
                strays,
            }) => Err(CloudError::CallbackTimeout {
                listen,
                seconds,
                strays,
                client_id: client_id.to_owned(),
                redirect_uri: self.redirect_uri,
            }),
            Err(e) => Err(CloudError::Listener(std::io::Error::other(e.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "00112233445566778899aabbccddeeff";

    fn head(target: &str, host: &str) -> String {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: x")
    }

    fn status(r: (u16, Option<Outcome>)) -> (u16, bool) {
        (r.0, r.1.is_some())
    }

    #[test]
    fn routing_rules() {
        let ok = route(
            &head(&format!("/cb?code=c1&state={S}"), "localhost:13131"),
            "/cb",
            S,
            13131,
        );
        assert_eq!(ok.0, 200);
        assert_eq!(ok.1.unwrap().unwrap().secret(), "c1");
        // favicon and other paths: 404, keep waiting
        assert_eq!(
            status(route(&head("/favicon.ico", "127.0.0.1:1"), "/cb", S, 1)),
            (404, false)
        );
        // wrong state: keep waiting
        assert_eq!(
            status(route(&head("/cb?code=c1&state=zz", "[::1]:1"), "/cb", S, 1)),
            (400, false)
        );
        // DNS rebinding: a Host that is not loopback is refused
        assert_eq!(
            status(route(
                &head(&format!("/cb?code=c1&state={S}"), "evil.example:13131"),
                "/cb",
                S,
                13131
            )),
            (421, false)
        );
        assert_eq!(status(route("GET /cb HTTP/1.1", "/cb", S, 1)), (421, false));
        assert_eq!(status(route("garbage", "/cb", S, 1)), (400, false));
        let post = format!("POST /cb?code=c1&state={S} HTTP/1.1\r\nHost: localhost:1");
        assert_eq!(status(route(&post, "/cb", S, 1)), (405, false));
        let denied = route(
            &head(&format!("/?error=access_denied&state={S}"), "localhost:1"),
            "/",
            S,
            1,
        );
        assert_eq!(denied.0, 400);
        assert_eq!(
            denied.1.unwrap().unwrap_err(),
            CallbackError::AccessDenied { description: None }
        );
    }
}
