//! The server's route table: the JSON API and the PKI with their body limits; the pages' routes
//! (`ui::routes`) are merged in here, so every path is reachable from this file.

use axum::extract::DefaultBodyLimit;
use axum::extract::OriginalUri;
use axum::handler::Handler;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

use crate::api::{
    admin, completion, counterparties, documents, envelopes, folders, signer, system, verify,
    MAX_ATTACHMENT_BODY, MAX_ENVELOPE_BODY,
};
use crate::error::{ApiError, StartError};
use crate::{client, headers, metrics, ui, AppState};

/// The whole server: the JSON API, the OpenAPI document, the link pages, and the PKI's OCSP,
/// CRL and TSA endpoints under `/pki` (the certificates of the built-in PKI point there, so
/// signing needs them served).
pub fn router(state: AppState) -> Result<Router, StartError> {
    let pki = Arc::new(inkan_pki::server::PkiServices::new(state.pki.clone())?);
    // Behind HTTPS, browsers are told to come back over HTTPS only.
    let https = state.inkan.settings().public_url.starts_with("https://");
    let state = Arc::new(state);

    let api = Router::new()
        // Organizations (operator), API keys, webhooks, jobs.
        .route("/organizations", post(admin::create_organization))
        .route(
            "/api-keys",
            get(admin::api_keys).post(admin::create_api_key),
        )
        .route("/api-keys/{id}/revoke", post(admin::revoke_api_key))
        .route(
            "/organization/staff-networks",
            get(admin::staff_networks).put(admin::set_staff_networks),
        )
        .route("/users", get(admin::users).post(admin::add_user))
        .route("/users/invite", post(admin::invite_user))
        .route("/audit", get(admin::organization_log))
        .route("/users/{id}/invitation", post(admin::send_invitation))
        .route("/users/{id}/role", axum::routing::put(admin::change_role))
        .route("/users/{id}/disable", post(admin::disable_user))
        .route("/users/{id}/password", post(admin::set_password))
        .route("/users/{id}/mfa/reset", post(admin::reset_mfa))
        .route(
            "/organization/sso",
            get(admin::sso)
                .put(admin::set_sso)
                .delete(admin::remove_sso),
        )
        .route(
            "/organization/mfa-required",
            axum::routing::put(admin::set_mfa_required),
        )
        .route("/departments", get(admin::departments))
        // 閲覧権限: groups, folders, an envelope's folder and shares.
        .route("/groups", get(folders::groups).post(folders::create_group))
        .route(
            "/groups/{id}",
            axum::routing::put(folders::update_group).delete(folders::delete_group),
        )
        .route(
            "/folders",
            get(folders::folders).post(folders::create_folder),
        )
        .route(
            "/folders/{id}",
            axum::routing::put(folders::update_folder).delete(folders::delete_folder),
        )
        .route(
            "/organization/folder-required",
            axum::routing::put(folders::set_folder_required),
        )
        .route(
            "/envelopes/{id}/folder",
            axum::routing::put(folders::move_envelope),
        )
        .route(
            "/envelopes/{id}/shares",
            get(folders::shares).put(folders::share),
        )
        .route("/webhooks", post(admin::add_webhook))
        .route("/jobs", get(admin::jobs))
        .route("/jobs/{id}/retry", post(admin::retry_job))
        // Counterparties (取引先).
        .route(
            "/counterparties",
            get(counterparties::list).post(counterparties::register),
        )
        .route(
            "/counterparties/{id}",
            get(counterparties::get).put(counterparties::update),
        )
        // Envelopes.
        .route(
            "/envelopes",
            get(envelopes::list)
                .post(envelopes::create.layer(DefaultBodyLimit::max(MAX_ENVELOPE_BODY))),
        )
        .route("/envelopes/{id}", get(envelopes::get))
        .route("/envelopes/{id}/send", post(envelopes::send))
        .route("/envelopes/{id}/cancel", post(envelopes::cancel))
        .route("/envelopes/{id}/remind", post(envelopes::remind))
        .route(
            "/envelopes/{id}/recipients/{recipient}/new-link",
            post(envelopes::new_link),
        )
        .route("/envelopes/{id}/documents/{doc}", get(envelopes::document))
        .route(
            "/envelopes/{id}/attachments/{att}",
            get(envelopes::attachment),
        )
        .route(
            "/envelopes/{id}/certificate",
            get(envelopes::conclusion_certificate),
        )
        .route("/envelopes/{id}/audit", get(envelopes::audit))
        // 電帳法 search.
        .route("/documents/search", get(documents::search))
        .route("/documents/search.csv", get(documents::search_csv))
        // Recipients, by the token of their link.
        .route("/sign/{token}", get(signer::open))
        .route("/sign/{token}/documents/{doc}", get(signer::document))
        .route(
            "/sign/{token}/attachments",
            post(signer::attach.layer(DefaultBodyLimit::max(MAX_ATTACHMENT_BODY))),
        )
        .route(
            "/sign/{token}/certificate",
            post(signer::upload_own_certificate),
        )
        .route("/sign/{token}/complete", post(signer::complete))
        .route("/sign/{token}/approve", post(signer::approve))
        .route("/sign/{token}/decline", post(signer::decline))
        // The completion link.
        .route("/completion/{token}", get(completion::open))
        .route(
            "/completion/{token}/documents/{doc}",
            get(completion::document),
        )
        .route(
            "/completion/{token}/certificate",
            get(completion::conclusion_certificate),
        )
        // Verification for anyone (rate-limited per client like the link pages).
        .route(
            "/verify",
            post(verify::verify.layer(DefaultBodyLimit::max(verify::MAX_VERIFY_BODY))).route_layer(
                axum::middleware::from_fn_with_state(state.clone(), ui::limit_links),
            ),
        )
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed);

    Ok(Router::new()
        .nest("/api/v1", api)
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics))
        // The web pages: signer, completion, staff.
        .merge(ui::routes(&state))
        .with_state(state.clone())
        .nest("/pki", inkan_pki::server::router(pki))
        // After every route: the matched pattern for the request metrics.
        .route_layer(axum::middleware::from_fn(metrics::remember_route))
        .fallback(no_route)
        // Before any route: who the client is (behind trusted proxies, the forwarded address).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client::client_address,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            metrics::track_requests,
        ))
        .layer(axum::middleware::from_fn_with_state(
            https,
            headers::security_headers,
        )))
}

async fn no_route(OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NoRoute(uri.path().to_string())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
