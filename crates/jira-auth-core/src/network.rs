//! What an enterprise network asks of every request: certificate authorities to trust beyond the
//! bundled and OS roots (`--ca-file`), a client certificate for mutual TLS (`--client-cert`,
//! `--client-key`), and no plain `http://` to another machine unless allowed
//! (`--allow-insecure-http`). Proxies come from the environment (`HTTPS_PROXY`, `NO_PROXY`, …),
//! read by reqwest; [`proxy_for`] names the one a request uses with the same rules.
//!
//! Files are read when the client is built, and every problem names the file and what is wrong
//! with it. A profile remembers the paths ([`NetworkProfile`]), never the contents.

use crate::category::{Categorize, Category};
use crate::secret::mask_url;
use crate::store::{PrivateFileError, ProfileGuard, Section, StoreError};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The settings a command runs with: flags and environment, else what the profile remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkSettings {
    /// A PEM bundle of extra trusted CA certificates.
    pub ca_file: Option<PathBuf>,
    /// The client certificate (PEM chain) and its private key (PEM), for mutual TLS.
    pub client_cert: Option<ClientCertPaths>,
    /// Plain `http://` to a host that is not this machine is allowed (with a warning).
    pub allow_insecure_http: bool,
}

/// A client certificate and its key, both PEM files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCertPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The `network` section of a profile: the paths a login was given, so later commands on the
/// profile use them without repeating the flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkProfile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<ClientCertPaths>,
}

impl Section for NetworkProfile {
    const NAME: &'static str = "network";
}

impl NetworkProfile {
    pub fn is_empty(&self) -> bool {
        self.ca_file.is_none() && self.client_cert.is_none()
    }

    /// After a login (`cloud login`, `server login`, a consent through `cloud serve`): the
    /// profile `guard` holds keeps these paths, or drops its `network` section when there are
    /// none.
    pub fn remember(&self, guard: &ProfileGuard) -> Result<(), StoreError> {
        if self.is_empty() {
            guard.remove_section::<Self>()?;
        } else {
            guard.save_section(self)?;
        }
        Ok(())
    }
}

impl NetworkSettings {
    /// These settings with what `stored` remembers filled in where no flag or variable said
    /// otherwise (the CA file alone, the certificate and key as a pair).
    pub fn or_stored(mut self, stored: &NetworkProfile) -> Self {
        if self.ca_file.is_none() {
            self.ca_file.clone_from(&stored.ca_file);
        }
        if self.client_cert.is_none() {
            self.client_cert.clone_from(&stored.client_cert);
        }
        self
    }

    /// What a login stores: the paths in use, made absolute so they work from any directory.
    pub fn to_profile(&self) -> NetworkProfile {
        let absolute = |p: &PathBuf| std::path::absolute(p).unwrap_or_else(|_| p.clone());
        NetworkProfile {
            ca_file: self.ca_file.as_ref().map(absolute),
            client_cert: self.client_cert.as_ref().map(|c| ClientCertPaths {
                cert: absolute(&c.cert),
                key: absolute(&c.key),
            }),
        }
    }

    /// The extra trusted certificates, in DER, checked one by one.
    pub fn extra_roots(&self) -> Result<Vec<CertificateDer<'static>>, NetworkError> {
        check_ssl_cert_env(&|k| std::env::var_os(k))?;
        let Some(path) = &self.ca_file else {
            return Ok(Vec::new());
        };
        let bytes = std::fs::read(path).map_err(|e| NetworkError::CaFile {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        let certs = read_certificates(&bytes).map_err(|problem| NetworkError::CaFile {
            path: path.clone(),
            problem,
        })?;
        let mut store = rustls::RootCertStore::empty();
        for (n, cert) in certs.iter().enumerate() {
            store.add(cert.clone()).map_err(|e| NetworkError::CaFile {
                path: path.clone(),
                problem: format!(
                    "certificate {} of {} is not a usable CA certificate ({e})",
                    n + 1,
                    certs.len()
                ),
            })?;
        }
        Ok(certs)
    }

    /// The client certificate and key as one PEM document (what reqwest's `Identity` reads),
    /// after checking the key's permissions, that both files hold what they should, and that
    /// the key belongs to the certificate.
    pub fn client_identity_pem(&self) -> Result<Option<Vec<u8>>, NetworkError> {
        let Some(paths) = &self.client_cert else {
            return Ok(None);
        };
        let cert_error = |problem: String| NetworkError::ClientCert {
            path: paths.cert.clone(),
            problem,
        };
        let key_error = |problem: String| NetworkError::ClientKey {
            path: paths.key.clone(),
            problem,
        };
        let cert_bytes = std::fs::read(&paths.cert).map_err(|e| cert_error(e.to_string()))?;
        let certs = read_certificates(&cert_bytes).map_err(cert_error)?;
        let key_bytes = read_private_file(&paths.key)?;
        let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| {
            key_error(match e {
                rustls_pki_types::pem::Error::NoItemsFound => {
                    "it holds no PEM private key (`-----BEGIN PRIVATE KEY-----`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`; an encrypted key must be decrypted first)".to_owned()
                }
                other => format!("it is not a readable PEM private key ({other})"),
            })
        })?;
        let provider = rustls::crypto::ring::default_provider();
        rustls::sign::CertifiedKey::from_der(certs, key, &provider).map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => NetworkError::KeyMismatch {
                cert: paths.cert.clone(),
                key: paths.key.clone(),
            },
            other => key_error(format!("it cannot sign for the certificate ({other})")),
        })?;
        let mut pem = cert_bytes;
        pem.push(b'\n');
        pem.extend_from_slice(&key_bytes);
        Ok(Some(pem))
    }
}

/// The certificates of a PEM bundle; an error says what is in the way.
fn read_certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("it is not a readable PEM file ({e})"))?;
    if certs.is_empty() {
        return Err(
            "it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); a DER file must be converted first: `openssl x509 -inform der -in FILE -out FILE.pem`"
                .to_owned(),
        );
    }
    Ok(certs)
}

/// A private key file, refused (before it is read) when group or others may access it.
fn read_private_file(path: &Path) -> Result<Vec<u8>, NetworkError> {
    crate::store::read_private_file(path).map_err(|e| match e {
        PrivateFileError::Exposed { mode } => NetworkError::ClientKeyOpen {
            path: path.to_owned(),
            mode,
        },
        PrivateFileError::Io(e) => NetworkError::ClientKey {
            path: path.to_owned(),
            problem: e.to_string(),
        },
    })
}

/// rustls-native-certs reads `SSL_CERT_FILE` and `SSL_CERT_DIR` instead of the OS store and
/// skips what it cannot read; a typo there would silently leave only the bundled roots.
fn check_ssl_cert_env(
    env: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> Result<(), NetworkError> {
    for var in ["SSL_CERT_FILE", "SSL_CERT_DIR"] {
        let Some(value) = env(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        let path = PathBuf::from(value);
        let problem = match std::fs::metadata(&path) {
            Err(e) => e.to_string(),
            Ok(m) if var == "SSL_CERT_FILE" && !m.is_file() => "not a file".to_owned(),
            Ok(m) if var == "SSL_CERT_DIR" && !m.is_dir() => "not a directory".to_owned(),
            Ok(_) => continue,
        };
        return Err(NetworkError::SslCertEnv { var, path, problem });
    }
    Ok(())
}

/// Whether a plain `http://` request to `url` may be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainHttp {
    /// `https://`, or `http://` to this machine (127.0.0.0/8, `::1`, `localhost`).
    Fine,
    /// `http://` to another host, allowed by `--allow-insecure-http`: warn.
    Allowed,
}

/// Refuses `http://` to a host that is not this machine unless `allow`: credentials would cross
/// the network in clear text. Decided from the URL alone, before any name is resolved.
pub fn check_plain_http(url: &url::Url, allow: bool) -> Result<PlainHttp, NetworkError> {
    if url.scheme() != "http" || is_loopback(url) {
        return Ok(PlainHttp::Fine);
    }
    if allow {
        return Ok(PlainHttp::Allowed);
    }
    Err(NetworkError::InsecureHttp {
        url: mask_url(url),
        host: url.host_str().unwrap_or_default().to_owned(),
    })
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost") || name.eq_ignore_ascii_case("localhost.")
        }
        None => false,
    }
}

/// The proxies of the environment, with reqwest's own rules (`ALL_PROXY`, `HTTPS_PROXY`,
/// `HTTP_PROXY`, `NO_PROXY`, either case; `HTTP_PROXY` ignored under CGI).
#[derive(Clone)]
pub struct Proxies(std::sync::Arc<hyper_util::client::proxy::matcher::Matcher>);

impl std::fmt::Debug for Proxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The matcher's own Debug prints the proxy URLs, user info included.
        f.write_str("Proxies")
    }
}

impl Proxies {
    /// Reads the environment, as reqwest does when it builds its client, and registers proxy
    /// passwords as held secrets so no message can print one.
    pub fn from_env() -> Self {
        for var in PROXY_VARS {
            if let Some(password) = std::env::var(var).ok().and_then(|v| proxy_password(&v)) {
                crate::redact::hold(&password);
            }
        }
        Self(std::sync::Arc::new(
            hyper_util::client::proxy::matcher::Matcher::from_system(),
        ))
    }

    /// The proxy a request to `uri` goes through, masked for showing, or `None` for a direct
    /// connection.
    pub fn proxy_for(&self, uri: &http::Uri) -> Option<String> {
        let proxy = self.0.intercept(uri)?;
        let shown = url::Url::parse(&proxy.uri().to_string())
            .map(|u| mask_url(&u))
            .unwrap_or_else(|_| "(a proxy)".to_owned());
        // The matcher keeps the credentials apart from the URI: say that there are some.
        Some(
            if proxy.basic_auth().is_some() || proxy.raw_auth().is_some() {
                shown.replacen("://", "://****:****@", 1)
            } else {
                shown
            },
        )
    }
}

const PROXY_VARS: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The password of a proxy URL (`http://user:pass@proxy:3128`, the scheme optional), decoded.
fn proxy_password(value: &str) -> Option<String> {
    let url = url::Url::parse(value)
        .ok()
        .filter(|u| u.has_host())
        .or_else(|| url::Url::parse(&format!("http://{value}")).ok())?;
    let password = url.password()?;
    Some(
        percent_decode(password)
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| password.to_owned()),
    )
}

fn percent_decode(text: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("p={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// A network setting that cannot be used. All are the user's to fix (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(
        "cannot use the CA file `{}` (`--ca-file` / `JIRA_AUTH_CA_FILE`): {problem}",
        path.display()
    )]
    CaFile { path: PathBuf, problem: String },
    #[error(
        "cannot use the client certificate `{}` (`--client-cert` / `JIRA_AUTH_CLIENT_CERT`): {problem}",
        path.display()
    )]
    ClientCert { path: PathBuf, problem: String },
    #[error(
        "cannot use the client key `{}` (`--client-key` / `JIRA_AUTH_CLIENT_KEY`): {problem}",
        path.display()
    )]
    ClientKey { path: PathBuf, problem: String },
    #[error(
        "the client key `{}` is accessible to group or others (mode {mode:o}); refusing to use it: run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    ClientKeyOpen { path: PathBuf, mode: u32 },
    #[error(
        "the client key `{}` does not belong to the client certificate `{}`: pass the key the certificate was issued for",
        key.display(),
        cert.display()
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error(
        "`{var}` is set to `{}`, which cannot be used ({problem}): fix or unset it",
        path.display()
    )]
    SslCertEnv {
        var: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error(
        "refusing to send a request to `{url}` over plain http: credentials would cross the network in clear text; use `https://` (and `--ca-file` if {host} has a private CA), or pass `--allow-insecure-http` (`JIRA_AUTH_ALLOW_INSECURE_HTTP=1`) if you accept that risk (see docs/network.md)"
    )]
    InsecureHttp { url: String, host: String },
}

impl Categorize for NetworkError {
    fn category(&self) -> Category {
        Category::Usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn plain_http_is_refused_for_other_hosts_and_fine_for_this_machine() {
        for fine in [
            "https://jira.example.com/",
            "http://127.0.0.1:8080/",
            "http://127.1.2.3/",
            "http://[::1]:9/",
            "http://localhost:3000/x",
            "http://LOCALHOST/",
        ] {
            assert_eq!(
                check_plain_http(&url(fine), false).unwrap(),
                PlainHttp::Fine,
                "{fine}"
            );
        }
        for refused in [
            "http://jira.example.com/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://localhost.example.com/",
            "http://128.0.0.1/",
        ] {
            let err = check_plain_http(&url(refused), false).unwrap_err();
            assert_eq!(err.category(), Category::Usage, "{refused}");
            assert_eq!(
                check_plain_http(&url(refused), true).unwrap(),
                PlainHttp::Allowed
            );
        }
        let err = check_plain_http(&url("http://bot:pw@jira.example.com/?token=abc"), false)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw") && !err.contains("abc"), "{err}");
    }

    #[test]
    fn proxy_passwords_are_found_with_or_without_a_scheme_and_decoded() {
        assert_eq!(
            proxy_password("http://me:s%40cret-proxy@proxy:3128").as_deref(),
            Some("s@cret-proxy")
        );
        assert_eq!(
            proxy_password("me:plain-password@proxy:3128").as_deref(),
            Some("plain-password")
        );
        assert_eq!(proxy_password("http://proxy:3128"), None);
    }

    #[test]
    fn proxies_are_named_masked() {
        let m = hyper_util::client::proxy::matcher::Matcher::builder()
            .https("http://me:secret@proxy.example:3128")
            .no("internal.example")
            .build();
        let p = Proxies(std::sync::Arc::new(m));
        let shown = p
            .proxy_for(&"https://jira.example.com/".parse().unwrap())
            .unwrap();
        assert_eq!(shown, "http://****:****@proxy.example:3128/");
        assert_eq!(
            p.proxy_for(&"https://jira.internal.example/".parse().unwrap()),
            None
        );
    }

    #[test]
    fn stored_paths_fill_in_only_what_flags_left_out() {
        let stored = NetworkProfile {
            ca_file: Some("/stored/ca.pem".into()),
            client_cert: Some(ClientCertPaths {
                cert: "/stored/c.pem".into(),
                key: "/stored/k.pem".into(),
            }),
        };
        let flags = NetworkSettings {
            ca_file: Some("/flag/ca.pem".into()),
            ..Default::default()
        };
        let merged = flags.or_stored(&stored);
        assert_eq!(merged.ca_file, Some("/flag/ca.pem".into()));
        assert_eq!(merged.client_cert, stored.client_cert);
    }

    #[test]
    fn ssl_cert_variables_that_point_nowhere_are_named() {
        let env = |k: &str| (k == "SSL_CERT_FILE").then(|| "/nonexistent/ca.pem".into());
        let err = check_ssl_cert_env(&env).unwrap_err().to_string();
        assert!(
            err.starts_with("`SSL_CERT_FILE` is set to `/nonexistent/ca.pem`, which cannot be used (No such file"),
            "{err}"
        );
        assert!(check_ssl_cert_env(&|_| None).is_ok());
    }

    #[test]
    fn files_without_certificates_or_keys_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate\n").unwrap();
        let settings = NetworkSettings {
            ca_file: Some(ca.clone()),
            ..Default::default()
        };
        let err = settings.extra_roots().unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "cannot use the CA file `{}` (`--ca-file` / `JIRA_AUTH_CA_FILE`): it holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); a DER file must be converted first: `openssl x509 -inform der -in FILE -out FILE.pem`",
                ca.display()
            )
        );
    }
}
