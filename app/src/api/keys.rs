use crate::model::{ApiKey, AppError, CreatedKey, Environment, Project};
use leptos::prelude::*;
use uuid::Uuid;

#[server]
pub async fn list_keys() -> Result<Vec<ApiKey>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::list(&state.db, &member).await?)
}

#[server]
pub async fn list_projects() -> Result<Vec<Project>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::projects::list(&state.db, &member).await?)
}

/// Creates a key. The answer holds the full token: the only time it leaves the server.
#[server]
pub async fn create_key(
    name: String,
    description: Option<String>,
    project_id: Uuid,
    environment: Environment,
) -> Result<CreatedKey, AppError> {
    use crate::model::NewKey;
    let (state, member) = super::context::member().await?;
    let input = NewKey { name, description, project_id, environment };
    Ok(crate::ssr::services::keys::create(&state.db, &member, input).await?)
}

#[server]
pub async fn revoke_key(id: Uuid) -> Result<ApiKey, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::revoke(&state.db, &member, id).await?)
}
