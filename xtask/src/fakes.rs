//! `cargo xtask fake-atlassian` and `cargo xtask fake-jira-server`: the test harness's fakes,
//! running until Ctrl-C, for trying `jira-auth` by hand (in a real browser if you like).

use anyhow::{Context, Result};
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

pub fn atlassian(port: u16) -> Result<()> {
    runtime()?.block_on(async {
        let fake = FakeAtlassian::start_on(FakeConfig::default(), port).await;
        let cloud_id = jira_auth_test::journey::first_site_id()?;
        let _site = JiraSite::attach(
            Site::from_file(&jira_auth_test::journey::demo_site("cloud-site.json")),
            &fake.api,
            &format!("/ex/jira/{cloud_id}"),
            1,
        )
        .await;
        println!(
            "fake Atlassian on 127.0.0.1 (Ctrl-C or SIGTERM to stop)

  authorization server   {auth}   (its consent page has Accept and Cancel links)
  API gateway            {api}
  client id              {id}
  client secret          {secret}   (a test value)
  site                   acme, cloud id {cloud_id} (the demo's site, with two permission gaps)

Try it (with `jira-auth` on PATH: `cargo install --path crates/jira-auth`, or use target/debug/jira-auth):
  export JIRA_AUTH_CONFIG_DIR=$(mktemp -d) JIRA_AUTH_CLIENT_SECRET={secret}
  jira-auth cloud login --client-id {id} --auth-url {auth} --api-url {api} \\
      --redirect-uri http://127.0.0.1:13131/callback --preset raytion
  jira-auth cloud status && jira-auth audit",
            auth = fake.auth_url(),
            api = fake.api_url(),
            id = fake.client_id(),
            secret = fake.client_secret(),
        );
        stopped().await
    })
}

pub fn jira_server(port: u16) -> Result<()> {
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
