//! `/api/v1/audit`: the organization's audit log, for a key with `audit.read` (a SIEM, a script).

use super::dto::{AuditEventList, AuditParams};
use super::extract::{ApiQuery, Caller};
use super::problem::{ApiError, Problem};
use app::model::{AuditAction, AuditQuery, FieldError};
use app::ssr::AppState;
use app::ssr::services::audit;
use axum::Json;
use axum::extract::State;

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    description = "Needs `audit.read`. The organization's audit log, newest first, with the dashboard's filters.",
    responses((status = 200, body = AuditEventList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Json<AuditEventList>, ApiError> {
    let query = audit_query(params)?;
    Ok(Json(audit::list(&state.core.db, &caller, query).await?.into()))
}

fn audit_query(params: AuditParams) -> Result<AuditQuery, FieldError> {
    let action = params
        .action
        .map(|a| AuditAction::parse(&a).ok_or_else(|| FieldError::new("action", "is not a known action")))
        .transpose()?;
    let page = app::model::page_in_range(params.page.unwrap_or(1))?;
    let per_page = params.per_page.unwrap_or(AuditQuery::DEFAULT_PER_PAGE);
    if !(1..=AuditQuery::MAX_PER_PAGE).contains(&per_page) {
        return Err(FieldError::new("per_page", format!("must be 1 to {}", AuditQuery::MAX_PER_PAGE)));
    }
    Ok(AuditQuery { actor: params.actor, action, key: params.key, from: params.from, to: params.to, page, per_page })
}
