//! A one-shot loopback listener for the OAuth callback (RFC 8252 §7.3 style, on 127.0.0.1 only).
//!
//! Jira redirects the browser to `http://127.0.0.1:<port>/callback?oauth_token=..&oauth_verifier=..`
//! after the user chooses Allow. The listener answers a small page and hands back the request
//! target; anything else (a favicon request, a callback for another login, a non-loopback `Host`)
//! is answered and ignored, up to a bounded number of connections.
//!
//! The OAuth 2.0 listener of `jira-auth-cloud` (`listener.rs`) follows the same rules for Cloud
//! logins; the two differ in what a callback carries and how it is matched to the login.

use std::io;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The path the callback URL uses.
pub const CALLBACK_PATH: &str = "/callback";
/// Connections served before giving up (stray requests are answered 404).
const MAX_CONNECTIONS: usize = 64;
/// Longest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// How long one connection may take to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

const DONE_PAGE: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>jira-auth</title></head><body><h1>jira-auth received Jira's answer</h1><p>You can close this tab and return to the terminal.</p></body></html>";

/// A bound listener waiting for one callback.
#[derive(Debug)]
pub struct CallbackListener {
    listener: TcpListener,
    port: u16,
}

impl CallbackListener {
    /// Binds `127.0.0.1:port` (`0` picks a free port).
    pub async fn bind(port: u16) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let port = listener.local_addr()?.port();
        Ok(Self { listener, port })
    }

    /// The `oauth_callback` URL to give Jira.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}{CALLBACK_PATH}", self.port)
    }

    /// Waits for the `GET /callback?...` that `is_ours` accepts (its `oauth_token` is the one
    /// this login asked for) and returns its request target (path and query).
    ///
    /// Each connection is read on its own task, so a browser's idle speculative connection cannot
    /// delay the callback. Stray requests are answered and ignored: other paths 404, a
    /// `/callback` for another token 400, a `Host` that is not loopback 421 (DNS rebinding).
    pub async fn receive(self, is_ours: impl Fn(&str) -> bool) -> io::Result<String> {
        let mut reading = tokio::task::JoinSet::new();
        let mut served = 0usize;
        loop {
            tokio::select! {
                accepted = self.listener.accept(), if served < MAX_CONNECTIONS => {
                    let (mut stream, _) = match accepted {
                        Ok(a) => a,
                        Err(e) => {
                            tracing::debug!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    served += 1;
                    reading.spawn(async move {
                        let head = tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await;
                        (stream, head.ok().and_then(Result::ok))
                    });
                }
                Some(done) = reading.join_next() => {
                    let Ok((mut stream, Some(head))) = done else { continue };
                    match classify(&head, self.port, &is_ours) {
                        Ok(target) => {
                            let _ = respond(&mut stream, "200 OK", DONE_PAGE).await;
                            return Ok(target);
                        }
                        Err((status, body)) => {
                            let _ = respond(&mut stream, status, body).await;
                        }
                    }
                }
                else => {
                    return Err(io::Error::other(
                        "too many requests on the callback port that were not the OAuth callback",
                    ));
                }
            }
        }
    }
}

/// What to do with one request head read on a listener bound to `port`: `Ok(target)` for our
/// callback (a `GET /callback?…` that `is_ours` accepts, with a loopback `Host`), else the
/// status and body to answer. Pure, and a fuzz target.
pub fn classify(
    head: &str,
    port: u16,
    is_ours: &dyn Fn(&str) -> bool,
) -> Result<String, (&'static str, &'static str)> {
    if !host_is_loopback(head, port) {
        return Err(("421 Misdirected Request", "not a loopback host"));
    }
    match request_target(head) {
        Some(target) if is_callback(&target) && is_ours(&target) => Ok(target),
        Some(target) if is_callback(&target) => Err((
            "400 Bad Request",
            "this is not the callback the running jira-auth login is waiting for",
        )),
        _ => Err(("404 Not Found", "not found")),
    }
}

/// The `Host` header names this listener by a loopback name (`127.0.0.1` or `localhost`).
fn host_is_loopback(head: &str, port: u16) -> bool {
    let host = head.lines().skip(1).find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("host")
            .then(|| value.trim().to_ascii_lowercase())
    });
    match host {
        // HTTP/1.0 clients may omit it; the socket is loopback-only anyway.
        None => true,
        Some(h) => [format!("127.0.0.1:{port}"), format!("localhost:{port}")].contains(&h),
    }
}

fn is_callback(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or_default();
    path == CALLBACK_PATH
}

/// `GET <target> HTTP/1.1` → `<target>`.
fn request_target(head: &str) -> Option<String> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    (method == "GET" && target.starts_with('/')).then(|| target.to_owned())
}

async fn read_head(stream: &mut tokio::net::TcpStream) -> io::Result<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < MAX_HEAD {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

async fn respond(stream: &mut tokio::net::TcpStream, status: &str, body: &str) -> io::Result<()> {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
        let port = listener.port;
        assert_eq!(listener.url(), format!("http://127.0.0.1:{port}/callback"));
        let task = tokio::spawn(listener.receive(|t| t.contains("oauth_token=rt1&")));
        let stray = get(port, "/favicon.ico").await;
        assert!(stray.starts_with("HTTP/1.1 404 Not Found\r\n"), "{stray}");
        let other = get(port, "/callback?oauth_token=someone-else&oauth_verifier=v").await;
        assert!(other.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{other}");
        // An idle connection (a browser's preconnect) does not hold up the callback.
        let _idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        let page = get(port, "/callback?oauth_token=rt1&oauth_verifier=v1").await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("You can close this tab"));
        assert_eq!(
            task.await.unwrap().unwrap(),
            "/callback?oauth_token=rt1&oauth_verifier=v1"
        );
    }

    #[test]
    fn only_loopback_hosts_are_served() {
        let head = |host: &str| format!("GET /callback HTTP/1.1\r\nHost: {host}\r\n\r\n");
        assert!(host_is_loopback(&head("127.0.0.1:4000"), 4000));
        assert!(host_is_loopback(&head("LOCALHOST:4000"), 4000));
        assert!(!host_is_loopback(&head("evil.example:4000"), 4000));
        assert!(!host_is_loopback(&head("127.0.0.1:4001"), 4000));
        assert!(host_is_loopback("GET / HTTP/1.0\r\n\r\n", 4000));
        assert_eq!(
            classify(&head("evil.example:4000"), 4000, &|_| true),
            Err(("421 Misdirected Request", "not a loopback host"))
        );
    }

    #[test]
    fn request_line_parsing() {
        assert_eq!(
            request_target("GET /callback?a=1 HTTP/1.1\r\n").as_deref(),
            Some("/callback?a=1")
        );
        assert_eq!(request_target("POST /callback HTTP/1.1\r\n"), None);
        assert_eq!(request_target(""), None);
        assert!(is_callback("/callback?x"));
        assert!(!is_callback("/callbackx"));
    }
}
