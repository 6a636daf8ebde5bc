//! Real TLS and a real proxy for the network tests, all on 127.0.0.1.
//!
//! - [`Pki`]: a certificate authority made at test time (rcgen), with server certificates for
//!   `localhost`, `127.0.0.1` and [`PROXIED_HOST`], and client certificates, written as PEM files.
//! - [`TlsFront`]: terminates TLS with such a certificate (optionally demanding a client
//!   certificate the CA issued) and forwards the plain bytes to a fake, so any fake can be
//!   reached over `https://`.
//! - [`ConnectProxy`]: an HTTP `CONNECT` proxy (RFC 9110 §9.3.6) that records every tunnel it
//!   was asked for, and the `Proxy-Authorization` it came with.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A name that does not resolve (RFC 2606 `.test`) but that the server certificates carry:
/// a request to it can only succeed through [`ConnectProxy`], which tunnels it to 127.0.0.1.
pub const PROXIED_HOST: &str = "jira.proxied.test";

/// A test certificate authority and the files it wrote.
#[derive(Debug)]
pub struct Pki {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

/// What a [`TlsFront`] presents and demands.
#[derive(Debug, Clone, Copy, Default)]
pub struct TlsOptions {
    /// Refuse a client without a certificate issued by the test CA (mutual TLS).
    pub require_client_cert: bool,
    /// Present a certificate that expired in 2020.
    pub expired: bool,
    /// Present a certificate valid for [`OTHER_HOST`] only, not for the names the front is
    /// reached by (a name mismatch).
    pub other_name: bool,
}

/// The only name a certificate made with [`TlsOptions::other_name`] is valid for.
pub const OTHER_HOST: &str = "jira.elsewhere.test";

impl Pki {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "jira-auth test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pki = Self {
            dir: tempfile::tempdir().unwrap(),
            ca,
        };
        std::fs::write(pki.ca_file(), pki.ca.pem()).unwrap();
        pki
    }

    /// The CA certificate, PEM: what `--ca-file` is given.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// The folder the files are written in.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn leaf(
        &self,
        purpose: ExtendedKeyUsagePurpose,
        expired: bool,
        other_name: bool,
    ) -> (String, KeyPair) {
        let mut params = if other_name {
            CertificateParams::new(vec![OTHER_HOST.to_owned()]).unwrap()
        } else {
            let mut params =
                CertificateParams::new(vec!["localhost".to_owned(), PROXIED_HOST.to_owned()])
                    .unwrap();
            params
                .subject_alt_names
                .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            params
        };
        params
            .distinguished_name
            .push(DnType::CommonName, "jira-auth test");
        params.extended_key_usages = vec![purpose];
        if expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        (cert.pem(), key)
    }

    /// A client certificate and its key (mode 0600), written as `NAME.pem` and `NAME.key`.
    pub fn client_cert(&self, name: &str) -> (PathBuf, PathBuf) {
        let (cert, key) = self.leaf(ExtendedKeyUsagePurpose::ClientAuth, false, false);
        let cert_path = self.dir.path().join(format!("{name}.pem"));
        let key_path = self.dir.path().join(format!("{name}.key"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        (cert_path, key_path)
    }

    fn server_config(&self, options: TlsOptions) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (cert, key) = self.leaf(
            ExtendedKeyUsagePurpose::ServerAuth,
            options.expired,
            options.other_name,
        );
        let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if options.require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca.der().clone()).unwrap();
            let verifier =
                rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                    .build()
                    .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        builder.with_single_cert(chain, key).unwrap()
    }
}

impl Default for Pki {
    fn default() -> Self {
        Self::new()
    }
}

/// A TLS server on 127.0.0.1 that forwards each connection's plain bytes to `inner`.
#[derive(Debug)]
pub struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<Mutex<Vec<Result<(), String>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(pki: &Pki, inner: SocketAddr, options: TlsOptions) -> Self {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(pki.server_config(options)));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handshakes = Arc::new(Mutex::new(Vec::new()));
        let seen = handshakes.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let seen = seen.clone();
                tokio::spawn(async move {
                    match acceptor.accept(tcp).await {
                        Ok(mut tls) => {
                            seen.lock().unwrap().push(Ok(()));
                            if let Ok(mut upstream) = TcpStream::connect(inner).await {
                                let _ =
                                    tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                            }
                        }
                        Err(e) => seen.lock().unwrap().push(Err(e.to_string())),
                    }
                });
            }
        });
        Self {
            addr,
            handshakes,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `https://localhost:PORT`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port())
    }

    /// Each handshake so far: `Ok` or the server's reason for failing it.
    pub fn handshakes(&self) -> Vec<Result<(), String>> {
        self.handshakes.lock().unwrap().clone()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One `CONNECT` a [`ConnectProxy`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// The request target, `host:port`.
    pub target: String,
    /// The `Proxy-Authorization` header, if any.
    pub authorization: Option<String>,
}

/// An HTTP proxy on 127.0.0.1 that serves `CONNECT` only. Every tunnel goes to 127.0.0.1 at the
/// requested port, whatever the host (so a name only the proxy "resolves", like
/// [`PROXIED_HOST`], proves a request went through it); anything but `CONNECT` is answered 405.
#[derive(Debug)]
pub struct ConnectProxy {
    addr: SocketAddr,
    tunnels: Arc<Mutex<Vec<Tunnel>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ConnectProxy {
    pub async fn start() -> Self {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tunnels = Arc::new(Mutex::new(Vec::new()));
        let seen = tunnels.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(tunnel(tcp, seen.clone()));
            }
        });
        Self {
            addr,
            tunnels,
            task,
        }
    }

    /// `http://127.0.0.1:PORT`, for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://USER:PASSWORD@127.0.0.1:PORT`.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}", self.addr)
    }

    /// The tunnels asked for so far, in order.
    pub fn tunnels(&self) -> Vec<Tunnel> {
        self.tunnels.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn tunnel(mut client: TcpStream, seen: Arc<Mutex<Vec<Tunnel>>>) {
    // The request head, bounded: 8 KiB is plenty for a CONNECT.
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 8192 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default().to_owned(),
    );
    if method != "CONNECT" {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return;
    }
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, value)| value.trim().to_owned());
    seen.lock().unwrap().push(Tunnel {
        target: target.clone(),
        authorization,
    });
    let port = target
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse::<u16>().ok());
    let upstream = match port {
        Some(port) => TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await.ok(),
        None => None,
    };
    let Some(mut upstream) = upstream else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
