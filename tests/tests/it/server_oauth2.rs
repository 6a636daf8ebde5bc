//! `jira-auth server login --oauth2 | --client-credentials`, `server token`, `server refresh`
//! and the commands that use the stored token, against the fake Data Center OAuth 2.0 provider
//! (single-use codes bound to the redirect URI and PKCE verifier, refresh tokens dead on use,
//! client credentials without a refresh token): what reaches the wire, what lands on disk, and
//! every error with its message and exit code.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use jira_auth_test::context::{self, Run, Running, TestContext};
use jira_auth_test::dc_oauth2::{
    CLIENT_ID, CLIENT_SECRET, DcOAuth2Config, FakeDcOAuth2, SERVICE_ACCOUNT_ID,
    SERVICE_ACCOUNT_SECRET,
};
use jira_auth_test::server::{FakeJiraServer, FakeJiraServerConfig};
use jira_auth_test::wiremock::{Mock, ResponseTemplate, matchers};
use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A redirect URI on a free loopback port.
fn free_redirect() -> String {
    format!("http://127.0.0.1:{}/callback", context::free_port())
}

struct Env {
    jira: FakeJiraServer,
    provider: FakeDcOAuth2,
    redirect: String,
    home: TestContext,
}

impl Env {
    async fn start(configure: impl FnOnce(&mut DcOAuth2Config)) -> Self {
        let jira = FakeJiraServer::start(FakeJiraServerConfig {
            context_path: "/jira".into(),
            ..Default::default()
        })
        .await;
        let redirect = free_redirect();
        let mut config = DcOAuth2Config::new(redirect.clone());
        configure(&mut config);
        let provider = FakeDcOAuth2::mount(&jira, config).await;
        Self {
            jira,
            provider,
            redirect,
            home: TestContext::new(),
        }
    }

    fn run(&self, args: &[&str], secret: Option<&str>) -> Run {
        let mut cmd = self.home.base_command();
        if let Some(s) = secret {
            cmd.env("JIRA_AUTH_CLIENT_SECRET", s);
        }
        context::run_with(cmd, args, None)
    }

    fn login_args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "server",
            "login",
            "--oauth2",
            "--url",
            self.url(),
            "--client-id",
            CLIENT_ID,
            "--redirect-uri",
            &self.redirect,
            "--no-browser",
            "--timeout",
            "60",
        ];
        args.extend_from_slice(extra);
        args
    }

    fn url(&self) -> &'static str {
        Box::leak(self.jira.url().into_boxed_str())
    }

    /// Runs a browser login: waits for the authorize URL on stderr, approves it as the user,
    /// then hands the redirect to the listener (a browser following it) or, with `paste`, to
    /// standard input. `tamper` may change the redirect before it is delivered.
    async fn login(
        &self,
        extra: &[&str],
        paste: bool,
        tamper: impl FnOnce(String) -> String,
    ) -> (Run, String) {
        let mut cmd = self.home.command(&self.login_args(extra));
        cmd.env("JIRA_AUTH_CLIENT_SECRET", CLIENT_SECRET);
        let mut running = Running::start(cmd);
        let authorize = running
            .wait_for_line(
                |l| l.contains("/rest/oauth2/latest/authorize?"),
                Duration::from_secs(60),
            )
            .unwrap_or_default();
        if !authorize.is_empty() {
            let (status, location) = FakeDcOAuth2::approve(&authorize).await;
            assert_eq!(status, 302, "{location}");
            let location = tamper(location);
            if paste {
                running.write_line(&location);
            } else {
                let _ = reqwest::get(&location).await;
            }
        }
        (running.finish().await, authorize)
    }

    async fn logged_in(&self) {
        let (run, _) = self.login(&[], false, |l| l).await;
        assert_eq!(run.code, 0, "{}", run.transcript());
    }

    fn profile(&self) -> serde_json::Value {
        serde_json::from_str(&self.home.profile_text("default")).unwrap()
    }

    fn credential(&self) -> serde_json::Value {
        self.profile()["server"]["credential"].clone()
    }

    /// The bodies of the token requests, as decoded form pairs.
    async fn token_bodies(&self) -> Vec<BTreeMap<String, String>> {
        jira_auth_test::journal::requests(self.jira.mock_server())
            .await
            .into_iter()
            .filter(|r| r.url.path().ends_with("/rest/oauth2/latest/token"))
            .map(|r| {
                assert_eq!(
                    r.headers.get("content-type").unwrap().to_str().unwrap(),
                    "application/x-www-form-urlencoded"
                );
                url::form_urlencoded::parse(&r.body).into_owned().collect()
            })
            .collect()
    }

    async fn token_raw_bodies(&self) -> Vec<String> {
        jira_auth_test::journal::requests(self.jira.mock_server())
            .await
            .into_iter()
            .filter(|r| r.url.path().ends_with("/rest/oauth2/latest/token"))
            .map(|r| String::from_utf8(r.body).unwrap())
            .collect()
    }
}

/// A raw form POST (the test's own client, not the binary's), returning the status.
fn post_form(url: &str, body: &str) -> u16 {
    use std::io::Read as _;
    let url = url::Url::parse(url).unwrap();
    let mut stream =
        std::net::TcpStream::connect((url.host_str().unwrap(), url.port().unwrap())).unwrap();
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        url.path(),
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response[9..12].parse().unwrap()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_login_sends_pkce_and_stores_the_tokens_0600() {
    let env = Env::start(|_| {}).await;
    let (run, authorize) = env.login(&["--scope", "read"], false, |l| l).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout, "", "a login has no data");
    let authorize = url::Url::parse(&authorize).unwrap();
    let q: BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(authorize.path(), "/jira/rest/oauth2/latest/authorize");
    assert_eq!(q["client_id"], CLIENT_ID);
    assert_eq!(q["redirect_uri"], env.redirect);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "READ");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["state"].len(), 32);
    // The exact token request: form-encoded, the code, the redirect URI, the verifier whose
    // S256 is the challenge sent, and the client in the body.
    let raw = env.token_raw_bodies().await;
    assert_eq!(raw.len(), 1);
    let body = &env.token_bodies().await[0];
    let verifier = &body["code_verifier"];
    assert_eq!(verifier.len(), 43);
    assert_eq!(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(<sha2::Sha256 as sha2::Digest>::digest(verifier.as_bytes())),
        q["code_challenge"]
    );
    assert_eq!(
        raw[0],
        format!(
            "grant_type=authorization_code&code=dc-code-0001&redirect_uri={}&code_verifier={verifier}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}",
            enc(&env.redirect)
        )
    );
    assert!(
        run.stderr.contains(&format!(
            "Logged in to {} as Jane Smith (jsmith) with OAuth 2.0 (authorization code with PKCE)\n",
            env.jira.url()
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("scopes: READ\n"), "{}", run.stderr);
    assert!(!run.stderr.contains(CLIENT_SECRET) && !run.stderr.contains("dc-access-"));
    let c = env.credential();
    assert_eq!(c["type"], "oauth2");
    assert_eq!(c["grant"], "authorization_code");
    assert_eq!(c["client_id"], CLIENT_ID);
    assert_eq!(c["client_secret"], CLIENT_SECRET);
    assert_eq!(c["redirect_uri"], env.redirect.as_str());
    assert_eq!(c["scopes"], serde_json::json!(["READ"]));
    assert_eq!(
        c["refresh_token"].as_str().unwrap(),
        env.provider.live_refresh_tokens()[0]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(env.home.profile_path("default"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paste_login_reads_the_url_the_browser_landed_on() {
    let env = Env::start(|_| {}).await;
    let (run, _) = env.login(&["--paste"], true, |l| l).await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains("Paste that page's full URL"),
        "{}",
        run.stderr
    );
    assert_eq!(env.credential()["grant"], "authorization_code");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_refreshes_rotate_the_single_use_refresh_token() {
    let env = Env::start(|_| {}).await;
    env.logged_in().await;
    let first = env.credential();
    for round in 1..=2 {
        let before = env.credential();
        let run = env.run(&["server", "refresh"], None);
        assert_eq!(run.code, 0, "{}", run.transcript());
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr
                .starts_with("Refreshed profile `default`: access token valid until "),
            "{}",
            run.stderr
        );
        assert!(run.stderr.ends_with("; the new refresh token is stored\n"));
        let after = env.credential();
        assert_ne!(
            after["refresh_token"], before["refresh_token"],
            "round {round}"
        );
        assert_ne!(after["access_token"], before["access_token"]);
        // The old one is dead, the new one the only live one.
        assert_eq!(
            env.provider.live_refresh_tokens(),
            [after["refresh_token"].as_str().unwrap()]
        );
        let raw = env.token_raw_bodies().await;
        assert_eq!(
            raw[round],
            format!(
                "grant_type=refresh_token&refresh_token={}&redirect_uri={}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}",
                before["refresh_token"].as_str().unwrap(),
                enc(&env.redirect)
            )
        );
    }
    assert_ne!(env.credential()["refresh_token"], first["refresh_token"]);
    assert!(
        !env.home
            .config_dir()
            .join("profiles/default.pending")
            .exists()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_prints_a_valid_token_renewing_only_when_it_expires_soon() {
    // Tokens of 2 minutes: less than the 5-minute margin, so the first `server token` renews.
    let env = Env::start(|c| c.access_lifetime = 120).await;
    env.logged_in().await;
    env.provider.set_access_lifetime(7200);
    let run = env.run(&["server", "token"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let token = env.credential()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(run.stdout, format!("{token}\n"));
    assert_eq!(
        run.stderr,
        "Renewed the access token of profile `default`\n"
    );
    assert_eq!(env.provider.token_requests(), 2);
    // Valid for two hours now: no request, the same token.
    let again = env.run(&["server", "token"], None);
    assert_eq!(
        (again.code, again.stdout.as_str(), again.stderr.as_str()),
        (0, run.stdout.as_str(), "")
    );
    assert_eq!(env.provider.token_requests(), 2);
    // And it works on the wire.
    let me = env.run(&["server", "request", "/rest/api/2/myself"], None);
    assert_eq!(me.code, 0, "{}", me.transcript());
    assert!(
        me.stdout.contains("\"name\":\"jsmith\"") || me.stdout.contains("\"name\": \"jsmith\""),
        "{}",
        me.stdout
    );
}

fn spawn(env: &Env, args: &[&str]) -> Child {
    let mut cmd = env.home.base_command();
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_token_processes_make_one_token_request() {
    let env = Env::start(|c| c.access_lifetime = 60).await;
    env.logged_in().await;
    env.provider.set_access_lifetime(7200);
    let before = env.provider.token_requests();
    let started = std::time::Instant::now();
    let children: Vec<Child> = (0..16).map(|_| spawn(&env, &["server", "token"])).collect();
    let outs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let elapsed = started.elapsed();
    assert_eq!(
        env.provider.token_requests() - before,
        1,
        "exactly one refresh"
    );
    println!("measured: 16 concurrent `server token` on an expiring token: {elapsed:?}, 1 refresh");
    let token = env.credential()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for out in outs {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{token}\n"));
    }
    assert_eq!(
        env.provider.live_refresh_tokens(),
        [env.credential()["refresh_token"].as_str().unwrap()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_login_and_checks_it() {
    let env = Env::start(|_| {}).await;
    env.logged_in().await;
    let run = env.run(&["server", "status", "--json"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let status: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(status["credential"]["kind"], "oauth2");
    assert_eq!(
        status["credential"]["oauth2"]["grant"],
        "authorization_code"
    );
    assert_eq!(status["credential"]["oauth2"]["client_id"], CLIENT_ID);
    assert_eq!(status["credential"]["oauth2"]["has_refresh_token"], true);
    assert_eq!(status["check"]["outcome"], "ok");
    assert!(!run.stdout.contains("dc-access-") && !run.stdout.contains(CLIENT_SECRET));
    let text = env.run(&["server", "status"], None);
    assert_eq!(text.code, 0, "{}", text.transcript());
    assert!(
        text.stdout
            .contains("  Credential:  OAuth 2.0 (authorization code with PKCE)\n"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains("  Refresh:     refresh token stored (single use)\n"),
        "{}",
        text.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_account_logs_in_and_is_re_minted_without_a_refresh_token() {
    let env = Env::start(|_| {}).await;
    let args = [
        "server",
        "login",
        "--client-credentials",
        "--url",
        env.url(),
        "--client-id",
        SERVICE_ACCOUNT_ID,
        "--scope",
        "WRITE",
    ];
    let run = env.run(&args, Some(SERVICE_ACCOUNT_SECRET));
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("with OAuth 2.0 service account (client credentials)"),
        "{}",
        run.stderr
    );
    let c = env.credential();
    assert_eq!(c["grant"], "client_credentials");
    assert!(c.get("refresh_token").is_none(), "{c}");
    let refresh = env.run(&["server", "refresh"], None);
    assert_eq!(refresh.code, 0, "{}", refresh.transcript());
    assert_ne!(env.credential()["access_token"], c["access_token"]);
    let expected = format!(
        "grant_type=client_credentials&scope=WRITE&client_id={SERVICE_ACCOUNT_ID}&client_secret={SERVICE_ACCOUNT_SECRET}"
    );
    assert_eq!(env.token_raw_bodies().await, [expected.clone(), expected]);
    let token = env.run(&["server", "token"], None);
    assert_eq!(
        token.stdout,
        format!("{}\n", env.credential()["access_token"].as_str().unwrap())
    );
    let status = env.run(&["server", "status", "--json"], None);
    assert_eq!(status.code, 0, "{}", status.transcript());
    assert!(
        status.stdout.contains("\"grant\": \"client_credentials\""),
        "{}",
        status.stdout
    );
}

/// The error line of a run (the first line of stderr that starts with `error:`).
fn error_line(run: &Run) -> &str {
    run.stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error in {}", run.transcript()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_secret_is_invalid_client_with_advice_exit_3() {
    let env = Env::start(|_| {}).await;
    let args = [
        "server",
        "login",
        "--client-credentials",
        "--url",
        env.url(),
        "--client-id",
        SERVICE_ACCOUNT_ID,
    ];
    let run = env.run(&args, Some("not-the-secret"));
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: Jira rejected the client (`invalid_client`: Client authentication failed): check `--client-id` and the client secret against the incoming application link (Administration → Applications → Application links → the link → Credentials); a regenerated secret replaces the old one"
    );
    assert!(!run.stderr.contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_application_link_is_not_a_service_account_exit_3() {
    let env = Env::start(|_| {}).await;
    let args = [
        "server",
        "login",
        "--client-credentials",
        "--url",
        env.url(),
        "--client-id",
        CLIENT_ID,
    ];
    let run = env.run(&args, Some(CLIENT_SECRET));
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: Jira refused the grant (`unauthorized_client`: The client is not a service account): this client is not a service account; in Jira create one (Administration → System → Service accounts) and use its client id and secret, or log in as a user with `--oauth2`"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reused_refresh_token_is_invalid_grant_exit_3_and_the_profile_is_kept() {
    let env = Env::start(|_| {}).await;
    env.logged_in().await;
    let old = env.home.profile_text("default");
    assert_eq!(env.run(&["server", "refresh"], None).code, 0);
    // Put the spent token back, as a restored backup would.
    std::fs::write(env.home.profile_path("default"), &old).unwrap();
    let run = env.run(&["server", "refresh"], None);
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: Jira refused the refresh token (`invalid_grant`: Invalid refresh token): a Data Center refresh token works once and was already used, or it expired or was revoked; run `jira-auth server login --oauth2` again"
    );
    assert_eq!(
        env.home.profile_text("default"),
        old,
        "nothing is lost or rewritten"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_code_spent_elsewhere_is_invalid_grant_exit_3() {
    let env = Env::start(|_| {}).await;
    let token_url = format!("{}/rest/oauth2/latest/token", env.jira.url());
    let (run, _) = env
        .login(&["--paste"], true, |location| {
            // Someone redeems the code first (with the wrong verifier): it is spent.
            let code = url::Url::parse(&location)
                .unwrap()
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            let body = format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}",
                enc(&env.redirect),
                "x".repeat(43)
            );
            let status = post_form(&token_url, &body);
            assert_eq!(status, 400, "a wrong verifier is refused");
            location
        })
        .await;
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: Jira refused the authorization code (`invalid_grant`: Authorization code has expired or was already used): a code works once, only with the redirect URI and PKCE verifier of the login that asked for it, and only for a few minutes; run the login again, with `--redirect-uri` exactly as the application link's Redirect URL"
    );
    assert!(!env.home.profile_path("default").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_the_link_does_not_allow_is_invalid_scope_exit_3() {
    let env = Env::start(|_| {}).await;
    let (run, _) = env.login(&["--scope", "ADMIN"], false, |l| l).await;
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: the login ended in the browser with `invalid_scope`: The requested scope is not allowed for this client: the valid Jira Data Center scopes are READ, WRITE, ADMIN and SYSTEM_ADMIN, and the application link must allow the one asked for"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_scope_from_the_token_endpoint_names_the_valid_scopes_exit_2() {
    let env = Env::start(|_| {}).await;
    Mock::given(matchers::method("POST"))
        .and(matchers::path("/jira/rest/oauth2/latest/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "error": "invalid_scope",
            "error_description": "Scope WRITE is not allowed for this service account"
        })))
        .with_priority(1)
        .mount(env.jira.mock_server())
        .await;
    let args = [
        "server",
        "login",
        "--client-credentials",
        "--url",
        env.url(),
        "--client-id",
        SERVICE_ACCOUNT_ID,
        "--scope",
        "WRITE",
    ];
    let run = env.run(&args, Some(SERVICE_ACCOUNT_SECRET));
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: Jira refused the scope (`invalid_scope`: Scope WRITE is not allowed for this service account): the valid Jira Data Center scopes are READ, WRITE, ADMIN and SYSTEM_ADMIN (a service account: READ and WRITE), and the application link must allow the one asked for; pass `--scope` with one of them"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scopes_are_checked_before_anything_is_sent_exit_2() {
    let env = Env::start(|_| {}).await;
    let run = env.run(
        &[
            "server",
            "login",
            "--client-credentials",
            "--url",
            env.url(),
            "--client-id",
            SERVICE_ACCOUNT_ID,
            "--scope",
            "ADMIN",
        ],
        Some(SERVICE_ACCOUNT_SECRET),
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: `ADMIN` is not a Jira Data Center service account scope: use READ, WRITE (each includes the ones before it; a read-only connector needs READ)"
    );
    let run = env.run(
        &env.login_args(&["--scope", "read:jira-work"]),
        Some(CLIENT_SECRET),
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: `read:jira-work` is not a Jira Data Center scope: use READ, WRITE, ADMIN, SYSTEM_ADMIN (each includes the ones before it; a read-only connector needs READ)"
    );
    assert_eq!(env.provider.token_requests(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jira_without_oauth2_is_a_404_with_advice_exit_2() {
    let jira = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let mut cmd = home.base_command();
    cmd.env("JIRA_AUTH_CLIENT_SECRET", SERVICE_ACCOUNT_SECRET);
    let run = context::run_with(
        cmd,
        &[
            "server",
            "login",
            "--client-credentials",
            "--url",
            &jira.url(),
            "--client-id",
            SERVICE_ACCOUNT_ID,
        ],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        format!(
            "error: {}/rest/oauth2/latest/token answered 404: OAuth 2.0 is not enabled on this Jira; it needs Jira Data Center 8.22 or later with an incoming application link (Administration → Applications → Application links → Create link → External application → Incoming); check `--url` too (include the context path, e.g. `https://host/jira`)",
            jira.url()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn token_on_a_pat_login_and_a_missing_client_id_are_usage_errors() {
    let env = Env::start(|_| {}).await;
    let mut cmd = env.home.base_command();
    cmd.env("JIRA_AUTH_PAT", env.jira.pat().unwrap());
    let run = context::run_with(cmd, &["server", "login", "--url", env.url(), "--pat"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let run = env.run(&["server", "token"], None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: profile `default` holds a personal access token login, not OAuth 2.0: `jira-auth server token` and `server refresh` need `jira-auth server login --oauth2` or `--client-credentials`"
    );
    let run = env.run(
        &["server", "login", "--oauth2", "--url", env.url()],
        Some(CLIENT_SECRET),
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        error_line(&run)
            .starts_with("error: no client id: pass `--client-id` or set `JIRA_AUTH_CLIENT_ID`"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_denied_consent_exits_3() {
    let env = Env::start(|c| c.deny = true).await;
    let (run, _) = env.login(&[], false, |l| l).await;
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: the login ended in the browser with `access_denied`: run the login again and choose Allow"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_url_of_another_login_is_a_state_mismatch_exit_3() {
    let env = Env::start(|_| {}).await;
    let (run, _) = env
        .login(&["--paste"], true, |l| {
            let mut u = url::Url::parse(&l).unwrap();
            let code: String = u
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            u.set_query(Some(&format!("code={code}&state=someone-elses")));
            u.to_string()
        })
        .await;
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert_eq!(
        error_line(&run),
        "error: the `state` in the pasted URL does not match this login: paste the URL of the browser tab opened by this run, not an older one"
    );
    assert_eq!(env.provider.token_requests(), 0, "no code exchange");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_killed_after_the_write_ahead_record_is_recovered_without_a_request() {
    let env = Env::start(|_| {}).await;
    env.logged_in().await;
    let before = env.credential();
    let mut cmd = env.home.base_command();
    cmd.args(["server", "refresh"])
        .env("JIRA_AUTH_TEST_PAUSE_AT", "pending-written")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert_eq!(line, "jira-auth: paused at pending-written\n");
    // Killed after Jira rotated the token and the record was written, before the profile was.
    child.kill().unwrap();
    child.wait().unwrap();
    let pending = env.home.config_dir().join("profiles/default.pending");
    assert!(pending.exists());
    assert_eq!(
        env.credential(),
        before,
        "the profile still holds the spent token"
    );
    let live = env.provider.live_refresh_tokens();
    assert_ne!(live, [before["refresh_token"].as_str().unwrap()]);
    let requests = env.provider.token_requests();
    // The next command applies the record: the new token, no request, nothing lost.
    let run = env.run(&["server", "token"], None);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(env.provider.token_requests(), requests);
    let after = env.credential();
    assert_eq!(after["refresh_token"].as_str().unwrap(), live[0]);
    assert_eq!(
        run.stdout,
        format!("{}\n", after["access_token"].as_str().unwrap())
    );
    assert!(!pending.exists());
}
