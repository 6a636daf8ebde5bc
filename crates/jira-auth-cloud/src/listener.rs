//! The loopback listener that receives the browser's redirect (RFC 8252 §7.3).
//!
//! A deliberately tiny HTTP/1.1 server on tokio's `TcpListener`:
//! - bound to loopback addresses only (`127.0.0.1`, and `[::1]` for `localhost`), never `0.0.0.0`;
//! - serves each connection on its own task (an idle speculative connection from the browser
//!   does not delay the callback), reading at most [`MAX_REQUEST_BYTES`] of request head with a
//!   per-connection read timeout;
//! - refuses a `Host` header that is not loopback (DNS rebinding), answers 404 for other paths
//!   (the browser's `/favicon.ico`), and keeps waiting after a request with no or another `state`;
//! - ends on the first request with our `state`: a code, or the error the user or server gave,
//!   answering the browser with a small HTML page either way; the sockets are closed before
//!   [`Listener::wait`] returns;
//! - counts the requests it ignored and names the count if the wait times out.

use crate::CloudError;
use crate::callback::{Callback, CallbackError, RedirectUri, parse_query};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The most request head bytes read from one connection.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// Connections served at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 16;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Listening sockets for one redirect URI.
#[derive(Debug)]
pub struct Listener {
    sockets: Vec<TcpListener>,
    path: String,
}

impl Listener {
    /// Binds the loopback addresses of `redirect`. `Err` carries why that is impossible (not a
    /// loopback URI, port in use or privileged): the caller falls back to paste mode.
    pub async fn bind(redirect: &RedirectUri) -> Result<Self, String> {
        let Some((addrs, port)) = redirect.loopback() else {
            return Err(format!(
                "`{}` is not an http loopback address (localhost, 127.0.0.1 or [::1])",
                redirect.as_str()
            ));
        };
        let mut sockets = Vec::new();
        let mut first_error = None;
        for (i, ip) in addrs.iter().enumerate() {
            match TcpListener::bind(SocketAddr::new(*ip, port)).await {
                Ok(s) => sockets.push(s),
                // `localhost` gets [::1] as a bonus; a host without IPv6 is fine.
                Err(e) if i > 0 => tracing::debug!(%ip, port, "not listening: {e}"),
                Err(e) => first_error = Some(format!("cannot listen on {ip}:{port}: {e}")),
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        Ok(Self {
            sockets,
            path: redirect.path().to_owned(),
        })
    }

    /// The addresses actually listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Serves requests until one carries `expected_state`, or `timeout` passes.
    pub async fn wait(
        self,
        expected_state: &str,
        timeout: Duration,
    ) -> Result<oauth2::AuthorizationCode, CloudError> {
        let listen = self
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        let (tx, mut rx) = mpsc::channel::<TcpStream>(8);
        let mut tasks = Vec::new();
        for socket in self.sockets {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match socket.accept().await {
                        Ok((stream, _)) => {
                            if tx.send(stream).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            // EMFILE and friends: back off instead of spinning until the timeout.
                            tracing::debug!("accept failed: {e}");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            }));
        }
        drop(tx);
        // Each connection is served on its own task: browsers open speculative connections that
        // never send a request, and one of those must not hold up the real callback.
        let path: Arc<str> = Arc::from(self.path.as_str());
        let state: Arc<str> = Arc::from(expected_state);
        let mut connections = tokio::task::JoinSet::new();
        // A `--timeout` of centuries must not overflow the clock: cap it at a year.
        let timeout = timeout.min(Duration::from_secs(365 * 86_400));
        let deadline = tokio::time::Instant::now() + timeout;
        let mut strays = 0usize;
        let result = loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    break Err(CloudError::CallbackTimeout {
                        listen,
                        seconds: timeout.as_secs(),
                        strays,
                    });
                }
                Some(stream) = rx.recv() => {
                    if connections.len() < MAX_CONNECTIONS {
                        connections.spawn(serve(stream, path.clone(), state.clone()));
                    } else {
                        strays += 1;
                    }
                }
                Some(done) = connections.join_next() => match done {
                    Ok(Served::Ended(Ok(code))) => break Ok(code),
                    Ok(Served::Ended(Err(e))) => break Err(CloudError::Callback(e)),
                    Ok(Served::Idle) => continue,
                    Ok(Served::Ignored) => {
                        strays += 1;
                        tracing::info!("ignored a request that is not this login's callback ({strays} so far)");
                    }
                    Err(e) => tracing::debug!("a connection task failed: {e}"),
                },
            }
        };
        connections.abort_all();
        for task in &tasks {
            task.abort();
        }
        // Wait for the accept loops to be gone: their sockets are closed when `wait` returns, so
        // nothing can reach this login's listener after its one code.
        for task in tasks {
            let _ = task.await;
        }
        result
    }
}

/// What one connection amounted to.
enum Served {
    /// This login's callback: the wait ends.
    Ended(Result<oauth2::AuthorizationCode, CallbackError>),
    /// A request that was answered and ignored (counted).
    Ignored,
    /// A connection that sent no request in time (a browser's preconnect): not counted.
    Idle,
}

/// Handles one connection.
async fn serve(mut stream: TcpStream, path: Arc<str>, expected_state: Arc<str>) -> Served {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => head,
        Ok(Err(0)) => return Served::Idle,
        Ok(Err(status)) => {
            respond(
                &mut stream,
                status,
                "Bad request",
                "jira-auth could not read this request.",
            )
            .await;
            return Served::Ignored;
        }
        Err(_) => return Served::Idle,
    };
    let (status, outcome) = route(&head, &path, &expected_state);
    let (title, text) = match &outcome {
        Some(Ok(_)) => (
            "Signed in",
            "jira-auth received the authorization. You can close this tab and return to the terminal.".to_owned(),
        ),
        Some(Err(e)) => ("Login failed", e.to_string()),
        None if status == 404 => ("Not found", "Nothing here.".to_owned()),
        None => (
            "Not this login",
            "This request does not belong to the running `jira-auth cloud login`; it keeps waiting.".to_owned(),
        ),
    };
    respond(&mut stream, status, title, &text).await;
    match outcome {
        Some(result) => Served::Ended(result),
        None => Served::Ignored,
    }
}

/// What a request head means: the HTTP status to answer and, if it ends the wait, the outcome.
/// Pure, so the routing rules are unit tested without sockets.
pub fn route(
    head: &str,
    path: &str,
    expected_state: &str,
) -> (
    u16,
    Option<Result<oauth2::AuthorizationCode, CallbackError>>,
) {
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return (400, None);
    };
    if !version.starts_with("HTTP/1.") {
        return (400, None);
    }
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim());
    if !host.is_some_and(is_loopback_host) {
        tracing::debug!(?host, "refusing a request whose Host is not loopback");
        return (421, None);
    }
    let (req_path, query) = target.split_once('?').unwrap_or((target, ""));
    if req_path != path {
        return (404, None);
    }
    if method != "GET" {
        return (405, None);
    }
    match parse_query(query, expected_state) {
        Callback::Code(code) => (200, Some(Ok(code))),
        Callback::Failed(e) => (400, Some(Err(e))),
        Callback::Stray(why) => {
            tracing::debug!("ignoring a callback request: {why}");
            (400, None)
        }
    }
}

fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Reads up to the blank line ending the head; `Err(status)` for an oversized or broken one.
async fn read_head(stream: &mut TcpStream) -> Result<String, u16> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| 400u16)?;
        if n == 0 {
            // Closed without a byte (a preconnect given up): nothing to answer.
            return Err(if buf.is_empty() { 0 } else { 400 });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return String::from_utf8(buf).map_err(|_| 400);
        }
        if buf.len() > MAX_REQUEST_BYTES {
            return Err(431);
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let body = page(title, text);
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The small HTML page shown in the browser.
pub fn page(title: &str, text: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>jira-auth: {t}</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{t}</h1><p>{x}</p></body></html>\n",
        t = escape(title),
        x = escape(text)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "00112233445566778899aabbccddeeff";

    fn head(target: &str, host: &str) -> String {
        format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: x")
    }

    fn status(
        r: (
            u16,
            Option<Result<oauth2::AuthorizationCode, CallbackError>>,
        ),
    ) -> (u16, bool) {
        (r.0, r.1.is_some())
    }

    #[test]
    fn routing_rules() {
        let ok = route(
            &head(&format!("/cb?code=c1&state={S}"), "localhost:13131"),
            "/cb",
            S,
        );
        assert_eq!(ok.0, 200);
        assert_eq!(ok.1.unwrap().unwrap().secret(), "c1");
        // favicon and other paths: 404, keep waiting
        assert_eq!(
            status(route(&head("/favicon.ico", "127.0.0.1:1"), "/cb", S)),
            (404, false)
        );
        // wrong state: keep waiting
        assert_eq!(
            status(route(&head("/cb?code=c1&state=zz", "[::1]:1"), "/cb", S)),
            (400, false)
        );
        // DNS rebinding: a Host that is not loopback is refused
        assert_eq!(
            status(route(
                &head(&format!("/cb?code=c1&state={S}"), "evil.example:13131"),
                "/cb",
                S
            )),
            (421, false)
        );
        assert_eq!(status(route("GET /cb HTTP/1.1", "/cb", S)), (421, false));
        assert_eq!(status(route("garbage", "/cb", S)), (400, false));
        let post = format!("POST /cb?code=c1&state={S} HTTP/1.1\r\nHost: localhost");
        assert_eq!(status(route(&post, "/cb", S)), (405, false));
        let denied = route(
            &head(&format!("/?error=access_denied&state={S}"), "localhost"),
            "/",
            S,
        );
        assert_eq!(denied.0, 400);
        assert_eq!(
            denied.1.unwrap().unwrap_err(),
            CallbackError::AccessDenied { description: None }
        );
    }

    #[test]
    fn pages_escape_text() {
        assert!(page("t", "<script>").contains("&lt;script&gt;"));
    }
}
