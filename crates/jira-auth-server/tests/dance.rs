//! The library against the fake Jira Server, which verifies every signature independently.

#![allow(clippy::unwrap_used)]

use jira_auth_core::auth::PatBearer;
use jira_auth_core::http::{HttpClient, RetryPolicy};
use jira_auth_core::{Categorize, Category, PersonalAccessToken};
use jira_auth_server::callback::CallbackListener;
use jira_auth_server::dance::{JiraServer, OOB, check_callback, parse_site_url};
use jira_auth_server::key::parse_private_key_pem;
use jira_auth_server::signer::{Consumer, OAuth1Signer};
use jira_auth_server::{ServerError, Step};
use jira_auth_test::server::{Approval, Endpoint, FakeJiraServer, FakeJiraServerConfig};
use jira_auth_test::wiremock::{Mock, ResponseTemplate, matchers};
use std::sync::Arc;
use std::time::Duration;

fn client() -> HttpClient {
    HttpClient::builder()
        .retry(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_total_wait: Duration::from_millis(50),
        })
        .build()
        .unwrap()
}

fn consumer(fake: &FakeJiraServer) -> Consumer {
    Consumer::new(
        fake.consumer_key(),
        parse_private_key_pem(fake.private_key_pem()).unwrap(),
    )
}

fn server(fake: &FakeJiraServer) -> JiraServer {
    JiraServer::new(client(), parse_site_url(&fake.url()).unwrap())
}

/// Request token → approve → callback → access token → /myself, under a context path.
#[tokio::test]
async fn full_dance_with_loopback_callback_under_a_context_path() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let jira = server(&fake);
    let consumer = consumer(&fake);
    let listener = CallbackListener::bind(0).await.unwrap();
    let callback = listener.url();
    let request_token = jira.request_token(&consumer, &callback).await.unwrap();
    let expected = request_token.token.clone();
    let waiting = tokio::spawn(async move {
        listener
            .receive(&expected, std::time::Duration::from_secs(60))
            .await
            // Dropping the reply answers the browser with the listener's own page.
            .map(|(target, _reply)| target)
    });

    assert_eq!(request_token.token.expose_secret(), "request-token-1");
    assert_eq!(request_token.secret.expose_secret(), "request-secret-1");

    let authorize = jira.authorize_url(&request_token);
    assert_eq!(
        authorize.as_str(),
        format!(
            "{}/plugins/servlet/oauth/authorize?oauth_token=request-token-1",
            fake.url()
        )
    );
    let Approval::Redirect(location) = fake.approve(authorize.as_str()).await else {
        panic!("expected a redirect")
    };
    assert_eq!(
        location,
        format!("{callback}?oauth_token=request-token-1&oauth_verifier=verifier-2")
    );
    let (status, page) = FakeJiraServer::follow(&location).await;
    assert_eq!(status, 200, "{page}");
    let target = waiting.await.unwrap().unwrap();
    let params = check_callback(&target, &request_token.token).unwrap();
    assert_eq!(params.verifier, "verifier-2");

    let tokens = jira
        .access_token(&consumer, &request_token, &params.verifier)
        .await
        .unwrap();
    assert_eq!(tokens.token.expose_secret(), "access-token-3");
    assert_eq!(tokens.secret.expose_secret(), "access-secret-3");

    let signer = OAuth1Signer::new(consumer.clone()).with_token(tokens.token.clone());
    let me = jira.myself(Arc::new(signer)).await.unwrap();
    assert_eq!(me.name, "jsmith");
    assert_eq!(me.display_name.as_deref(), Some("Jane Smith"));

    // The exact conversation, signatures masked (they change with every nonce).
    let requests = jira_auth_test::journal::requests(fake.mock_server()).await;
    let shape: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.url.path()))
        .collect();
    assert_eq!(
        shape,
        [
            "POST /jira/plugins/servlet/oauth/request-token",
            "GET /jira/plugins/servlet/oauth/authorize",
            "POST /jira/plugins/servlet/oauth/access-token",
            "GET /jira/rest/api/2/myself",
        ]
    );
    let auth = |i: usize| {
        requests[i].headers["authorization"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let masked = |h: String| {
        let mut out = Vec::new();
        for part in h.trim_start_matches("OAuth ").split(", ") {
            let (k, v) = part.split_once('=').unwrap();
            out.push(match k {
                "oauth_nonce" | "oauth_timestamp" | "oauth_signature" => format!("{k}=…"),
                _ => format!("{k}={v}"),
            });
        }
        out.join(", ")
    };
    let port = callback
        .split(':')
        .nth(2)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    assert_eq!(
        masked(auth(0)),
        format!(
            "oauth_callback=\"http%3A%2F%2F127.0.0.1%3A{port}%2Fcallback\", oauth_consumer_key=\"jira-auth-test\", oauth_nonce=…, oauth_signature=…, oauth_signature_method=\"RSA-SHA1\", oauth_timestamp=…, oauth_version=\"1.0\""
        )
    );
    assert_eq!(
        masked(auth(2)),
        "oauth_consumer_key=\"jira-auth-test\", oauth_nonce=…, oauth_signature=…, oauth_signature_method=\"RSA-SHA1\", oauth_timestamp=…, oauth_token=\"request-token-1\", oauth_verifier=\"verifier-2\", oauth_version=\"1.0\""
    );
    assert_eq!(
        masked(auth(3)),
        "oauth_consumer_key=\"jira-auth-test\", oauth_nonce=…, oauth_signature=…, oauth_signature_method=\"RSA-SHA1\", oauth_timestamp=…, oauth_token=\"access-token-3\", oauth_version=\"1.0\""
    );
    assert_eq!(requests[0].body, b"");
    assert_eq!(
        requests[3].headers["accept"].to_str().unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn oob_dance_and_the_exchange_is_single_use() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = server(&fake);
    let consumer = consumer(&fake);
    let rt = jira.request_token(&consumer, OOB).await.unwrap();
    let Approval::Verifier(verifier) = fake.approve(jira.authorize_url(&rt).as_str()).await else {
        panic!("oob shows the verifier")
    };
    jira.access_token(&consumer, &rt, &verifier).await.unwrap();
    let again = jira
        .access_token(&consumer, &rt, &verifier)
        .await
        .unwrap_err();
    assert!(
        matches!(&again, ServerError::Problem { problem, step: Step::AccessToken, .. } if problem == "token_rejected"),
        "{again}"
    );
}

async fn problem_at_request_token(fake: &FakeJiraServer, consumer: &Consumer) -> ServerError {
    server(fake).request_token(consumer, OOB).await.unwrap_err()
}

fn assert_problem(err: &ServerError, expected: &str) {
    match err {
        ServerError::Problem { problem, .. } => assert_eq!(problem, expected, "{err}"),
        other => panic!("expected oauth_problem={expected}, got {other}"),
    }
    assert_eq!(err.category(), Category::Auth);
}

#[tokio::test]
async fn real_problems_wrong_consumer_key_wrong_key_and_skewed_clock() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;

    let unknown = Consumer::new(
        "nobody",
        parse_private_key_pem(fake.private_key_pem()).unwrap(),
    );
    assert_problem(
        &problem_at_request_token(&fake, &unknown).await,
        "consumer_key_unknown",
    );

    let other_key = jira_auth_test::fixtures::text("server/other-key.pkcs8.pem");
    let wrong = Consumer::new(
        fake.consumer_key(),
        parse_private_key_pem(&other_key).unwrap(),
    );
    let err = problem_at_request_token(&fake, &wrong).await;
    assert_problem(&err, "signature_invalid");
    assert!(
        err.to_string()
            .contains("the public key in Jira's Application Link does not match"),
        "{err}"
    );

    let skewed = FakeJiraServer::start(FakeJiraServerConfig {
        clock_offset_seconds: -600,
        ..Default::default()
    })
    .await;
    let err = problem_at_request_token(&skewed, &consumer(&skewed)).await;
    assert_problem(&err, "timestamp_refused");
    assert!(
        err.to_string()
            .contains("(this machine's clock is 10 min ahead of Jira's)"),
        "{err}"
    );
}

#[tokio::test]
async fn forced_problems_reach_the_caller_with_their_step() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = server(&fake);
    let consumer = consumer(&fake);
    for problem in [
        "signature_method_rejected",
        "token_expired",
        "nonce_used",
        "consumer_key_unknown",
    ] {
        fake.fail_next(Endpoint::RequestToken, problem);
        let err = jira.request_token(&consumer, OOB).await.unwrap_err();
        assert_problem(&err, problem);
    }
    // a request token that was never approved
    let rt = jira.request_token(&consumer, OOB).await.unwrap();
    let err = jira
        .access_token(&consumer, &rt, "guess")
        .await
        .unwrap_err();
    assert_problem(&err, "permission_unknown");
    // access-token step advice differs for an expired request token
    let rt = jira.request_token(&consumer, OOB).await.unwrap();
    fake.fail_next(Endpoint::AccessToken, "token_expired");
    let err = jira.access_token(&consumer, &rt, "x").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("the request token expired before it was exchanged"),
        "{err}"
    );
}

#[tokio::test]
async fn denied_approval_is_reported_from_the_callback() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        deny: true,
        ..Default::default()
    })
    .await;
    let jira = server(&fake);
    let rt = jira
        .request_token(&consumer(&fake), "http://127.0.0.1:9/callback")
        .await
        .unwrap();
    let Approval::Redirect(location) = fake.approve(jira.authorize_url(&rt).as_str()).await else {
        panic!()
    };
    let target = location.trim_start_matches("http://127.0.0.1:9");
    assert!(matches!(
        check_callback(target, &rt.token),
        Err(ServerError::Denied)
    ));
}

#[tokio::test]
async fn wrong_context_path_and_sso_page_are_explained() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let root = fake.url().trim_end_matches("/jira").to_owned();
    let jira = JiraServer::new(client(), parse_site_url(&root).unwrap());
    let err = jira.request_token(&consumer(&fake), OOB).await.unwrap_err();
    assert!(matches!(err, ServerError::NotFound { .. }), "{err}");
    assert!(
        err.to_string().contains("include the context path"),
        "{err}"
    );
    assert_eq!(err.category(), Category::Usage);

    Mock::given(matchers::path("/sso/plugins/servlet/oauth/request-token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html><html><head><title>Sign in to Okta</title></head><body></body></html>",
            "text/html",
        ))
        .mount(fake.mock_server())
        .await;
    let sso = JiraServer::new(client(), parse_site_url(&format!("{root}/sso")).unwrap());
    let err = sso.request_token(&consumer(&fake), OOB).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{root}/sso/plugins/servlet/oauth/request-token answered with 84 bytes of `text/html` where Jira's OAuth answer was expected: a single sign-on proxy is probably in front of Jira; use a URL that reaches Jira directly (ask your Jira administrator) or a personal access token with `jira-auth server login --pat`"
        )
    );
}

/// A 503 on /myself is retried, and the retry is signed afresh (the fake refuses reused nonces).
#[tokio::test]
async fn retries_are_re_signed_with_a_new_nonce() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = server(&fake);
    let consumer = consumer(&fake);
    let rt = jira.request_token(&consumer, OOB).await.unwrap();
    let Approval::Verifier(v) = fake.approve(jira.authorize_url(&rt).as_str()).await else {
        panic!()
    };
    let tokens = jira.access_token(&consumer, &rt, &v).await.unwrap();
    Mock::given(matchers::path("/rest/api/2/myself"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(fake.mock_server())
        .await;
    let signer = OAuth1Signer::new(consumer).with_token(tokens.token);
    let me = jira.myself(Arc::new(signer)).await.unwrap();
    assert_eq!(me.name, "jsmith");
    let requests = jira_auth_test::journal::requests(fake.mock_server()).await;
    let nonces: Vec<String> = requests
        .iter()
        .filter(|r| r.url.path() == "/rest/api/2/myself")
        .map(|r| {
            let h = r.headers["authorization"].to_str().unwrap();
            let start = h.find("oauth_nonce=\"").unwrap() + 13;
            h[start..start + 32].to_owned()
        })
        .collect();
    assert_eq!(nonces.len(), 2);
    assert_ne!(nonces[0], nonces[1]);
}

#[tokio::test]
async fn pat_is_sent_as_bearer_and_a_revoked_token_is_rejected() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = server(&fake);
    let pat = PatBearer(PersonalAccessToken::new(fake.pat().unwrap()));
    assert_eq!(jira.myself(Arc::new(pat)).await.unwrap().name, "jsmith");
    let bad = PatBearer(PersonalAccessToken::new("nope"));
    let err = jira.myself(Arc::new(bad)).await.unwrap_err();
    assert_eq!(err.category(), Category::Auth);
    assert!(
        err.to_string().contains("You are not authenticated"),
        "{err}"
    );

    let consumer = consumer(&fake);
    let rt = jira.request_token(&consumer, OOB).await.unwrap();
    let Approval::Verifier(v) = fake.approve(jira.authorize_url(&rt).as_str()).await else {
        panic!()
    };
    let tokens = jira.access_token(&consumer, &rt, &v).await.unwrap();
    fake.revoke_access_tokens();
    let err = jira
        .myself(Arc::new(
            OAuth1Signer::new(consumer).with_token(tokens.token),
        ))
        .await
        .unwrap_err();
    assert_problem(&err, "token_rejected");
    assert!(
        err.to_string()
            .contains("Jira does not know the access token"),
        "{err}"
    );
}

/// The fake really verifies: a request changed after signing (form body or query) is refused
/// with `signature_invalid`, and the untouched one passes.
#[tokio::test]
async fn the_fake_refuses_requests_changed_after_signing() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = server(&fake);
    let consumer = consumer(&fake);
    let rt = jira.request_token(&consumer, OOB).await.unwrap();
    let Approval::Verifier(v) = fake.approve(jira.authorize_url(&rt).as_str()).await else {
        panic!()
    };
    let tokens = jira.access_token(&consumer, &rt, &v).await.unwrap();
    fake.mount_rest("POST", "/rest/api/2/form", ResponseTemplate::new(204))
        .await;
    let signer = OAuth1Signer::new(consumer).with_token(tokens.token);
    let base = fake.url();
    let form = |uri: &str, body: &[u8]| {
        http::Request::post(uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .unwrap()
    };
    let send = |request: http::Request<Vec<u8>>| {
        let http = client();
        async move { http.send(request).await.unwrap() }
    };
    let signed = |request: &http::Request<Vec<u8>>| {
        signer
            .header_for(request, jira_auth_core::random::hex_token(16))
            .unwrap()
    };
    let uri = format!("{base}/rest/api/2/form?a=1");

    // untouched: accepted
    let mut ok = form(&uri, b"x=1");
    let header = signed(&ok);
    ok.headers_mut()
        .insert("authorization", header.parse().unwrap());
    assert_eq!(send(ok).await.status.as_u16(), 204);

    // each change after signing is caught
    let original = form(&uri, b"x=1");
    let header = signed(&original);
    let tampered = [
        form(&uri, b"x=2"),
        form(&format!("{base}/rest/api/2/form?a=2"), b"x=1"),
        form(&format!("{base}/rest/api/2/form?a=1&b=0"), b"x=1"),
    ];
    for mut request in tampered {
        request
            .headers_mut()
            .insert("authorization", header.parse().unwrap());
        let response = send(request).await;
        assert_eq!(response.status.as_u16(), 401);
        let body = String::from_utf8(response.body).unwrap();
        assert!(
            body.starts_with("oauth_problem=signature_invalid&"),
            "{body}"
        );
    }
}

#[test]
fn tls_failures_get_their_own_advice() {
    let err = ServerError::classify(
        jira_auth_core::http::HttpError::Tls {
            url: "https://jira.test/x".into(),
            message: "invalid peer certificate: UnknownIssuer".into(),
        },
        Step::RequestToken,
        std::time::SystemTime::now(),
        true,
    );
    assert_eq!(
        err.to_string(),
        "the TLS connection to https://jira.test/x failed (invalid peer certificate: UnknownIssuer); check the URL's scheme and port, and if Jira uses a certificate from a private CA, pass that CA with `--ca-file` (see docs/network.md)"
    );
    assert_eq!(err.category(), Category::Network);
}

/// An SSO proxy that answers `/myself` with its login page (200, HTML) is named as such.
#[tokio::test]
async fn html_instead_of_json_on_myself_is_an_sso_error() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    Mock::given(matchers::path("/proxied/rest/api/2/myself"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            "<!DOCTYPE html>\n<html><head><title>Login</title></head><body>SSO</body></html>",
            "text/html",
        ))
        .mount(fake.mock_server())
        .await;
    let jira = JiraServer::new(
        client(),
        parse_site_url(&format!("{}/proxied", fake.url())).unwrap(),
    );
    let pat = PatBearer(PersonalAccessToken::new(fake.pat().unwrap()));
    let err = jira.myself(Arc::new(pat)).await.unwrap_err();
    assert!(matches!(err, ServerError::HtmlPage { .. }), "{err}");
    assert!(
        err.to_string()
            .ends_with("where Jira's JSON was expected: a single sign-on proxy is probably in front of Jira; use a URL that reaches Jira directly (ask your Jira administrator) or a personal access token with `jira-auth server login --pat`"),
        "{err}"
    );
    assert_eq!(err.category(), Category::Auth);
}

/// A site at `{fake}/{prefix}` whose token endpoints answer `request_token` and
/// `access_token` (status, body), unsigned checks aside.
async fn hostile(
    fake: &FakeJiraServer,
    prefix: &str,
    request_token: (u16, &str),
    access_token: (u16, &str),
) -> JiraServer {
    for (endpoint, (status, body)) in [
        ("request-token", request_token),
        ("access-token", access_token),
    ] {
        Mock::given(matchers::path(format!(
            "/{prefix}/plugins/servlet/oauth/{endpoint}"
        )))
        .respond_with(ResponseTemplate::new(status).set_body_raw(body, "text/plain"))
        .mount(fake.mock_server())
        .await;
    }
    JiraServer::new(
        client(),
        parse_site_url(&format!("{}/{prefix}", fake.url())).unwrap(),
    )
}

fn request_token(token: &str) -> jira_auth_server::dance::RequestToken {
    jira_auth_server::dance::RequestToken {
        token: jira_auth_core::AccessToken::new(token),
        secret: jira_auth_core::TokenSecret::new("request-secret"),
    }
}

/// RFC 5849 §2.1: a request-token answer must carry `oauth_callback_confirmed=true`.
#[tokio::test]
async fn a_request_token_without_callback_confirmation_is_refused() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = hostile(
        &fake,
        "oauth10",
        (200, "oauth_token=rt-1&oauth_token_secret=rs-1"),
        (200, ""),
    )
    .await;
    let err = jira.request_token(&consumer(&fake), OOB).await.unwrap_err();
    assert!(
        matches!(err, ServerError::CallbackNotConfirmed { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{}/oauth10/plugins/servlet/oauth/request-token answered without `oauth_callback_confirmed=true` (RFC 5849 §2.1): that is OAuth 1.0, whose approval can be redirected to someone else, not the OAuth 1.0a Jira speaks; check that `--url` reaches Jira Server or Data Center directly, not a proxy or another service",
            fake.url()
        )
    );
    assert_eq!(err.category(), Category::Network);
}

#[tokio::test]
async fn token_answers_with_a_repeated_token_are_refused() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = hostile(
        &fake,
        "twice",
        (
            200,
            "oauth_token=rt-1&oauth_token=rt-2&oauth_token_secret=rs-1&oauth_callback_confirmed=true",
        ),
        (
            200,
            "oauth_token=at-1&oauth_token_secret=as-1&oauth_token_secret=as-2",
        ),
    )
    .await;
    let at = |endpoint: &str, name: &str| {
        format!(
            "{}/twice/plugins/servlet/oauth/{endpoint} answered with `{name}` more than once, so its answer could be read two ways; jira-auth refuses it: check that `--url` reaches Jira directly (a proxy or another service may be adding parameters), then run `jira-auth server login` again",
            fake.url()
        )
    };
    let err = jira.request_token(&consumer(&fake), OOB).await.unwrap_err();
    assert_eq!(err.to_string(), at("request-token", "oauth_token"));
    assert_eq!(err.category(), Category::Network);
    let err = jira
        .access_token(&consumer(&fake), &request_token("rt-1"), "v")
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), at("access-token", "oauth_token_secret"));
    assert!(!format!("{err:?}").contains("as-1"));
}

#[tokio::test]
async fn token_endpoint_error_bodies_are_shown_masked() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let jira = hostile(
        &fake,
        "echo",
        (200, ""),
        (
            400,
            "cannot exchange oauth_token=rt-1&oauth_verifier=v-1 for oauth_token_secret=0123456789abcdef0123",
        ),
    )
    .await;
    let err = jira
        .access_token(&consumer(&fake), &request_token("rt-1"), "v-1")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "POST {}/echo/plugins/servlet/oauth/access-token answered 400: cannot exchange oauth_token=****&oauth_verifier=**** for oauth_token_secret=****",
            fake.url()
        )
    );
    // An empty 200 names what is missing, not what came.
    let err = jira.request_token(&consumer(&fake), OOB).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}/echo/plugins/servlet/oauth/request-token answered 200 with a body jira-auth cannot read as an OAuth token answer: an empty body without `oauth_token`",
            fake.url()
        )
    );
}
