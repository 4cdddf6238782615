use crate::model::{AppError, Plan};
use leptos::prelude::*;
use uuid::Uuid;

/// Switches the organization's plan (owners only; no billing).
#[server(endpoint = "change_plan")]
pub async fn change_plan(plan: Plan) -> Result<Plan, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::organizations::change_plan(&state.core, &member, plan).await?.plan)
}

/// Renames the organization (owners and admins); answers the new name.
#[server(endpoint = "rename_organization")]
pub async fn rename_organization(name: String) -> Result<String, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::organizations::rename(&state.core, &member, &name).await?.name)
}

/// Hands the organization to another member (owners only): they become an owner, the owner an admin.
#[server(endpoint = "transfer_organization")]
pub async fn transfer_organization(user_id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::organizations::transfer(&state.core, &member, user_id).await?)
}
