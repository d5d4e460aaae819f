//! The JSON API under `/api/v1`, one file per resource. Each handler parses the request, calls
//! one use case and renders its answer; the routes themselves are listed in `router.rs`.

pub(crate) mod admin;
pub(crate) mod completion;
pub(crate) mod counterparties;
pub(crate) mod documents;
pub(crate) mod envelopes;
pub(crate) mod folders;
pub(crate) mod imports;
pub(crate) mod signer;
pub(crate) mod system;
pub(crate) mod templates;
pub(crate) mod verify;

/// Largest `POST /api/v1/envelopes` body: base64 of 200 MB of PDFs, with room for the JSON.
pub(crate) const MAX_ENVELOPE_BODY: usize = 300 * 1024 * 1024;
/// Largest bulk-send CSV (1,500 rows of a few hundred bytes each fit many times over).
pub(crate) const MAX_BULK_CSV_BODY: usize = 10 * 1024 * 1024;
/// Largest signer attachment body (the service itself allows 20 MB).
pub(crate) const MAX_ATTACHMENT_BODY: usize = 25 * 1024 * 1024;

/// A file in a request or response body (a PDF), described as `string`/`binary`.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(
    dead_code,
    reason = "only describes raw bodies in the OpenAPI document"
)]
pub(crate) struct Binary(Vec<u8>);
