//! The OpenAPI 3 document, generated from the handlers' `#[utoipa::path]` annotations and the
//! service's `ToSchema` types. Every route of `router.rs` under `/api/v1` is listed here; a test
//! compares the two. The handlers import nothing from here (the dependency goes one way).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::{
    admin, completion, counterparties, documents, envelopes, folders, imports, signer, system,
    templates, verify,
};

/// This OpenAPI document.
#[utoipa::path(get, path = "/openapi.json", tag = "system",
    responses((status = 200, description = "the OpenAPI 3 document", content_type = "application/json")))]
pub(crate) async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

/// The API's description, served at `/openapi.json`.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Inkan API",
        description = "電子契約 for Japanese cities: envelopes, counterparties, signer links, \
                       電帳法 search. Staff authenticate with `Authorization: Bearer <API key>`; \
                       recipients use the token of the link in their email. Errors are \
                       `{\"error\": {\"code\", \"message\"}}`."
    ),
    paths(
        system::healthz,
        system::readyz,
        system::metrics,
        openapi_json,
        admin::create_organization,
        admin::create_api_key,
        admin::api_keys,
        admin::revoke_api_key,
        admin::staff_networks,
        admin::set_staff_networks,
        admin::set_mfa_required,
        admin::sso,
        admin::set_sso,
        admin::remove_sso,
        admin::reset_mfa,
        admin::users,
        admin::invite_user,
        admin::send_invitation,
        admin::change_role,
        admin::organization_log,
        admin::add_user,
        admin::disable_user,
        admin::set_password,
        admin::departments,
        admin::add_webhook,
        admin::jobs,
        admin::retry_job,
        folders::groups,
        folders::create_group,
        folders::update_group,
        folders::delete_group,
        folders::folders,
        folders::create_folder,
        folders::update_folder,
        folders::delete_folder,
        folders::set_folder_required,
        folders::move_envelope,
        folders::shares,
        folders::share,
        counterparties::list,
        counterparties::register,
        counterparties::get,
        counterparties::update,
        envelopes::create,
        envelopes::list,
        envelopes::get,
        envelopes::send,
        envelopes::cancel,
        envelopes::remind,
        envelopes::new_link,
        envelopes::document,
        envelopes::attachment,
        envelopes::conclusion_certificate,
        envelopes::audit,
        documents::search,
        documents::search_csv,
        documents::tax_export,
        imports::import,
        imports::correct,
        imports::history,
        templates::list,
        templates::create,
        templates::get,
        templates::new_version,
        templates::make_envelope,
        templates::bulk_csv,
        templates::start_bulk,
        templates::batches,
        templates::batch,
        signer::open,
        signer::document,
        signer::attach,
        signer::upload_own_certificate,
        signer::complete,
        signer::approve,
        signer::decline,
        signer::give_code,
        signer::send_sms,
        completion::open,
        completion::document,
        completion::conclusion_certificate,
        verify::verify,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&BearerSchemes),
    tags(
        (name = "envelopes", description = "封筒: draft, send, cancel, remind, downloads, audit trail"),
        (name = "counterparties", description = "取引先 registry"),
        (name = "documents", description = "電帳法 search"),
        (name = "templates", description = "テンプレート (versions, 差込み項目) and 一括送信 from a CSV"),
        (name = "signer", description = "Recipients, through the link in their email"),
        (name = "completion", description = "The completion link (14 days)"),
        (name = "verify", description = "Verification of a signed PDF, for anyone"),
        (name = "admin", description = "Organizations, users, groups, folders, API keys, webhooks, jobs"),
        (name = "system", description = "Health and this document"),
    )
)]
pub struct ApiDoc;

/// `api_key` (an organization's API key) and `operator_token` (the installation's operator),
/// both as `Authorization: Bearer`.
struct BearerSchemes;

impl Modify for BearerSchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An organization's API key (`inkan_…`)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The installation's operator token"))
                    .build(),
            ),
        );
    }
}
