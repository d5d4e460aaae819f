//! The web pages people use: the signer's pages behind the email link (`/s/{token}`), the
//! completion page (`/c/{token}`), the staff's pages (`/login`, `/app/…`), the public
//! verification page (`/verify`) and the signer's own account and library (`/my/…`).
//!
//! Pages are rendered on the server with maud (every interpolated value is escaped by
//! construction). Contract pages are shown as images the server renders itself
//! ([`page_images`]), and the little JavaScript there is (tabs, the checklist, dialogs, field
//! placement) is served from the binary ([`assets`]): nothing comes from a CDN, and the
//! Content-Security-Policy allows only this origin.

mod account;
mod assets;
mod completion;
mod error;
mod guard;
mod i18n;
mod layout;
mod page_images;
mod signer;
mod staff;
mod verify;

use axum::routing::{get, post};
use axum::Router;

use crate::extract::Shared;

pub(crate) use guard::{limit_links, RateLimits};
pub(crate) use page_images::PageCache;

/// What the pages keep between requests: rate limiters and rendered page images.
pub(crate) struct WebRuntime {
    pub limits: RateLimits,
    pub pages: PageCache,
}

impl WebRuntime {
    pub fn new() -> WebRuntime {
        WebRuntime {
            limits: RateLimits::new(),
            pages: PageCache::new(64 << 20),
        }
    }
}

/// Every page route; mounted at the root by `router.rs`.
pub(crate) fn routes(state: &Shared) -> Router<Shared> {
    let signer_pages = Router::new()
        .route("/s/{token}", get(signer::summary))
        .route("/s/{token}/sign", get(signer::signing))
        .route("/s/{token}/complete", post(signer::complete))
        .route("/s/{token}/approve", post(signer::approve))
        .route("/s/{token}/decline", post(signer::decline))
        .route("/s/{token}/done", get(signer::done))
        .route(
            "/s/{token}/attachments/{field}",
            post(signer::attach).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::MAX_ATTACHMENT_BODY,
            )),
        )
        .route("/c/{token}", get(completion::completion_page))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::limit_links,
        ));
    let images = Router::new()
        .route(
            "/s/{token}/documents/{doc}/pages/{page}",
            get(page_images::signer_page),
        )
        .route(
            "/c/{token}/documents/{doc}/pages/{page}",
            get(page_images::completion_page),
        )
        .route(
            "/app/envelopes/{id}/documents/{doc}/pages/{page}",
            get(staff::envelope::page_image),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::limit_images,
        ));
    // Verification for anyone: rate-limited and same-origin like the link pages.
    let verification = Router::new()
        .route(
            "/verify",
            get(verify::verify_page).post(verify::submit).layer(
                axum::extract::DefaultBodyLimit::max(verify::MAX_VERIFY_FORM),
            ),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::limit_links,
        ));
    let account = Router::new()
        .route("/my/login", get(account::login_form))
        .route("/my/code", post(account::send_code))
        .route("/my/verify", post(account::verify_code))
        .route("/my", get(account::library))
        .route("/my/logout", post(account::logout))
        .route("/my/envelopes/{id}/documents/{doc}", get(account::document))
        .route(
            "/my/envelopes/{id}/certificate",
            get(account::conclusion_certificate),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::same_origin,
        ));
    Router::new()
        .merge(signer_pages)
        .merge(images)
        .merge(verification)
        .merge(account)
        .merge(staff::routes(state))
        .route("/assets/{name}", get(assets::serve))
        .route("/lang", get(i18n::switch))
        .route("/", get(staff::home))
}
