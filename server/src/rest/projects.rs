//! `/api/v1/projects`: create, rename, archive and restore projects, and define their custom scopes.
//! The same services as the projects page. A key without `api_keys.manage_all` sees and changes
//! its own project only, and makes no new ones.

use super::extract::{ApiJson, Caller};
use super::problem::{ApiError, Problem};
use app::model::{CustomScope, ProjectOverview};
use app::ssr::services::projects;
use app::ssr::{AppState, ServiceError};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Archived: no new keys; its keys work until revoked.
    pub archived_at: Option<DateTime<Utc>>,
    /// Keys not revoked.
    pub live_keys: u64,
    /// The scopes it defines for its own API.
    pub scopes: Vec<CustomScope>,
}

impl From<ProjectOverview> for Project {
    fn from(p: ProjectOverview) -> Self {
        Self {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
            archived_at: p.archived_at,
            live_keys: p.live_keys,
            scopes: p.scopes,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectName {
    /// 1 to 64 characters, unique in the organization (case aside).
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDescription {
    /// What the scope allows, up to 200 characters.
    #[serde(default)]
    pub description: String,
}

fn project_id(raw: &str) -> Result<Uuid, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound("project"))
}

/// The project as its page shows it, after a change.
async fn shown(state: &AppState, caller: &app::ssr::services::KeyCaller, id: Uuid) -> Result<Project, ApiError> {
    Ok(projects::one(&state.core.db, caller, id).await?.into())
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects",
    description = "Needs `projects.read`. The organization's projects (the key's own only, without `api_keys.manage_all`), \
        archived ones last.",
    responses((status = 200, body = Vec<Project>), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<Vec<Project>>, ApiError> {
    let all = projects::overview(&state.core.db, &caller).await?;
    Ok(Json(all.into_iter().map(Project::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectName,
    description = "Needs `projects.manage` and `api_keys.manage_all`.",
    responses((status = 201, body = Project), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<ProjectName>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    let created = projects::create(&state.core.db, &caller, &body.name).await?;
    Ok((StatusCode::CREATED, Json(shown(&state, &caller, created.id).await?)))
}

#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = Uuid, Path)),
    request_body = ProjectName, description = "Needs `projects.manage`. Renames the project.",
    responses((status = 200, body = Project), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn rename(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ProjectName>,
) -> Result<Json<Project>, ApiError> {
    let id = project_id(&id)?;
    projects::rename(&state.core, &caller, id, &body.name).await?;
    Ok(Json(shown(&state, &caller, id).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/archive", tag = "projects", params(("id" = Uuid, Path)),
    description = "Needs `projects.manage`. No new keys in it; its keys work until revoked. The last active project stays.",
    responses((status = 200, body = Project), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn archive(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Project>, ApiError> {
    let id = project_id(&id)?;
    projects::set_archived(&state.core.db, &caller, id, true).await?;
    Ok(Json(shown(&state, &caller, id).await?))
}

#[utoipa::path(post, path = "/api/v1/projects/{id}/restore", tag = "projects", params(("id" = Uuid, Path)),
    description = "Needs `projects.manage`.",
    responses((status = 200, body = Project), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn restore(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Project>, ApiError> {
    let id = project_id(&id)?;
    projects::set_archived(&state.core.db, &caller, id, false).await?;
    Ok(Json(shown(&state, &caller, id).await?))
}

#[utoipa::path(put, path = "/api/v1/projects/{id}/scopes/{scope}", tag = "projects",
    params(("id" = Uuid, Path), ("scope" = String, Path, description = "`resource.action`, not one of Keyward's own")),
    request_body = ScopeDescription, description = "Needs `projects.manage`. Defines a custom scope, or describes it anew.",
    responses((status = 200, body = CustomScope), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn define_scope(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, scope)): Path<(String, String)>,
    ApiJson(body): ApiJson<ScopeDescription>,
) -> Result<Json<CustomScope>, ApiError> {
    let id = project_id(&id)?;
    Ok(Json(projects::define_scope(&state.core.db, &caller, id, &scope, &body.description).await?))
}

#[utoipa::path(delete, path = "/api/v1/projects/{id}/scopes/{scope}", tag = "projects",
    params(("id" = Uuid, Path), ("scope" = String, Path)),
    description = "Needs `projects.manage`. Keys holding the scope keep it.",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn remove_scope(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path((id, scope)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    projects::remove_scope(&state.core.db, &caller, project_id(&id)?, &scope).await?;
    Ok(StatusCode::NO_CONTENT)
}
