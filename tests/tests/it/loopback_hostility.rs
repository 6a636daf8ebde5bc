//! The loopback listener (`jira_auth_core::loopback`) under hostile or careless traffic, for
//! both protocols that use it: Jira Cloud's OAuth 2.0 callback (`cloud login`) and Data
//! Center's OAuth 1.0a callback (`server login`). Stray requests are answered, counted and named
//! in the timeout; an oversized head is refused; idle connections cannot starve the callback;
//! one callback is accepted and then nothing listens any more; a `Host` that is not this
//! listener's loopback address is refused.

#![allow(clippy::unwrap_used)]

use jira_auth_cloud::callback::RedirectUri;
use jira_auth_cloud::listener::Listener;
use jira_auth_core::AccessToken;
use jira_auth_core::loopback::{MAX_CONNECTIONS, MAX_HEAD_BYTES, MAX_STRAYS};
use jira_auth_server::callback::CallbackListener;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;
use tokio::task::JoinHandle;

const STATE: &str = "00112233445566778899aabbccddeeff";
const TOKEN: &str = "request-token-0123456789";

/// One protocol: how to start a wait, and the callback target that ends it.
#[derive(Debug, Clone, Copy)]
enum Protocol {
    Cloud,
    Server,
}

const BOTH: [Protocol; 2] = [Protocol::Cloud, Protocol::Server];

impl Protocol {
    /// A listener waiting `timeout`, its port, and the wait's outcome as text (`Ok(code or
    /// target)` or the error's message).
    async fn start(self, timeout: Duration) -> (u16, JoinHandle<Result<String, String>>) {
        match self {
            Protocol::Cloud => {
                let bind = RedirectUri::parse("http://127.0.0.1:0/callback").unwrap();
                let listener = Listener::bind(&bind).await.unwrap();
                let port = listener.local_addrs()[0].port();
                let task = tokio::spawn(async move {
                    listener
                        .wait(STATE, "the-client-id", timeout)
                        .await
                        // Dropping the reply answers the browser with the router's page.
                        .map(|(code, _reply)| code.secret().clone())
                        .map_err(|e| e.to_string())
                });
                (port, task)
            }
            Protocol::Server => {
                let listener = CallbackListener::bind(0).await.unwrap();
                let port: u16 = listener
                    .url()
                    .trim_start_matches("http://127.0.0.1:")
                    .trim_end_matches("/callback")
                    .parse()
                    .unwrap();
                let task = tokio::spawn(async move {
                    listener
                        .receive(&AccessToken::new(TOKEN), timeout)
                        .await
                        .map(|(target, _reply)| target)
                        .map_err(|e| e.to_string())
                });
                (port, task)
            }
        }
    }

    /// The callback target that ends the wait, and what the wait then returns.
    fn callback(self) -> (String, String) {
        match self {
            Protocol::Cloud => (
                format!("/callback?code=the-code&state={STATE}"),
                "the-code".to_owned(),
            ),
            Protocol::Server => {
                let target = format!("/callback?oauth_token={TOKEN}&oauth_verifier=v1");
                (target.clone(), target)
            }
        }
    }

    /// A callback for another login on the right path.
    fn someone_elses(self) -> &'static str {
        match self {
            Protocol::Cloud => "/callback?code=x&state=ffff",
            Protocol::Server => "/callback?oauth_token=someone-else&oauth_verifier=v",
        }
    }
}

/// Sends raw bytes and returns the status line of the answer (blocking, on its own thread).
async fn raw(port: u16, request: Vec<u8>) -> String {
    tokio::task::spawn_blocking(move || {
        let answer = exchange(port, &request).unwrap();
        let text = String::from_utf8_lossy(&answer).into_owned();
        text.lines().next().unwrap_or_default().to_owned()
    })
    .await
    .unwrap()
}

/// Sends `request` on a new connection to `port` and reads everything that comes back (within
/// 10 s); fails only if the connection cannot be made.
fn exchange(port: u16, request: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    // The listener may answer (and close) before it has read everything: ignore EPIPE.
    let _ = s.write_all(request);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    Ok(answer)
}

fn get(target: &str, host: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn strays_are_answered_counted_and_named_when_the_wait_times_out() {
    for protocol in BOTH {
        let (port, waiting) = protocol.start(Duration::from_secs(3)).await;
        let host = format!("127.0.0.1:{port}");
        let (callback, _) = protocol.callback();
        let answers = [
            raw(port, get("/favicon.ico", &host)).await,
            raw(port, get(&format!("/other?code=x&state={STATE}"), &host)).await,
            raw(port, get(protocol.someone_elses(), &host)).await,
            raw(port, get(&callback, "evil.example")).await,
            raw(port, get(&callback, "localhost.evil.example:80")).await,
            // Another port on a loopback name, and no `Host` at all: refused too.
            raw(port, get(&callback, &format!("localhost:{}", port ^ 1))).await,
            raw(
                port,
                format!("GET {callback} HTTP/1.0\r\n\r\n").into_bytes(),
            )
            .await,
            raw(
                port,
                format!("POST /callback HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n").into_bytes(),
            )
            .await,
            raw(port, b"\x16\x03\x01 not http\r\n\r\n".to_vec()).await,
        ];
        assert_eq!(
            answers,
            [
                "HTTP/1.1 404 Not Found",
                "HTTP/1.1 404 Not Found",
                "HTTP/1.1 400 Bad Request",
                "HTTP/1.1 421 Misdirected Request",
                "HTTP/1.1 421 Misdirected Request",
                "HTTP/1.1 421 Misdirected Request",
                "HTTP/1.1 421 Misdirected Request",
                "HTTP/1.1 405 Method Not Allowed",
                "HTTP/1.1 400 Bad Request",
            ],
            "{protocol:?}"
        );
        // A connection that never sends a byte and closes is not a request: not counted.
        drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
        let err = waiting.await.unwrap().unwrap_err();
        match protocol {
            Protocol::Cloud => assert_eq!(
                err,
                format!(
                    "no browser callback arrived on 127.0.0.1:{port} within 3 s (9 other requests were ignored: wrong path, `state` or `Host`): if Atlassian showed an error page instead of a consent screen, check the client id `the-client-id` and that the app's Callback URL is exactly `http://127.0.0.1:0/callback` (developer console → your app → Authorization); otherwise finish the consent in the browser sooner, raise `--timeout`, or use `--paste`"
                )
            ),
            Protocol::Server => assert_eq!(
                err,
                format!(
                    "no browser callback arrived on 127.0.0.1:{port} within 3 s (9 other requests were ignored: wrong path, `state` or `Host`)"
                )
            ),
        }
    }
}

#[tokio::test]
async fn an_oversized_head_is_refused_with_431_and_the_wait_goes_on() {
    for protocol in BOTH {
        let (port, waiting) = protocol.start(Duration::from_secs(30)).await;
        let mut huge =
            format!("GET /callback HTTP/1.1\r\nHost: localhost:{port}\r\nX-Pad: ").into_bytes();
        huge.extend(std::iter::repeat_n(b'a', MAX_HEAD_BYTES * 4));
        huge.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            raw(port, huge).await,
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        // A head that never ends is cut at the limit too, without waiting for the blank line.
        let endless = vec![b'A'; MAX_HEAD_BYTES + 2048];
        assert_eq!(
            raw(port, endless).await,
            "HTTP/1.1 431 Request Header Fields Too Large"
        );
        assert!(
            !waiting.is_finished(),
            "still waiting for the real callback"
        );
        let (callback, expected) = protocol.callback();
        let ok = raw(port, get(&callback, &format!("localhost:{port}"))).await;
        assert_eq!(ok, "HTTP/1.1 200 OK");
        assert_eq!(waiting.await.unwrap().unwrap(), expected, "{protocol:?}");
    }
}

#[tokio::test]
async fn idle_connections_cannot_starve_the_callback() {
    for protocol in BOTH {
        let (port, waiting) = protocol.start(Duration::from_secs(30)).await;
        // Twice as many silent connections as may be open at once (browsers' preconnects, or
        // someone trying to exhaust the listener): the oldest are closed, none is refused.
        let idle: Vec<TcpStream> = (0..MAX_CONNECTIONS * 2)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        let (callback, expected) = protocol.callback();
        let ok = raw(port, get(&callback, &format!("127.0.0.1:{port}"))).await;
        assert_eq!(ok, "HTTP/1.1 200 OK", "{protocol:?}");
        assert_eq!(waiting.await.unwrap().unwrap(), expected);
        drop(idle);
    }
}

#[tokio::test]
async fn too_many_stray_requests_end_the_wait_with_an_error() {
    for protocol in BOTH {
        let (port, waiting) = protocol.start(Duration::from_secs(60)).await;
        let host = format!("127.0.0.1:{port}");
        for _ in 0..MAX_STRAYS {
            assert_eq!(
                raw(port, get("/favicon.ico", &host)).await,
                "HTTP/1.1 404 Not Found"
            );
        }
        let err = waiting.await.unwrap().unwrap_err();
        assert!(
            err.contains(&format!(
                "64 requests on 127.0.0.1:{port} were not the login's callback; stopped listening"
            )),
            "{protocol:?}: {err}"
        );
    }
}

#[tokio::test]
async fn one_callback_is_accepted_then_nothing_listens() {
    for protocol in BOTH {
        let (port, waiting) = protocol.start(Duration::from_secs(30)).await;
        let (callback, expected) = protocol.callback();
        let ok = raw(port, get(&callback, &format!("[::1]:{port}"))).await;
        assert_eq!(ok, "HTTP/1.1 200 OK");
        assert_eq!(waiting.await.unwrap().unwrap(), expected);
        // The wait returned: the socket is closed, a second callback has nowhere to go.
        let again = tokio::task::spawn_blocking(move || unanswered(port, &callback))
            .await
            .unwrap();
        assert_eq!(again, Ok(()), "{protocol:?}");
    }
}

/// Whether a callback sent to `port` finds nothing that answers it: the connection is refused,
/// or (while a child process that another test is spawning still holds a copy of the closed
/// socket, until it execs) taken into the backlog and then reset or closed with no answer.
fn unanswered(port: u16, callback: &str) -> Result<(), String> {
    match exchange(port, &get(callback, &format!("127.0.0.1:{port}"))) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
        Err(e) => Err(format!("connecting failed otherwise: {e}")),
        Ok(answer) if answer.is_empty() => Ok(()),
        Ok(answer) => Err(format!("answered: {}", String::from_utf8_lossy(&answer))),
    }
}
