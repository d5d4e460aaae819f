//! Inkan's HTTP layer: the JSON API under `/api/v1` (described by the OpenAPI document at
//! `/openapi.json`, generated from the handlers), the web pages ([`ui`]: the signer's pages
//! behind the email links, the completion page, the staff's pages), and the PKI's OCSP, CRL and
//! TSA endpoints under `/pki`.
//!
//! Every route is listed in [`router()`] (`src/router.rs`). Handlers are thin: they parse the
//! request, call one use case of [`Inkan`], and render its answer; every failure goes through
//! [`ApiError`], which maps the service's errors to an HTTP status, a stable code and a message.
#![doc = include_str!("../README.md")]

mod api;
mod client;
mod error;
mod extract;
mod headers;
mod metrics;
mod openapi;
mod redirect;
mod render;
mod router;
mod ui;
mod upload;

pub use error::{ApiError, ErrorBody, ErrorDetail, StartError};
pub use extract::{CallerInfo, StaffAuth};
pub use openapi::ApiDoc;
pub use router::router;

use inkan_service::Inkan;
use std::net::SocketAddr;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub inkan: Inkan,
    pub pki: Arc<inkan_pki::Pki>,
    /// The secret that allows `POST /api/v1/organizations`; `None` turns that route off (the
    /// operator then creates organizations with `inkan org create`).
    pub operator_token: Option<String>,
    /// Rate limiters and the cache of rendered pages, shared by every request.
    pub(crate) web: Arc<ui::WebRuntime>,
}

impl AppState {
    pub fn new(inkan: Inkan, pki: Arc<inkan_pki::Pki>, operator_token: Option<String>) -> AppState {
        AppState {
            inkan,
            pki,
            operator_token,
            web: Arc::new(ui::WebRuntime::new()),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("public_url", &self.inkan.settings().public_url)
            .field("operator_token", &self.operator_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

/// Serves `router` on `listener` until ctrl-c (or SIGTERM), then finishes the requests in flight.
/// Handlers see the peer address (for the audit trail) through `ConnectInfo<SocketAddr>`.
pub async fn serve(listener: tokio::net::TcpListener, router: axum::Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for ctrl-c: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing the requests in flight");
}
