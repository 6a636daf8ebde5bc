//! The loopback listener under hostile or careless traffic: stray requests are answered,
//! counted and named in the timeout; an oversized head is refused; one code is accepted and
//! then nothing listens any more; a request whose `Host` is not loopback is refused.

#![allow(clippy::unwrap_used)]

use jira_auth_cloud::CloudError;
use jira_auth_cloud::callback::RedirectUri;
use jira_auth_cloud::listener::{Listener, MAX_REQUEST_BYTES};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const STATE: &str = "00112233445566778899aabbccddeeff";

async fn listen(path: &str) -> (Listener, u16) {
    let bind = RedirectUri::parse(&format!("http://127.0.0.1:0{path}")).unwrap();
    let listener = Listener::bind(&bind).await.unwrap();
    let port = listener.local_addrs()[0].port();
    (listener, port)
}

/// Sends raw bytes and returns the status line of the answer (blocking, on its own thread).
async fn raw(port: u16, request: Vec<u8>) -> String {
    tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // The listener may answer (and close) before it has read everything: ignore EPIPE.
        let _ = s.write_all(&request);
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        text.lines().next().unwrap_or_default().to_owned()
    })
    .await
    .unwrap()
}

fn get(target: &str, host: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes()
}

#[tokio::test]
async fn strays_are_answered_counted_and_named_when_the_wait_times_out() {
    let (listener, port) = listen("/callback").await;
    let waiting = tokio::spawn(async move { listener.wait(STATE, Duration::from_secs(3)).await });
    let host = format!("127.0.0.1:{port}");
    let answers = [
        raw(port, get("/favicon.ico", &host)).await,
        raw(
            port,
            get(
                "/other?code=x&state=00112233445566778899aabbccddeeff",
                &host,
            ),
        )
        .await,
        raw(port, get("/callback?code=x&state=ffff", &host)).await,
        raw(port, get("/callback?code=x", &host)).await,
        raw(
            port,
            get(&format!("/callback?code=x&state={STATE}"), "evil.example"),
        )
        .await,
        raw(
            port,
            get(
                &format!("/callback?code=x&state={STATE}"),
                "localhost.evil.example:80",
            ),
        )
        .await,
        raw(
            port,
            b"POST /callback HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
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
            "HTTP/1.1 400 Bad Request",
            "HTTP/1.1 421 Misdirected Request",
            "HTTP/1.1 421 Misdirected Request",
            "HTTP/1.1 405 Method Not Allowed",
            "HTTP/1.1 400 Bad Request",
        ]
    );
    // A connection that never sends a byte and closes is not a request: not counted.
    drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
    let err = waiting.await.unwrap().unwrap_err();
    assert!(
        matches!(err, CloudError::CallbackTimeout { strays: 8, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "no browser callback arrived on 127.0.0.1:{port} within 3 s (8 other requests were ignored: wrong path, `state` or `Host`): finish the consent in the browser sooner, raise `--timeout`, or use `--paste`"
        )
    );
}

#[tokio::test]
async fn an_oversized_head_is_refused_with_431_and_the_wait_goes_on() {
    let (listener, port) = listen("/").await;
    let waiting = tokio::spawn(async move { listener.wait(STATE, Duration::from_secs(30)).await });
    let mut huge = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Pad: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', MAX_REQUEST_BYTES * 4));
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        raw(port, huge).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    // A head that never ends is cut at the limit too, without waiting for the blank line.
    let endless = vec![b'A'; MAX_REQUEST_BYTES + 2048];
    assert_eq!(
        raw(port, endless).await,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert!(
        !waiting.is_finished(),
        "still waiting for the real callback"
    );
    let ok = raw(
        port,
        get(&format!("/?state={STATE}&code=the-code"), "localhost"),
    )
    .await;
    assert_eq!(ok, "HTTP/1.1 200 OK");
    assert_eq!(waiting.await.unwrap().unwrap().secret(), "the-code");
}

#[tokio::test]
async fn one_code_is_accepted_then_nothing_listens() {
    let (listener, port) = listen("/cb").await;
    let waiting = tokio::spawn(async move { listener.wait(STATE, Duration::from_secs(30)).await });
    let ok = raw(port, get(&format!("/cb?code=first&state={STATE}"), "[::1]")).await;
    assert_eq!(ok, "HTTP/1.1 200 OK");
    assert_eq!(waiting.await.unwrap().unwrap().secret(), "first");
    // `wait` returned: the socket is closed, a second code has nowhere to go.
    let again = TcpStream::connect(("127.0.0.1", port));
    assert_eq!(
        again.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
}
