//! The browser's redirect for a Data Center OAuth 1.0a login: core's loopback listener
//! ([`jira_auth_core::loopback`], on 127.0.0.1) with this protocol's router.
//!
//! Jira redirects the browser to `http://127.0.0.1:<port>/callback?oauth_token=..&oauth_verifier=..`
//! after the user chooses Allow. The router ends the wait on the callback for the request token
//! this login asked for and hands back the request target with the browser's [`Reply`], which
//! the login answers once the access token works; a callback for another token is answered and
//! ignored (core answers everything else).

use crate::dance::callback_token_matches;
use jira_auth_core::AccessToken;
use jira_auth_core::loopback::{self, Loopback, LoopbackError, Page, Reply, Routed, Router};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

/// The path the callback URL uses.
pub const CALLBACK_PATH: &str = "/callback";

/// The OAuth 1.0a callback of the request token `token`.
#[derive(Debug)]
pub struct ServerCallback {
    token: AccessToken,
}

impl Router for ServerCallback {
    /// The request target (path and query) of the callback.
    type Outcome = String;

    fn path(&self) -> &str {
        CALLBACK_PATH
    }

    fn route(&self, query: &str) -> Routed<String> {
        let target = format!("{CALLBACK_PATH}?{query}");
        if callback_token_matches(&target, &self.token) {
            Routed {
                status: 200,
                // Shown only when the login does not say how it ended in time.
                page: Page::new(
                    "Finishing the login",
                    "jira-auth received Jira's answer and is finishing the login: the terminal shows whether it worked.",
                ),
                outcome: Some(target),
            }
        } else {
            Routed::ignored(
                400,
                "Not this login",
                "This is not the callback the running jira-auth login is waiting for; it keeps waiting.",
            )
        }
    }
}

/// What a request head read on `port` means for a login waiting for `token`'s callback:
/// `Ok(target)` for it, else the status answered. Pure, and a fuzz target.
pub fn classify(head: &str, port: u16, token: &AccessToken) -> Result<String, u16> {
    let router = ServerCallback {
        token: token.clone(),
    };
    let routed = loopback::classify(&router, head, port);
    routed.outcome.ok_or(routed.status)
}

/// A bound listener waiting for one callback.
#[derive(Debug)]
pub struct CallbackListener {
    loopback: Loopback,
}

impl CallbackListener {
    /// Binds `127.0.0.1:port` (`0` picks a free port).
    pub async fn bind(port: u16) -> Result<Self, LoopbackError> {
        let loopback = Loopback::bind(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], port).await?;
        Ok(Self { loopback })
    }

    /// The `oauth_callback` URL to give Jira.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.loopback.port())
    }

    /// Waits for the callback of `token` (the request token this login asked for) and returns
    /// its request target with the browser's [`Reply`], or gives up after `timeout` or too many
    /// stray requests.
    pub async fn receive(
        self,
        token: &AccessToken,
        timeout: Duration,
    ) -> Result<(String, Reply), LoopbackError> {
        let router = Arc::new(ServerCallback {
            token: token.clone(),
        });
        self.loopback.wait(router, timeout).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(port: u16, target: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream
            .write_all(
                format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn ignores_strays_and_returns_the_callback_target() {
        let listener = CallbackListener::bind(0).await.unwrap();
        let port = listener.loopback.port();
        assert_eq!(listener.url(), format!("http://127.0.0.1:{port}/callback"));
        let token = AccessToken::new("rt1");
        let task =
            tokio::spawn(async move { listener.receive(&token, Duration::from_secs(60)).await });
        let stray = get(port, "/favicon.ico").await;
        assert!(stray.starts_with("HTTP/1.1 404 Not Found\r\n"), "{stray}");
        let other = get(port, "/callback?oauth_token=someone-else&oauth_verifier=v").await;
        assert!(other.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{other}");
        // An idle connection (a browser's preconnect) does not hold up the callback.
        let _idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let browser = tokio::spawn(get(port, "/callback?oauth_token=rt1&oauth_verifier=v1"));
        let (target, reply) = task.await.unwrap().unwrap();
        assert_eq!(target, "/callback?oauth_token=rt1&oauth_verifier=v1");
        // The browser learns the outcome the login gives, not an early success.
        reply.answer(200, Page::new("Signed in", "done")).await;
        let page = browser.await.unwrap();
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("<h1>Signed in</h1>"), "{page}");
    }

    #[test]
    fn only_this_listeners_loopback_host_is_served() {
        let token = AccessToken::new("t");
        let head = |host: &str| {
            format!("GET /callback?oauth_token=t&oauth_verifier=v HTTP/1.1\r\nHost: {host}")
        };
        assert!(classify(&head("127.0.0.1:4000"), 4000, &token).is_ok());
        assert!(classify(&head("LOCALHOST:4000"), 4000, &token).is_ok());
        assert_eq!(classify(&head("evil.example:4000"), 4000, &token), Err(421));
        assert_eq!(classify(&head("127.0.0.1:4001"), 4000, &token), Err(421));
        // Stricter than before: a request without `Host` is refused too.
        assert_eq!(
            classify("GET /callback?oauth_token=t HTTP/1.0", 4000, &token),
            Err(421)
        );
        assert_eq!(
            classify(
                "GET /callbackx HTTP/1.1\r\nHost: localhost:4000",
                4000,
                &token
            ),
            Err(404)
        );
        assert_eq!(
            classify(
                "POST /callback HTTP/1.1\r\nHost: localhost:4000",
                4000,
                &token
            ),
            Err(405)
        );
    }
}
