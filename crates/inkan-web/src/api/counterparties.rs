//! The counterparty registry (取引先, from the 電子契約用メールアドレス届出書).

use axum::extract::State;
use axum::http::StatusCode;
use inkan_service::{CounterpartyInput, CounterpartyView};

use crate::error::{ApiError, ErrorBody};
use crate::extract::{CallerInfo, Json, Path, Shared, StaffAuth};

/// The organization's counterparties.
#[utoipa::path(get, path = "/api/v1/counterparties", tag = "counterparties",
    security(("api_key" = [])),
    responses((status = 200, body = Vec<CounterpartyView>), (status = 401, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<Shared>,
    StaffAuth(staff): StaffAuth,
) -> Result<Json<Vec<CounterpartyView>>, ApiError> {
    Ok(Json(state.inkan.counterparties(&staff).await?))
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
