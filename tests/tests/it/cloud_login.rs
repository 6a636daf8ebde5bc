//! `jira-auth cloud login` end to end: the real binary, the fake Atlassian, a client acting as
//! the browser.

#![allow(clippy::unwrap_used)]

use crate::cloud_support::{CloudEnv, FILTERS};
use jira_auth_test::cloud::FakeConfig;
use jira_auth_test::context::free_port;
use jira_auth_test::journal;
use std::io::Write;

#[tokio::test]
async fn login_through_the_loopback_listener_makes_two_calls_and_stores_the_token_set() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let fake = &env.fake;
    let seen_url = std::sync::Mutex::new(String::new());
    let calls_before_consent = std::sync::Mutex::new(usize::MAX);
    let run = env
        .login(
            &["--preset", "psoxy", "--redirect-uri", &redirect],
            |url, _stdin| async {
                let url = url;
                *calls_before_consent.lock().unwrap() = fake.api_call_count().await;
                *seen_url.lock().unwrap() = url.clone();
                let visit = fake.browse(&url, true).await.unwrap();
                assert_eq!(visit.status, 200);
                assert!(
                    visit
                        .location
                        .starts_with(&format!("{redirect}?code=code-"))
                );
                // Answered after the exchange and the site choice: the real outcome.
                assert!(
                    visit.body.contains("<h1>Signed in</h1><p>jira-auth is signed in to acme (https://acme.atlassian.net) as profile `default`. You can close this tab.</p>"),
                    "{}",
                    visit.body
                );
            },
        )
        .await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 0);

    // Before the consent nothing was sent; after it exactly the code exchange and
    // accessible-resources.
    assert_eq!(*calls_before_consent.lock().unwrap(), 0);
    assert_eq!(fake.api_call_count().await, 2);
    assert_eq!(
        journal::lines(&fake.api).await,
        ["GET /oauth/token/accessible-resources"]
    );

    // The authorize URL carries exactly Atlassian's parameters.
    let url = url::Url::parse(&seen_url.lock().unwrap()).unwrap();
    assert_eq!(url.path(), "/authorize");
    let params: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "state",
            "redirect_uri",
            "scope",
            "audience",
            "prompt"
        ]
    );
    let get = |k: &str| params.iter().find(|(key, _)| key == k).unwrap().1.clone();
    assert_eq!(get("response_type"), "code");
    assert_eq!(get("client_id"), fake.client_id());
    assert_eq!(get("redirect_uri"), redirect);
    assert_eq!(
        get("scope"),
        "read:jira-user read:jira-work read:account read:group:jira read:avatar:jira read:user:jira offline_access"
    );
    assert_eq!(get("audience"), "api.atlassian.com");
    assert_eq!(get("prompt"), "consent");
    let state = get("state");
    assert_eq!(state.len(), 32, "128 bits, hex");
    assert!(state.chars().all(|c| c.is_ascii_hexdigit()));

    // The token request body, exactly.
    let token = fake.token_requests().await;
    let body = String::from_utf8(token[0].body.clone()).unwrap();
    let code = url::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(
        body,
        format!(
            "grant_type=authorization_code&code={code}&client_id={}&client_secret={}&redirect_uri={}",
            fake.client_id(),
            fake.client_secret(),
            url::form_urlencoded::byte_serialize(redirect.as_bytes()).collect::<String>()
        )
    );

    // What the store holds: every field, tokens masked by the filters.
    let stored = serde_json::to_string_pretty(&env.profile("default")).unwrap();
    let mut filters = FILTERS.to_vec();
    filters.push((
        r#""(access_expires_at|family_started_at|last_refreshed_at)": \d+"#,
        r#""$1": [UNIX]"#,
    ));
    env.settings(&filters)
        .bind(|| insta::assert_snapshot!("stored_profile", stored));
    let mode = std::fs::metadata(env.config_dir().join("profiles/default.json")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );
    println!("measured: login wall time with consent {:?}", run.elapsed);
}

#[tokio::test]
async fn paste_mode_reads_the_url_the_browser_landed_on() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let fake = &env.fake;
    let run = env
        .login(
            &["--scope", "read:jira-work", "--paste"],
            |url, mut stdin| async move {
                let landed = fake.consent(&url).unwrap();
                assert!(landed.starts_with("http://localhost:13131/?code="));
                writeln!(stdin, "{landed}").unwrap();
            },
        )
        .await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 0);
    assert_eq!(fake.api_call_count().await, 2);
}

#[tokio::test]
async fn a_redirect_uri_that_is_not_loopback_falls_back_to_paste_and_checks_state() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let fake = &env.fake;
    let run = env
        .login(
            &[
                "--scope",
                "read:jira-work",
                "--redirect-uri",
                "https://connector.example.com/cb",
            ],
            |url, mut stdin| async move {
                let landed = fake.consent(&url).unwrap();
                // An attacker's or an old tab's state must not be accepted.
                let forged = landed.replace("state=", "state=0");
                writeln!(stdin, "{forged}").unwrap();
            },
        )
        .await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 3);
    assert_eq!(
        fake.api_call_count().await,
        0,
        "no code exchange after a state mismatch"
    );
}

#[tokio::test]
async fn cancel_in_the_browser_is_a_clear_auth_error() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/");
    let fake = &env.fake;
    let run = env
        .login(
            &["--scope", "read:jira-work", "--redirect-uri", &redirect],
            |url, _| async move {
                let visit = fake.browse(&url, false).await.unwrap();
                assert_eq!(visit.status, 400);
                assert!(visit.body.contains("Login failed"));
            },
        )
        .await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 3);
    assert!(!env.config_dir().join("profiles/default.json").exists());
}

/// A wrong client secret only shows at the code exchange: the browser, kept waiting until
/// then, says the login failed and why, like the terminal.
#[tokio::test]
async fn a_failed_exchange_is_what_the_browser_shows() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let secret = env.home().join("secret");
    std::fs::write(&secret, "not-the-client-secret\n").unwrap();
    let fake = &env.fake;
    let run = env
        .login(
            &[
                "--scope",
                "read:jira-work",
                "--redirect-uri",
                &redirect,
                "--client-secret-file",
                secret.to_str().unwrap(),
            ],
            |url, _| async move {
                let visit = fake.browse(&url, true).await.unwrap();
                assert_eq!(visit.status, 400, "{}", visit.body);
                assert!(
                    visit.body.contains(
                        "<h1>Login failed</h1><p>Atlassian refused the client credentials"
                    ),
                    "{}",
                    visit.body
                );
                assert!(
                    visit.body.contains("The terminal shows the details.</p>"),
                    "{}",
                    visit.body
                );
                assert!(!visit.body.contains("not-the-client-secret"));
            },
        )
        .await;
    assert_eq!(run.code, 3, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("error: Atlassian refused the client credentials"),
        "{}",
        run.stderr
    );
    // A `--site` typo is found after the exchange too, and shown the same way.
    let fake = &env.fake;
    let run = env
        .login(
            &[
                "--scope",
                "read:jira-work",
                "--redirect-uri",
                &redirect,
                "--site",
                "acne",
            ],
            |url, _| async move {
                let visit = fake.browse(&url, true).await.unwrap();
                assert_eq!(visit.status, 400, "{}", visit.body);
                assert!(
                    visit.body.contains(
                        "<h1>Login failed</h1><p>no accessible site matches `--site acne`"
                    ),
                    "{}",
                    visit.body
                );
            },
        )
        .await;
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(!env.config_dir().join("profiles/default.json").exists());
}

#[tokio::test]
async fn a_missing_client_id_names_the_flag_and_the_variable() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let mut cmd = env.command(&[
        "cloud",
        "login",
        "--no-browser",
        "--scope",
        "read:jira-work",
    ]);
    cmd.env_remove("JIRA_AUTH_CLIENT_ID");
    let run = jira_auth_test::context::run(cmd, None);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "error: no client id: pass `--client-id ID` or set `JIRA_AUTH_CLIENT_ID` (developer console → your app → Settings)\n"
    );
}

/// Paste mode reads stdin: an empty stdin says so, and a secret on stdin too is refused first.
#[tokio::test]
async fn paste_mode_names_an_ended_stdin_and_refuses_a_secret_on_stdin_too() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let run = env.run(
        &[
            "cloud",
            "login",
            "--no-browser",
            "--scope",
            "read:jira-work",
            "--paste",
        ],
        None,
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stderr.ends_with(
            "error: standard input ended before a URL or code was pasted: run `jira-auth cloud login` in a terminal, or pipe the URL the browser landed on into it\n"
        ),
        "{}",
        run.stderr
    );
    let run = env.run(
        &[
            "cloud",
            "login",
            "--no-browser",
            "--scope",
            "read:jira-work",
            "--paste",
            "--client-secret-stdin",
        ],
        Some("secret\n"),
    );
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert_eq!(
        run.stderr,
        "error: `--client-secret-stdin` and `--paste` both read standard input: give the client secret with `--client-secret-file PATH` or `JIRA_AUTH_CLIENT_SECRET` instead\n"
    );
    assert_eq!(env.fake.api_call_count().await, 0);
}

#[tokio::test]
async fn several_sites_without_a_terminal_need_site_and_site_picks_one() {
    let env = CloudEnv::start(FakeConfig {
        sites_scenario: "sites-three".into(),
        ..FakeConfig::default()
    })
    .await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let fake = &env.fake;
    let browse = |url: String, _| async move {
        fake.browse(&url, true).await.unwrap();
    };
    let run = env
        .login(
            &["--scope", "read:jira-work", "--redirect-uri", &redirect],
            browse,
        )
        .await;
    jira_auth_test::assert_transcript!("three_sites_no_choice", env, run, FILTERS);
    assert_eq!(run.code, 2);

    let run = env
        .login(
            &[
                "--scope",
                "read:jira-work",
                "--redirect-uri",
                &redirect,
                "--site",
                "https://beta-corp.atlassian.net/",
            ],
            browse,
        )
        .await;
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(
        env.profile("default")["cloud"]["cloud_id"],
        "c0ffee00-1234-4abc-8def-0123456789ab"
    );
}

#[tokio::test]
async fn no_site_is_an_auth_error() {
    let env = CloudEnv::start(FakeConfig {
        sites_scenario: "sites-none".into(),
        ..FakeConfig::default()
    })
    .await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let fake = &env.fake;
    let run = env
        .login(
            &["--scope", "read:jira-work", "--redirect-uri", &redirect],
            |url, _| async move {
                fake.browse(&url, true).await.unwrap();
            },
        )
        .await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 3);
}

#[tokio::test]
async fn missing_scopes_are_named_with_where_to_add_them() {
    let env = CloudEnv::start(FakeConfig {
        app_scopes: Some(vec!["read:jira-work".into(), "read:jira-user".into()]),
        ..FakeConfig::default()
    })
    .await;
    let run = env.logged_in(&["--preset", "psoxy"]).await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(
        env.profile("default")["cloud"]["scopes"],
        serde_json::json!(["read:jira-user", "read:jira-work", "offline_access"])
    );
}

#[tokio::test]
async fn no_refresh_requests_no_offline_access_and_stores_no_refresh_token() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let run = env
        .logged_in(&["--scope", "read:jira-work", "--no-refresh"])
        .await;
    assert_eq!(run.stdout, "", "a login has no data for stdout");
    assert!(
        run.stderr.ends_with(
            "no refresh token (`offline_access` not granted): log in again in an hour\n"
        ),
        "{}",
        run.stderr
    );
    let cloud = &env.profile("default")["cloud"];
    assert_eq!(cloud["refresh_token"], serde_json::Value::Null);
    assert_eq!(cloud["scopes"], serde_json::json!(["read:jira-work"]));
}

#[tokio::test]
async fn secrets_never_come_from_argv_and_a_missing_one_is_a_usage_error() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let mut cmd = env.command(&[
        "cloud",
        "login",
        "--no-browser",
        "--scope",
        "read:jira-work",
    ]);
    cmd.env_remove("JIRA_AUTH_CLIENT_SECRET");
    let run = jira_auth_test::context::run(cmd, None);
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 2);
    let help = env.run(&["cloud", "login", "--help"], None);
    assert!(
        !help.stdout.contains("--client-secret "),
        "no --client-secret VALUE flag"
    );
}

#[tokio::test]
async fn client_secret_from_stdin_or_file() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let fake = &env.fake;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let secret_file = env.home().join("secret");
    std::fs::write(&secret_file, format!("{}\n", fake.client_secret())).unwrap();
    let secret_path = secret_file.to_str().unwrap().to_owned();
    for source in [
        vec!["--client-secret-stdin"],
        vec!["--client-secret-file", &secret_path],
    ] {
        let mut args = vec!["--scope", "read:jira-work", "--redirect-uri", &redirect];
        args.extend(source.iter().copied());
        // The environment's secret is wrong: only the flag's source can make this work.
        let mut full = vec!["cloud", "login", "--no-browser"];
        full.extend(args.iter().copied());
        let mut cmd = env.command(&full);
        cmd.env("JIRA_AUTH_CLIENT_SECRET", "wrong");
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{}", fake.client_secret()).unwrap();
        drop(stdin);
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep draining stderr: a closed pipe would kill the child on its next line.
        let drain = std::thread::spawn(move || {
            for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
                let line = line.unwrap();
                if line.starts_with("http") {
                    let _ = tx.send(line);
                }
            }
        });
        let url = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
        fake.browse(&url, true).await.unwrap();
        let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
            .await
            .unwrap();
        drain.join().unwrap();
        assert!(status.success(), "{source:?}");
    }
}

#[tokio::test]
async fn no_browser_coming_back_times_out_with_advice() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let run = env
        .login(
            &[
                "--scope",
                "read:jira-work",
                "--redirect-uri",
                &redirect,
                "--timeout",
                "1s",
            ],
            |_url, _stdin| async {},
        )
        .await;
    jira_auth_test::assert_transcript!(env, run, FILTERS);
    assert_eq!(run.code, 3);
    assert_eq!(env.fake.api_call_count().await, 0);
}

#[tokio::test]
async fn bad_flags_are_usage_errors() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let cases: [&[&str]; 4] = [
        &["cloud", "login", "--no-browser"],
        &["cloud", "login", "--no-browser", "--preset", "nope"],
        &[
            "cloud",
            "login",
            "--no-browser",
            "--scope",
            "x",
            "--redirect-uri",
            "localhost:13131",
        ],
        &[
            "cloud",
            "login",
            "--no-browser",
            "--scope",
            "x",
            "--auth-url",
            "ftp://auth",
        ],
    ];
    let mut out = String::new();
    for args in cases {
        let run = env.run(args, None);
        out.push_str(&format!(
            "$ jira-auth {}\n{}\n",
            args.join(" "),
            run.transcript()
        ));
    }
    env.settings(FILTERS).bind(|| insta::assert_snapshot!(out));
}

/// Without `--no-browser`, `$BROWSER` is started with the authorize URL. The "browser" here is
/// a script that hands the URL over a FIFO (no polling), and the test then acts as the browser.
#[tokio::test]
async fn browser_from_the_environment_gets_the_authorize_url() {
    let env = CloudEnv::start(FakeConfig::default()).await;
    let fifo = env.home().join("opened");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let script = env.home().join("browser.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > '{}'\n", fifo.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = free_port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut cmd = env.command(&[
        "cloud",
        "login",
        "--scope",
        "read:jira-work",
        "--redirect-uri",
        &redirect,
    ]);
    cmd.env("BROWSER", &script)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let fifo_path = fifo.clone();
    let url = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::task::spawn_blocking(move || std::fs::read_to_string(fifo_path).unwrap()),
    )
    .await
    .expect("the browser script was started")
    .unwrap();
    assert!(
        url.starts_with(&format!("{}/authorize?", env.fake.auth_url())),
        "{url}"
    );
    let visit = env.fake.browse(&url, true).await.unwrap();
    assert_eq!(visit.status, 200);
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!(
            "Opened the browser; if nothing appeared, open this URL:\n{url}\n"
        )),
        "{stderr}"
    );
}
