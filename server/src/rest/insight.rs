//! What the verification log tells, for scripts: keys still presented after they stopped working,
//! a key's scopes beside those asked for, a project's traffic, and disabling stale keys at once.
//! Thin, as the rest: the dashboard calls the same services.

use super::extract::{ApiJson, ApiQuery, Caller, KeyId};
use super::problem::{ApiError, Problem};
use app::model::{
    BulkDisabled, ChartWindow, DecoyUse, KeyExpiringSoon, KeyInsight, KeyStillPresented, ProjectTraffic, key_ids,
};
use app::ssr::AppState;
use app::ssr::ServiceError;
use app::ssr::services::{decoys, insight, keys};
use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[utoipa::path(get, path = "/api/v1/keys/needs-attention", tag = "insight",
    description = "Needs `api_keys.read`. Keys that no longer work (revoked, disabled, expired) and were presented \
        anyway within the verification log's retention, the most recently presented first (at most 10): how often, \
        when last, and from which address.",
    responses((status = 200, body = Vec<KeyStillPresented>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn needs_attention(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<KeyStillPresented>>, ApiError> {
    Ok(Json(insight::still_presented(&state.core, &caller).await?))
}

#[utoipa::path(get, path = "/api/v1/keys/decoy-uses", tag = "insight",
    description = "Needs `api_keys.read`. The newest uses of decoy keys over the last 30 days (at most 20): where \
        (verify or the management API), from which address, when. Repeats from one address within 10 s are one use.",
    responses((status = 200, body = Vec<DecoyUse>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn decoy_uses(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<DecoyUse>>, ApiError> {
    Ok(Json(decoys::recent(&state.core, &caller).await?))
}

#[utoipa::path(get, path = "/api/v1/keys/expiring", tag = "insight",
    description = "Needs `api_keys.read`. Active keys that expire within 7 days, the soonest first (at most 10).",
    responses((status = 200, body = Vec<KeyExpiringSoon>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 429, body = Problem)))]
pub async fn expiring(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Json<Vec<KeyExpiringSoon>>, ApiError> {
    Ok(Json(insight::expiring_soon(&state.core, &caller).await?))
}

#[utoipa::path(get, path = "/api/v1/keys/{id}/insight", tag = "insight", params(("id" = Uuid, Path)),
    description = "Needs `api_keys.read`. What the verification log says of the key: refusals since it stopped \
        working, and its custom scopes, used (asked for by a verification) or not.",
    responses((status = 200, body = KeyInsight), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn key_insight(
    State(state): State<AppState>,
    Caller(caller): Caller,
    KeyId(id): KeyId,
) -> Result<Json<KeyInsight>, ApiError> {
    Ok(Json(insight::key_insight(&state.core, &caller, id).await?))
}

/// Keys to disable at once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDisable {
    /// 1 to 100 key ids.
    #[schema(min_items = 1, max_items = 100)]
    pub key_ids: Vec<Uuid>,
}

#[utoipa::path(post, path = "/api/v1/keys/bulk-disable", tag = "keys", request_body = BulkDisable,
    description = "Needs `api_keys.update`. Disables the keys in one transaction, with one audit entry each. A key \
        that is not found (or not the caller's to change) refuses the whole request and nothing changes; a key that \
        is not active is left as it is, and listed as skipped.",
    responses((status = 200, body = BulkDisabled), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn bulk_disable(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<BulkDisable>,
) -> Result<Json<BulkDisabled>, ApiError> {
    keys::may_edit(&caller)?;
    let ids = key_ids(body.key_ids)?;
    Ok(Json(keys::disable_many(&state.core, &caller, &ids).await?))
}

/// Which span of a project's traffic.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TrafficParams {
    /// 24h (hourly), 7d (6-hourly, the default) or 30d (daily).
    pub window: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/projects/{id}/traffic", tag = "insight", params(("id" = Uuid, Path), TrafficParams),
    description = "Needs `stats.read`. The project's verifications over the window, by verdict, oldest first with \
        every bucket present, and its ten most verified keys.",
    responses((status = 200, body = ProjectTraffic), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn project_traffic(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<TrafficParams>,
) -> Result<Json<ProjectTraffic>, ApiError> {
    let id: Uuid = id.parse().map_err(|_| ServiceError::NotFound("project"))?;
    let window = ChartWindow::parse(params.window.as_deref())?;
    Ok(Json(insight::project_traffic(&state.core, &caller, id, window).await?))
}
