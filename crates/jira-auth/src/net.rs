//! The one way this binary builds its HTTP client, with the command line's timeouts
//! (`--request-timeout`, `--deadline`) and network settings (`--ca-file`, `--client-cert`,
//! `--client-key`, `--allow-insecure-http`) applied. Set once per process, before any command
//! runs. A command on a profile also uses the paths its login remembered (the profile's
//! `network` section); flags and environment override them.

use crate::args::GlobalArgs;
use jira_auth_core::http::{HttpClient, HttpError};
use jira_auth_core::network::{self, ClientCertPaths, NetworkProfile, NetworkSettings};
use jira_auth_core::store::{ProfileName, Section as _, Store};
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Debug, Clone)]
struct Settings {
    request_timeout: Duration,
    deadline: Option<Duration>,
    network: NetworkSettings,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Records the global flags (the first call wins).
pub fn configure(global: &GlobalArgs) {
    let _ = SETTINGS.set(Settings {
        request_timeout: Duration::from_secs(global.request_timeout),
        deadline: (global.deadline > 0).then(|| Duration::from_secs(global.deadline)),
        network: NetworkSettings {
            ca_file: global.ca_file.clone(),
            // clap requires both or neither.
            client_cert: global
                .client_cert
                .clone()
                .zip(global.client_key.clone())
                .map(|(cert, key)| ClientCertPaths { cert, key }),
            allow_insecure_http: global.allow_insecure_http,
        },
    });
}

fn flags() -> NetworkSettings {
    SETTINGS
        .get()
        .map(|s| s.network.clone())
        .unwrap_or_default()
}

/// A client with the configured timeouts and network settings, for a command that uses no
/// stored profile (`audit --url`, `cloud serve`). The deadline counts from this call: build the
/// client when the network work starts (after any wait for a browser).
pub fn client() -> Result<HttpClient, HttpError> {
    build(flags())
}

/// [`client`] for a command on `profile`: the network paths its login remembered, under the
/// flags and environment.
pub fn client_for(store: &Store, profile: &ProfileName) -> crate::exit::Result<HttpClient> {
    Ok(build(settings_for(store, profile)?)?)
}

fn settings_for(store: &Store, profile: &ProfileName) -> crate::exit::Result<NetworkSettings> {
    let stored: Option<NetworkProfile> = store.load_section(profile)?;
    Ok(flags().or_stored(&stored.unwrap_or_default()))
}

fn build(network: NetworkSettings) -> Result<HttpClient, HttpError> {
    let mut builder = HttpClient::builder().network(network);
    if let Some(s) = SETTINGS.get() {
        builder = builder
            .request_timeout(s.request_timeout)
            .deadline(s.deadline);
    }
    builder.build()
}

/// After a login: the profile remembers the CA file and client certificate paths the login
/// used (absolute paths, never the files' contents), or forgets them when it used none.
pub fn remember(store: &Store, profile: &ProfileName) -> crate::exit::Result<()> {
    let paths = paths_for(store, profile)?;
    paths.remember(&store.lock(profile)?)?;
    Ok(())
}

/// The paths a login on `profile` stores: the flags and environment, else what it remembers.
pub fn paths_for(store: &Store, profile: &ProfileName) -> crate::exit::Result<NetworkProfile> {
    Ok(settings_for(store, profile)?.to_profile())
}

/// After a logout: the remembered paths go too once no login is left in the profile.
pub fn forget_if_alone(store: &Store, profile: &ProfileName) -> crate::exit::Result<()> {
    // No profile left: nothing to take a lock for (a lock would create the directory).
    if store.load(profile)?.is_none() {
        return Ok(());
    }
    let guard = store.lock(profile)?;
    let alone = guard
        .load()?
        .is_some_and(|p| p.section_names().all(|s| s == NetworkProfile::NAME));
    if alone {
        guard.remove_section::<NetworkProfile>()?;
    }
    Ok(())
}

/// Refuses a plain `http://` URL for another machine as soon as it is known (before a browser
/// is opened for a consent whose code could then not be used); the client checks every request
/// again.
pub fn check_url(url: &url::Url) -> crate::exit::Result<()> {
    network::check_plain_http(url, flags().allow_insecure_http)?;
    Ok(())
}
