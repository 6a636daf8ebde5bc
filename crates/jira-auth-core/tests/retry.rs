//! The retry policy against a live wiremock server, with an injected clock (no real sleeps).

#![allow(clippy::unwrap_used)]

use jira_auth_core::Categorize;
use jira_auth_core::http::{HttpClient, HttpError, RetryPolicy};
use jira_auth_core::time::RecordingClock;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(clock: &RecordingClock, attempts: u32) -> HttpClient {
    HttpClient::builder()
        .clock(Arc::new(clock.clone()))
        .retry(RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(60),
        })
        .build()
        .unwrap()
}

fn get(url: String) -> http::Request<Vec<u8>> {
    http::Request::get(url).body(Vec::new()).unwrap()
}

fn post(url: String) -> http::Request<Vec<u8>> {
    http::Request::post(url)
        .body(b"grant_type=x".to_vec())
        .unwrap()
}

fn clock() -> RecordingClock {
    RecordingClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "7"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/rest/api/3/myself"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;

    let clock = clock();
    let resp = client(&clock, 5)
        .send_checked(get(format!("{}/rest/api/3/myself", server.uri())))
        .await
        .unwrap();

    assert_eq!(resp.status, 200);
    assert_eq!(resp.attempts, 3);
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(7), Duration::from_secs(7)]
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn retries_429_honouring_http_date_and_rate_limit_reset() {
    let server = MockServer::start().await;
    let clock = clock();
    let at = |s: u64| httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s));
    let reset =
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(1_800_000_000 + 3 + 9))
            .to_string();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", at(3).as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("X-RateLimit-Reset", reset.as_str()))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;

    let resp = client(&clock, 5)
        .send_checked(get(server.uri()))
        .await
        .unwrap();
    assert_eq!(resp.attempts, 3);
    // The clock advances by each wait, so the reset time is 9 s after the first wait ends.
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(3), Duration::from_secs(9)]
    );
}

#[tokio::test]
async fn gives_up_after_max_attempts_with_the_servers_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .set_body_string(r#"{"errorMessages":["Rate limit exceeded."]}"#),
        )
        .mount(&server)
        .await;
    let clock = clock();
    let err = client(&clock, 3)
        .send_checked(get(server.uri()))
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(clock.sleeps().len(), 2);
    let HttpError::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 429);
    assert!(
        err.to_string()
            .ends_with("answered 429: Rate limit exceeded."),
        "{err}"
    );
}

#[tokio::test]
async fn backoff_without_hint_grows_exponentially_on_503() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let clock = clock();
    let resp = client(&clock, 5)
        .send_checked(get(server.uri()))
        .await
        .unwrap();
    assert_eq!(resp.attempts, 4);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 3);
    for (i, base) in [100u64, 200, 400].into_iter().enumerate() {
        let d = sleeps[i].as_millis() as u64;
        assert!((base..=base + base / 2).contains(&d), "wait {i} was {d} ms");
    }
}

#[tokio::test]
async fn total_wait_budget_bounds_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "25"))
        .mount(&server)
        .await;
    let clock = clock();
    let err = client(&clock, 10)
        .send_checked(get(server.uri()))
        .await
        .unwrap_err();
    // 25 + 25 = 50 fits in 60 s; a third wait would not.
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(25); 2]);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(matches!(err, HttpError::Api(ref e) if e.status == 429));
}

#[tokio::test]
async fn no_retry_on_400_and_error_text_kept() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_string(
            r#"{"error":"invalid_request","error_description":"redirect_uri mismatch"}"#,
        ))
        .mount(&server)
        .await;
    let clock = clock();
    let err = client(&clock, 5)
        .send_checked(post(format!("{}/oauth/token", server.uri())))
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(clock.sleeps().is_empty());
    assert_eq!(
        err.to_string(),
        format!(
            "POST {}/oauth/token answered 400: invalid_request: redirect_uri mismatch",
            server.uri()
        )
    );
}

#[tokio::test]
async fn post_is_not_retried_on_503_but_is_on_429() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let clock = clock();
    let err = client(&clock, 5)
        .send_checked(post(server.uri()))
        .await
        .unwrap_err();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "POST may have been processed"
    );
    assert_eq!(err.category(), jira_auth_core::Category::Network);

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let resp = client(&clock, 5)
        .send_checked(post(server.uri()))
        .await
        .unwrap();
    assert_eq!(resp.attempts, 2);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", "https://sso.example.com/login?token=abc"),
        )
        .mount(&server)
        .await;
    let err = client(&clock(), 5)
        .send_checked(get(server.uri()))
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let text = err.to_string();
    assert!(
        text.contains("redirected to https://sso.example.com/login?token=****"),
        "{text}"
    );
}

#[tokio::test]
async fn sends_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    client(&clock(), 1)
        .send_checked(get(server.uri()))
        .await
        .unwrap();
    let req = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        req.headers.get("user-agent").unwrap().to_str().unwrap(),
        concat!("jira-auth/", env!("CARGO_PKG_VERSION"))
    );
}

#[tokio::test]
async fn connection_refused_is_a_network_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clock = clock();
    let err = client(&clock, 2)
        .send_checked(get(format!("http://127.0.0.1:{port}/x")))
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Connect { .. }), "{err:?}");
    assert_eq!(err.category(), jira_auth_core::Category::Network);
    assert_eq!(clock.sleeps().len(), 1, "a refused connection is retried");
}

/// An authorizer that stamps each attempt with a new value, like an OAuth 1.0a nonce.
#[derive(Debug, Default)]
struct CountingAuth(std::sync::atomic::AtomicU32);

impl jira_auth_core::auth::Authorizer for CountingAuth {
    fn authorize(
        &self,
        request: &mut http::Request<Vec<u8>>,
    ) -> Result<(), jira_auth_core::auth::AuthorizeError> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        request
            .headers_mut()
            .insert("authorization", format!("Test nonce={n}").parse().unwrap());
        Ok(())
    }
    fn describe(&self) -> String {
        "test".into()
    }
}

#[tokio::test]
async fn credentials_are_applied_afresh_on_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let auth = CountingAuth::default();
    let resp = client(&clock(), 5)
        .send_authorized(get(server.uri()), &auth)
        .await
        .unwrap();
    assert_eq!(resp.attempts, 3);
    let seen: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(seen, ["Test nonce=1", "Test nonce=2", "Test nonce=3"]);
}

#[tokio::test]
async fn a_slow_server_is_cut_off_at_the_commands_deadline_and_never_retried_past_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/busy"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "5"))
        .mount(&server)
        .await;
    let http = HttpClient::builder()
        .request_timeout(Duration::from_secs(60))
        .deadline(Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = http
        .send(get(format!("{}/slow", server.uri())))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "cut off");
    assert_eq!(
        err.to_string(),
        format!(
            "gave up on {}/slow: the command's deadline of 1 s passed (raise it with `--deadline SECONDS` or `JIRA_AUTH_DEADLINE`); the server is answering too slowly",
            server.uri()
        )
    );
    assert_eq!(err.category(), jira_auth_core::Category::Network);
    // Past the deadline nothing more is sent.
    let err = http
        .send(get(format!("{}/busy", server.uri())))
        .await
        .unwrap_err();
    assert!(matches!(err, HttpError::Deadline { .. }), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_retry_that_would_end_past_the_deadline_is_not_waited_for() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .mount(&server)
        .await;
    let http = HttpClient::builder()
        .deadline(Some(Duration::from_secs(20)))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = http.send_checked(get(server.uri())).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        matches!(err, HttpError::Api(ref e) if e.status == 429),
        "{err}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
