//! `jira-auth cloud serve`: the hosted consent service (the `jira-auth-serve` crate) for teams
//! whose token must be minted away from a laptop. The command is one call: build the
//! configuration from [`ServeArgs`] (in `args.rs` with the other cloud flags), bind, serve until
//! `SIGTERM` or Ctrl-C.
//!
//! Secrets (the client secret, the cookie key) come from the environment or a file, never from
//! argv. See `docs/serve.md`.

use super::args::ServeArgs;
use crate::args::GlobalArgs;
use crate::exit::{self, Failure};
use crate::secret_input::CLIENT_SECRET_ENV;
use crate::secret_input::{SecretSource, Service};
use jira_auth_cloud::{Endpoints, authorize};
use jira_auth_core::ClientSecret;
use jira_auth_core::presets::Presets;
use jira_auth_core::store::{ProfileName, Store};
use jira_auth_serve::{CookieKey, Limits, PublicUrl, ServeConfig};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

/// The environment variable holding the cookie-signing key.
pub const COOKIE_KEY_ENV: &str = "JIRA_AUTH_COOKIE_KEY";
/// The allow list's environment variable: set at all, it must name a site.
pub const ALLOW_SITES_ENV: &str = "JIRA_AUTH_ALLOW_SITES";
/// The port serverless container platforms (Cloud Run, Knative, Heroku) tell the service.
pub const PORT_ENV: &str = "PORT";
/// Where the service listens when neither `--listen` nor `PORT` says: loopback only, so a
/// forgotten flag never exposes it.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);

/// Builds the configuration, binds, and serves until `SIGTERM` or Ctrl-C.
pub async fn run(global: &GlobalArgs, args: ServeArgs) -> crate::exit::Result<u8> {
    let profile = ProfileName::new(global.profile.clone())?;
    let store = Store::from_env()?;
    let config = config(args, profile, store, &|k| {
        std::env::var(k).ok().filter(|v| !v.is_empty())
    })?;
    serve_until(
        global.quiet,
        config,
        jira_auth_serve::shutdown_signal(),
        |_| {},
    )
    .await
}

/// Binds, tells the operator where it listens and which callback URL to register (unless
/// `quiet`), calls `bound` with the address, and serves until `shutdown` completes.
pub async fn serve_until(
    quiet: bool,
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    bound: impl FnOnce(SocketAddr),
) -> crate::exit::Result<u8> {
    // Flags and environment first, else the paths the profile's last login remembered.
    let http = crate::net::client_for(&config.store, &config.profile)?;
    let server = jira_auth_serve::Server::bind(config, http).await?;
    let addr = server.local_addr()?;
    if !quiet {
        eprintln!(
            "Serving on http://{addr} (stop with Ctrl-C or SIGTERM)\nCallback URL to register in the developer console: {}",
            server.state().redirect_uri().as_str()
        );
    }
    bound(addr);
    server.run(shutdown).await?;
    Ok(exit::OK)
}

/// Whether the process environment has `name` at all, empty or not (`env` below hides empty
/// values, and so does clap).
fn env_present(name: &str) -> bool {
    std::env::var_os(name).is_some()
}

/// The service configuration from the flags and `env` (a lookup of non-empty variables).
pub fn config(
    args: ServeArgs,
    profile: ProfileName,
    store: Store,
    env: &dyn Fn(&str) -> Option<String>,
) -> crate::exit::Result<ServeConfig> {
    let listen = match (args.listen, env(PORT_ENV)) {
        (Some(addr), _) => addr,
        (None, Some(port)) => {
            let port: u16 = port.trim().parse().map_err(|_| {
                Failure::usage(format!(
                    "`{PORT_ENV}={port}` is not a port number: fix it, or pass `--listen ADDR:PORT`"
                ))
            })?;
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)
        }
        (None, None) => DEFAULT_LISTEN,
    };
    let public_url = PublicUrl::parse(&args.public_url)?;
    let endpoints = Endpoints::parse(&args.endpoints.auth_url, &args.endpoints.api_url)?;
    // Before serving: a consent given for an endpoint the client will refuse could not finish.
    crate::net::check_url(&endpoints.auth_url)?;
    crate::net::check_url(&endpoints.api_url)?;
    let presets = Presets::load(args.preset_file.as_deref())?;
    let scopes = authorize::resolve_scopes(&presets, args.preset.as_deref(), &args.scopes, true)?;
    let client_id = super::client_id(&args.client_id)?;
    // A service has no terminal: the file, else the environment.
    let client_secret = SecretSource {
        what: "client secret",
        file: args
            .client_secret_file
            .as_deref()
            .map(|p| (p, "--client-secret-file")),
        stdin_flag: false,
        env: CLIENT_SECRET_ENV,
        piped_stdin: false,
        prompt: None,
        how: "set `JIRA_AUTH_CLIENT_SECRET` or pass `--client-secret-file PATH`",
    }
    .read(&mut Service(env))?;
    // Optional: without one the service makes a key per process (and warns).
    let cookie_key = if args.cookie_key_file.is_some() || env(COOKIE_KEY_ENV).is_some() {
        let key = SecretSource {
            what: "cookie key",
            file: args
                .cookie_key_file
                .as_deref()
                .map(|p| (p, "--cookie-key-file")),
            stdin_flag: false,
            env: COOKIE_KEY_ENV,
            piped_stdin: false,
            prompt: None,
            how: "set `JIRA_AUTH_COOKIE_KEY` or pass `--cookie-key-file PATH`",
        }
        .read(&mut Service(env))?;
        Some(CookieKey::new(&key)?)
    } else {
        None
    };
    let allow_sites: Vec<String> = args
        .allow_sites
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    // Present but empty (`" "`, `","`, an unset template variable) must not mean "any site".
    if allow_sites.is_empty() && (!args.allow_sites.is_empty() || env_present(ALLOW_SITES_ENV)) {
        return Err(Failure::usage(format!(
            "`--allow-site` / `{ALLOW_SITES_ENV}` is set but names no site: name the sites to allow (e.g. `--allow-site acme`), or remove it to allow any site"
        ))
        .into());
    }
    let limits = Limits {
        header_timeout: Duration::from_secs(args.header_timeout),
        response_timeout: Duration::from_secs(args.response_timeout),
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        max_requests: usize::try_from(args.max_requests).unwrap_or(usize::MAX),
        exchanges_per_minute: args.exchanges_per_minute,
    };
    let network = crate::net::paths_for(&store, &profile)?;
    Ok(ServeConfig {
        listen,
        public_url,
        profile,
        store,
        endpoints,
        client_id,
        client_secret: ClientSecret::new(client_secret),
        scopes,
        preset: args.preset,
        allow_sites,
        cookie_key,
        limits,
        network,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use std::collections::HashMap;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> ServeArgs {
        let mut argv = vec!["serve"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).unwrap().serve
    }

    fn build(args: &[&str], env: &[(&str, &str)]) -> crate::exit::Result<ServeConfig> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config(
            parse(args),
            ProfileName::default(),
            Store::at("/nonexistent"),
            &|k| env.get(k).cloned(),
        )
    }

    const BASE: &[&str] = &[
        "--public-url",
        "https://jira-auth.example.com",
        "--client-id",
        "CID",
        "--scope",
        "read:jira-work",
    ];

    #[test]
    fn defaults_listen_on_loopback_and_port_wins_over_the_default() {
        let c = build(BASE, &[(CLIENT_SECRET_ENV, "s3cret")]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.client_secret.expose_secret(), "s3cret");
        assert_eq!(c.scopes, ["read:jira-work", "offline_access"]);
        assert!(c.cookie_key.is_none());
        assert_eq!(
            c.public_url.redirect_uri().as_str(),
            "https://jira-auth.example.com/oauth/callback"
        );
        let c = build(BASE, &[(CLIENT_SECRET_ENV, "s"), (PORT_ENV, "9090")]).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9090".parse().unwrap());
        let mut args = BASE.to_vec();
        args.extend(["--listen", "127.0.0.1:7000"]);
        let c = build(&args, &[(CLIENT_SECRET_ENV, "s"), (PORT_ENV, "9090")]).unwrap();
        assert_eq!(c.listen, "127.0.0.1:7000".parse().unwrap());
        let err = build(BASE, &[(CLIENT_SECRET_ENV, "s"), (PORT_ENV, "http")]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`PORT=http` is not a port number: fix it, or pass `--listen ADDR:PORT`"
        );
        assert_eq!(err.code(), exit::USAGE);
    }

    #[test]
    fn secrets_come_from_files_or_the_environment_never_flags() {
        // No tempfile dev-dependency in this crate: a unique directory, removed at the end.
        let dir = std::env::temp_dir().join(format!(
            "jira-auth-serve-args-{}",
            jira_auth_core::random::hex_token(8)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "from-file\nignored\n").unwrap();
        let key = dir.join("key");
        std::fs::write(&key, format!("{}\n", "k".repeat(40))).unwrap();
        let mut args = BASE.to_vec();
        let (s, k) = (secret.to_str().unwrap(), key.to_str().unwrap());
        args.extend(["--client-secret-file", s, "--cookie-key-file", k]);
        let c = build(&args, &[(CLIENT_SECRET_ENV, "from-env")]).unwrap();
        assert_eq!(c.client_secret.expose_secret(), "from-file");
        assert!(c.cookie_key.is_some());
        assert!(!format!("{c:?}").contains("from-file"), "Debug redacts");
        std::fs::remove_dir_all(&dir).unwrap();

        let err = build(BASE, &[]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no client secret: set `JIRA_AUTH_CLIENT_SECRET` or pass `--client-secret-file PATH` (never as an argument: it would show in `ps`)"
        );
        assert_eq!(err.code(), exit::USAGE);
        let err = build(BASE, &[(CLIENT_SECRET_ENV, "s"), (COOKIE_KEY_ENV, "short")]).unwrap_err();
        assert_eq!(err.code(), exit::USAGE);
        assert!(
            err.to_string().starts_with("the cookie key has 5 bytes"),
            "{err}"
        );
        assert!(Cli::try_parse_from(["serve", "--client-secret", "x"]).is_err());
    }

    /// A raw HTTP/1.1 GET (this crate has no HTTP client of its own): status line and body.
    async fn get(addr: SocketAddr, path: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_until_shutdown_and_exits_ok() {
        let mut args = BASE.to_vec();
        args.extend(["--listen", "127.0.0.1:0"]);
        let c = build(&args, &[(CLIENT_SECRET_ENV, "s3cret")]).unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(serve_until(
            true,
            c,
            async move {
                let _ = stopped.await;
            },
            move |addr| {
                let _ = tx.send(addr);
            },
        ));
        let addr = rx.await.unwrap();
        let health = get(addr, "/health-check").await;
        assert!(health.starts_with("HTTP/1.1 200 OK\r\n"), "{health}");
        assert!(health.ends_with(&format!(
            "{{\"status\":\"ok\",\"version\":\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        )));
        let start = get(addr, "/initiate-oauth").await;
        assert!(start.starts_with("HTTP/1.1 302 Found\r\n"), "{start}");
        assert!(start.contains(
            "location: https://auth.atlassian.com/authorize?response_type=code&client_id=CID&state="
        ));
        assert!(!start.contains("s3cret"));
        stop.send(()).unwrap();
        assert_eq!(server.await.unwrap().unwrap(), exit::OK);
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_usage_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().to_string();
        let mut args = BASE.to_vec();
        args.extend(["--listen", &port]);
        let c = build(&args, &[(CLIENT_SECRET_ENV, "s")]).unwrap();
        let err = serve_until(true, c, std::future::pending(), |_| {})
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot listen on {port}: ")),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("; choose another `--listen ADDR:PORT` (or `JIRA_AUTH_LISTEN`)"),
            "{err}"
        );
        assert_eq!(err.code(), exit::USAGE);
    }

    #[test]
    fn allow_sites_split_on_commas_and_bad_urls_are_usage_errors() {
        let mut args = BASE.to_vec();
        args.extend([
            "--allow-site",
            "acme, beta-corp.atlassian.net",
            "--allow-site",
            "id-3",
        ]);
        let c = build(&args, &[(CLIENT_SECRET_ENV, "s")]).unwrap();
        assert_eq!(c.allow_sites, ["acme", "beta-corp.atlassian.net", "id-3"]);

        let mut args = BASE.to_vec();
        args[1] = "https://jira-auth.example.com/sub";
        let err = build(&args, &[(CLIENT_SECRET_ENV, "s")]).unwrap_err();
        assert_eq!(err.code(), exit::USAGE);
        let err = build(
            &["--public-url", "https://x.example.com", "--client-id", "C"],
            &[(CLIENT_SECRET_ENV, "s")],
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("no scopes to request"), "{err}");
    }

    #[test]
    fn an_allow_list_that_names_no_site_is_refused() {
        for empty in [" ", ",", " , "] {
            let mut args = BASE.to_vec();
            args.extend(["--allow-site", empty]);
            let err = build(&args, &[(CLIENT_SECRET_ENV, "s")]).unwrap_err();
            assert_eq!(err.code(), exit::USAGE, "{empty:?}");
            assert_eq!(
                err.to_string(),
                "`--allow-site` / `JIRA_AUTH_ALLOW_SITES` is set but names no site: name the sites to allow (e.g. `--allow-site acme`), or remove it to allow any site"
            );
        }
    }

    #[test]
    fn limits_default_and_follow_the_flags() {
        let c = build(BASE, &[(CLIENT_SECRET_ENV, "s")]).unwrap();
        assert_eq!(c.limits, Limits::default());
        let mut args = BASE.to_vec();
        args.extend([
            "--header-timeout",
            "3",
            "--response-timeout",
            "7",
            "--max-connections",
            "9",
            "--max-requests",
            "5",
            "--exchanges-per-minute",
            "2",
        ]);
        let c = build(&args, &[(CLIENT_SECRET_ENV, "s")]).unwrap();
        assert_eq!(
            c.limits,
            Limits {
                header_timeout: Duration::from_secs(3),
                response_timeout: Duration::from_secs(7),
                max_connections: 9,
                max_requests: 5,
                exchanges_per_minute: 2,
            }
        );
    }
}
