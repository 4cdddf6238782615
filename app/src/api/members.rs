use crate::model::{AppError, InvitationPreview, MemberList, MemberView, NewInvitation, Role};
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "list_members")]
pub async fn list_members() -> Result<MemberList, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::members::list(&state.core.db, &member).await?)
}

/// Invites a person; the answer holds the one-time link's token (shown once).
#[server(endpoint = "invite_member")]
pub async fn invite_member(email: String, role: Role) -> Result<NewInvitation, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::members::invite(&state.core.db, &member, &email, role).await?)
}

#[server(endpoint = "revoke_invitation")]
pub async fn revoke_invitation(id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::members::revoke_invitation(&state.core.db, &member, id).await?)
}

#[server(endpoint = "change_member_role")]
pub async fn change_member_role(user_id: Uuid, role: Role) -> Result<MemberView, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::members::change_role(&state.core, &member, user_id, role).await?)
}

#[server(endpoint = "set_member_suspended")]
pub async fn set_member_suspended(user_id: Uuid, suspended: bool) -> Result<MemberView, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::members::set_suspended(&state.core, &member, user_id, suspended).await?)
}

#[server(endpoint = "remove_member")]
pub async fn remove_member(user_id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::members::remove(&state.core, &member, user_id).await?)
}

/// What an invitation link offers (no session needed: the link is the credential).
#[server(endpoint = "get_invitation")]
pub async fn get_invitation(token: String) -> Result<InvitationPreview, AppError> {
    let state = super::context::state()?;
    Ok(crate::ssr::services::members::preview(&state.core.db, &token).await?)
}

/// Accepts an invitation and signs the person in to the organization.
#[server(endpoint = "accept_invitation")]
pub async fn accept_invitation(token: String, name: String, password: String) -> Result<(), AppError> {
    let state = super::context::state()?;
    let client = super::context::client().await;
    let session = crate::ssr::services::members::accept(&state.core, &token, &name, &password, &client).await?;
    super::context::set_session_cookie(&state, &session);
    Ok(())
}
