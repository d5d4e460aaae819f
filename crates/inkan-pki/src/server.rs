//! `inkan pki serve`: the PKI's HTTP endpoints (RFC 6960 appendix A, RFC 5280 §4.2.1.13/§4.2.2.1,
//! RFC 3161 §3.4) on one axum router.
//!
//! | route | what |
//! |---|---|
//! | `POST /ocsp`, `GET /ocsp/{base64}` | OCSP for the issuing CA's certificates |
//! | `GET /crl/root.crl`, `GET /crl/issuing-ca.crl` | fresh CRLs (DER) |
//! | `GET /certs/root.cer`, `GET /certs/issuing-ca.cer` | CA certificates (DER) |
//! | `/g2/ocsp`, `/g2/crl/…`, `/g2/certs/…` | the same for a later generation (`inkan pki rollover`) |
//! | `POST /tsa` | RFC 3161 time-stamping (by the current generation's TSA) |
//!
//! Every generation keeps answering at the URLs written into its certificates.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use der::Encode;
use std::sync::Arc;

use crate::config::generation_segment;
use crate::ocsp::OcspResponder;
use crate::tsa::TimeStampAuthority;
use crate::{CaRole, Pki, PkiError};

/// OCSP and TSA requests are a few hundred bytes; refuse anything large before reading it.
const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// Everything the endpoints need, built once at start.
pub struct PkiServices {
    tsa: TimeStampAuthority,
    /// The current generation first, then the earlier ones.
    generations: Vec<Arc<CaServices>>,
}

/// One generation's CA services: its OCSP responder, CRLs and CA certificates.
struct CaServices {
    pki: Arc<Pki>,
    ocsp: OcspResponder,
    /// What other nodes issued and revoked.
    shared: Option<Arc<dyn crate::shared::SharedRecords>>,
    crls: crate::crl::CrlCache,
}

impl PkiServices {
    pub fn new(pki: Arc<Pki>) -> Result<Self, PkiError> {
        let generations = std::iter::once(pki.clone())
            .chain(pki.earlier().iter().cloned())
            .map(|generation| {
                Ok(Arc::new(CaServices {
                    ocsp: OcspResponder::new(generation.clone())?,
                    pki: generation,
                    shared: None,
                    crls: Default::default(),
                }))
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        Ok(Self {
            tsa: TimeStampAuthority::new(&pki)?,
            generations,
        })
    }

    /// OCSP answers and CRLs from the PKI folder and from `shared` (what nodes on other hosts
    /// issued and revoked).
    pub fn with_shared_records(
        mut self,
        shared: Arc<dyn crate::shared::SharedRecords>,
    ) -> Result<Self, PkiError> {
        self.generations = self
            .generations
            .iter()
            .map(|g| {
                Ok(Arc::new(CaServices {
                    ocsp: OcspResponder::new(g.pki.clone())?.with_shared(shared.clone()),
                    pki: g.pki.clone(),
                    shared: Some(shared.clone()),
                    crls: Default::default(),
                }))
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        Ok(self)
    }

    /// The TSA's serial numbers from `source` (a counter shared by nodes on several hosts).
    pub fn with_tsa_serials(mut self, source: Arc<dyn crate::tsa::SerialBlocks>) -> Self {
        self.tsa = self.tsa.with_serials(source);
        self
    }

    /// The TSA writes genTime with the fraction of a second (see
    /// [`TimeStampAuthority::with_fractional_seconds`]).
    pub fn with_fractional_seconds(mut self) -> Self {
        self.tsa = self.tsa.with_fractional_seconds();
        self
    }
}

/// The router of `inkan pki serve`.
pub fn router(services: Arc<PkiServices>) -> Router {
    let mut router = Router::new()
        .route("/", get(index))
        .route("/tsa", post(tsa))
        .with_state(services.clone());
    for generation in &services.generations {
        let routes = ca_routes(generation.clone());
        router = match generation.pki.generation() {
            0 | 1 => router.merge(routes),
            n => router.nest(&format!("/{}", generation_segment(n)), routes),
        };
    }
    router.layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
}

fn ca_routes(services: Arc<CaServices>) -> Router {
    Router::new()
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .route("/crl/{file}", get(crl))
        .route("/certs/{file}", get(certificate))
        .with_state(services)
}

async fn index() -> &'static str {
    "Inkan PKI: POST /ocsp, GET /ocsp/{base64}, GET /crl/{root,issuing-ca}.crl, \
     GET /certs/{root,issuing-ca}.cer (under /g2/, /g3/, ... for later generations), POST /tsa\n"
}

fn der_response(status: u16, content_type: &'static str, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// Runs CPU-bound signing off the async threads.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    tokio::task::spawn_blocking(work).await.ok()
}

async fn ocsp_post(State(services): State<Arc<CaServices>>, body: Bytes) -> Response {
    answer_ocsp(services, body.to_vec()).await
}

async fn ocsp_get(
    State(services): State<Arc<CaServices>>,
    Path(request): Path<String>,
) -> Response {
    // RFC 6960 A.1: base64 of the DER request, URL-encoded (axum has already percent-decoded).
    let cleaned: String = request.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(cleaned.as_bytes()))
        .unwrap_or_default();
    answer_ocsp(services, der).await
}

async fn answer_ocsp(services: Arc<CaServices>, der: Vec<u8>) -> Response {
    match blocking(move || services.ocsp.respond(&der)).await {
        Some(reply) => der_response(reply.http_status, "application/ocsp-response", reply.body),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn tsa(State(services): State<Arc<PkiServices>>, body: Bytes) -> Response {
    match blocking(move || services.tsa.respond(&body)).await {
        Some(reply) => der_response(reply.http_status, "application/timestamp-reply", reply.body),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn ca_named(file: &str, extension: &str) -> Option<CaRole> {
    let stem = file.strip_suffix(extension)?;
    [CaRole::Root, CaRole::Issuing]
        .into_iter()
        .find(|ca| ca.file_stem() == stem)
}

async fn crl(State(services): State<Arc<CaServices>>, Path(file): Path<String>) -> Response {
    let Some(ca) = ca_named(&file, ".crl") else {
        return (StatusCode::NOT_FOUND, "no such CRL\n").into_response();
    };
    let issue = move || {
        let shared = services.shared.as_deref();
        services.crls.issue(&services.pki, ca, shared)
    };
    match blocking(issue).await {
        Some(Ok(der)) => der_response(200, "application/pkix-crl", der),
        Some(Err(e)) => {
            tracing::error!("CRL for {file}: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the CRL could not be issued\n",
            )
                .into_response()
        }
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

async fn certificate(
    State(services): State<Arc<CaServices>>,
    Path(file): Path<String>,
) -> Response {
    let Some(ca) = ca_named(&file, ".cer") else {
        return (StatusCode::NOT_FOUND, "no such certificate\n").into_response();
    };
    match services.pki.ca_certificate(ca).to_der() {
        Ok(der) => der_response(200, "application/pkix-cert", der),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Serves the PKI on `listener` until the future is dropped or the process ends.
pub async fn serve(pki: Arc<Pki>, listener: tokio::net::TcpListener) -> Result<(), PkiError> {
    let services = Arc::new(PkiServices::new(pki)?);
    axum::serve(listener, router(services))
        .await
        .map_err(|e| PkiError::Invalid(format!("server: {e}")))
}

/// Serves the PKI on `listener` from a thread of its own with its own runtime, for programs that
/// are not async themselves (tests, tools). The thread ends when the process does.
pub fn spawn_server(
    pki: Arc<Pki>,
    listener: std::net::TcpListener,
) -> std::thread::JoinHandle<Result<(), PkiError>> {
    match PkiServices::new(pki) {
        Ok(services) => spawn_services(services, listener),
        Err(e) => std::thread::spawn(move || Err(e)),
    }
}

/// [`spawn_server`] with services made beforehand (a TSA writing fractional seconds, say).
pub fn spawn_services(
    services: PkiServices,
    listener: std::net::TcpListener,
) -> std::thread::JoinHandle<Result<(), PkiError>> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| PkiError::Invalid(format!("runtime: {e}")))?;
        runtime.block_on(async move {
            listener
                .set_nonblocking(true)
                .map_err(|e| PkiError::Invalid(format!("listener: {e}")))?;
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| PkiError::Invalid(format!("listener: {e}")))?;
            axum::serve(listener, router(Arc::new(services)))
                .await
                .map_err(|e| PkiError::Invalid(format!("server: {e}")))
        })
    })
}
