//! `/api/v1/organization` and `/api/v1/plan`: the organization's name, ownership and plan. The same
//! services as Settings; handing the organization over takes an owner's key.

use super::extract::{ApiJson, Caller};
use super::problem::{ApiError, Problem};
use app::model::{ManagementScope, Plan};
use app::ssr::AppState;
use app::ssr::services::organizations::{self, OrganizationSummary};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub plan: Plan,
    /// Active members (suspended ones aside).
    pub members: u64,
    pub created_at: DateTime<Utc>,
}

impl From<OrganizationSummary> for Organization {
    fn from(o: OrganizationSummary) -> Self {
        Self { id: o.id, name: o.name, plan: o.plan, members: o.members, created_at: o.created_at }
    }
}

/// The plan and what its limit counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanState {
    pub plan: Plan,
    /// Keys the plan allows at once; none: unlimited.
    pub max_keys: Option<u32>,
    /// Keys counted against it: not revoked, not decoys.
    pub keys_in_use: u64,
}

impl From<OrganizationSummary> for PlanState {
    fn from(o: OrganizationSummary) -> Self {
        Self { plan: o.plan, max_keys: o.plan.max_keys(), keys_in_use: o.keys_in_use }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameOrganization {
    /// 1 to 80 characters.
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferOwnership {
    /// An active member who is not an owner yet.
    pub user_id: Uuid,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePlan {
    pub plan: Plan,
}

#[utoipa::path(get, path = "/api/v1/organization", tag = "organization", description = "Needs `organization.read`.",
    responses((status = 200, body = Organization), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn get(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<Organization>, ApiError> {
    let summary = organizations::summary(&state.core.db, &caller, ManagementScope::OrganizationRead).await?;
    Ok(Json(summary.into()))
}

#[utoipa::path(patch, path = "/api/v1/organization", tag = "organization", request_body = RenameOrganization,
    description = "Needs `organization.settings`. Renames the organization.",
    responses((status = 200, body = Organization), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn rename(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<RenameOrganization>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(organizations::rename(&state.core, &caller, &body.name).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/organization/transfer", tag = "organization", request_body = TransferOwnership,
    description = "Needs `organization.transfer`, on an owner's key. The member named becomes an owner and the key's \
        creator an admin, at once: the key keeps only what an admin may do.",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn transfer(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TransferOwnership>,
) -> Result<StatusCode, ApiError> {
    organizations::transfer(&state.core, &caller, body.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/plan", tag = "organization", description = "Needs `billing.read`.",
    responses((status = 200, body = PlanState), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn plan(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<PlanState>, ApiError> {
    let summary = organizations::summary(&state.core.db, &caller, ManagementScope::BillingRead).await?;
    Ok(Json(summary.into()))
}

#[utoipa::path(put, path = "/api/v1/plan", tag = "organization", request_body = ChangePlan,
    description = "Needs `billing.manage`, on an owner's key. A plan too small for the keys in use is refused (422).",
    responses((status = 200, body = PlanState), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn change_plan(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ChangePlan>,
) -> Result<Json<PlanState>, ApiError> {
    Ok(Json(organizations::change_plan(&state.core, &caller, body.plan).await?.into()))
}
