//! The signed-in person's own account: switching organization, sessions, password.

use crate::model::{AppError, OrganizationChoice, SessionView};
use leptos::prelude::*;
use uuid::Uuid;

/// Works in another of the person's organizations from now on (this session only).
#[server(endpoint = "switch_organization")]
pub async fn switch_organization(organization_id: Uuid) -> Result<OrganizationChoice, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::account::switch_organization(&state.core.db, &member, organization_id).await?)
}

/// A new organization owned by the person; the session moves to it.
#[server(endpoint = "create_organization")]
pub async fn create_organization(name: String) -> Result<OrganizationChoice, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::account::create_organization(&state.core.db, &member, &name).await?)
}

#[server(endpoint = "list_sessions")]
pub async fn list_sessions() -> Result<Vec<SessionView>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::account::sessions(&state.core.db, &member).await?)
}

#[server(endpoint = "end_session")]
pub async fn end_session(session_id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::account::end_session(&state.core.db, &member, session_id).await?)
}

/// Signs out every other browser and device; returns how many sessions ended.
#[server(endpoint = "end_other_sessions")]
pub async fn end_other_sessions() -> Result<u64, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::account::end_other_sessions(&state.core.db, &member).await?)
}

/// Changes the password and ends every other session; returns how many ended.
#[server(endpoint = "change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<u64, AppError> {
    let (state, member) = super::context::member().await?;
    let client = super::context::client().await;
    let change = crate::model::PasswordChange { current_password, new_password };
    let changed = crate::ssr::services::account::change_password(&state.core, &member, change, &client).await?;
    // This session goes on under a new token, as if signed in again.
    super::context::set_session_cookie(&state, &changed.session);
    Ok(changed.sessions_ended)
}
