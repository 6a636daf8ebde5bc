//! The consent walk through the router served on 127.0.0.1, with a browser holding a cookie jar
//! and the fake Atlassian: every way a consent ends, with its status, page and stored result.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Options, Rig, code_of, cookie_pair};
use jira_auth_test::filters;
use std::collections::BTreeMap;
use std::time::Duration;

fn pairs(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

#[tokio::test]
async fn one_site_consent_is_stored_and_shown_without_a_token() {
    let rig = Rig::start(Options::default()).await;

    // /initiate-oauth: a signed cookie and a 302 to Atlassian's authorize URL.
    let start = rig.browser.get(&rig.url("/initiate-oauth")).await;
    assert_eq!(start.status, 302);
    let set_cookie = start.header("set-cookie");
    assert!(set_cookie.starts_with("jira_auth_state="), "{set_cookie}");
    assert!(
        set_cookie.ends_with("; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax"),
        "{set_cookie}"
    );
    let location = start.header("location").to_owned();
    assert!(location.starts_with(&format!("{}/authorize?", rig.fake.auth_url())));
    let query = pairs(&location);
    let state = query["state"].clone();
    assert_eq!(state.len(), 32);
    assert!(set_cookie.starts_with(&format!("jira_auth_state={state}.")));
    assert_eq!(
        query,
        BTreeMap::from([
            ("audience".into(), "api.atlassian.com".into()),
            ("client_id".into(), rig.fake.client_id().into()),
            ("prompt".into(), "consent".into()),
            (
                "redirect_uri".into(),
                format!("{}/oauth/callback", rig.base)
            ),
            ("response_type".into(), "code".into()),
            (
                "scope".into(),
                "read:jira-work read:jira-user offline_access".into()
            ),
            ("state".into(), state.clone()),
        ])
    );

    // The fake's consent page, Accept, and the callback with the cookie from the jar.
    let consent = rig.browser.get(&location).await;
    assert_eq!(consent.status, 200);
    let from = consent.body.find("id=\"accept\" href=\"").unwrap() + 18;
    let href = consent.body[from..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let accept = rig
        .browser
        .get(&format!("{}{href}", rig.fake.auth_url()))
        .await;
    let callback = accept.header("location").to_owned();
    assert!(callback.starts_with(&format!("{}/oauth/callback?code=", rig.base)));
    let code = code_of(&callback);
    let result = rig.browser.get(&callback).await;
    assert_eq!(result.status, 200, "{}", result.body);
    assert_eq!(result.title(), "Jira connected");
    assert_eq!(
        result.set_cookies(),
        ["jira_auth_state=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax"]
    );
    assert_eq!(result.header("cache-control"), "no-store");
    assert_eq!(result.header("referrer-policy"), "no-referrer");
    insta::with_settings!({ filters => filters::common() }, {
        insta::assert_snapshot!("result_page", result.body);
    });

    // Exactly one code exchange, with the service's redirect URI, and one accessible-resources
    // call with the new token.
    let stored = rig.stored().expect("the profile holds a cloud login");
    let tokens = rig.fake.token_requests().await;
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].method.as_str(), "POST");
    let body: BTreeMap<String, String> = url::form_urlencoded::parse(&tokens[0].body)
        .into_owned()
        .collect();
    assert_eq!(
        body,
        BTreeMap::from([
            ("client_id".into(), rig.fake.client_id().into()),
            ("client_secret".into(), rig.fake.client_secret().into()),
            ("code".into(), code.clone()),
            ("grant_type".into(), "authorization_code".into()),
            (
                "redirect_uri".into(),
                format!("{}/oauth/callback", rig.base)
            ),
        ])
    );
    let api = rig.fake.api_requests().await;
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].url.path(), "/oauth/token/accessible-resources");
    assert_eq!(
        api[0]
            .headers
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap(),
        format!("Bearer {}", stored.access_token.expose_secret())
    );

    // The store holds the token set in the cloud crate's format, for `cloud token|status`.
    assert_eq!(stored.client_id, rig.fake.client_id());
    assert_eq!(
        stored.client_secret.expose_secret(),
        rig.fake.client_secret()
    );
    assert_eq!(stored.cloud_id, "1324a887-45db-1bf4-1e99-ef0ff456d421");
    assert_eq!(stored.site_name, "acme");
    assert_eq!(stored.site_url, "https://acme.atlassian.net");
    assert_eq!(
        stored.scopes,
        ["read:jira-work", "read:jira-user", "offline_access"]
    );
    assert_eq!(stored.requested_scopes, stored.scopes);
    assert_eq!(stored.redirect_uri, format!("{}/oauth/callback", rig.base));
    assert_eq!(stored.auth_url, format!("{}/", rig.fake.auth_url()));
    assert_eq!(stored.api_url, format!("{}/", rig.fake.api_url()));
    let now = jira_auth_core::time::unix_seconds(jira_auth_core::time::Clock::now(&rig.clock));
    assert_eq!(stored.family_started_at, now);
    assert_eq!(stored.last_refreshed_at, now);
    assert_eq!(stored.access_expires_at, now + 3600);
    let refresh = stored.refresh_token.as_ref().unwrap();
    assert!(rig.fake.refresh_token_is_live(refresh.expose_secret()));

    // The home page names the connected site; the health check answers JSON.
    let home = rig.browser.get(&rig.url("/")).await;
    assert_eq!(home.status, 200);
    insta::with_settings!({ filters => filters::common() }, {
        insta::assert_snapshot!("home_connected", home.paragraph("connected"));
    });
    let health = rig.browser.get(&rig.url("/health-check")).await;
    assert_eq!(health.status, 200);
    assert_eq!(health.header("content-type"), "application/json");
    assert_eq!(
        health.body,
        format!(
            r#"{{"status":"ok","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )
    );

    rig.assert_no_secret_leaked(&[&code]);
    let logs = rig.logs.text();
    assert!(logs.contains("consent started"), "{logs}");
    assert!(logs.contains("Jira site connected"), "{logs}");
    assert!(
        logs.contains("cloud_id=1324a887-45db-1bf4-1e99-ef0ff456d421"),
        "{logs}"
    );
    assert!(!logs.contains(&state), "the state is not logged");
}

#[tokio::test]
async fn home_page_before_any_consent() {
    let rig = Rig::start(Options::default()).await;
    let home = rig.browser.get(&rig.url("/")).await;
    assert_eq!(home.status, 200);
    insta::with_settings!({ filters => filters::common() }, {
        insta::assert_snapshot!("home_empty", home.body);
    });
    let missing = rig.browser.get(&rig.url("/token")).await;
    assert_eq!(
        missing.status, 404,
        "there is no way to read a token over HTTP"
    );
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused_and_nothing_is_exchanged() {
    let rig = Rig::start(Options::default()).await;
    let (callback, _) = rig.consent(true).await;
    let state = pairs(&callback)["state"].clone();
    let forged = callback.replace(&state, &"0".repeat(32));
    let page = rig.browser.get(&forged).await;
    assert_eq!(page.status, 400);
    assert_eq!(page.title(), "Consent replaced");
    assert_eq!(
        page.paragraph("error"),
        "A newer consent was started in another tab or window of this browser and replaced this one. Finish the consent in that tab, or start again here."
    );
    assert!(page.body.contains("href=\"/initiate-oauth\">Try again</a>"));
    assert!(
        page.set_cookies().is_empty(),
        "the real consent may still finish"
    );
    let no_state = rig.browser.get(&rig.url("/oauth/callback?code=abc")).await;
    assert_eq!(no_state.status, 400);
    assert_eq!(no_state.title(), "Consent does not match");
    assert_eq!(
        no_state.paragraph("error"),
        "This page does not belong to the consent this browser started last, so it was refused. Start again from this browser."
    );
    assert!(rig.fake.token_requests().await.is_empty());
    assert!(rig.stored().is_none());

    // The genuine callback still works afterwards.
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 200, "{}", page.body);
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

#[tokio::test]
async fn a_callback_without_the_cookie_is_refused() {
    let rig = Rig::start(Options::default()).await;
    let (callback, _) = rig.consent(true).await;
    // Another browser (no jar) opens the link.
    let stranger = common::Browser::new(rig.browser.seen.clone());
    let page = stranger.get(&callback).await;
    assert_eq!(page.status, 400);
    assert_eq!(page.title(), "Consent session not found");
    assert_eq!(
        page.paragraph("error"),
        "This request came without the cookie this service sets when a consent starts: it was opened in another browser, cookies are blocked, or the consent took more than 10 minutes. Start again from this browser."
    );
    assert!(rig.fake.token_requests().await.is_empty());
    assert!(rig.stored().is_none());
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

#[tokio::test]
async fn an_expired_cookie_is_refused_by_the_servers_clock() {
    let rig = Rig::start(Options::default()).await;
    let (callback, _) = rig.consent(true).await;
    // The browser still sends the cookie; the server's clock says the 10 minutes are over.
    jira_auth_core::time::Clock::sleep(&rig.clock, Duration::from_secs(600)).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 400);
    assert_eq!(page.title(), "Consent expired");
    assert_eq!(
        page.paragraph("error"),
        "The consent was started more than 10 minutes ago and has expired. Start again."
    );
    assert_eq!(
        page.set_cookies(),
        ["jira_auth_state=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax"]
    );
    assert!(rig.fake.token_requests().await.is_empty());
    assert!(rig.stored().is_none());
}

#[tokio::test]
async fn a_cookie_signed_with_another_key_is_refused() {
    let rig = Rig::start(Options::default()).await;
    let (callback, set_cookie) = rig.consent(true).await;
    let pair = cookie_pair(&set_cookie);
    let (value, mac) = pair.rsplit_once('.').unwrap();
    let forged = format!("{value}.{}", "A".repeat(mac.len()));
    let page = rig.browser.get_with_cookie(&callback, &forged).await;
    assert_eq!(page.status, 400);
    assert_eq!(page.title(), "Consent session not found");
    assert_eq!(
        page.paragraph("error"),
        "The consent cookie was not issued by this service (it may have restarted with a new cookie key). Start again."
    );
    assert!(rig.fake.token_requests().await.is_empty());
}

#[tokio::test]
async fn a_reused_callback_is_refused_before_and_by_atlassian() {
    let rig = Rig::start(Options::default()).await;
    let (callback, set_cookie) = rig.consent(true).await;
    let cookie = cookie_pair(&set_cookie);
    assert_eq!(rig.browser.get(&callback).await.status, 200);
    let first = rig.stored().unwrap();
    // The jar dropped the cookie; a replay with a kept copy is refused without a token request.
    assert_eq!(rig.browser.cookies_for(&callback), "");
    // Reload, Back, or a replay with a kept copy: what the consent did, no second exchange.
    let reload = rig.browser.get(&callback).await;
    assert_eq!(reload.status, 200);
    assert_eq!(reload.title(), "Already connected");
    assert_eq!(
        reload.paragraph("result"),
        "This consent already connected the Jira site <a href=\"https://acme.atlassian.net\">acme</a> (cloud id <code>1324a887-45db-1bf4-1e99-ef0ff456d421</code>) to the <code>jira-auth</code> profile <code>default</code>. There is nothing more to do here; you can close this page."
    );
    assert!(reload.set_cookies().is_empty());
    let replay = rig.browser.get_with_cookie(&callback, &cookie).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.title(), "Already connected");
    assert_eq!(rig.fake.token_requests().await.len(), 1);

    // A restarted service (same key, fresh memory) lets it through; Atlassian refuses the code.
    let restarted = rig.serve().await;
    let replay = rig
        .browser
        .get_with_cookie(&callback.replace(&rig.base, &restarted), &cookie)
        .await;
    assert_eq!(replay.status, 400);
    assert_eq!(replay.title(), "Authorization code refused");
    assert_eq!(
        replay.paragraph("error"),
        "Atlassian refused the authorization code (invalid_grant: Invalid authorization code): a code works once and expires within minutes. Start again."
    );
    assert_eq!(rig.fake.token_requests().await.len(), 2);
    assert_eq!(
        rig.stored().unwrap(),
        first,
        "the stored login is untouched"
    );
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

#[tokio::test]
async fn a_declined_consent_gives_a_page_and_stores_nothing() {
    let rig = Rig::start(Options::default()).await;
    let (callback, _) = rig.consent(false).await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 403);
    assert_eq!(page.title(), "Consent declined");
    assert_eq!(
        page.paragraph("error"),
        "The consent was declined on Atlassian&#39;s screen (User did not authorize the request). Nothing was stored. To connect Jira, start again and click Accept."
    );
    assert!(page.body.contains("href=\"/initiate-oauth\">Try again</a>"));
    assert!(rig.fake.token_requests().await.is_empty());
    assert!(rig.stored().is_none());
}

#[tokio::test]
async fn a_site_outside_the_allow_list_is_refused_and_not_stored() {
    let rig = Rig::start(Options {
        allow_sites: vec!["beta-corp.atlassian.net".into()],
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 403);
    assert_eq!(page.title(), "Site not allowed");
    assert_eq!(
        page.paragraph("error"),
        "This service only connects beta-corp.atlassian.net; the consent reached acme (https://acme.atlassian.net). Nothing was stored. Start again and pick an allowed site on Atlassian&#39;s consent screen."
    );
    assert!(rig.stored().is_none());
    assert!(!rig.store.profile_path(&Default::default()).exists());
    let logs = rig.logs.text();
    assert!(
        logs.contains("consent for a site outside `--allow-site` refused: acme (https://acme.atlassian.net, 1324a887-45db-1bf4-1e99-ef0ff456d421)"),
        "{logs}"
    );
    // The tokens of the refused consent were never shown nor logged: the fake issued one pair.
    rig.assert_no_secret_leaked(&[&code_of(&callback), "at-0002-", "rt-0003-"]);
}

#[tokio::test]
async fn several_sites_are_chosen_on_a_page_never_silently() {
    let rig = Rig::start(Options {
        sites_scenario: "sites-three",
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let picker = rig.browser.get(&callback).await;
    assert_eq!(picker.status, 200);
    assert_eq!(picker.title(), "Choose a Jira site");
    assert!(
        rig.stored().is_none(),
        "nothing is stored before the choice"
    );
    let cookies = picker.set_cookies();
    assert_eq!(cookies.len(), 2);
    assert_eq!(
        cookies[0],
        "jira_auth_state=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax"
    );
    assert!(cookies[1].starts_with("jira_auth_pick="));
    assert!(cookies[1].ends_with("; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax"));
    insta::with_settings!({ filters => filters::common() }, {
        insta::assert_snapshot!("picker_page", picker.body);
    });
    let marker = "name=\"pick\" value=\"";
    let from = picker.body.find(marker).unwrap() + marker.len();
    let pick = picker.body[from..].split('"').next().unwrap().to_owned();
    assert_eq!(picker.body.matches("<form method=\"post\"").count(), 1);
    assert_eq!(
        picker.body.matches("type=\"radio\" name=\"site\"").count(),
        3
    );

    // A site that was not offered: refused, the choice stays open.
    let select = rig.url("/oauth/select-site");
    let bad = rig
        .browser
        .post_form(&select, &[("pick", &pick), ("site", "not-a-site")], None)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.title(),
        "Choose a Jira site",
        "the picker again, to choose right there"
    );
    assert_eq!(
        bad.paragraph("error\" role=\"alert"),
        "That site is not one of the choices offered. Choose one of the sites listed below."
    );
    assert_eq!(bad.body.matches("type=\"radio\" name=\"site\"").count(), 3);
    assert!(bad.set_cookies().is_empty(), "the choice stays open");

    // Another page posting without the browser's cookie (cross-site): refused.
    let stranger = common::Browser::new(rig.browser.seen.clone());
    let csrf = stranger
        .post_form(
            &select,
            &[
                ("pick", &pick),
                ("site", "c0ffee00-1234-4abc-8def-0123456789ab"),
            ],
            None,
        )
        .await;
    assert_eq!(csrf.status, 400);
    assert_eq!(csrf.title(), "Consent session not found");
    // With the cookie but another pick id: refused.
    let other = rig
        .browser
        .post_form(
            &select,
            &[
                ("pick", &"f".repeat(32)),
                ("site", "c0ffee00-1234-4abc-8def-0123456789ab"),
            ],
            None,
        )
        .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.title(), "Consent replaced");
    assert!(rig.stored().is_none());

    let pick_cookie = rig.browser.cookies_for(&select);
    let chosen = rig
        .browser
        .post_form(
            &select,
            &[
                ("pick", &pick),
                ("site", "8f2a6c1e-0b7d-4e39-9a51-3c4d2e1f0a9b"),
            ],
            None,
        )
        .await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert_eq!(chosen.title(), "Jira connected");
    assert!(chosen.paragraph("result").contains("acme-sandbox"));
    assert_eq!(
        chosen.set_cookies(),
        ["jira_auth_pick=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax"]
    );
    let stored = rig.stored().unwrap();
    assert_eq!(stored.cloud_id, "8f2a6c1e-0b7d-4e39-9a51-3c4d2e1f0a9b");
    assert_eq!(stored.site_name, "acme-sandbox");
    assert_eq!(stored.site_url, "https://acme-sandbox.atlassian.net");

    // The choice works once; the form sent again says what it did.
    let again = rig
        .browser
        .post_form(
            &select,
            &[
                ("pick", &pick),
                ("site", "1324a887-45db-1bf4-1e99-ef0ff456d421"),
            ],
            Some(&pick_cookie),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.title(), "Already connected");
    assert!(again.paragraph("result").contains("acme-sandbox"));
    assert_eq!(rig.stored().unwrap().site_name, "acme-sandbox");
    assert_eq!(rig.fake.token_requests().await.len(), 1);
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

#[tokio::test]
async fn the_allow_list_narrows_the_picker_and_one_allowed_site_needs_no_choice() {
    let rig = Rig::start(Options {
        sites_scenario: "sites-three",
        allow_sites: vec!["acme".into(), "c0ffee00-1234-4abc-8def-0123456789ab".into()],
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let picker = rig.browser.get(&callback).await;
    assert_eq!(picker.status, 200);
    assert_eq!(
        picker.body.matches("type=\"radio\" name=\"site\"").count(),
        2
    );
    assert!(picker.body.contains("beta-corp"));
    assert!(!picker.body.contains("acme-sandbox"));

    let rig = Rig::start(Options {
        sites_scenario: "sites-three",
        allow_sites: vec!["https://acme-sandbox.atlassian.net/".into()],
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.title(), "Jira connected");
    assert_eq!(rig.stored().unwrap().site_name, "acme-sandbox");
}

#[tokio::test]
async fn a_consent_reaching_no_site_is_refused() {
    let rig = Rig::start(Options {
        sites_scenario: "sites-none",
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 403);
    assert_eq!(page.title(), "No Jira site");
    assert!(rig.stored().is_none());
}

#[tokio::test]
async fn https_public_url_marks_the_cookie_secure_and_a_missing_key_is_logged() {
    let rig = Rig::start(Options {
        public_url: Some("https://jira-auth.example.com"),
        cookie_key: None,
        ..Options::default()
    })
    .await;
    let start = rig.browser.get(&rig.url("/initiate-oauth")).await;
    assert_eq!(start.status, 302);
    assert!(
        start
            .header("set-cookie")
            .ends_with("; Path=/oauth; Max-Age=600; HttpOnly; SameSite=Lax; Secure"),
        "{}",
        start.header("set-cookie")
    );
    assert_eq!(
        pairs(start.header("location"))["redirect_uri"],
        "https://jira-auth.example.com/oauth/callback"
    );
    let logs = rig.logs.text();
    assert!(
        logs.contains("no cookie key configured (`JIRA_AUTH_COOKIE_KEY` or `--cookie-key-file`): using a random key for this process"),
        "{logs}"
    );
}

#[tokio::test]
async fn the_stored_login_is_refreshed_by_the_clis_code_path() {
    let rig = Rig::start(Options::default()).await;
    let (callback, _) = rig.consent(true).await;
    assert_eq!(rig.browser.get(&callback).await.status, 200);
    let before = rig.stored().unwrap();
    // What `jira-auth cloud refresh` / `cloud token` run on the host, on the same store.
    let http = jira_auth_core::http::HttpClient::builder().build().unwrap();
    let fresh = jira_auth_cloud::credentials::ensure_fresh(
        &rig.store,
        &Default::default(),
        &http,
        jira_auth_cloud::credentials::RefreshMode::Always,
    )
    .await
    .unwrap();
    assert!(fresh.refreshed);
    let after = rig.stored().unwrap();
    assert_ne!(after.access_token, before.access_token);
    assert_ne!(after.refresh_token, before.refresh_token);
    assert_eq!(after.cloud_id, before.cloud_id);
    let tokens = rig.fake.token_requests().await;
    assert_eq!(tokens.len(), 2);
    let body: BTreeMap<String, String> = url::form_urlencoded::parse(&tokens[1].body)
        .into_owned()
        .collect();
    assert_eq!(body["grant_type"], "refresh_token");
    assert_eq!(
        body["refresh_token"],
        before.refresh_token.unwrap().expose_secret()
    );
}

#[tokio::test]
async fn no_allow_list_is_warned_about_at_start() {
    let rig = Rig::start(Options::default()).await;
    let logs = rig.logs.text();
    assert!(
        logs.contains("no `--allow-site`: whoever can open the public URL can connect any Jira site and replace the login stored under profile `default`"),
        "{logs}"
    );
    let rig = Rig::start(Options {
        allow_sites: vec!["acme".into()],
        ..Options::default()
    })
    .await;
    assert!(!rig.logs.text().contains("no `--allow-site`"));
}

#[tokio::test]
async fn atlassian_unreachable_is_a_502_page_with_the_detail_in_the_log() {
    // A port that was just free: every attempt is refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let rig = Rig::start(Options {
        api_url: Some(format!("http://{closed}")),
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 502);
    assert_eq!(page.title(), "Atlassian unavailable");
    assert_eq!(
        page.paragraph("error"),
        "Atlassian could not be reached or gave an answer this service cannot use; nothing was stored. Try again in a minute."
    );
    assert!(
        !page.body.contains("127.0.0.1:9"),
        "no internals on the page"
    );
    assert!(rig.stored().is_none());
    let logs = rig.logs.text();
    assert!(
        logs.contains(&format!(
            "consent failed: could not connect to http://{closed}/oauth/token/accessible-resources"
        )),
        "{logs}"
    );
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

#[tokio::test]
async fn a_wrong_client_secret_is_the_operators_problem() {
    let rig = Rig::start(Options {
        client_secret: Some("not-the-secret"),
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 502);
    assert_eq!(page.title(), "OAuth app refused");
    assert_eq!(
        page.paragraph("error"),
        "Atlassian refused this service&#39;s OAuth client (access_denied: Unauthorized). The operator should check the client id and secret against the developer console."
    );
    assert!(rig.stored().is_none());
    rig.assert_no_secret_leaked(&["not-the-secret", &code_of(&callback)]);
}

#[tokio::test]
async fn form_encoded_tokens_from_atlassian_are_neither_shown_nor_logged() {
    let rig = Rig::start(Options::default()).await;
    rig.fake
        .set_token_answer(jira_auth_test::cloud::TokenAnswer::Form);
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 502);
    assert_eq!(page.title(), "Atlassian unavailable");
    assert!(rig.stored().is_none());
    let logs = rig.logs.text();
    assert!(
        logs.contains(&format!(
            "consent failed: request to {}/oauth/token failed: answered 200 with 165 bytes of `application/x-www-form-urlencoded` instead of an `application/json` token response (not shown: it may hold credentials)",
            rig.fake.auth_url()
        )),
        "{logs}"
    );
    let issued = rig.fake.issued_tokens();
    assert_eq!(issued.len(), 2, "{issued:?}");
    let issued: Vec<&str> = issued.iter().map(String::as_str).collect();
    rig.assert_no_secret_leaked(&[&code_of(&callback), issued[0], issued[1]]);
}

/// Where this process may mount a small tmpfs (root on Linux), a full disk under the store is
/// found before the code is exchanged: the consent fails with the store's page and no token
/// request reaches Atlassian. Elsewhere the same check is covered by the CLI's simulated disk.
#[tokio::test]
async fn a_full_disk_is_found_before_the_code_is_spent() {
    let rig = Rig::start(Options::default()).await;
    let config = rig.dir.path().join("config");
    std::fs::create_dir_all(&config).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        println!("cannot mount a tmpfs here: not run");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.0)
                .status();
        }
    }
    let _unmount = Unmount(config.clone());
    {
        use std::io::Write;
        let mut f = std::fs::File::create(config.join("filler")).unwrap();
        // Bounded by the filesystem's 64 KiB.
        while f
            .write_all(&[0u8; 1024])
            .and_then(|()| f.sync_all())
            .is_ok()
        {}
    }
    let (callback, _) = rig.consent(true).await;
    let page = rig.browser.get(&callback).await;
    assert_eq!(page.status, 500);
    assert!(
        rig.fake.token_requests().await.is_empty(),
        "no code exchange"
    );
    assert!(
        rig.logs
            .text()
            .contains("consent failed: jira-auth cannot reserve the disk space to save a login"),
        "{}",
        rig.logs.text()
    );
}

/// The pick id in a picker page.
fn pick_of(page: &common::Seen) -> String {
    let marker = "name=\"pick\" value=\"";
    let from = page.body.find(marker).unwrap() + marker.len();
    page.body[from..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn reload_back_and_resend_show_what_the_consent_did() {
    let rig = Rig::start(Options {
        sites_scenario: "sites-three",
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let picker = rig.browser.get(&callback).await;
    assert_eq!(picker.title(), "Choose a Jira site");
    let pick = pick_of(&picker);

    // Reload (or Back to) the callback while choosing: the same picker, no second exchange.
    let again = rig.browser.get(&callback).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.title(), "Choose a Jira site");
    assert_eq!(pick_of(&again), pick);
    assert!(again.set_cookies().is_empty());
    // Another browser with the link but not the cookies cannot see or use the picker.
    let stranger = common::Browser::new(rig.browser.seen.clone());
    let peek = stranger.get(&callback).await;
    assert_eq!(peek.status, 400);
    assert_eq!(peek.title(), "Consent already used");

    let select = rig.url("/oauth/select-site");
    let form = [
        ("pick", pick.as_str()),
        ("site", "c0ffee00-1234-4abc-8def-0123456789ab"),
    ];
    let chosen = rig.browser.post_form(&select, &form, None).await;
    assert_eq!(chosen.title(), "Jira connected");

    // Reload of the form post, and Back to the callback: what the consent did.
    let resent = rig.browser.post_form(&select, &form, None).await;
    assert_eq!(resent.status, 200);
    assert_eq!(resent.title(), "Already connected");
    assert!(
        resent.paragraph("result").contains("beta-corp"),
        "{}",
        resent.body
    );
    let back = rig.browser.get(&callback).await;
    assert_eq!(back.status, 200);
    assert_eq!(back.title(), "Already connected");
    assert!(back.paragraph("result").contains("beta-corp"));

    assert_eq!(rig.fake.token_requests().await.len(), 1);
    assert_eq!(rig.stored().unwrap().site_name, "beta-corp");
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

#[tokio::test]
async fn a_newer_consent_in_another_tab_replaces_the_first() {
    let rig = Rig::start(Options::default()).await;
    let (first, _) = rig.consent(true).await;
    let (second, _) = rig.consent(true).await;
    let page = rig.browser.get(&first).await;
    assert_eq!(page.status, 400);
    assert_eq!(page.title(), "Consent replaced");
    assert_eq!(
        page.paragraph("error"),
        "A newer consent was started in another tab or window of this browser and replaced this one. Finish the consent in that tab, or start again here."
    );
    assert!(page.set_cookies().is_empty());
    let page = rig.browser.get(&second).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.title(), "Jira connected");
    assert_eq!(rig.fake.token_requests().await.len(), 1);
}

#[tokio::test]
async fn every_refusal_is_a_page_of_ours() {
    let rig = Rig::start(Options::default()).await;
    let direct = rig.browser.get(&rig.url("/oauth/select-site")).await;
    assert_eq!(direct.status, 405);
    assert_eq!(direct.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(direct.title(), "Not available here");
    assert_eq!(
        direct.paragraph("error"),
        "This address only answers the site picker's form. To connect Jira, start from the home page."
    );
    assert_eq!(direct.header("allow"), "POST");
    assert_eq!(direct.header("cache-control"), "no-store");
    let posted = rig.browser.post_form(&rig.url("/"), &[], None).await;
    assert_eq!(posted.status, 405);
    assert_eq!(posted.title(), "Not available here");

    let huge = "x".repeat(jira_auth_serve::config::MAX_BODY_BYTES + 1);
    let big = rig
        .browser
        .post_form(&rig.url("/oauth/select-site"), &[("pick", &huge)], None)
        .await;
    assert_eq!(big.status, 413);
    assert_eq!(big.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(big.title(), "Request too large");
    assert_eq!(big.header("x-frame-options"), "DENY");
}

#[tokio::test]
async fn code_exchanges_past_the_budget_wait_for_the_next_minute() {
    let rig = Rig::start(Options {
        limits: jira_auth_serve::Limits {
            exchanges_per_minute: 1,
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let (first, _) = rig.consent(true).await;
    assert_eq!(rig.browser.get(&first).await.status, 200);
    let (second, _) = rig.consent(true).await;
    let page = rig.browser.get(&second).await;
    assert_eq!(page.status, 429);
    assert_eq!(page.title(), "Too many consents");
    assert_eq!(page.header("retry-after"), "60");
    assert_eq!(
        rig.fake.token_requests().await.len(),
        1,
        "no exchange spent"
    );
    assert!(
        rig.logs
            .text()
            .contains("code exchange refused: the per-minute budget is spent"),
        "{}",
        rig.logs.text()
    );
    // A minute later the same callback goes through.
    jira_auth_core::time::Clock::sleep(&rig.clock, Duration::from_secs(60)).await;
    let page = rig.browser.get(&second).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.title(), "Jira connected");
    assert_eq!(rig.fake.token_requests().await.len(), 2);
}

#[tokio::test]
async fn a_slow_atlassian_gets_a_waiting_page_then_the_outcome() {
    // An API gateway that accepts connections and never answers, until the test lets go.
    let gateway = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = gateway.local_addr().unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let holder = held.clone();
    let accepting = tokio::spawn(async move {
        while let Ok((stream, _)) = gateway.accept().await {
            holder.lock().unwrap().push(stream);
        }
    });
    let rig = Rig::start(Options {
        api_url: Some(format!("http://{address}")),
        ..Options::default()
    })
    .await;
    let (callback, _) = rig.consent(true).await;
    let waiting = rig.browser.get(&callback).await;
    assert_eq!(waiting.status, 200);
    assert_eq!(waiting.title(), "Connecting to Atlassian");
    assert!(
        waiting
            .body
            .contains("<meta http-equiv=\"refresh\" content=\"2\">")
    );
    assert!(
        waiting.set_cookies().is_empty(),
        "the consent is still this browser's"
    );

    // Atlassian goes away: the next look (the page's own refresh) shows the real outcome.
    accepting.abort();
    held.lock().unwrap().clear();
    let mut page = rig.browser.get(&callback).await;
    for _ in 0..20 {
        if page.title() != "Connecting to Atlassian" {
            break;
        }
        page = rig.browser.get(&callback).await;
    }
    assert_eq!(page.status, 502, "{}", page.body);
    assert_eq!(page.title(), "Atlassian unavailable");
    assert_eq!(
        page.set_cookies(),
        ["jira_auth_state=; Path=/oauth; Max-Age=0; HttpOnly; SameSite=Lax"]
    );
    assert_eq!(rig.fake.token_requests().await.len(), 1);
    rig.assert_no_secret_leaked(&[&code_of(&callback)]);
}

/// A raw connection to the service: what it reads before the service closes it, within 10 s.
async fn read_until_closed(stream: &mut tokio::net::TcpStream) -> Option<String> {
    use tokio::io::AsyncReadExt as _;
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut seen)).await;
    read.ok()
        .map(|_| String::from_utf8_lossy(&seen).into_owned())
}

#[tokio::test]
async fn silent_and_slow_connections_are_closed_after_the_header_timeout() {
    let rig = Rig::start(Options {
        limits: jira_auth_serve::Limits {
            header_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let address = rig.base.trim_start_matches("http://").to_owned();
    // Sends nothing at all.
    let mut silent = tokio::net::TcpStream::connect(&address).await.unwrap();
    assert!(
        read_until_closed(&mut silent).await.is_some(),
        "closed, not held"
    );
    // Sends half a request head and stops.
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut slow, b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut slow).await.is_some(),
        "closed, not held"
    );
    // A kept-alive connection left idle after its request.
    let mut idle = tokio::net::TcpStream::connect(&address).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut idle,
        b"GET /health-check HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await
    .unwrap();
    let answered = read_until_closed(&mut idle)
        .await
        .expect("closed, not held");
    assert!(answered.starts_with("HTTP/1.1 200 OK"), "{answered}");
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_at_once() {
    use tokio::io::AsyncWriteExt as _;
    let rig = Rig::start(Options {
        limits: jira_auth_serve::Limits {
            max_connections: 2,
            ..Default::default()
        },
        ..Options::default()
    })
    .await;
    let address = rig.base.trim_start_matches("http://").to_owned();
    let mut first = tokio::net::TcpStream::connect(&address).await.unwrap();
    let _second = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut third = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Closed unanswered (a write may already fail: the service hung up).
    let _ = third
        .write_all(b"GET /health-check HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert_eq!(read_until_closed(&mut third).await.as_deref(), Some(""));
    assert!(rig.logs.text().contains("connection limit reached"));
    // The connections within the cap are served.
    first
        .write_all(b"GET /health-check HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut first).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}
