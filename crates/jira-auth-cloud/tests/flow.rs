//! The cloud library against the fake Atlassian: exact requests, rotation rules, the store.

#![allow(clippy::unwrap_used)]

use jira_auth_cloud::callback::RedirectUri;
use jira_auth_cloud::credentials::{self, CloudCredentials, REFRESH_MARGIN, RefreshMode};
use jira_auth_cloud::listener::Listener;
use jira_auth_cloud::token::TokenClient;
use jira_auth_cloud::{CloudError, Endpoints, authorize, sites};
use jira_auth_core::http::{HttpClient, RetryPolicy};
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_core::time::unix_seconds;
use jira_auth_core::{Categorize, Category, ClientSecret, RefreshToken};
use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use jira_auth_test::journal;
use std::time::{Duration, SystemTime};

const STATE: &str = "00112233445566778899aabbccddeeff";

fn http() -> HttpClient {
    HttpClient::builder()
        .retry(RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        })
        .build()
        .unwrap()
}

fn endpoints(fake: &FakeAtlassian) -> Endpoints {
    Endpoints::parse(&fake.auth_url(), &fake.api_url()).unwrap()
}

fn scopes() -> Vec<String> {
    vec!["read:jira-work".into(), "offline_access".into()]
}

/// Consent in-process and return the code the browser would bring back.
fn code_for(fake: &FakeAtlassian, redirect: &RedirectUri) -> oauth2::AuthorizationCode {
    let url = authorize::authorize_url(
        &endpoints(fake),
        fake.client_id(),
        redirect,
        &scopes(),
        STATE,
    );
    let location = fake.consent(url.as_str()).unwrap();
    let query = url::Url::parse(&location)
        .unwrap()
        .query()
        .unwrap()
        .to_owned();
    match jira_auth_cloud::callback::parse_query(&query, STATE) {
        jira_auth_cloud::callback::Callback::Code(c) => c,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn code_exchange_sends_exactly_the_documented_body_and_codes_are_single_use() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let redirect = RedirectUri::parse("http://localhost:13131").unwrap();
    let code = code_for(&fake, &redirect);
    let code_text = code.secret().clone();
    let http = http();
    let e = endpoints(&fake);
    let secret = ClientSecret::new(fake.client_secret());
    let client = TokenClient {
        http: &http,
        endpoints: &e,
        client_id: fake.client_id(),
        client_secret: &secret,
    };
    let tokens = client.exchange_code(code, &redirect).await.unwrap();
    assert!(tokens.access_token.expose_secret().starts_with("at-"));
    assert!(tokens.refresh_token.is_some());
    assert_eq!(tokens.expires_in, Duration::from_secs(3600));
    assert_eq!(tokens.scopes, Some(scopes()));

    let requests = fake.token_requests().await;
    assert_eq!(
        journal::render(&requests[0]),
        format!(
            "POST /oauth/token\naccept: application/json\ncontent-type: application/x-www-form-urlencoded\n\
             user-agent: jira-auth/{}\n\n\
             grant_type=authorization_code&code={code_text}&client_id={}&client_secret={}\
             &redirect_uri=http%3A%2F%2Flocalhost%3A13131\n",
            env!("CARGO_PKG_VERSION"),
            fake.client_id(),
            fake.client_secret()
        )
    );

    // The same code again: single use.
    let again = client
        .exchange_code(oauth2::AuthorizationCode::new(code_text), &redirect)
        .await
        .unwrap_err();
    assert!(matches!(again, CloudError::CodeRejected { .. }), "{again}");
    assert_eq!(again.category(), Category::Auth);
    assert_eq!(
        again.to_string(),
        "Atlassian refused the authorization code (invalid_grant: Invalid authorization code): the code is single use, expires within minutes and is bound to the client id and redirect URI; run `jira-auth cloud login` again"
    );
}

#[tokio::test]
async fn codes_are_bound_to_the_redirect_uri_and_client_secret_is_checked() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let redirect = RedirectUri::parse("http://localhost:13131").unwrap();
    let http = http();
    let e = endpoints(&fake);
    let secret = ClientSecret::new(fake.client_secret());
    let client = TokenClient {
        http: &http,
        endpoints: &e,
        client_id: fake.client_id(),
        client_secret: &secret,
    };
    let other = RedirectUri::parse("http://localhost:13131/").unwrap();
    let err = client
        .exchange_code(code_for(&fake, &redirect), &other)
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::CodeRejected { .. }), "{err}");

    let wrong = ClientSecret::new("nope");
    let bad_client = TokenClient {
        client_secret: &wrong,
        ..client
    };
    let err = bad_client
        .exchange_code(code_for(&fake, &redirect), &redirect)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "Atlassian refused the client credentials (access_denied: Unauthorized): check the client id and secret in the developer console (Settings)"
    );
}

async fn logged_in(fake: &FakeAtlassian, store: &Store) -> CloudCredentials {
    let redirect = RedirectUri::parse("http://localhost:13131").unwrap();
    let http = http();
    let e = endpoints(fake);
    let secret = ClientSecret::new(fake.client_secret());
    let client = TokenClient {
        http: &http,
        endpoints: &e,
        client_id: fake.client_id(),
        client_secret: &secret,
    };
    let tokens = client
        .exchange_code(code_for(fake, &redirect), &redirect)
        .await
        .unwrap();
    let all = sites::accessible_resources(&http, &e, &tokens.access_token)
        .await
        .unwrap();
    let site = sites::choose(&all, None).unwrap().unwrap();
    let now = unix_seconds(SystemTime::now());
    let c = CloudCredentials {
        kind: credentials::LoginKind::ThreeLegged,
        client_id: fake.client_id().into(),
        client_secret: secret.clone(),
        access_token: tokens.access_token,
        access_expires_at: now + 3600,
        refresh_token: tokens.refresh_token,
        scopes: tokens.scopes.unwrap(),
        requested_scopes: scopes(),
        preset: None,
        cloud_id: site.id.clone(),
        site_url: site.url.clone(),
        site_name: site.name.clone(),
        family_started_at: now,
        last_refreshed_at: now,
        auth_url: fake.auth_url(),
        api_url: fake.api_url(),
        redirect_uri: redirect.as_str().into(),
    };
    credentials::save(store, &ProfileName::default(), &c).unwrap();
    c
}

fn expire(store: &Store) -> CloudCredentials {
    let p = ProfileName::default();
    let mut c = credentials::load(store, &p).unwrap();
    c.access_expires_at = unix_seconds(SystemTime::now()) - 1;
    credentials::save(store, &p, &c).unwrap();
    c
}

#[tokio::test]
async fn token_is_free_while_valid_and_one_request_when_expired() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let p = ProfileName::default();
    let first = logged_in(&fake, &store).await;
    let before = fake.api_call_count().await;

    let fresh =
        credentials::ensure_fresh(&store, &p, &http(), RefreshMode::IfExpiring(REFRESH_MARGIN))
            .await
            .unwrap();
    assert!(!fresh.refreshed);
    assert_eq!(
        fake.api_call_count().await,
        before,
        "a valid token costs no request"
    );

    expire(&store);
    let fresh =
        credentials::ensure_fresh(&store, &p, &http(), RefreshMode::IfExpiring(REFRESH_MARGIN))
            .await
            .unwrap();
    assert!(fresh.refreshed);
    assert_eq!(fake.api_call_count().await, before + 1);
    let requests = fake.token_requests().await;
    let body = String::from_utf8(requests.last().unwrap().body.clone()).unwrap();
    assert_eq!(
        body,
        format!(
            "grant_type=refresh_token&refresh_token={}&client_id={}&client_secret={}",
            first.refresh_token.as_ref().unwrap().expose_secret(),
            fake.client_id(),
            fake.client_secret()
        )
    );
    // The rotated token is what the store holds now, and the server accepts it.
    let stored = credentials::load(&store, &p).unwrap();
    let new_rt = stored.refresh_token.clone().unwrap();
    assert_ne!(new_rt, first.refresh_token.clone().unwrap());
    assert_eq!(stored, fresh.credentials);
    assert!(fake.refresh_token_is_live(new_rt.expose_secret()));
}

#[tokio::test]
async fn reuse_inside_ten_minutes_is_tolerated_after_that_it_kills_the_family() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let http = http();
    let e = endpoints(&fake);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let c = logged_in(&fake, &store).await;
    let client = TokenClient {
        http: &http,
        endpoints: &e,
        client_id: fake.client_id(),
        client_secret: &c.client_secret,
    };
    let rt1 = c.refresh_token.clone().unwrap();
    let t2 = client.refresh(&rt1).await.unwrap();
    let rt2 = t2.refresh_token.unwrap();
    assert_ne!(rt1, rt2);

    fake.advance(Duration::from_secs(9 * 60));
    client
        .refresh(&rt1)
        .await
        .expect("reuse inside the grace period");

    fake.advance(Duration::from_secs(2 * 60));
    let err = client.refresh(&rt1).await.unwrap_err();
    assert_eq!(err.category(), Category::Auth);
    assert_eq!(
        err.to_string(),
        "the token family is no longer valid (expired, revoked or reused): run `jira-auth cloud login` again (server said invalid_grant: Unknown or invalid refresh token.)"
    );
    // The whole family is gone, including the token that was current.
    assert!(fake.family_revoked(rt2.expose_secret()));
    assert!(matches!(
        client.refresh(&rt2).await.unwrap_err(),
        CloudError::FamilyInvalid { .. }
    ));
}

#[tokio::test]
async fn family_dies_after_90_idle_days_and_unauthorized_client_is_family_invalid() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let http = http();
    let e = endpoints(&fake);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let c = logged_in(&fake, &store).await;
    let client = TokenClient {
        http: &http,
        endpoints: &e,
        client_id: fake.client_id(),
        client_secret: &c.client_secret,
    };
    fake.set_refresh_error(Some((
        403,
        serde_json::json!({"error": "unauthorized_client", "error_description": "refresh_token is invalid"}),
    )));
    let err = client
        .refresh(c.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .ends_with("(server said unauthorized_client: refresh_token is invalid)"),
        "{err}"
    );
    assert_eq!(err.category(), Category::Auth);
    fake.set_refresh_error(None);

    fake.advance(Duration::from_secs(91 * 86_400));
    let err = client
        .refresh(c.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, CloudError::FamilyInvalid { .. }), "{err}");
}

#[tokio::test]
async fn a_refresh_without_refresh_token_keeps_the_old_one() {
    let fake = FakeAtlassian::start(FakeConfig {
        omit_refresh_token_on_refresh: true,
        ..FakeConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let p = ProfileName::default();
    let first = logged_in(&fake, &store).await;
    let fresh = credentials::ensure_fresh(&store, &p, &http(), RefreshMode::Always)
        .await
        .unwrap();
    assert!(fresh.refreshed);
    let stored = credentials::load(&store, &p).unwrap();
    assert_eq!(stored.refresh_token, first.refresh_token);
    assert_ne!(stored.access_token, first.access_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_spend_the_refresh_token_once() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    logged_in(&fake, &store).await;
    expire(&store);
    let before = fake.token_requests().await.len();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                credentials::ensure_fresh(
                    &store,
                    &ProfileName::default(),
                    &http(),
                    RefreshMode::IfExpiring(REFRESH_MARGIN),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(fake.token_requests().await.len(), before + 1);
    assert_eq!(results.iter().filter(|r| r.refreshed).count(), 1);
    let tokens: Vec<_> = results
        .iter()
        .map(|r| r.credentials.access_token.clone())
        .collect();
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn no_refresh_token_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    logged_in(&fake, &store).await;
    let mut c = expire(&store);
    c.refresh_token = None::<RefreshToken>;
    credentials::save(&store, &ProfileName::default(), &c).unwrap();
    let err = credentials::ensure_fresh(
        &store,
        &ProfileName::default(),
        &http(),
        RefreshMode::IfExpiring(REFRESH_MARGIN),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, CloudError::NoRefreshToken));
}

#[tokio::test]
async fn accessible_resources_zero_one_three_and_bad_token() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let c = logged_in(&fake, &store).await;
    let http = http();
    let e = endpoints(&fake);
    for (scenario, n) in [("sites-none", 0), ("sites-one", 1), ("sites-three", 3)] {
        fake.set_sites_scenario(scenario);
        let s = sites::accessible_resources(&http, &e, &c.access_token)
            .await
            .unwrap();
        assert_eq!(s.len(), n, "{scenario}");
    }
    let last = fake.api_requests().await.pop().unwrap();
    assert_eq!(
        journal::render(&last),
        format!(
            "GET /oauth/token/accessible-resources\naccept: application/json\nauthorization: Bearer {}\nuser-agent: jira-auth/{}\n",
            c.access_token.expose_secret(),
            env!("CARGO_PKG_VERSION")
        )
    );
    let err = sites::accessible_resources(&http, &e, &jira_auth_core::AccessToken::new("bogus"))
        .await
        .unwrap_err();
    assert_eq!(err.category(), Category::Auth);
}

#[tokio::test]
async fn listener_ignores_strays_and_returns_the_code_to_a_browser() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let bind = RedirectUri::parse("http://127.0.0.1:0/callback").unwrap();
    let listener = Listener::bind(&bind).await.unwrap();
    let port = listener.local_addrs()[0].port();
    let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}/callback")).unwrap();
    let url = authorize::authorize_url(
        &endpoints(&fake),
        fake.client_id(),
        &redirect,
        &scopes(),
        STATE,
    );
    let waiting = tokio::spawn(async move {
        let (code, reply) = listener
            .wait(STATE, "the-client-id", Duration::from_secs(30))
            .await?;
        reply
            .answer(
                200,
                jira_auth_core::loopback::Page::new("Signed in", "done"),
            )
            .await;
        Ok::<_, CloudError>(code)
    });

    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let favicon = client
        .get(format!("{base}/favicon.ico"))
        .send()
        .await
        .unwrap();
    assert_eq!(favicon.status(), 404);
    let wrong_state = client
        .get(format!("{base}/callback?code=x&state=ffff"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_state.status(), 400);
    let rebinding = client
        .get(format!("{base}/callback?code=x&state={STATE}"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebinding.status(), 421);

    let visit = fake.browse(url.as_str(), true).await.unwrap();
    assert_eq!(visit.status, 200);
    assert!(visit.body.contains("<h1>Signed in</h1>"), "{}", visit.body);
    let code = waiting.await.unwrap().unwrap();
    assert!(code.secret().starts_with("code-"));
}

#[tokio::test]
async fn an_idle_speculative_connection_does_not_hold_up_the_callback() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let bind = RedirectUri::parse("http://127.0.0.1:0/cb").unwrap();
    let listener = Listener::bind(&bind).await.unwrap();
    let port = listener.local_addrs()[0].port();
    let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}/cb")).unwrap();
    let url = authorize::authorize_url(
        &endpoints(&fake),
        fake.client_id(),
        &redirect,
        &scopes(),
        STATE,
    );
    let waiting = tokio::spawn(async move {
        let (code, reply) = listener
            .wait(STATE, "the-client-id", Duration::from_secs(60))
            .await?;
        reply
            .answer(
                200,
                jira_auth_core::loopback::Page::new("Signed in", "done"),
            )
            .await;
        Ok::<_, CloudError>(code)
    });
    // Like Chrome's preconnect: a connection that never sends a byte, kept open throughout.
    let _idle = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let visit = tokio::time::timeout(Duration::from_secs(5), fake.browse(url.as_str(), true))
        .await
        .expect("the callback was answered while the idle connection stayed open")
        .unwrap();
    assert_eq!(visit.status, 200);
    assert!(waiting.await.unwrap().is_ok());
}

#[tokio::test]
async fn listener_reports_cancel_and_oversized_requests_do_not_end_the_wait() {
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let bind = RedirectUri::parse("http://127.0.0.1:0/").unwrap();
    let listener = Listener::bind(&bind).await.unwrap();
    let port = listener.local_addrs()[0].port();
    let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let url = authorize::authorize_url(
        &endpoints(&fake),
        fake.client_id(),
        &redirect,
        &scopes(),
        STATE,
    );
    let waiting = tokio::spawn(async move {
        let (code, reply) = listener
            .wait(STATE, "the-client-id", Duration::from_secs(30))
            .await?;
        reply
            .answer(
                200,
                jira_auth_core::loopback::Page::new("Signed in", "done"),
            )
            .await;
        Ok::<_, CloudError>(code)
    });
    let huge = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/"))
        .header("x-pad", "a".repeat(10_000))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 431);
    let visit = fake.browse(url.as_str(), false).await.unwrap();
    assert_eq!(visit.status, 400);
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(
        err.to_string(),
        "the consent was declined in the browser (access_denied: User did not authorize the request): run `jira-auth cloud login` again and click Accept"
    );
}

#[tokio::test(start_paused = true)]
async fn listener_times_out() {
    let bind = RedirectUri::parse("http://127.0.0.1:0/").unwrap();
    let listener = Listener::bind(&bind).await.unwrap();
    let err = listener
        .wait(STATE, "the-client-id", Duration::from_secs(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CloudError::CallbackTimeout { seconds: 300, .. }),
        "{err}"
    );
    assert_eq!(err.category(), Category::Auth);
}

#[tokio::test]
async fn a_port_in_use_or_a_remote_redirect_means_paste_mode() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let redirect = RedirectUri::parse(&format!("http://127.0.0.1:{port}/cb")).unwrap();
    let why = Listener::bind(&redirect).await.unwrap_err();
    assert!(
        why.starts_with(&format!("cannot listen on 127.0.0.1:{port}: ")),
        "{why}"
    );
    let remote = RedirectUri::parse("https://connector.example.com/oauth/callback").unwrap();
    assert_eq!(
        Listener::bind(&remote).await.unwrap_err(),
        "`https://connector.example.com/oauth/callback` is not an http loopback address (localhost, 127.0.0.1 or [::1])"
    );
}

/// A token request goes through the shared retry policy as not idempotent: a 429 is retried
/// (the server did not process it), a 503 is not (it may have), and a redirect is not followed.
#[tokio::test]
async fn token_requests_retry_429_but_not_503_and_never_follow_redirects() {
    use jira_auth_test::wiremock::matchers::{method, path};
    use jira_auth_test::wiremock::{Mock, ResponseTemplate};
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let clock = jira_auth_core::time::RecordingClock::starting_at(SystemTime::now());
    let http = HttpClient::builder()
        .clock(std::sync::Arc::new(clock.clone()))
        .build()
        .unwrap();
    let e = endpoints(&fake);
    let secret = ClientSecret::new(fake.client_secret());
    let client = TokenClient {
        http: &http,
        endpoints: &e,
        client_id: fake.client_id(),
        client_secret: &secret,
    };
    let redirect = RedirectUri::parse("http://localhost:13131").unwrap();

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.auth)
        .await;
    client
        .exchange_code(code_for(&fake, &redirect), &redirect)
        .await
        .expect("retried after the 429");
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
    assert_eq!(fake.token_requests().await.len(), 2);

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(503).set_body_string("try later"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.auth)
        .await;
    let err = client
        .exchange_code(code_for(&fake, &redirect), &redirect)
        .await
        .unwrap_err();
    assert_eq!(err.category(), Category::Network);
    assert_eq!(
        err.to_string(),
        format!(
            "POST {}/oauth/token answered 503: try later",
            fake.auth_url()
        )
    );
    assert_eq!(
        fake.token_requests().await.len(),
        3,
        "the 503 was not repeated"
    );

    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "https://sso.example.com/login"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.auth)
        .await;
    let err = client
        .exchange_code(code_for(&fake, &redirect), &redirect)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}/oauth/token redirected to https://sso.example.com/login; jira-auth does not follow redirects (is an SSO proxy in front of Jira, or is the URL missing its context path?)",
            fake.auth_url()
        )
    );
    assert_eq!(err.category(), Category::Network);
    assert_eq!(fake.token_requests().await.len(), 4);
}

fn token_client<'a>(
    http: &'a HttpClient,
    endpoints: &'a Endpoints,
    fake: &'a FakeAtlassian,
    secret: &'a ClientSecret,
) -> TokenClient<'a> {
    TokenClient {
        http,
        endpoints,
        client_id: fake.client_id(),
        client_secret: secret,
    }
}

/// Every way `err` can be rendered, for leak checks.
fn rendered(err: &CloudError) -> String {
    format!("{err} {err:?} {:?}", std::error::Error::source(err))
}

#[tokio::test]
async fn form_encoded_tokens_are_described_by_size_and_type_never_shown() {
    use jira_auth_test::cloud::TokenAnswer;
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let first = logged_in(&fake, &store).await;
    fake.set_token_answer(TokenAnswer::Form);
    let (http, e, secret) = (
        http(),
        endpoints(&fake),
        ClientSecret::new(fake.client_secret()),
    );
    let client = token_client(&http, &e, &fake, &secret);
    let redirect = RedirectUri::parse("http://localhost:13131").unwrap();
    let message = |bytes: usize| {
        format!(
            "request to {}/oauth/token failed: answered 200 with {bytes} bytes of `application/x-www-form-urlencoded` instead of an `application/json` token response (not shown: it may hold credentials); is a proxy, a login page or a server other than Atlassian's in the way?",
            fake.auth_url()
        )
    };

    let exchange = client
        .exchange_code(code_for(&fake, &redirect), &redirect)
        .await
        .unwrap_err();
    assert_eq!(exchange.to_string(), message(148));
    assert_eq!(exchange.category(), Category::Network);
    let refresh = client
        .refresh(first.refresh_token.as_ref().unwrap())
        .await
        .unwrap_err();
    assert_eq!(refresh.to_string(), message(148));
    assert_eq!(refresh.category(), Category::Network);

    let issued = fake.issued_tokens();
    assert_eq!(issued.len(), 6, "two pairs answered as a form: {issued:?}");
    for token in &issued {
        for err in [&exchange, &refresh] {
            assert!(!rendered(err).contains(token.as_str()), "{err:?}");
        }
    }
}

#[tokio::test]
async fn a_byte_order_mark_before_the_json_token_answer_is_accepted() {
    use jira_auth_test::cloud::TokenAnswer;
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    fake.set_token_answer(TokenAnswer::JsonAfterBom);
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let p = ProfileName::default();
    // The code exchange reads the answer after the mark...
    let first = logged_in(&fake, &store).await;
    assert!(first.access_token.expose_secret().starts_with("at-"));
    // ...and so does a refresh, whose rotated token is stored.
    expire(&store);
    let fresh =
        credentials::ensure_fresh(&store, &p, &http(), RefreshMode::IfExpiring(REFRESH_MARGIN))
            .await
            .unwrap();
    assert!(fresh.refreshed);
    let stored = credentials::load(&store, &p).unwrap();
    assert!(fake.refresh_token_is_live(stored.refresh_token.unwrap().expose_secret()));
}

#[tokio::test]
async fn token_endpoint_error_bodies_are_shown_with_every_token_masked() {
    use jira_auth_test::wiremock::matchers::{method, path};
    use jira_auth_test::wiremock::{Mock, ResponseTemplate};
    let fake = FakeAtlassian::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::at(dir.path());
    let first = logged_in(&fake, &store).await;
    let rt = first.refresh_token.clone().unwrap();
    let (http, e, secret) = (
        http(),
        endpoints(&fake),
        ClientSecret::new(fake.client_secret()),
    );
    let client = token_client(&http, &e, &fake, &secret);

    // An unknown body that echoes the request, with a trace id.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            format!(
                "bad request: grant_type=refresh_token&refresh_token={}&client_secret={} (trace 0af7651916cd43dd8448eb211c80319c)",
                rt.expose_secret(),
                fake.client_secret()
            ),
            "text/plain",
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.auth)
        .await;
    let err = client.refresh(&rt).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "POST {}/oauth/token answered 400: bad request: grant_type=refresh_token&refresh_token=****&client_secret=**** (trace ****)",
            fake.auth_url()
        )
    );
    assert_eq!(err.category(), Category::Network);

    // An RFC 6749 error whose description quotes the token.
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({
            "error": "invalid_grant",
            "error_description": format!("refresh token {} is unknown", rt.expose_secret()),
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&fake.auth)
        .await;
    let family = client.refresh(&rt).await.unwrap_err();
    assert_eq!(
        family.to_string(),
        "the token family is no longer valid (expired, revoked or reused): run `jira-auth cloud login` again (server said invalid_grant: refresh token **** is unknown)"
    );
    for err in [&err, &family] {
        assert!(!rendered(err).contains(rt.expose_secret()), "{err:?}");
        assert!(!rendered(err).contains(fake.client_secret()), "{err:?}");
    }
}
