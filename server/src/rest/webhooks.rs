//! Webhook endpoints and their deliveries, for scripts. Thin, as the rest: the services hold the
//! rules. Every route needs `webhooks.manage`, which only an owner's or admin's key can use.

use super::extract::{ApiJson, ApiQuery, Caller};
use super::problem::{ApiError, Problem};
use app::model::{DeliveryPage, EndpointWithSecret, FieldError, WebhookDelivery, WebhookEndpoint};
use app::ssr::AppState;
use app::ssr::ServiceError;
use app::ssr::services::webhooks::{self, EndpointChange};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// An endpoint to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// Where events are posted: https (or http), a public address unless the server allows
    /// private ones (KEYWARD_WEBHOOK_ALLOW_PRIVATE).
    #[schema(max_length = 2000)]
    pub url: String,
    /// At least one event name, e.g. `key.revoked`.
    #[schema(min_items = 1)]
    pub events: Vec<String>,
}

/// What to change of an endpoint: the fields given.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditEndpoint {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// A disabled endpoint gets no new deliveries; its pending ones wait.
    pub enabled: Option<bool>,
}

/// Which deliveries to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryParams {
    /// From 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// 10, 25, 50 or 100.
    pub per_page: Option<u32>,
}

fn endpoint_id(raw: &str) -> Result<Uuid, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound("webhook endpoint"))
}

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "webhooks",
    description = "Needs `webhooks.manage`. The organization's webhook endpoints, oldest first.",
    responses((status = 200, body = Vec<WebhookEndpoint>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<WebhookEndpoint>>, ApiError> {
    Ok(Json(webhooks::list(&state.core, &caller).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "webhooks", request_body = NewEndpoint,
    description = "Needs `webhooks.manage`. Registers an endpoint for the events named. The answer holds its signing \
        secret (`whsec_…`), shown this once. Deliveries follow the Standard Webhooks specification: `webhook-id`, \
        `webhook-timestamp` and `webhook-signature` (HMAC-SHA256) headers.",
    responses((status = 201, body = EndpointWithSecret), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn register(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewEndpoint>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let registered = webhooks::register(&state.core, &caller, &body.url, &body.events).await?;
    Ok((StatusCode::CREATED, Json(registered)))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    description = "Needs `webhooks.manage`.",
    responses((status = 200, body = WebhookEndpoint), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(webhooks::get(&state.core, &caller, endpoint_id(&id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    request_body = EditEndpoint,
    description = "Needs `webhooks.manage`. Changes the URL, the events, or whether the endpoint is enabled.",
    responses((status = 200, body = WebhookEndpoint), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn edit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditEndpoint>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    let id = endpoint_id(&id)?;
    if body.url.is_none() && body.events.is_none() && body.enabled.is_none() {
        return Err(ServiceError::from(FieldError::new("body", "name at least one of url, events and enabled")).into());
    }
    let change = EndpointChange { url: body.url, events: body.events, enabled: body.enabled };
    Ok(Json(webhooks::change(&state.core, &caller, id, change).await?))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "webhooks", params(("id" = Uuid, Path)),
    description = "Needs `webhooks.manage`. Deletes the endpoint and its deliveries, pending ones included.",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state.core, &caller, endpoint_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = Uuid, Path)),
    description = "Needs `webhooks.manage`. A new signing secret, shown this once. For 24 hours, deliveries are signed \
        with the previous secret too (two signatures in `webhook-signature`), so receivers can change over.",
    responses((status = 200, body = EndpointWithSecret), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    Ok(Json(webhooks::rotate_secret(&state.core, &caller, endpoint_id(&id)?).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "webhooks", params(("id" = Uuid, Path)),
    description = "Needs `webhooks.manage`. Queues a `webhook.test` event for this endpoint; it is sent within seconds, \
        and its delivery is listed with the others.",
    responses((status = 202, body = WebhookDelivery), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn send_test(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let queued = webhooks::send_test(&state.core, &caller, endpoint_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "webhooks", params(("id" = Uuid, Path), DeliveryParams),
    description = "Needs `webhooks.manage`. The endpoint's deliveries, newest first: status, attempts, the last answer's \
        status or error, and when the next attempt is due.",
    responses((status = 200, body = DeliveryPage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<DeliveryPage>, ApiError> {
    let (page, per_page) = (params.page.unwrap_or(1), params.per_page.unwrap_or(25));
    Ok(Json(webhooks::deliveries(&state.core, &caller, endpoint_id(&id)?, page, per_page).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", tag = "webhooks",
    params(("id" = Uuid, Path), ("delivery_id" = String, Path, description = "`msg_…`, as listed")),
    description = "Needs `webhooks.manage`. Sends the delivery again (same `webhook-id`, same body), whatever became of \
        it.",
    responses((status = 202, body = WebhookDelivery), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn resend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    let id = endpoint_id(&id)?;
    let delivery_id = webhooks::parse_message_id(&delivery_id).ok_or(ServiceError::NotFound("delivery"))?;
    let queued = webhooks::resend(&state.core, &caller, id, delivery_id).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
