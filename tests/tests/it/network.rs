//! Enterprise networks through the real binary: private CAs (`--ca-file`, `SSL_CERT_FILE`),
//! expired certificates and certificates for another name, mutual TLS, `HTTPS_PROXY`/`NO_PROXY`,
//! and plain http refused. The TLS server and the proxy are real (`jira_auth_test::tls`), in
//! front of the fake Jira Server, and of the fake Atlassian for the Cloud token endpoint and
//! `cloud serve`'s outbound calls.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::CloudEnv;
use jira_auth_test::cloud::service_account::ACME_CLOUD_ID;
use jira_auth_test::cloud::{FakeConfig, SA_CLIENT_ID, SA_CLIENT_SECRET};
use jira_auth_test::context::{self, Run, Running, TestContext};
use jira_auth_test::dc_oauth2::{
    DcOAuth2Config, FakeDcOAuth2, SERVICE_ACCOUNT_ID, SERVICE_ACCOUNT_SECRET,
};
use jira_auth_test::server::{FakeJiraServer, FakeJiraServerConfig};
use jira_auth_test::tls::{
    ConnectProxy, OTHER_HOST, PROXIED_HOST, Pki, TlsFront, TlsOptions, Tunnel,
};
use std::process::Command;

const PROXY_PASSWORD: &str = "proxy-pw-0123456789";

/// The binary with the PAT; the context's cleared environment has no proxy or trust store
/// variables from the machine.
fn cmd(home: &TestContext, fake: &FakeJiraServer) -> Command {
    let mut cmd = home.base_command();
    cmd.env("JIRA_AUTH_PAT", fake.pat().unwrap());
    cmd
}

async fn fake_behind_tls(pki: &Pki, options: TlsOptions) -> (FakeJiraServer, TlsFront) {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let front = TlsFront::start(pki, *fake.mock_server().address(), options).await;
    (fake, front)
}

fn login(cmd: Command, url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["server", "login", "--url", url, "--pat"];
    args.extend_from_slice(extra);
    context::run_with(cmd, &args, None)
}

fn myself(cmd: Command, extra: &[&str]) -> Run {
    let mut args = vec!["server", "request", "/rest/api/2/myself"];
    args.extend_from_slice(extra);
    context::run_with(cmd, &args, None)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_ca_is_named_then_ca_file_works_and_is_remembered() {
    let pki = Pki::new();
    let (fake, front) = fake_behind_tls(&pki, TlsOptions::default()).await;
    let home = TestContext::new();
    let port = front.port();

    let untrusted = login(cmd(&home, &fake), &front.url(), &[]);
    assert_eq!(untrusted.code, 4, "{}", untrusted.transcript());
    assert_eq!(
        untrusted.stderr,
        format!(
            "error: TLS with localhost:{port} failed: its certificate was issued by a certificate authority this machine does not trust (unknown issuer); if the server's certificate comes from your organisation's own CA (or a TLS-inspecting proxy), pass that CA's certificate in PEM with `--ca-file PATH` or `JIRA_AUTH_CA_FILE`, or add it to this machine's trust store (see docs/network.md)\n"
        )
    );
    assert!(!home.profile_path("default").exists());
    // A refused certificate fails the same way on every attempt: it is not retried.
    assert_eq!(front.handshakes().len(), 1, "{:?}", front.handshakes());

    let ca = pki.ca_file();
    let trusted = login(
        cmd(&home, &fake),
        &front.url(),
        &["--ca-file", ca.to_str().unwrap()],
    );
    assert_eq!(trusted.code, 0, "{}", trusted.transcript());
    let profile: serde_json::Value = serde_json::from_str(&home.profile_text("default")).unwrap();
    assert_eq!(
        profile["network"],
        serde_json::json!({"ca_file": ca.to_str().unwrap()}),
        "the path is remembered, never the certificate"
    );

    // Later commands on the profile use the remembered CA without the flag.
    let request = myself(cmd(&home, &fake), &[]);
    assert_eq!(request.code, 0, "{}", request.transcript());
    assert!(
        request.stdout.contains("\"name\""),
        "{}",
        request.transcript()
    );

    // The environment overrides what the profile remembers.
    let mut overridden = cmd(&home, &fake);
    overridden.env("JIRA_AUTH_CA_FILE", home.home().join("missing.pem"));
    let missing = myself(overridden, &[]);
    assert_eq!(missing.code, 2, "{}", missing.transcript());
    assert_eq!(
        missing.stderr,
        format!(
            "error: cannot use the CA file `{}` (`--ca-file` / `JIRA_AUTH_CA_FILE`): No such file or directory (os error 2)\n",
            home.home().join("missing.pem").display()
        )
    );

    // Logging out forgets the remembered paths with the login.
    let logout = context::run_with(cmd(&home, &fake), &["server", "logout"], None);
    assert_eq!(logout.code, 0, "{}", logout.transcript());
    assert!(!home.profile_path("default").exists());
    assert!(front.handshakes().iter().any(Result::is_ok));
}

#[tokio::test(flavor = "multi_thread")]
async fn ssl_cert_file_is_honoured_and_a_wrong_one_is_named() {
    let pki = Pki::new();
    let (fake, front) = fake_behind_tls(&pki, TlsOptions::default()).await;
    let home = TestContext::new();

    let mut with_env = cmd(&home, &fake);
    with_env.env("SSL_CERT_FILE", pki.ca_file());
    let trusted = login(with_env, &front.url(), &[]);
    assert_eq!(trusted.code, 0, "{}", trusted.transcript());
    // SSL_CERT_FILE is the machine's trust store, not a path a profile remembers.
    let profile: serde_json::Value = serde_json::from_str(&home.profile_text("default")).unwrap();
    assert!(profile.get("network").is_none(), "{profile}");

    let mut wrong = cmd(&home, &fake);
    wrong.env("SSL_CERT_FILE", "/nonexistent/ca-bundle.pem");
    let refused = login(wrong, &front.url(), &[]);
    assert_eq!(refused.code, 2, "{}", refused.transcript());
    assert_eq!(
        refused.stderr,
        "error: `SSL_CERT_FILE` is set to `/nonexistent/ca-bundle.pem`, which cannot be used (No such file or directory (os error 2)): fix or unset it\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_says_so() {
    let pki = Pki::new();
    let options = TlsOptions {
        expired: true,
        ..TlsOptions::default()
    };
    let (fake, front) = fake_behind_tls(&pki, options).await;
    let home = TestContext::new();
    let ca = pki.ca_file();
    let run = login(
        cmd(&home, &fake),
        &front.url(),
        &["--ca-file", ca.to_str().unwrap()],
    );
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        format!(
            "error: TLS with localhost:{} failed: its certificate has expired; ask the server's administrators to renew it; check this machine's clock too (see docs/network.md)\n",
            front.port()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_works_with_the_client_certificate_and_fails_clearly_without() {
    let pki = Pki::new();
    let options = TlsOptions {
        require_client_cert: true,
        ..TlsOptions::default()
    };
    let (fake, front) = fake_behind_tls(&pki, options).await;
    let home = TestContext::new();
    let ca = pki.ca_file();
    let ca = ca.to_str().unwrap();

    let without = login(cmd(&home, &fake), &front.url(), &["--ca-file", ca]);
    assert_eq!(without.code, 4, "{}", without.transcript());
    assert_eq!(
        without.stderr,
        format!(
            "error: TLS with localhost:{} failed: the server requires a client certificate; pass yours with `--client-cert PATH --client-key PATH` (`JIRA_AUTH_CLIENT_CERT`, `JIRA_AUTH_CLIENT_KEY`) (see docs/network.md)\n",
            front.port()
        )
    );

    let (cert, key) = pki.client_cert("connector");
    let mut with_env = cmd(&home, &fake);
    with_env
        .env("JIRA_AUTH_CLIENT_CERT", &cert)
        .env("JIRA_AUTH_CLIENT_KEY", &key);
    let with = login(with_env, &front.url(), &["--ca-file", ca]);
    assert_eq!(with.code, 0, "{}", with.transcript());
    let profile: serde_json::Value = serde_json::from_str(&home.profile_text("default")).unwrap();
    assert_eq!(
        profile["network"]["client_cert"],
        serde_json::json!({"cert": cert.to_str().unwrap(), "key": key.to_str().unwrap()})
    );
    let text = home.profile_text("default");
    assert!(
        !text.contains("PRIVATE KEY") && !text.contains("BEGIN"),
        "{text}"
    );

    // Remembered: the next command presents the certificate without being told.
    let request = myself(cmd(&home, &fake), &[]);
    assert_eq!(request.code, 0, "{}", request.transcript());

    // A key that group or others may read is refused by name before any connection.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let handshakes = front.handshakes().len();
        let open = myself(cmd(&home, &fake), &[]);
        assert_eq!(open.code, 2, "{}", open.transcript());
        assert_eq!(
            open.stderr,
            format!(
                "error: the client key `{k}` is accessible to group or others (mode 644); refusing to use it: run `chmod 600 {k}`\n",
                k = key.display()
            )
        );
        assert_eq!(front.handshakes().len(), handshakes);
    }

    // One flag without the other is a usage error.
    let half = context::run_with(
        cmd(&home, &fake),
        &[
            "server",
            "request",
            "/x",
            "--client-cert",
            cert.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(half.code, 2, "{}", half.transcript());
    assert!(
        half.stderr.contains("--client-key <PATH>"),
        "{}",
        half.transcript()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn https_proxy_carries_the_request_through_its_tunnel_with_credentials_masked() {
    let pki = Pki::new();
    let (fake, front) = fake_behind_tls(&pki, TlsOptions::default()).await;
    let ca = pki.ca_file();
    // Only the proxy can reach this name (`.test` never resolves), so success proves the tunnel.
    let url = format!("https://{PROXIED_HOST}:{}", front.port());
    for var in ["HTTPS_PROXY", "https_proxy", "ALL_PROXY"] {
        let proxy = ConnectProxy::start().await;
        let home = TestContext::new();
        let mut through = cmd(&home, &fake);
        through.env(var, proxy.url_with_credentials("connector", PROXY_PASSWORD));
        let run = login(through, &url, &["--ca-file", ca.to_str().unwrap(), "-v"]);
        assert_eq!(run.code, 0, "{var}: {}", run.transcript());
        assert_eq!(
            proxy.tunnels(),
            vec![Tunnel {
                target: format!("{PROXIED_HOST}:{}", front.port()),
                authorization: Some("Basic Y29ubmVjdG9yOnByb3h5LXB3LTAxMjM0NTY3ODk=".into()),
            }],
            "{var}"
        );
        let via = format!(
            "GET {url}/rest/api/2/myself via proxy http://****:****@{}/",
            proxy.url().trim_start_matches("http://")
        );
        assert!(run.stderr.contains(&via), "{var}: {}", run.transcript());
        assert!(!run.stderr.contains(PROXY_PASSWORD), "{}", run.transcript());
    }

    // A proxy that is not there: the error names the URL, never the proxy's password.
    let home = TestContext::new();
    let mut dead = cmd(&home, &fake);
    dead.env(
        "HTTPS_PROXY",
        format!("http://connector:{PROXY_PASSWORD}@127.0.0.1:9"),
    );
    let run = login(dead, &url, &["--ca-file", ca.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert!(!run.stderr.contains(PROXY_PASSWORD), "{}", run.transcript());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_bypasses_the_proxy() {
    let pki = Pki::new();
    let (fake, front) = fake_behind_tls(&pki, TlsOptions::default()).await;
    let ca = pki.ca_file();
    let ca = ca.to_str().unwrap();

    // Loopback is not exempt by default: without NO_PROXY even localhost goes through the proxy,
    // so the bypass below is NO_PROXY's doing.
    for (no_proxy, tunnelled) in [
        (None, true),
        (Some(("NO_PROXY", "localhost")), false),
        (Some(("no_proxy", "example.com,localhost")), false),
    ] {
        let proxy = ConnectProxy::start().await;
        let home = TestContext::new();
        let mut c = cmd(&home, &fake);
        c.env("HTTPS_PROXY", proxy.url());
        if let Some((var, value)) = no_proxy {
            c.env(var, value);
        }
        let run = login(c, &front.url(), &["--ca-file", ca]);
        assert_eq!(run.code, 0, "{no_proxy:?}: {}", run.transcript());
        let expected: Vec<String> = if tunnelled {
            vec![format!("localhost:{}", front.port())]
        } else {
            Vec::new()
        };
        let seen: Vec<String> = proxy.tunnels().into_iter().map(|t| t.target).collect();
        assert_eq!(seen, expected, "{no_proxy:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn plain_http_to_another_host_is_refused_before_any_connection() {
    let fake = FakeJiraServer::start(FakeJiraServerConfig::default()).await;
    let home = TestContext::new();
    let refused_text = |url: &str| {
        format!(
            "error: refusing to send a request to `{url}` over plain http: credentials would cross the network in clear text; use `https://` (and `--ca-file` if example.invalid has a private CA), or pass `--allow-insecure-http` (`JIRA_AUTH_ALLOW_INSECURE_HTTP=1`) if you accept that risk (see docs/network.md)\n"
        )
    };
    let server = login(cmd(&home, &fake), "http://example.invalid/jira", &[]);
    assert_eq!(server.code, 2, "{}", server.transcript());
    assert_eq!(server.stderr, refused_text("http://example.invalid/jira"));

    let mut audit = cmd(&home, &fake);
    audit.env("JIRA_AUTH_API_TOKEN", "api-token-0123456789");
    let audit = context::run_with(
        audit,
        &[
            "audit",
            "--url",
            "http://example.invalid",
            "--email",
            "bot@example.com",
        ],
        None,
    );
    assert_eq!(audit.code, 2, "{}", audit.transcript());
    assert_eq!(audit.stderr, refused_text("http://example.invalid/"));

    let mut cloud = cmd(&home, &fake);
    cloud.env("JIRA_AUTH_CLIENT_SECRET", "client-secret-0123456789");
    let cloud = context::run_with(
        cloud,
        &[
            "cloud",
            "login",
            "--client-id",
            "id",
            "--no-browser",
            "--scope",
            "read:jira-work",
            "--auth-url",
            "http://example.invalid",
            "--api-url",
            "https://api.example.invalid",
        ],
        None,
    );
    assert_eq!(cloud.code, 2, "{}", cloud.transcript());
    assert_eq!(cloud.stderr, refused_text("http://example.invalid/"));

    // `cloud serve` refuses to start: no consent is given for an exchange it would refuse.
    let mut serve = cmd(&home, &fake);
    serve
        .env("JIRA_AUTH_CLIENT_SECRET", "client-secret-0123456789")
        .env(
            "JIRA_AUTH_COOKIE_KEY",
            "0123456789abcdef0123456789abcdef-key",
        );
    let serve = context::run_with(
        serve,
        &[
            "cloud",
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "https://jira-auth.example.com",
            "--client-id",
            "id",
            "--scope",
            "read:jira-work",
            "--auth-url",
            "https://auth.example.invalid",
            "--api-url",
            "http://example.invalid",
        ],
        None,
    );
    assert_eq!(serve.code, 2, "{}", serve.transcript());
    assert_eq!(serve.stderr, refused_text("http://example.invalid/"));

    // Allowed: one warning, then the request is tried (and `.invalid` does not resolve).
    let mut allowed = cmd(&home, &fake);
    allowed.env("JIRA_AUTH_ALLOW_INSECURE_HTTP", "1");
    let run = login(allowed, "http://example.invalid/jira", &[]);
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert_eq!(
        run.stderr
            .matches("WARN sending requests to example.invalid over plain http (`--allow-insecure-http`): credentials cross the network in clear text")
            .count(),
        1,
        "{}",
        run.transcript()
    );
    assert!(
        run.stderr
            .contains("could not connect to http://example.invalid/jira/rest/api/2/myself"),
        "{}",
        run.transcript()
    );
    assert!(!home.profile_path("default").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_for_another_name_says_which_names_it_has() {
    let pki = Pki::new();
    let options = TlsOptions {
        other_name: true,
        ..TlsOptions::default()
    };
    let (fake, front) = fake_behind_tls(&pki, options).await;
    let home = TestContext::new();
    let ca = pki.ca_file();
    let run = login(
        cmd(&home, &fake),
        &front.url(),
        &["--ca-file", ca.to_str().unwrap()],
    );
    assert_eq!(run.code, 4, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        format!(
            "error: TLS with localhost:{} failed: its certificate is not valid for this host name (name mismatch: it names {OTHER_HOST}); use the host name the certificate was issued for in the URL (see docs/network.md)\n",
            front.port()
        )
    );
    assert!(!home.profile_path("default").exists());
}

// Jira Cloud: the fake Atlassian's authorization server (token endpoint) and API gateway each
// behind a real TLS server with the test CA.

struct CloudTls {
    env: CloudEnv,
    auth: TlsFront,
    api: TlsFront,
}

impl CloudTls {
    async fn start(pki: &Pki, auth_options: TlsOptions) -> Self {
        let env = CloudEnv::start(FakeConfig::default()).await;
        let auth = TlsFront::start(pki, *env.fake.auth.address(), auth_options).await;
        let api = TlsFront::start(pki, *env.fake.api.address(), TlsOptions::default()).await;
        Self { env, auth, api }
    }

    /// The binary pointed at the fronts, reached as `host`.
    fn command(&self, host: &str, args: &[&str]) -> Command {
        let mut cmd = self.env.command(args);
        cmd.env(
            "JIRA_AUTH_AUTH_URL",
            format!("https://{host}:{}", self.auth.port()),
        )
        .env(
            "JIRA_AUTH_API_URL",
            format!("https://{host}:{}", self.api.port()),
        );
        cmd
    }

    /// `cloud login --paste`: the user accepts on the consent page and pastes where the browser
    /// landed.
    async fn paste_login(&self, cmd: Command) -> Run {
        let mut running = Running::start(cmd);
        // Bounded: the binary prints the URL at once or fails.
        if let Some(url) = running.wait_for_line(
            |l| l.starts_with("http"),
            std::time::Duration::from_secs(20),
        ) {
            let landed = self.env.fake.consent(&url).unwrap();
            running.write_line(&landed);
        }
        running.finish().await
    }

    fn profile(&self) -> serde_json::Value {
        self.env.profile("default")
    }
}

const PASTE_LOGIN: &[&str] = &[
    "cloud",
    "login",
    "--no-browser",
    "--paste",
    "--scope",
    "read:jira-work",
];

#[tokio::test(flavor = "multi_thread")]
async fn cloud_token_calls_trust_the_ca_file_and_the_profile_remembers_it() {
    let pki = Pki::new();
    let cloud = CloudTls::start(&pki, TlsOptions::default()).await;
    let ca = pki.ca_file();
    let untrusted_text = |port: u16| {
        format!(
            "error: TLS with localhost:{port} failed: its certificate was issued by a certificate authority this machine does not trust (unknown issuer); if the server's certificate comes from your organisation's own CA (or a TLS-inspecting proxy), pass that CA's certificate in PEM with `--ca-file PATH` or `JIRA_AUTH_CA_FILE`, or add it to this machine's trust store (see docs/network.md)\n"
        )
    };

    // The consent works in the browser; the code exchange then fails on the private CA.
    let untrusted = cloud
        .paste_login(cloud.command("localhost", PASTE_LOGIN))
        .await;
    assert_eq!(untrusted.code, 4, "{}", untrusted.transcript());
    assert!(
        untrusted
            .stderr
            .ends_with(&untrusted_text(cloud.auth.port())),
        "{}",
        untrusted.transcript()
    );
    assert!(cloud.env.fake.token_requests().await.is_empty());
    assert_eq!(cloud.auth.handshakes().len(), 1, "not retried");
    assert!(
        !cloud
            .env
            .config_dir()
            .join("profiles/default.json")
            .exists()
    );

    let mut trusted = cloud.command("localhost", PASTE_LOGIN);
    trusted.env("JIRA_AUTH_CA_FILE", &ca);
    let login = cloud.paste_login(trusted).await;
    assert_eq!(login.code, 0, "{}", login.transcript());
    let profile = cloud.profile();
    assert_eq!(
        profile["network"],
        serde_json::json!({"ca_file": ca.to_str().unwrap()}),
        "{profile}"
    );
    assert_eq!(cloud.env.fake.token_requests().await.len(), 1);
    assert_eq!(cloud.env.fake.api_requests().await.len(), 1);

    // `cloud refresh` reaches the token endpoint with the remembered CA, no flag needed.
    let refresh = context::run(cloud.command("localhost", &["cloud", "refresh"]), None);
    assert_eq!(refresh.code, 0, "{}", refresh.transcript());
    assert_eq!(cloud.env.fake.token_requests().await.len(), 2);

    // Without it, the refresh fails clearly and the stored refresh token stays.
    let path = cloud.env.config_dir().join("profiles/default.json");
    let mut forgotten = cloud.profile();
    forgotten.as_object_mut().unwrap().remove("network");
    std::fs::write(&path, serde_json::to_vec_pretty(&forgotten).unwrap()).unwrap();
    let failed = context::run(cloud.command("localhost", &["cloud", "refresh"]), None);
    assert_eq!(failed.code, 4, "{}", failed.transcript());
    assert!(
        failed.stderr.ends_with(&untrusted_text(cloud.auth.port())),
        "{}",
        failed.transcript()
    );
    assert_eq!(cloud.profile()["cloud"], forgotten["cloud"]);
    assert_eq!(cloud.env.fake.token_requests().await.len(), 2);

    // The flag alone is enough again.
    let flagged = context::run(
        cloud.command(
            "localhost",
            &["cloud", "refresh", "--ca-file", ca.to_str().unwrap()],
        ),
        None,
    );
    assert_eq!(flagged.code, 0, "{}", flagged.transcript());
    assert_eq!(cloud.env.fake.token_requests().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_token_calls_go_through_the_https_proxy() {
    let pki = Pki::new();
    let cloud = CloudTls::start(&pki, TlsOptions::default()).await;
    let proxy = ConnectProxy::start().await;
    let ca = pki.ca_file();
    let through = |args: &[&str]| {
        let mut cmd = cloud.command(PROXIED_HOST, args);
        cmd.env(
            "HTTPS_PROXY",
            proxy.url_with_credentials("connector", PROXY_PASSWORD),
        )
        .env("JIRA_AUTH_CA_FILE", &ca);
        cmd
    };
    let mut args = PASTE_LOGIN.to_vec();
    args.push("-v");
    let login = cloud.paste_login(through(&args)).await;
    assert_eq!(login.code, 0, "{}", login.transcript());
    let (auth, api) = (
        format!("{PROXIED_HOST}:{}", cloud.auth.port()),
        format!("{PROXIED_HOST}:{}", cloud.api.port()),
    );
    let targets = |proxy: &ConnectProxy| -> Vec<String> {
        proxy.tunnels().into_iter().map(|t| t.target).collect()
    };
    assert_eq!(targets(&proxy), [auth.clone(), api.clone()]);
    let via = format!(
        "POST https://{auth}/oauth/token via proxy http://****:****@{}/",
        proxy.url().trim_start_matches("http://")
    );
    assert!(login.stderr.contains(&via), "{}", login.transcript());
    assert!(
        !login.stderr.contains(PROXY_PASSWORD),
        "{}",
        login.transcript()
    );

    let refresh = context::run(through(&["cloud", "refresh"]), None);
    assert_eq!(refresh.code, 0, "{}", refresh.transcript());
    assert_eq!(targets(&proxy), [auth.clone(), api, auth]);
    assert_eq!(cloud.env.fake.token_requests().await.len(), 2);
}

/// `cloud serve` in the container way (environment only) over `cloud`'s fronts, reached
/// through `proxy`; returns the service, its stderr lines and its public URL.
async fn serve(
    cloud: &CloudTls,
    proxy: &ConnectProxy,
    network: &[(&str, &std::path::Path)],
) -> (
    tokio::process::Child,
    tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStderr>>,
    String,
) {
    use tokio::io::AsyncBufReadExt as _;
    let listen = format!("127.0.0.1:{}", context::free_port());
    let public = format!("http://{listen}");
    let mut cmd = tokio::process::Command::from(cloud.command(PROXIED_HOST, &["cloud", "serve"]));
    cmd.env("JIRA_AUTH_LISTEN", &listen)
        .env("JIRA_AUTH_PUBLIC_URL", &public)
        .env("JIRA_AUTH_SCOPES", "read:jira-work")
        .env(
            "JIRA_AUTH_COOKIE_KEY",
            "0123456789abcdef0123456789abcdef-test-key",
        )
        .env("JIRA_AUTH_ALLOW_SITES", "acme")
        .env("HTTPS_PROXY", proxy.url())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (var, path) in network {
        cmd.env(var, path);
    }
    let mut service = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(service.stderr.take().unwrap()).lines();
    // Bounded: the service says where it serves at once, or fails.
    let serving = format!("Serving on {public} ");
    loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("the service ended before serving");
        if line.starts_with(&serving) {
            break;
        }
    }
    (service, lines, public)
}

/// A browser with a cookie jar: starts the consent, accepts it, comes back to the service.
async fn consent_through(cloud: &CloudTls, public: &str) -> (u16, String) {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let start = browser
        .get(format!("{public}/initiate-oauth"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 302);
    let authorize = start.headers()["location"].to_str().unwrap().to_owned();
    let callback = cloud.env.fake.consent(&authorize).unwrap();
    // While the exchange runs the service answers a page that reloads itself, after waiting
    // up to 2 s for the outcome each time: reload it as the browser would, a bounded number of
    // times.
    for _ in 0..30 {
        let page = browser.get(&callback).send().await.unwrap();
        let status = page.status().as_u16();
        let text = page.text().await.unwrap();
        if !text.contains("<meta http-equiv=\"refresh\"") {
            return (status, text);
        }
    }
    panic!("the consent did not finish within 30 reloads");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_serve_exchanges_through_the_proxy_with_the_private_ca_and_client_certificate() {
    let pki = Pki::new();
    let mtls = TlsOptions {
        require_client_cert: true,
        ..TlsOptions::default()
    };
    let cloud = CloudTls::start(&pki, mtls).await;
    let (ca, (cert, key)) = (pki.ca_file(), pki.client_cert("service"));
    let auth = format!("{PROXIED_HOST}:{}", cloud.auth.port());

    // Without the CA: the consent page says Atlassian was not reached, the log says why.
    let proxy = ConnectProxy::start().await;
    let (mut service, mut log, public) = serve(&cloud, &proxy, &[]).await;
    let (status, page) = consent_through(&cloud, &public).await;
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("Atlassian could not be reached"), "{page}");
    let line = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), log.next_line())
            .await
            .unwrap()
            .unwrap()
            .expect("the service ended without logging the failure");
        if line.contains("consent failed") {
            break line;
        }
    };
    assert!(
        line.ends_with(&format!("consent failed: TLS with {auth} failed: its certificate was issued by a certificate authority this machine does not trust (unknown issuer); if the server's certificate comes from your organisation's own CA (or a TLS-inspecting proxy), pass that CA's certificate in PEM with `--ca-file PATH` or `JIRA_AUTH_CA_FILE`, or add it to this machine's trust store (see docs/network.md)")),
        "{line}"
    );
    assert_eq!(
        proxy
            .tunnels()
            .into_iter()
            .map(|t| t.target)
            .collect::<Vec<_>>(),
        std::slice::from_ref(&auth),
        "one attempt: a refused certificate is not retried"
    );
    service.kill().await.unwrap();
    assert!(
        !cloud
            .env
            .config_dir()
            .join("profiles/default.json")
            .exists()
    );

    // With the CA and the client certificate: the exchange and accessible-resources go through
    // the proxy, and the profile remembers the paths.
    let proxy = ConnectProxy::start().await;
    let (mut service, _log, public) = serve(
        &cloud,
        &proxy,
        &[
            ("JIRA_AUTH_CA_FILE", &ca),
            ("JIRA_AUTH_CLIENT_CERT", &cert),
            ("JIRA_AUTH_CLIENT_KEY", &key),
        ],
    )
    .await;
    let (status, page) = consent_through(&cloud, &public).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("acme"), "{page}");
    assert_eq!(
        proxy
            .tunnels()
            .into_iter()
            .map(|t| t.target)
            .collect::<Vec<_>>(),
        [auth, format!("{PROXIED_HOST}:{}", cloud.api.port())]
    );
    service.kill().await.unwrap();
    let text =
        std::fs::read_to_string(cloud.env.config_dir().join("profiles/default.json")).unwrap();
    let profile: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        profile["network"],
        serde_json::json!({
            "ca_file": ca.to_str().unwrap(),
            "client_cert": {"cert": cert.to_str().unwrap(), "key": key.to_str().unwrap()},
        }),
        "{text}"
    );
    assert!(
        !text.contains("BEGIN"),
        "paths, never the files' contents: {text}"
    );

    // The CLI on the same profile reaches the token endpoint the same way, told only the proxy.
    let mut refresh = cloud.command(PROXIED_HOST, &["cloud", "refresh"]);
    refresh.env("HTTPS_PROXY", proxy.url());
    let refresh = context::run(refresh, None);
    assert_eq!(refresh.code, 0, "{}", refresh.transcript());
    assert_eq!(cloud.env.fake.token_requests().await.len(), 2);
    assert_eq!(proxy.tunnels().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cloud_service_account_login_remembers_the_ca_for_cloud_token() {
    let pki = Pki::new();
    let cloud = CloudTls::start(&pki, TlsOptions::default()).await;
    let ca = pki.ca_file();
    let service_account = |args: &[&str]| {
        let mut cmd = cloud.command("localhost", args);
        cmd.env("JIRA_AUTH_CLIENT_ID", SA_CLIENT_ID)
            .env("JIRA_AUTH_CLIENT_SECRET", SA_CLIENT_SECRET);
        cmd
    };
    let mut login = service_account(&[
        "cloud",
        "login",
        "--client-credentials",
        "--site",
        ACME_CLOUD_ID,
    ]);
    login.env("JIRA_AUTH_CA_FILE", &ca);
    let login = context::run(login, None);
    assert_eq!(login.code, 0, "{}", login.transcript());
    assert_eq!(
        cloud.profile()["network"],
        serde_json::json!({"ca_file": ca.to_str().unwrap()})
    );

    // An expired access token is minted again through the remembered CA, no flag needed.
    cloud.env.edit_profile("default", |c| {
        c["access_expires_at"] = serde_json::json!(context::now() - 10)
    });
    let token = context::run(service_account(&["cloud", "token"]), None);
    assert_eq!(token.code, 0, "{}", token.transcript());
    assert_eq!(cloud.env.fake.token_requests().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn data_center_token_renewal_uses_the_remembered_ca() {
    let pki = Pki::new();
    let jira = FakeJiraServer::start(FakeJiraServerConfig {
        context_path: "/jira".into(),
        ..Default::default()
    })
    .await;
    let provider = FakeDcOAuth2::mount(
        &jira,
        DcOAuth2Config::new("http://127.0.0.1:9/callback".to_owned()),
    )
    .await;
    let front = TlsFront::start(&pki, *jira.mock_server().address(), TlsOptions::default()).await;
    let home = TestContext::new();
    let url = format!("{}/jira", front.url());
    let ca = pki.ca_file();
    let mut login = cmd(&home, &jira);
    login
        .env("JIRA_AUTH_CLIENT_SECRET", SERVICE_ACCOUNT_SECRET)
        .env("JIRA_AUTH_CA_FILE", &ca);
    let login = context::run_with(
        login,
        &[
            "server",
            "login",
            "--client-credentials",
            "--url",
            &url,
            "--client-id",
            SERVICE_ACCOUNT_ID,
            "--scope",
            "WRITE",
        ],
        None,
    );
    assert_eq!(login.code, 0, "{}", login.transcript());
    let profile: serde_json::Value = serde_json::from_str(&home.profile_text("default")).unwrap();
    assert_eq!(
        profile["network"],
        serde_json::json!({"ca_file": ca.to_str().unwrap()})
    );

    // `server refresh` reaches the token endpoint with the remembered CA.
    let refresh = context::run_with(cmd(&home, &jira), &["server", "refresh"], None);
    assert_eq!(refresh.code, 0, "{}", refresh.transcript());
    drop(provider);
}
