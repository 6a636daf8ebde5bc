//! A one-shot loopback listener for the OAuth callback (RFC 8252 §7.3 style, on 127.0.0.1 only).
//!
//! Jira redirects the browser to `http://127.0.0.1:<port>/callback?oauth_token=..&oauth_verifier=..`
//! after the user chooses Allow. The listener answers a small page and hands back the request
//! target; anything else (a favicon request, a port scanner) gets a 404 and is ignored, up to a
//! bounded number of connections.
//!
//! The cloud crate has its own listener for OAuth 2.0; the two should move into core together.

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

    /// Waits for `GET /callback?...` and returns its request target (path and query).
    pub async fn receive(self) -> io::Result<String> {
        for _ in 0..MAX_CONNECTIONS {
            let (mut stream, _) = self.listener.accept().await?;
            let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
                Ok(Ok(head)) => head,
                _ => continue,
            };
            let target = request_target(&head);
            match target {
                Some(target) if is_callback(&target) => {
                    let _ = respond(&mut stream, "200 OK", DONE_PAGE).await;
                    return Ok(target);
                }
                _ => {
                    let _ = respond(&mut stream, "404 Not Found", "not found").await;
                }
            }
        }
        Err(io::Error::other(
            "too many requests on the callback port that were not the OAuth callback",
        ))
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
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
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
        let task = tokio::spawn(listener.receive());
        let stray = get(port, "/favicon.ico").await;
        assert!(stray.starts_with("HTTP/1.1 404 Not Found\r\n"), "{stray}");
        let page = get(port, "/callback?oauth_token=rt1&oauth_verifier=v1").await;
        assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
        assert!(page.contains("You can close this tab"));
        assert_eq!(
            task.await.unwrap().unwrap(),
            "/callback?oauth_token=rt1&oauth_verifier=v1"
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
