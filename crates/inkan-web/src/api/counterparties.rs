//! The counterparty registry (取引先, from the 電子契約用メールアドレス届出書).

use axum::extract::State;
use axum::http::StatusCode;
use inkan_service::{CounterpartyInput, CounterpartyView};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Query, Shared, StaffAuth};

/// Which counterparties to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SearchQuery {
    /// Words that must all appear in a counterparty's names, emails, address or phone (case
    /// folded); none lists every counterparty.
    q: Option<String>,
}

/// The organization's counterparties, by trade name; `q` searches them.
#[utoipa::path(get, path = "/api/v1/counterparties", tag = "counterparties",
    params(SearchQuery),
    security(("api_key" = [])),
    responses((status = 200, body = Vec<CounterpartyView>),
        (status = 400, description = "the search is not one line of text", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Query(query): Query<SearchQuery>,
) -> Result<Json<Vec<CounterpartyView>>, ApiError> {
    let q = query.q.unwrap_or_default();
    Ok(Json(state.inkan.search_counterparties(&staff, &q).await?))
}

/// Registers a counterparty from its 届出書.
#[utoipa::path(post, path = "/api/v1/counterparties", tag = "counterparties",
    request_body = CounterpartyInput,
    security(("api_key" = [])),
    responses(
        (status = 201, body = CounterpartyView),
        (status = 400, description = "a field is missing or wrong; the message names it", body = ErrorBody),
        (status = 401, body = ErrorBody)))]
pub(crate) async fn register(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Json(input): Json<CounterpartyInput>,
) -> Result<(StatusCode, Json<CounterpartyView>), ApiError> {
    let view = state
        .inkan
        .register_counterparty(&staff, &input, &caller)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One counterparty.
#[utoipa::path(get, path = "/api/v1/counterparties/{id}", tag = "counterparties",
    params(("id" = String, Path, description = "the counterparty's ID")),
    security(("api_key" = [])),
    responses(
        (status = 200, body = CounterpartyView),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    Path(id): Path<String>,
) -> Result<Json<CounterpartyView>, ApiError> {
    Ok(Json(state.inkan.counterparty(&staff, &id).await?))
}

/// Replaces a counterparty's fields from a new 届出書 (every field is sent, as at registration).
#[utoipa::path(put, path = "/api/v1/counterparties/{id}", tag = "counterparties",
    params(("id" = String, Path, description = "the counterparty's ID")),
    request_body = CounterpartyInput,
    security(("api_key" = [])),
    responses(
        (status = 200, body = CounterpartyView),
        (status = 400, description = "a field is missing or wrong; the message names it", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn update(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
    CallerInfo(caller): CallerInfo,
    Path(id): Path<String>,
    Json(input): Json<CounterpartyInput>,
) -> Result<Json<CounterpartyView>, ApiError> {
    Ok(Json(
        state
            .inkan
            .update_counterparty(&staff, &id, &input, &caller)
            .await?,
    ))
}
