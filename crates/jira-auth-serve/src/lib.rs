//! The hosted consent service behind `jira-auth cloud serve`: a small axum application that
//! mints a Jira Cloud (3LO) token set where no browser can run, and stores it in the same
//! profile format as `jira-auth cloud login`.
//!
//! Data flows like this: `GET /initiate-oauth` seals a fresh `state` into a signed cookie
//! ([`cookie`]) and redirects to [`jira_auth_cloud::authorize::authorize_url`] → Atlassian's
//! consent → `GET /oauth/callback`: cookie signature and expiry, `state` in constant time
//! ([`jira_auth_cloud::callback::parse_query`]), single use ([`state`]) →
//! [`jira_auth_cloud::token::TokenClient::exchange_code`] →
//! [`jira_auth_cloud::sites::accessible_resources`] → the allow list ([`allow`]) → one site:
//! [`jira_auth_cloud::credentials::save`]; several: the picker page and
//! `POST /oauth/select-site`.
//!
//! - [`config`]: [`ServeConfig`], the public URL, the cookie key, [`ServeError`].
//! - [`cookie`]: HMAC-SHA256 sealed cookie values and `Set-Cookie` headers, pure.
//! - [`html`]: the pages, escaped, pure.
//! - [`flow`]: why a consent was refused, as a status, title and message.
//! - [`allow`]: `--allow-site` matching.
//! - [`state`]: shared state and the in-memory consumed-state and pending-pick tables.
//! - [`routes`]: the axum router.
//!
//! Architecture invariants: no response body, header or log line carries a token, a code or
//! the client secret (tokens leave only through the CLI on the host and its exports); a token
//! set is stored only for a site the allow list accepts and, when there are several, only for
//! the one the user picked; this crate never prints (it logs through `tracing`).

pub mod allow;
pub mod config;
pub mod cookie;
pub mod flow;
pub mod html;
pub mod routes;
pub mod state;

pub use config::{CookieKey, Limits, PublicUrl, ServeConfig, ServeError};
pub use routes::router;
pub use state::AppState;

use hyper_util::rt::TokioIo;
use jira_auth_core::http::HttpClient;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A bound listener with its application, ready to run.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Server {
    /// Binds `config.listen` and builds the application over `http`.
    pub async fn bind(config: ServeConfig, http: HttpClient) -> Result<Self, ServeError> {
        let addr = config.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        Ok(Self {
            listener,
            state: AppState::new(config, http),
        })
    }

    /// The application over a listener bound already (tests bind port 0 first to learn the
    /// public URL).
    pub fn on(listener: tokio::net::TcpListener, config: ServeConfig, http: HttpClient) -> Self {
        Self {
            listener,
            state: AppState::new(config, http),
        }
    }

    /// The address actually bound (the port, when `--listen` asked for port 0).
    pub fn local_addr(&self) -> Result<SocketAddr, ServeError> {
        self.listener.local_addr().map_err(ServeError::Serve)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight.
    ///
    /// Each connection gets the [`Limits`]: at most `max_connections` open at once (a new one
    /// past that is closed at once), and `header_timeout` to send each request's headers, which
    /// also closes a kept-alive connection left idle that long.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        tracing::info!(
            callback = self.state.redirect_uri().as_str(),
            "serving; register the callback URL in the developer console"
        );
        let limits = self.state.config().limits;
        let app = router(self.state);
        let open = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let stream = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) if is_connection_error(&e) => continue,
                    Err(e) => {
                        // Out of descriptors and the like: let connections close before trying
                        // again rather than spinning.
                        tracing::error!("accepting a connection failed: {e}");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached: closing a new connection"
                );
                drop(stream);
                continue;
            };
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.header_timeout);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                let _ = connection.await;
                drop(permit);
            });
        }
        drop(self.listener);
        // Requests in flight finish; idle connections close. Bounded like any one request.
        if tokio::time::timeout(limits.response_timeout, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("connections still open at shutdown were dropped");
        }
        Ok(())
    }
}

/// Pauses the accept loop after an error that is not one connection's own.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(100);

/// Errors that concern only the connection being accepted (the peer reset it already).
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Completes on Ctrl-C or, on Unix, `SIGTERM` (what container platforms send to stop).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
