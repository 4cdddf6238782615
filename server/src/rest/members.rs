//! `/api/v1/members`: the people of the organization and their invitations, for scripts. The same
//! services as the members page; a key acts within its creator's current role.

use super::extract::{ApiJson, Caller};
use super::problem::{ApiError, Problem};
use app::model::{InvitationView, MemberStatus, MemberView, Role, SiteOrigin};
use app::ssr::services::members;
use app::ssr::{AppState, ServiceError};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A member of the organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Suspended members cannot sign in to this organization, and their keys lose their management power.
    pub suspended: bool,
    pub joined_at: DateTime<Utc>,
    pub last_active_at: Option<DateTime<Utc>>,
}

impl From<MemberView> for Member {
    fn from(m: MemberView) -> Self {
        Self {
            user_id: m.user_id,
            name: m.name,
            email: m.email,
            role: m.role,
            suspended: m.status == MemberStatus::Suspended,
            joined_at: m.joined_at,
            last_active_at: m.last_active_at,
        }
    }
}

/// An invitation not yet accepted, withdrawn or expired.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

impl From<InvitationView> for Invitation {
    fn from(i: InvitationView) -> Self {
        Self { id: i.id, email: i.email, role: i.role, invited_by: i.invited_by, expires_at: i.expires_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    /// Oldest first.
    pub members: Vec<Member>,
    /// Newest first.
    pub invitations: Vec<Invitation>,
}

/// A new invitation, with its one-time link: shown in this answer and nowhere else.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationWithLink {
    pub invitation: Invitation,
    /// Pass it on to the person: whoever opens it can join, once, within 7 days.
    pub link: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteMember {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    /// No greater than the role of the key's creator; only an owner invites owners.
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRole {
    pub role: Role,
}

fn member_id(raw: &str) -> Result<Uuid, ServiceError> {
    raw.parse().map_err(|_| ServiceError::NotFound("member"))
}

#[utoipa::path(get, path = "/api/v1/members", tag = "members",
    description = "Needs `members.read`. The organization's members and its open invitations.",
    responses((status = 200, body = MemberList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 429, body = Problem)))]
pub async fn list(State(state): State<AppState>, Caller(caller): Caller) -> Result<Json<MemberList>, ApiError> {
    let list = members::list(&state.core.db, &caller).await?;
    Ok(Json(MemberList {
        members: list.members.into_iter().map(Member::from).collect(),
        invitations: list.invitations.into_iter().map(Invitation::from).collect(),
    }))
}

#[utoipa::path(post, path = "/api/v1/members/invitations", tag = "members", request_body = InviteMember,
    description = "Needs `members.invite`. Invites a person by email; the answer holds the one-time link, once.",
    responses((status = 201, body = InvitationWithLink), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 429, body = Problem)))]
pub async fn invite(
    State(state): State<AppState>,
    Extension(SiteOrigin(origin)): Extension<SiteOrigin>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<InviteMember>,
) -> Result<(StatusCode, Json<InvitationWithLink>), ApiError> {
    let invited = members::invite(&state.core.db, &caller, &body.email, body.role).await?;
    let link = format!("{origin}{}", invited.path());
    Ok((StatusCode::CREATED, Json(InvitationWithLink { invitation: invited.invitation.into(), link })))
}

#[utoipa::path(delete, path = "/api/v1/members/invitations/{id}", tag = "members", params(("id" = Uuid, Path)),
    description = "Needs `members.invite`. Withdraws an open invitation: its link stops working.",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 429, body = Problem)))]
pub async fn withdraw_invitation(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id.parse().map_err(|_| ServiceError::NotFound("invitation"))?;
    members::revoke_invitation(&state.core.db, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/api/v1/members/{user_id}/role", tag = "members", params(("user_id" = Uuid, Path)),
    request_body = ChangeRole,
    description = "Needs `members.role_change`. Only an owner's key changes an owner or makes one; the last owner keeps the role.",
    responses((status = 200, body = Member), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn change_role(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(user_id): Path<String>,
    ApiJson(body): ApiJson<ChangeRole>,
) -> Result<Json<Member>, ApiError> {
    let changed = members::change_role(&state.core, &caller, member_id(&user_id)?, body.role).await?;
    Ok(Json(changed.into()))
}

#[utoipa::path(post, path = "/api/v1/members/{user_id}/suspend", tag = "members", params(("user_id" = Uuid, Path)),
    description = "Needs `members.suspend`. Their sessions end at once, and their keys lose their management power. \
        A key cannot suspend its own creator.",
    responses((status = 200, body = Member), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn suspend(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(user_id): Path<String>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(members::set_suspended(&state.core, &caller, member_id(&user_id)?, true).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/members/{user_id}/reactivate", tag = "members", params(("user_id" = Uuid, Path)),
    description = "Needs `members.suspend`.",
    responses((status = 200, body = Member), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn reactivate(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(user_id): Path<String>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(members::set_suspended(&state.core, &caller, member_id(&user_id)?, false).await?.into()))
}

#[utoipa::path(delete, path = "/api/v1/members/{user_id}", tag = "members", params(("user_id" = Uuid, Path)),
    description = "Needs `members.remove`. Their account and the keys they created stay; the last owner cannot go.",
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 429, body = Problem)))]
pub async fn remove(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(user_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    members::remove(&state.core, &caller, member_id(&user_id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
