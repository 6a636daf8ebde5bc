//! The one-shot loopback listener that receives a browser's redirect (RFC 8252 §7.3), for every
//! protocol: Jira Cloud's OAuth 2.0 callback and Data Center's OAuth 1.0a callback each bring a
//! [`Router`], a pure rule for what a `GET` of the callback path means; everything else is here.
//!
//! The rules, the stricter of what each flow had before:
//! - bound to loopback addresses only; a port already in use on any of them is an error (another
//!   process there could receive the code), an address the host lacks (no IPv6) is skipped;
//! - a request head is read with a 10 s timeout and at most [`MAX_HEAD_BYTES`] (431 beyond);
//! - a request without a `Host`, or whose `Host` is not a loopback name with this port, is
//!   refused with 421 (DNS rebinding); another path is 404, another method on the callback path
//!   405, a broken request line 400;
//! - each connection is served on its own task; at most [`MAX_CONNECTIONS`] are open at once, and
//!   a new one closes the oldest rather than being refused, so idle speculative connections of a
//!   browser can never starve the real callback;
//! - only completed requests that were answered and ignored count as strays; past
//!   [`MAX_STRAYS`] the wait ends with an error, and a timeout names how many there were;
//! - the wait ends with the router's first outcome (a code, or the error the user or server gave
//!   in the callback); the listening sockets are closed before [`Loopback::wait`] returns, but
//!   the callback's own connection is held open in a [`Reply`], so the browser shows the login's
//!   real outcome (the code exchange may still fail) rather than a success it cannot know yet;
//!   a caller that takes longer than [`REPLY_WAIT`], or never answers, leaves the browser with
//!   the router's page, which says to look at the terminal.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most request head bytes read from one connection.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Connections open at once; a new one closes the oldest.
pub const MAX_CONNECTIONS: usize = 16;
/// Completed stray requests before the wait gives up.
pub const MAX_STRAYS: usize = 64;
/// How long one connection may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the browser is kept waiting for the login's outcome before it gets the router's
/// page instead: long enough for a code exchange and a site lookup with their retries, short
/// enough that a browser tab never spins for minutes.
pub const REPLY_WAIT: Duration = Duration::from_secs(60);

/// A page for the browser: a title and one paragraph, both escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    pub text: String,
}

impl Page {
    pub fn new(title: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            text: text.into(),
        }
    }

    /// The HTML document.
    pub fn html(&self) -> String {
        format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>jira-auth: {t}</title></head>\n<body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{t}</h1><p>{x}</p></body></html>\n",
            t = escape(&self.title),
            x = escape(&self.text)
        )
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// For an `http` redirect URI on `localhost`, `127.0.0.1` or `[::1]` (RFC 8252 §7.3): the
/// addresses to listen on (loopback only) and the port. `None` for anything else (paste mode).
pub fn addresses(url: &url::Url) -> Option<(Vec<IpAddr>, u16)> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    if url.scheme() != "http" {
        return None;
    }
    let port = url.port_or_known_default()?;
    let addrs = match url.host()? {
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ],
        url::Host::Ipv4(ip) if ip.is_loopback() => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) if ip.is_loopback() => vec![IpAddr::V6(ip)],
        _ => return None,
    };
    Some((addrs, port))
}

/// What one request means: the status and page to answer and, when it ends the wait, the
/// outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed<T> {
    pub status: u16,
    pub page: Page,
    pub outcome: Option<T>,
}

impl<T> Routed<T> {
    /// An answered request that does not end the wait.
    pub fn ignored(status: u16, title: &str, text: &str) -> Self {
        Self {
            status,
            page: Page::new(title, text),
            outcome: None,
        }
    }
}

/// One protocol's callback: its path, and what a `GET` of it with a query means. Pure.
pub trait Router: Send + Sync + 'static {
    /// What ends the wait.
    type Outcome: Send + 'static;
    /// The callback path, e.g. `/callback`.
    fn path(&self) -> &str;
    /// A `GET {path}?{query}` from a loopback `Host`.
    fn route(&self, query: &str) -> Routed<Self::Outcome>;
}

/// What a request head read on a listener bound to `port` means. Pure, and a fuzz target.
pub fn classify<R: Router + ?Sized>(router: &R, head: &str, port: u16) -> Routed<R::Outcome> {
    let bad = || Routed::ignored(400, "Bad request", "jira-auth could not read this request.");
    let mut lines = head.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad();
    };
    if !version.starts_with("HTTP/1.") || !target.starts_with('/') {
        return bad();
    }
    let host = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.trim());
    if !host.is_some_and(|h| is_loopback_host(h, port)) {
        tracing::debug!(
            ?host,
            "refusing a request whose Host is not this loopback listener"
        );
        return Routed::ignored(
            421,
            "Misdirected request",
            "This address only answers the browser of the running jira-auth login.",
        );
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != router.path() {
        return Routed::ignored(404, "Not found", "Nothing here.");
    }
    if method != "GET" {
        return Routed::ignored(
            405,
            "Method not allowed",
            "The login's callback is a GET request.",
        );
    }
    router.route(query)
}

/// `localhost`, `127.0.0.1` or `[::1]` (any loopback address), with this listener's port
/// (80 when the `Host` names none).
fn is_loopback_host(host: &str, port: u16) -> bool {
    let (name, host_port) = if let Some(rest) = host.strip_prefix('[') {
        let Some((name, after)) = rest.split_once(']') else {
            return false;
        };
        (name, after.strip_prefix(':'))
    } else {
        match host.rsplit_once(':') {
            Some((name, p)) => (name, Some(p)),
            None => (host, None),
        }
    };
    let port_ok = match host_port {
        Some(p) => p.parse::<u16>() == Ok(port),
        None => port == 80,
    };
    port_ok
        && (name.eq_ignore_ascii_case("localhost")
            || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

/// Why the listener could not be used or ended without an outcome.
#[derive(Debug, thiserror::Error)]
pub enum LoopbackError {
    #[error("{ip} is not a loopback address: the callback listener binds loopback addresses only")]
    NotLoopback { ip: IpAddr },
    #[error(
        "cannot listen on {addr}: {source}{}",
        if source.kind() == std::io::ErrorKind::AddrInUse { " (another program uses this port and could receive the login's code: stop it or choose another port)" } else { "" }
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("no browser callback arrived on {listen} within {seconds} s{}", ignored(*strays))]
    Timeout {
        listen: String,
        seconds: u64,
        strays: usize,
    },
    #[error(
        "{strays} requests on {listen} were not the login's callback; stopped listening: something other than the browser is calling this port"
    )]
    TooManyStrays { listen: String, strays: usize },
}

/// ` (N other requests were ignored: …)` for a timeout message.
pub fn ignored(strays: usize) -> String {
    match strays {
        0 => String::new(),
        1 => " (1 other request was ignored: wrong path, `state` or `Host`)".to_owned(),
        n => format!(" ({n} other requests were ignored: wrong path, `state` or `Host`)"),
    }
}

/// Listening sockets on one port of the loopback addresses.
#[derive(Debug)]
pub struct Loopback {
    sockets: Vec<TcpListener>,
    port: u16,
}

impl Loopback {
    /// Binds `port` (`0`: a free one, the same on every address) on each of `ips`, all
    /// loopback. The first address must bind; a later one may be missing from the host (no
    /// IPv6), but a port in use there is an error: another program would get the callback.
    pub async fn bind(ips: &[IpAddr], port: u16) -> Result<Self, LoopbackError> {
        let mut sockets: Vec<TcpListener> = Vec::new();
        let mut port = port;
        for (i, ip) in ips.iter().enumerate() {
            if !ip.is_loopback() {
                return Err(LoopbackError::NotLoopback { ip: *ip });
            }
            let addr = SocketAddr::new(*ip, port);
            match TcpListener::bind(addr).await {
                Ok(s) => {
                    if let Ok(local) = s.local_addr() {
                        port = local.port();
                    }
                    sockets.push(s);
                }
                Err(e) if i > 0 && e.kind() != std::io::ErrorKind::AddrInUse => {
                    tracing::debug!(%ip, port, "not listening: {e}");
                }
                Err(source) => return Err(LoopbackError::Bind { addr, source }),
            }
        }
        Ok(Self { sockets, port })
    }

    /// The port listened on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The addresses actually listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect()
    }

    /// Serves requests until `router` gives an outcome, [`MAX_STRAYS`] requests were ignored,
    /// or `timeout` passes (capped at a year, so no value overflows the clock). The outcome
    /// comes with the [`Reply`] that answers the browser which brought it.
    pub async fn wait<R: Router>(
        self,
        router: Arc<R>,
        timeout: Duration,
    ) -> Result<(R::Outcome, Reply), LoopbackError> {
        let listen = self
            .local_addrs()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ");
        let port = self.port;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<TcpStream>(8);
        let mut accepting = tokio::task::JoinSet::new();
        for socket in self.sockets {
            let tx = tx.clone();
            accepting.spawn(async move {
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
            });
        }
        drop(tx);
        let timeout = timeout.min(Duration::from_secs(365 * 86_400));
        let deadline = tokio::time::Instant::now() + timeout;
        let mut connections = tokio::task::JoinSet::new();
        let mut open: VecDeque<tokio::task::AbortHandle> = VecDeque::new();
        let mut strays = 0usize;
        let result = loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    break Err(LoopbackError::Timeout {
                        listen: listen.clone(),
                        seconds: timeout.as_secs(),
                        strays,
                    });
                }
                Some(stream) = rx.recv() => {
                    open.retain(|h| !h.is_finished());
                    if open.len() >= MAX_CONNECTIONS
                        && let Some(oldest) = open.pop_front()
                    {
                        oldest.abort();
                    }
                    open.push_back(connections.spawn(serve(stream, router.clone(), port)));
                }
                Some(done) = connections.join_next() => match done {
                    Ok(Served::Ended(outcome, stream, status, page)) => {
                        break Ok((outcome, Reply::hold(stream, status, page)));
                    }
                    Ok(Served::Ignored) => {
                        strays += 1;
                        tracing::info!("ignored a request that is not this login's callback ({strays} so far)");
                        if strays >= MAX_STRAYS {
                            break Err(LoopbackError::TooManyStrays { listen: listen.clone(), strays });
                        }
                    }
                    Ok(Served::Idle) => {}
                    Err(e) if e.is_cancelled() => {}
                    Err(e) => tracing::debug!("a connection task failed: {e}"),
                },
            }
        };
        connections.abort_all();
        accepting.abort_all();
        // The accept loops own the sockets: once they are gone nothing listens any more.
        while accepting.join_next().await.is_some() {}
        result
    }
}

/// The browser connection that brought the callback, kept open until the caller knows how the
/// login ended. Answer it with [`Reply::answer`]; [`Reply::provisional`] (or dropping it, or
/// taking longer than [`REPLY_WAIT`]) answers the router's page instead.
#[derive(Debug)]
pub struct Reply {
    page: Option<tokio::sync::oneshot::Sender<(u16, Page)>>,
    written: tokio::task::JoinHandle<()>,
}

impl Reply {
    fn hold(mut stream: TcpStream, status: u16, page: Page) -> Self {
        let (tx, rx) = tokio::sync::oneshot::channel::<(u16, Page)>();
        let written = tokio::spawn(async move {
            let (status, page) = match tokio::time::timeout(REPLY_WAIT, rx).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(_)) | Err(_) => (status, page),
            };
            respond(&mut stream, status, &page).await;
        });
        Self {
            page: Some(tx),
            written,
        }
    }

    /// Answers the browser with the login's outcome, once it is known, and waits until the page
    /// is written (or the browser is gone).
    pub async fn answer(mut self, status: u16, page: Page) {
        if let Some(tx) = self.page.take() {
            let _ = tx.send((status, page));
        }
        let _ = (&mut self.written).await;
    }

    /// Answers the browser with the router's page: the outcome was already final (a declined
    /// consent) or is not this caller's to tell.
    pub async fn provisional(mut self) {
        self.page.take();
        let _ = (&mut self.written).await;
    }
}

/// What one connection amounted to.
enum Served<T> {
    /// The router's outcome: the wait ends; the connection waits for the caller's page (the
    /// router's page is the fallback).
    Ended(T, TcpStream, u16, Page),
    /// A request that was answered and ignored (counted).
    Ignored,
    /// A connection that sent no request in time (a browser's preconnect): not counted.
    Idle,
}

async fn serve<R: Router>(mut stream: TcpStream, router: Arc<R>, port: u16) -> Served<R::Outcome> {
    let routed = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => classify(router.as_ref(), &head, port),
        Ok(Err(Unread::Nothing)) | Err(_) => return Served::Idle,
        Ok(Err(Unread::TooLarge)) => Routed::ignored(
            431,
            "Request too large",
            "jira-auth reads at most 8 KiB of request head.",
        ),
        Ok(Err(Unread::Broken)) => {
            Routed::ignored(400, "Bad request", "jira-auth could not read this request.")
        }
    };
    match routed.outcome {
        Some(outcome) => Served::Ended(outcome, stream, routed.status, routed.page),
        None => {
            respond(&mut stream, routed.status, &routed.page).await;
            Served::Ignored
        }
    }
}

enum Unread {
    /// Closed without a byte (a preconnect given up): nothing to answer.
    Nothing,
    TooLarge,
    Broken,
}

/// Reads up to the blank line ending the head.
async fn read_head(stream: &mut TcpStream) -> Result<String, Unread> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await.map_err(|_| Unread::Broken)?;
        if n == 0 {
            return Err(if buf.is_empty() {
                Unread::Nothing
            } else {
                Unread::Broken
            });
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.truncate(end);
            return String::from_utf8(buf).map_err(|_| Unread::Broken);
        }
        if buf.len() > MAX_HEAD_BYTES {
            return Err(Unread::TooLarge);
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, page: &Page) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        421 => "Misdirected Request",
        431 => "Request Header Fields Too Large",
        _ => "Bad Request",
    };
    let body = page.html();
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ends on `?ok`, ignores anything else.
    struct Echo;

    impl Router for Echo {
        type Outcome = String;
        fn path(&self) -> &str {
            "/cb"
        }
        fn route(&self, query: &str) -> Routed<String> {
            if query == "ok" {
                Routed {
                    status: 200,
                    page: Page::new("Done", "ok"),
                    outcome: Some(query.to_owned()),
                }
            } else {
                Routed::ignored(400, "Not this login", "no")
            }
        }
    }

    fn status(head: &str, port: u16) -> (u16, bool) {
        let r = classify(&Echo, head, port);
        (r.status, r.outcome.is_some())
    }

    #[test]
    fn the_shared_rules_come_before_the_router() {
        let get = |target: &str, host: &str| format!("GET {target} HTTP/1.1\r\nHost: {host}");
        assert_eq!(status(&get("/cb?ok", "127.0.0.1:4000"), 4000), (200, true));
        assert_eq!(status(&get("/cb?ok", "localhost:4000"), 4000), (200, true));
        assert_eq!(status(&get("/cb?ok", "[::1]:4000"), 4000), (200, true));
        assert_eq!(status(&get("/cb?no", "[::1]:4000"), 4000), (400, false));
        assert_eq!(
            status(&get("/favicon.ico", "localhost:4000"), 4000),
            (404, false)
        );
        // DNS rebinding, another port, no Host at all.
        assert_eq!(
            status(&get("/cb?ok", "evil.example:4000"), 4000),
            (421, false)
        );
        assert_eq!(status(&get("/cb?ok", "127.0.0.1:4001"), 4000), (421, false));
        assert_eq!(status(&get("/cb?ok", "localhost"), 4000), (421, false));
        assert_eq!(status(&get("/cb?ok", "[::1"), 4000), (421, false));
        assert_eq!(status("GET /cb?ok HTTP/1.1", 4000), (421, false));
        assert_eq!(
            status("POST /cb?ok HTTP/1.1\r\nHost: localhost:4000", 4000),
            (405, false)
        );
        for broken in [
            "garbage",
            "GET /cb?ok HTTP/2\r\nHost: localhost:4000",
            "GET cb HTTP/1.1",
            "GET /cb HTTP/1.1 x",
        ] {
            assert_eq!(status(broken, 4000), (400, false), "{broken}");
        }
    }

    #[test]
    fn pages_escape_what_they_show() {
        let html = Page::new("<t>", "a \"b\" & 'c' <script>").html();
        assert!(html.contains("<h1>&lt;t&gt;</h1>"), "{html}");
        assert!(
            html.contains("a &quot;b&quot; &amp; &#39;c&#39; &lt;script&gt;"),
            "{html}"
        );
    }

    /// Sends a callback request and returns what the browser got.
    async fn visit(port: u16, target: &str) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(
                format!("GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes(),
            )
            .await
            .unwrap();
        let mut got = String::new();
        stream.read_to_string(&mut got).await.unwrap();
        got
    }

    #[tokio::test]
    async fn the_browser_waits_for_the_callers_page_and_gets_the_routers_if_none_comes() {
        for answered in [true, false] {
            let lb = Loopback::bind(&["127.0.0.1".parse().unwrap()], 0)
                .await
                .unwrap();
            let port = lb.port();
            let browser = tokio::spawn(visit(port, "/cb?ok"));
            let (outcome, reply) = lb
                .wait(Arc::new(Echo), Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(outcome, "ok");
            // Nothing is written before the caller decides.
            assert!(!browser.is_finished());
            if answered {
                reply
                    .answer(400, Page::new("Login failed", "the code was refused"))
                    .await;
            } else {
                drop(reply);
            }
            let got = browser.await.unwrap();
            if answered {
                assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
                assert!(
                    got.contains("<h1>Login failed</h1><p>the code was refused</p>"),
                    "{got}"
                );
            } else {
                assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
                assert!(got.contains("<h1>Done</h1>"), "{got}");
            }
        }
    }

    /// The fallback's timer on tokio's paused clock: a caller that neither answers nor drops its
    /// [`Reply`] leaves the browser waiting exactly [`REPLY_WAIT`], then the router's page.
    #[tokio::test]
    async fn a_caller_that_never_answers_leaves_the_browser_the_routers_page_after_reply_wait() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut browser = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (held, _) = listener.accept().await.unwrap();
        // Paused from here: only `advance` moves the clock, and no real time passes.
        tokio::time::pause();
        let reply = Reply::hold(held, 200, Page::new("Done", "see the terminal"));
        let page = tokio::spawn(async move {
            let mut got = String::new();
            browser.read_to_string(&mut got).await.unwrap();
            got
        });
        // Let the held reply start its timer (and the browser its read) at this instant.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        tokio::time::advance(REPLY_WAIT - Duration::from_millis(1)).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert!(!page.is_finished(), "answered before REPLY_WAIT");
        tokio::time::advance(Duration::from_millis(1)).await;
        // Bounded by a millisecond more of the paused clock: the page is due now, not later.
        let got = tokio::time::timeout(Duration::from_millis(1), page)
            .await
            .expect("no page after REPLY_WAIT")
            .unwrap();
        assert!(got.starts_with("HTTP/1.1 200 OK\r\n"), "{got}");
        assert!(
            got.contains("<h1>Done</h1><p>see the terminal</p>"),
            "{got}"
        );
        // The caller's answer, too late, changes nothing and does not hang.
        reply
            .answer(400, Page::new("Login failed", "too late"))
            .await;
    }

    #[tokio::test]
    async fn a_port_in_use_on_a_later_address_is_an_error_not_a_skip() {
        let taken = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = Loopback::bind(
            &["127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap()],
            port,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot listen on 127.0.0.2:{port}: Address already in use (os error 98) (another program uses this port and could receive the login's code: stop it or choose another port)"
            )
        );
        let err = Loopback::bind(&["10.0.0.1".parse().unwrap()], 0)
            .await
            .unwrap_err();
        assert!(matches!(err, LoopbackError::NotLoopback { .. }));
    }
}
