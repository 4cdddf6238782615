//! Projects: their page, and the changes owners and admins make to them.

use crate::model::{AppError, CustomScope, Project, ProjectOverview};
use leptos::prelude::*;
use uuid::Uuid;

/// The organization's projects, for choosing one (a key's project, the keys page's filter).
#[server(endpoint = "list_projects")]
pub async fn list_projects() -> Result<Vec<Project>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::list(&state.core.db, &member).await?)
}

#[server(endpoint = "list_project_overview")]
pub async fn list_project_overview() -> Result<Vec<ProjectOverview>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::overview(&state.core.db, &member).await?)
}

#[server(endpoint = "create_project")]
pub async fn create_project(name: String) -> Result<Project, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::create(&state.core.db, &member, &name).await?)
}

#[server(endpoint = "rename_project")]
pub async fn rename_project(project_id: Uuid, name: String) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::rename(&state.core, &member, project_id, &name).await?)
}

/// Archives or restores a project; answers whether it is now archived.
#[server(endpoint = "set_project_archived")]
pub async fn set_project_archived(project_id: Uuid, archived: bool) -> Result<bool, AppError> {
    let (state, member) = super::context::member().await?;
    crate::ssr::services::projects::set_archived(&state.core.db, &member, project_id, archived).await?;
    Ok(archived)
}

#[server(endpoint = "define_project_scope")]
pub async fn define_project_scope(
    project_id: Uuid,
    scope: String,
    description: String,
) -> Result<CustomScope, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::define_scope(&state.core.db, &member, project_id, &scope, &description).await?)
}

#[server(endpoint = "remove_project_scope")]
pub async fn remove_project_scope(project_id: Uuid, scope: String) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::remove_scope(&state.core.db, &member, project_id, &scope).await?)
}
