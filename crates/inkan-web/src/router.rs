//! The server's one route table: the JSON API, the PKI, and every page (signer, completion,
//! verification, the signer's account, staff), each with its body limit and the rate limit or
//! same-origin check its group needs. Handlers live with their views in `api/` and `ui/`.

use axum::extract::DefaultBodyLimit;
use axum::extract::OriginalUri;
use axum::handler::Handler;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

use crate::api::{
    admin, completion, counterparties, documents, envelopes, folders, imports, signer, system,
    templates, verify, MAX_ATTACHMENT_BODY, MAX_BULK_CSV_BODY, MAX_ENVELOPE_BODY,
};
use crate::error::{ApiError, StartError};
use crate::extract::Shared;
use crate::{client, headers, metrics, ui, AppState};

/// The whole server: the JSON API, the OpenAPI document, the link pages, and the PKI's OCSP,
/// CRL and TSA endpoints under `/pki` (the certificates of the built-in PKI point there, so
/// signing needs them served).
pub fn router(state: AppState) -> Result<Router, StartError> {
    let mut pki = inkan_pki::server::PkiServices::new(state.pki.clone())?;
    // With PostgreSQL, nodes may run on several hosts: serials and records from the database.
    if let Some(shared) = state.inkan.shared_pki(&state.pki) {
        pki = pki
            .with_tsa_serials(shared.serials)
            .with_shared_records(shared.records)?;
    }
    let pki = Arc::new(pki);
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
        .route("/documents/export.zip", get(documents::tax_export))
        // Contracts concluded elsewhere, and corrections of the 電帳法 items.
        .route(
            "/imports",
            post(imports::import.layer(DefaultBodyLimit::max(MAX_ENVELOPE_BODY))),
        )
        .route(
            "/envelopes/{id}/documents/{doc}/metadata",
            axum::routing::put(imports::correct),
        )
        .route(
            "/envelopes/{id}/documents/{doc}/metadata/history",
            get(imports::history),
        )
        // テンプレート and 一括送信.
        .route(
            "/templates",
            get(templates::list)
                .post(templates::create.layer(DefaultBodyLimit::max(MAX_ENVELOPE_BODY))),
        )
        .route("/templates/{id}", get(templates::get))
        .route(
            "/templates/{id}/versions",
            post(templates::new_version.layer(DefaultBodyLimit::max(MAX_ENVELOPE_BODY))),
        )
        .route("/templates/{id}/envelopes", post(templates::make_envelope))
        .route("/templates/{id}/bulk.csv", get(templates::bulk_csv))
        .route(
            "/templates/{id}/bulk",
            post(templates::start_bulk.layer(DefaultBodyLimit::max(MAX_BULK_CSV_BODY))),
        )
        .route("/bulk", get(templates::batches))
        .route("/bulk/{id}", get(templates::batch))
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
        .route("/sign/{token}/code", post(signer::give_code))
        .route("/sign/{token}/sms", post(signer::send_sms))
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
        .merge(pages(&state))
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

/// The web pages: signer, completion, verification, the signer's account, staff.
fn pages(state: &Shared) -> Router<Shared> {
    let signer_pages = Router::new()
        .route("/s/{token}", get(ui::signer::summary))
        .route("/s/{token}/sign", get(ui::signer::signing))
        .route("/s/{token}/complete", post(ui::signer::complete))
        .route("/s/{token}/approve", post(ui::signer::approve))
        .route("/s/{token}/decline", post(ui::signer::decline))
        .route("/s/{token}/done", get(ui::signer::done))
        .route("/s/{token}/code", post(ui::signer_check::give_code))
        .route("/s/{token}/sms", post(ui::signer_check::send_sms))
        .route(
            "/s/{token}/attachments/{field}",
            post(ui::signer::attach).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::MAX_ATTACHMENT_BODY,
            )),
        )
        .route("/c/{token}", get(ui::completion::completion_page))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ui::guard::limit_links,
        ));
    let images = Router::new()
        .route(
            "/s/{token}/documents/{doc}/pages/{page}",
            get(ui::page_images::signer_page),
        )
        .route(
            "/c/{token}/documents/{doc}/pages/{page}",
            get(ui::page_images::completion_page),
        )
        .route(
            "/app/envelopes/{id}/documents/{doc}/pages/{page}",
            get(ui::staff::envelope::page_image),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ui::guard::limit_images,
        ));
    // Verification for anyone: rate-limited and same-origin like the link pages.
    let verification = Router::new()
        .route(
            "/verify",
            get(ui::verify::verify_page).post(ui::verify::submit).layer(
                axum::extract::DefaultBodyLimit::max(ui::verify::MAX_VERIFY_FORM),
            ),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ui::guard::limit_links,
        ));
    let account = Router::new()
        .route("/my/login", get(ui::account::login_form))
        .route("/my/code", post(ui::account::send_code))
        .route("/my/verify", post(ui::account::verify_code))
        .route("/my", get(ui::account::library))
        .route("/my/logout", post(ui::account::logout))
        .route(
            "/my/envelopes/{id}/documents/{doc}",
            get(ui::account::document),
        )
        .route(
            "/my/envelopes/{id}/certificate",
            get(ui::account::conclusion_certificate),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ui::guard::same_origin,
        ));
    Router::new()
        .merge(signer_pages)
        .merge(images)
        .merge(verification)
        .merge(account)
        .merge(staff_pages(state))
        .route("/assets/{name}", get(ui::assets::serve))
        .route("/lang", get(ui::i18n::switch))
        .route("/", get(ui::staff::home))
}

/// The staff's pages, behind the session and same-origin checks of each handler.
fn staff_pages(state: &Shared) -> Router<Shared> {
    Router::new()
        .route(
            "/login",
            get(ui::staff::login::form).post(ui::staff::login::submit),
        )
        .route("/logout", post(ui::staff::login::logout))
        .route("/login/sso", post(ui::staff::login::start_sso))
        .route("/login/sso/callback", get(ui::staff::login::finish_sso))
        .route(
            "/login/code",
            get(ui::staff::second_factor::code_page).post(ui::staff::second_factor::submit_code),
        )
        .route(
            "/login/enrol",
            get(ui::staff::second_factor::enrol_page)
                .post(ui::staff::second_factor::submit_enrolment),
        )
        .route(
            ui::staff::second_factor::ACCOUNT_PATH,
            get(ui::staff::second_factor::account_page).post(ui::staff::second_factor::enrol),
        )
        .route(
            "/app/account/mfa/remove",
            post(ui::staff::second_factor::remove),
        )
        .route(
            "/app/account/passkeys/start",
            post(ui::staff::second_factor::start_passkey),
        )
        .route(
            "/app/account/passkeys/finish",
            post(ui::staff::second_factor::finish_passkey),
        )
        .route(
            "/app/account/passkeys/{id}/remove",
            post(ui::staff::second_factor::remove_passkey),
        )
        .route(
            "/login/passkey/start",
            post(ui::staff::second_factor::start_passkey_login),
        )
        .route(
            "/login/passkey/finish",
            post(ui::staff::second_factor::finish_passkey_login),
        )
        .route(
            "/login/passkey/register/start",
            post(ui::staff::second_factor::start_passkey_enrolment),
        )
        .route(
            "/login/passkey/register/finish",
            post(ui::staff::second_factor::finish_passkey_enrolment),
        )
        .route(
            ui::staff::password::PATH,
            get(ui::staff::password::password_page).post(ui::staff::password::change_password),
        )
        .route("/app", get(ui::staff::dashboard::dashboard_page))
        .route(
            "/app/counterparties",
            get(ui::staff::counterparties::counterparties_page)
                .post(ui::staff::counterparties::register),
        )
        .route(
            "/app/counterparties/{id}",
            get(ui::staff::counterparties::edit_page).post(ui::staff::counterparties::update),
        )
        .route("/app/envelopes/new", get(ui::staff::compose::compose_page))
        .route(
            "/app/envelopes/preview",
            post(ui::staff::compose::preview).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::MAX_ATTACHMENT_BODY * 3,
            )),
        )
        .route(
            "/app/envelopes",
            post(ui::staff::compose::create).layer(axum::extract::DefaultBodyLimit::max(
                crate::api::MAX_ENVELOPE_BODY,
            )),
        )
        .route(
            "/app/envelopes/{id}",
            get(ui::staff::envelope::envelope_page),
        )
        .route("/app/envelopes/{id}/send", post(ui::staff::envelope::send))
        .route(
            "/app/envelopes/{id}/cancel",
            post(ui::staff::envelope::cancel),
        )
        .route(
            "/app/envelopes/{id}/remind",
            post(ui::staff::envelope::remind),
        )
        .route(
            "/app/envelopes/{id}/recipients/{recipient}/new-link",
            post(ui::staff::envelope::new_link),
        )
        .route(
            "/app/envelopes/{id}/documents/{doc}/metadata",
            post(ui::staff::envelope::correct_metadata),
        )
        .route(
            "/app/envelopes/{id}/folder",
            post(ui::staff::envelope::move_to_folder),
        )
        .route(
            "/app/envelopes/{id}/shares",
            post(ui::staff::envelope::share),
        )
        .route(
            ui::staff::folders::PATH,
            get(ui::staff::folders::folders_page).post(ui::staff::folders::create_folder),
        )
        .route(
            "/app/settings/folders/required",
            post(ui::staff::folders::set_required),
        )
        .route(
            "/app/settings/folders/groups",
            post(ui::staff::folders::create_group),
        )
        .route(
            "/app/settings/folders/groups/{id}/{action}",
            post(ui::staff::folders::change_group),
        )
        .route(
            "/app/settings/folders/{id}/{action}",
            post(ui::staff::folders::change_folder),
        )
        .route(
            "/app/envelopes/{id}/documents/{doc}/download",
            get(ui::staff::envelope::download),
        )
        .route(
            "/app/envelopes/{id}/attachments/{att}/download",
            get(ui::staff::envelope::attachment),
        )
        .route(
            "/app/envelopes/{id}/certificate",
            get(ui::staff::envelope::conclusion_certificate),
        )
        .route("/app/documents", get(ui::staff::archive::archive_page))
        .route(
            "/app/templates",
            get(ui::staff::templates::list_page).post(ui::staff::templates::create.layer(
                axum::extract::DefaultBodyLimit::max(crate::api::MAX_ENVELOPE_BODY),
            )),
        )
        .route("/app/templates/new", get(ui::staff::templates::new_page))
        .route(
            "/app/templates/{id}",
            get(ui::staff::templates::template_page),
        )
        .route(
            "/app/templates/{id}/versions",
            post(
                ui::staff::templates::new_version.layer(axum::extract::DefaultBodyLimit::max(
                    crate::api::MAX_ENVELOPE_BODY,
                )),
            ),
        )
        .route(
            "/app/templates/{id}/envelopes",
            post(ui::staff::templates::make_envelope),
        )
        .route(
            "/app/templates/{id}/bulk.csv",
            get(ui::staff::templates::bulk_csv),
        )
        .route(
            "/app/templates/{id}/bulk",
            post(
                ui::staff::templates::start_bulk.layer(axum::extract::DefaultBodyLimit::max(
                    crate::api::MAX_BULK_CSV_BODY,
                )),
            ),
        )
        .route("/app/bulk/{id}", get(ui::staff::templates::batch_page))
        .route(
            "/app/bulk/{id}/progress",
            get(ui::staff::templates::batch_progress),
        )
        .route(
            "/app/imports",
            get(ui::staff::imports::import_page).post(ui::staff::imports::import.layer(
                axum::extract::DefaultBodyLimit::max(crate::api::MAX_ENVELOPE_BODY),
            )),
        )
        .route("/app/documents.csv", get(ui::staff::archive::csv))
        .route("/app/documents.zip", get(ui::staff::archive::zip))
        .route(
            ui::staff::security::PATH,
            get(ui::staff::security::security_page).post(ui::staff::security::save_security),
        )
        .route(
            "/app/settings/security/mfa",
            post(ui::staff::security::save_mfa_required),
        )
        .route(
            "/app/settings/security/sso",
            post(ui::staff::security::save_sso),
        )
        .route(
            "/app/settings/security/sso/remove",
            post(ui::staff::security::remove_sso),
        )
        .route(
            ui::staff::users::PATH,
            get(ui::staff::users::users_page).post(ui::staff::users::invite),
        )
        .route(
            ui::staff::operations_log::PATH,
            get(ui::staff::operations_log::log_page),
        )
        .route(
            ui::staff::api_keys::PATH,
            get(ui::staff::api_keys::keys_page).post(ui::staff::api_keys::make_key),
        )
        .route(
            "/app/settings/api-keys/{id}/revoke",
            post(ui::staff::api_keys::revoke_key),
        )
        .route(
            "/app/settings/users/{id}/{action}",
            post(ui::staff::users::act),
        )
        .route(
            "/invite/{token}",
            get(ui::staff::users::invitation_page).post(ui::staff::users::accept),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ui::guard::same_origin,
        ))
}
