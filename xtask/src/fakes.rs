//! `cargo xtask fake-atlassian` and `cargo xtask fake-jira-server`: the test harness's fakes,
//! running until Ctrl-C, for trying `jira-auth` by hand (in a real browser if you like).

use anyhow::{Context, Result, bail};
use jira_auth_test::cloud::{FakeAtlassian, FakeConfig};
use jira_auth_test::jira_site::{JiraSite, Site};
use jira_auth_test::server::{FakeJiraServer, FakeJiraServerConfig};

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Waits for Ctrl-C or SIGTERM (`kill`, a container stopping): returning lets the temporary
/// directory holding the fake's private key be removed, which `kill`'s default action would not.
async fn stopped() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}

/// What `cargo xtask fake-atlassian` was asked for.
#[derive(Debug)]
struct AtlassianOptions {
    port: u16,
    /// Site names (`--site`, repeatable); empty: the demo's one site, acme.
    sites: Vec<String>,
    /// `--granted-scopes`: what the app may be granted; `None`: everything requested.
    granted_scopes: Option<Vec<String>>,
    callback_url: String,
}

/// The callback URL the fake's app has registered unless `--callback-url` says otherwise: the
/// one the banner's login command uses.
const CALLBACK_URL: &str = "http://127.0.0.1:13131/callback";

fn atlassian_options(args: &[String]) -> Result<AtlassianOptions> {
    let mut options = AtlassianOptions {
        port: 0,
        sites: Vec::new(),
        granted_scopes: None,
        callback_url: CALLBACK_URL.to_owned(),
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .with_context(|| format!("`{flag}` takes a value"))
        };
        match flag.as_str() {
            "--port" => options.port = port(&value()?)?,
            "--site" => {
                let name = value()?;
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    bail!(
                        "`--site` takes a site name such as `acme` (letters, digits, `-`), not `{name}`"
                    );
                }
                if options.sites.contains(&name) {
                    bail!("site `{name}` is given twice");
                }
                options.sites.push(name);
            }
            "--granted-scopes" => {
                let scopes: Vec<String> = value()?
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                options.granted_scopes = Some(scopes);
            }
            "--callback-url" => {
                let url = value()?;
                url::Url::parse(&url)
                    .with_context(|| format!("`--callback-url` takes a URL, not `{url}`"))?;
                options.callback_url = url;
            }
            other => bail!(
                "unknown option `{other}` for fake-atlassian (it takes --port, --site, --granted-scopes, --callback-url)"
            ),
        }
    }
    Ok(options)
}

fn port(text: &str) -> Result<u16> {
    text.parse()
        .with_context(|| format!("`--port` takes a port number, not `{text}`"))
}

/// A stable, made-up cloud id for a site name (the real ones are random UUIDs).
fn cloud_id(name: &str) -> String {
    // FNV-1a: the same name gets the same id on every run.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let hex = format!("{hash:016x}{:016x}", hash.rotate_left(29) ^ 0x5bd1_e995);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

pub fn atlassian(args: &[String]) -> Result<()> {
    let options = atlassian_options(args)?;
    runtime()?.block_on(async {
        let fake = FakeAtlassian::start_on(
            FakeConfig {
                app_scopes: options.granted_scopes.clone(),
                callback_url: Some(options.callback_url.clone()),
                ..FakeConfig::default()
            },
            options.port,
        )
        .await;
        // (name, cloud id) of every site the fake's tokens reach.
        let sites: Vec<(String, String)> = if options.sites.is_empty() {
            vec![("acme".to_owned(), jira_auth_test::journey::first_site_id()?)]
        } else {
            let scopes = options.granted_scopes.clone().unwrap_or_else(|| {
                ["read:jira-work", "read:jira-user", "offline_access"]
                    .map(str::to_owned)
                    .to_vec()
            });
            let sites: Vec<(String, String)> = options
                .sites
                .iter()
                .map(|name| (name.clone(), cloud_id(name)))
                .collect();
            fake.set_sites(serde_json::Value::Array(
                sites
                    .iter()
                    .map(|(name, id)| {
                        serde_json::json!({
                            "id": id,
                            "url": format!("https://{name}.atlassian.net"),
                            "name": name,
                            "scopes": scopes,
                            "avatarUrl": "https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/rocket.png",
                        })
                    })
                    .collect(),
            ));
            sites
        };
        let mut attached = Vec::new();
        for (name, id) in &sites {
            let mut site = Site::from_file(&jira_auth_test::journey::demo_site("cloud-site.json"));
            site.server_info["baseUrl"] = format!("https://{name}.atlassian.net").into();
            attached.push(
                JiraSite::attach(site, &fake.api, &format!("/ex/jira/{id}"), 1, fake.gate()).await,
            );
        }
        let site_lines: Vec<String> = sites
            .iter()
            .map(|(name, id)| format!("{name}, cloud id {id}"))
            .collect();
        let granted = match &options.granted_scopes {
            None => "everything requested".to_owned(),
            Some(scopes) => format!("{} (and offline_access)", scopes.join(" ")),
        };
        let site_flag = if sites.len() > 1 {
            format!(" --site {}", sites[0].0)
        } else {
            String::new()
        };
        println!(
            "fake Atlassian on 127.0.0.1 (Ctrl-C or SIGTERM to stop)

  authorization server   {auth}   (its consent page has Accept and Cancel links)
  API gateway            {api}   (accepts only access tokens issued here, until they expire)
  client id              {id}
  client secret          {secret}   (a test value)
  callback URL           {callback}   (another --redirect-uri gets an error page)
  granted scopes         {granted}
  sites                  {sites}
                         (each the demo's site, with two permission gaps)

Try it (with `jira-auth` on PATH: `cargo install --path crates/jira-auth`, or use target/debug/jira-auth):
  export JIRA_AUTH_CONFIG_DIR=$(mktemp -d) JIRA_AUTH_CLIENT_SECRET={secret}
  jira-auth cloud login --client-id {id} --auth-url {auth} --api-url {api} \\
      --redirect-uri {callback} --preset raytion{site_flag}
  jira-auth cloud status && jira-auth audit",
            auth = fake.auth_url(),
            api = fake.api_url(),
            id = fake.client_id(),
            secret = fake.client_secret(),
            callback = options.callback_url,
            sites = site_lines.join("\n                         "),
        );
        stopped().await
    })
}

pub fn jira_server(args: &[String]) -> Result<()> {
    let port = match args {
        [] => 0,
        [flag, value] if flag == "--port" => port(value)?,
        _ => bail!("fake-jira-server takes only `--port N`"),
    };
    runtime()?.block_on(async {
        let fake = FakeJiraServer::start_on(
            FakeJiraServerConfig {
                context_path: "/jira".into(),
                ..FakeJiraServerConfig::default()
            },
            port,
        )
        .await;
        let _site = JiraSite::attach(
            Site::from_file(&jira_auth_test::journey::demo_site("dc-site.json")),
            fake.mock_server(),
            "/jira",
            10,
            fake.gate(),
        )
        .await;
        let dir = tempfile::tempdir().context("creating a directory for the key")?;
        let key = dir.path().join("jira-auth-test-private.pem");
        jira_auth_core::store::write_atomically(&key, fake.private_key_pem().as_bytes())?;
        println!(
            "fake Jira Server on 127.0.0.1 (Ctrl-C or SIGTERM to stop)

  URL                    {url}
  consumer key           {ck}   (its Application Link already has the matching public key)
  private key            {key}   (a test key, deleted on exit)
  personal access token  {pat}

Try it (with `jira-auth` on PATH: `cargo install --path crates/jira-auth`, or use target/debug/jira-auth):
  export JIRA_AUTH_CONFIG_DIR=$(mktemp -d)
  jira-auth server login --url {url} --consumer-key {ck} --private-key {key}
  jira-auth server request /rest/api/2/myself && jira-auth audit",
            url = fake.url(),
            ck = fake.consumer_key(),
            key = key.display(),
            pat = fake.pat().unwrap_or("(none)"),
        );
        stopped().await
    })
}
