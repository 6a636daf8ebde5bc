//! A hostile server: every request, whatever its path (token endpoint, accessible-resources,
//! Jira REST), gets the same misbehaviour. Raw HTTP/1.1 over tokio so it can do what no
//! well-behaved framework lets a handler do: drip a body, cut it short, lie about its length.
//!
//! Tokens in its bodies contain `HOSTILE`, so a test can tell them from the ones it sent; they
//! are as long as real ones (opaque runs of 20 characters and more).

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One way of answering badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Numbers past every integer type (`expires_in`, `total`, `maxResults`, `startAt`).
    HugeNumbers,
    /// Negative numbers where counts and durations belong.
    NegativeNumbers,
    /// Floats where integers belong.
    FloatNumbers,
    /// Strings where numbers belong, numbers where strings belong, a string for a list.
    WrongTypes,
    /// A UTF-8 byte order mark before the JSON.
    Bom,
    /// Half of a JSON document, with a matching `Content-Length`.
    TruncatedJson,
    /// A `Content-Length` of 1000 and a connection closed after 10 bytes.
    CutConnection,
    /// 17 MiB of body (past the client's 16 MiB limit).
    HugeBody,
    /// A full page that never ends and never advances (`isLast: false`, no `total`).
    NonAdvancingPages,
    /// Headers at once, then one body byte every 250 ms, forever.
    SlowDrip,
    /// `302` to the same URL.
    RedirectLoop,
    /// `429` with `Retry-After` and `X-RateLimit-Reset` past any clock.
    RateLimitStorm,
    /// `503` with a negative `Retry-After`.
    UnavailableStorm,
    /// `200` with an HTML login page.
    HtmlLoginPage,
    /// `200` with form-encoded tokens instead of JSON.
    FormTokens,
    /// `400` whose body repeats the request it was sent, credentials included.
    ReflectsRequest,
}

impl Misbehaviour {
    pub const ALL: &[Misbehaviour] = &[
        Misbehaviour::HugeNumbers,
        Misbehaviour::NegativeNumbers,
        Misbehaviour::FloatNumbers,
        Misbehaviour::WrongTypes,
        Misbehaviour::Bom,
        Misbehaviour::TruncatedJson,
        Misbehaviour::CutConnection,
        Misbehaviour::HugeBody,
        Misbehaviour::NonAdvancingPages,
        Misbehaviour::SlowDrip,
        Misbehaviour::RedirectLoop,
        Misbehaviour::RateLimitStorm,
        Misbehaviour::UnavailableStorm,
        Misbehaviour::HtmlLoginPage,
        Misbehaviour::FormTokens,
        Misbehaviour::ReflectsRequest,
    ];
}

/// A JSON object with every field the tool reads somewhere (a token response, a page, a user,
/// `serverInfo`), its numbers given by `n`.
fn universal(n: &str, wrong_types: bool) -> String {
    if wrong_types {
        return r#"{"access_token":12,"refresh_token":["rt-HOSTILE-0001-4e6a8c0b2d4f"],"expires_in":"soon","token_type":7,"scope":{"a":1},"startAt":"0","maxResults":"50","total":"many","isLast":"no","values":"none","accountId":5,"name":[],"key":{},"deploymentType":9,"version":1,"permissions":[],"cloudId":true}"#.to_owned();
    }
    format!(
        r#"{{"access_token":"at-HOSTILE-0001-7f3a9c2e5b8d","refresh_token":"rt-HOSTILE-0001-4e6a8c0b2d4f","expires_in":{n},"token_type":"Bearer","scope":"read:jira-work offline_access","startAt":{n},"maxResults":{n},"total":{n},"isLast":false,"values":[{{"id":"10000","key":"HOS","name":"Hostile","self":"http://x/rest/api/2/project/10000"}}],"accountId":"acc-1","name":"bot","key":"bot","displayName":"Bot","deploymentType":"Server","version":"9.12.0","versionNumbers":[9,12,0],"permissions":{{}},"cloudId":"c-1"}}"#
    )
}

/// The hostile server on 127.0.0.1; stops when dropped.
#[derive(Debug)]
pub struct HostileServer {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HostileServer {
    pub async fn start(misbehaviour: Misbehaviour) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    // Bounded: no connection lives longer than a minute.
                    let _ = tokio::time::timeout(
                        Duration::from_secs(60),
                        answer(stream, misbehaviour, addr),
                    )
                    .await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request (head up to 64 KiB, body by `Content-Length` up to 64 KiB) and returns
/// its raw text and path.
async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
        .min(64 * 1024);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    Some((String::from_utf8_lossy(&buf).into_owned(), path))
}

async fn answer(mut stream: TcpStream, m: Misbehaviour, addr: SocketAddr) {
    let Some((request, path)) = read_request(&mut stream).await else {
        return;
    };
    let respond = |status: &str, headers: &str, body: &[u8]| {
        let mut out = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        out
    };
    const JSON: &str = "Content-Type: application/json\r\n";
    let bytes = match m {
        Misbehaviour::HugeNumbers => respond(
            "200 OK",
            JSON,
            universal("1e400", false)
                .replacen("1e400", "18446744073709551616", 2)
                .as_bytes(),
        ),
        Misbehaviour::NegativeNumbers => respond(
            "200 OK",
            JSON,
            universal("-9223372036854775808", false).as_bytes(),
        ),
        Misbehaviour::FloatNumbers => {
            respond("200 OK", JSON, universal("1.5e300", false).as_bytes())
        }
        Misbehaviour::WrongTypes => respond("200 OK", JSON, universal("", true).as_bytes()),
        Misbehaviour::Bom => {
            let mut body = "\u{feff}".as_bytes().to_vec();
            body.extend_from_slice(universal("3600", false).as_bytes());
            respond("200 OK", JSON, &body)
        }
        Misbehaviour::TruncatedJson => {
            let body = universal("3600", false);
            respond("200 OK", JSON, &body.as_bytes()[..body.len() / 2])
        }
        Misbehaviour::CutConnection => {
            let mut out =
                format!("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n{JSON}\r\n").into_bytes();
            out.extend_from_slice(br#"{"access_t"#);
            out
        }
        Misbehaviour::HugeBody => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n{JSON}\r\n",
                17 * 1024 * 1024
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let spaces = vec![b' '; 64 * 1024];
            for _ in 0..(17 * 16) {
                if stream.write_all(&spaces).await.is_err() {
                    return;
                }
            }
            return;
        }
        Misbehaviour::NonAdvancingPages => {
            let page = r#"{"startAt":0,"maxResults":1,"isLast":false,"values":[{"id":"10000","key":"HOS","name":"Hostile"}]}"#;
            respond("200 OK", JSON, page.as_bytes())
        }
        Misbehaviour::SlowDrip => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n{JSON}\r\n");
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            loop {
                if stream.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
        Misbehaviour::RedirectLoop => respond(
            "302 Found",
            &format!("Location: http://{addr}{path}\r\n"),
            b"",
        ),
        Misbehaviour::RateLimitStorm => respond(
            "429 Too Many Requests",
            "Retry-After: 99999999999999999999\r\nX-RateLimit-Reset: 18446744073709551615\r\nRateLimit-Reason: jira-burst-based\r\n",
            b"",
        ),
        Misbehaviour::UnavailableStorm => {
            respond("503 Service Unavailable", "Retry-After: -5\r\n", b"busy")
        }
        Misbehaviour::HtmlLoginPage => respond(
            "200 OK",
            "Content-Type: text/html\r\n",
            b"<html><head><title>Log in</title></head><body><form></form></body></html>",
        ),
        Misbehaviour::FormTokens => respond(
            "200 OK",
            "Content-Type: application/x-www-form-urlencoded\r\n",
            b"access_token=at-HOSTILE-0001-7f3a9c2e5b8d&refresh_token=rt-HOSTILE-0001-4e6a8c0b2d4f&expires_in=3600",
        ),
        Misbehaviour::ReflectsRequest => {
            let escaped = serde_json::to_string(&request).unwrap_or_default();
            let body = format!(
                r#"{{"error":"invalid_request","error_description":{escaped},"errorMessages":[{escaped}],"errors":{{}}}}"#
            );
            respond("400 Bad Request", JSON, body.as_bytes())
        }
    };
    let _ = stream.write_all(&bytes).await;
    let _ = stream.shutdown().await;
}
