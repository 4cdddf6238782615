//! A person's own account, across organizations: which organization they work in, their sessions,
//! their password. Each call acts for the signed-in person only, whatever ids it is given.

use super::Member;
use super::auth::{self, Client};
use crate::model::{OrganizationChoice, PasswordChange, Role, SessionView, describe_user_agent, organization_name};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{membership, organization, session, user};
use crate::ssr::{Core, ServiceError};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The organizations the person belongs to and is not suspended from, by name.
pub async fn organizations(db: &DatabaseConnection, member: &Member) -> Result<Vec<OrganizationChoice>, ServiceError> {
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(member.user_id))
        .filter(membership::Column::SuspendedAt.is_null())
        .all(db)
        .await?;
    let roles: HashMap<Uuid, _> = memberships.iter().map(|m| (m.organization_id, m.role)).collect();
    let orgs = organization::Entity::find()
        .filter(organization::Column::Id.is_in(roles.keys().copied()))
        .order_by_asc(organization::Column::Name)
        .all(db)
        .await?;
    Ok(orgs
        .into_iter()
        .filter_map(|org| Some(OrganizationChoice { role: *roles.get(&org.id)?, id: org.id, name: org.name }))
        .collect())
}

/// Moves the current session to another of the person's organizations: every page and every
/// query after this works in that one. An organization they are not an active member of is not
/// found, whether it exists or not.
pub async fn switch_organization(
    db: &DatabaseConnection,
    member: &Member,
    organization_id: Uuid,
) -> Result<OrganizationChoice, ServiceError> {
    let choice = organizations(db, member)
        .await?
        .into_iter()
        .find(|o| o.id == organization_id)
        .ok_or(ServiceError::NotFound("organization"))?;
    move_session(db, member, organization_id).await?;
    tracing::info!(user = %member.user_id, organization = %organization_id, "switched organization");
    Ok(choice)
}

/// A new organization, owned by the person, on the Free plan with a "Default" project; the current
/// session moves to it. All or nothing.
pub async fn create_organization(
    db: &DatabaseConnection,
    member: &Member,
    name: &str,
) -> Result<OrganizationChoice, ServiceError> {
    let name = organization_name(name)?;
    let txn = begin_write(db).await?;
    let org = auth::found_organization(&txn, name, member.user_id).await?;
    move_session(&txn, member, org.id).await?;
    txn.commit().await?;
    tracing::info!(user = %member.user_id, organization = %org.id, "organization created");
    Ok(OrganizationChoice { id: org.id, name: org.name, role: Role::Owner })
}

async fn move_session(db: &impl ConnectionTrait, member: &Member, organization_id: Uuid) -> Result<(), ServiceError> {
    session::Entity::update_many()
        .col_expr(session::Column::OrganizationId, sea_orm::sea_query::Expr::value(organization_id))
        .filter(session::Column::Id.eq(member.session_id))
        .filter(session::Column::UserId.eq(member.user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The person's sessions that have not expired, most recently seen first.
pub async fn sessions(db: &DatabaseConnection, member: &Member) -> Result<Vec<SessionView>, ServiceError> {
    let rows = session::Entity::find()
        .filter(session::Column::UserId.eq(member.user_id))
        .filter(session::Column::ExpiresAt.gt(Utc::now()))
        .all(db)
        .await?;
    let mut views: Vec<SessionView> = rows
        .into_iter()
        .map(|s| SessionView {
            id: s.id,
            device: describe_user_agent(s.user_agent.as_deref()),
            ip: s.ip,
            signed_in_at: s.created_at,
            last_seen_at: s.last_seen_at,
            current: s.id == member.session_id,
        })
        .collect();
    views.sort_by_key(|s| (!s.current, std::cmp::Reverse(s.last_seen_at.unwrap_or(s.signed_in_at))));
    Ok(views)
}

/// Ends one of the person's other sessions: its next request is signed out.
pub async fn end_session(db: &DatabaseConnection, member: &Member, session_id: Uuid) -> Result<(), ServiceError> {
    if session_id == member.session_id {
        return Err(ServiceError::Conflict("This is the session you are using: sign out instead.".into()));
    }
    let ended = session::Entity::delete_many()
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(member.user_id))
        .exec(db)
        .await?;
    if ended.rows_affected == 0 {
        return Err(ServiceError::NotFound("session"));
    }
    tracing::info!(user = %member.user_id, "session ended");
    Ok(())
}

/// "Sign out everywhere else": ends every session of the person but this one. Returns how many.
pub async fn end_other_sessions(db: &DatabaseConnection, member: &Member) -> Result<u64, ServiceError> {
    let ended = delete_other_sessions(db, member).await?;
    tracing::info!(user = %member.user_id, sessions = ended, "other sessions ended");
    Ok(ended)
}

async fn delete_other_sessions(db: &impl ConnectionTrait, member: &Member) -> Result<u64, ServiceError> {
    let ended = session::Entity::delete_many()
        .filter(session::Column::UserId.eq(member.user_id))
        .filter(session::Column::Id.ne(member.session_id))
        .exec(db)
        .await?;
    Ok(ended.rows_affected)
}

/// A changed password: how many other sessions ended, and this session's new token.
#[derive(Debug)]
pub struct PasswordChanged {
    pub sessions_ended: u64,
    pub session: auth::NewSession,
}

/// Changes the password after checking the current one (limited like a sign-in), ends every other
/// session, and gives this session a new token, in one transaction: whoever knew the old password,
/// or held this session's old token, is signed out with it.
pub async fn change_password(
    core: &Core,
    member: &Member,
    change: PasswordChange,
    client: &Client,
) -> Result<PasswordChanged, ServiceError> {
    let change = change.validated()?;
    core.sign_in.attempt(&member.email, client.ip)?;
    let account = user::Entity::find_by_id(member.user_id).one(&core.db).await?;
    let Some(account) = auth::check_password(account, &change.current_password).await? else {
        return Err(crate::model::FieldError::new("current_password", "That is not your current password.").into());
    };
    core.sign_in.succeeded(&member.email);
    let new_hash = auth::hash(&change.new_password).await?;

    let txn = begin_write(&core.db).await?;
    let mut account = account.into_active_model();
    account.password_hash = Set(new_hash);
    account.update(&txn).await?;
    let ended = delete_other_sessions(&txn, member).await?;
    let session = auth::renew_session_token(&txn, member.session_id).await?;
    txn.commit().await?;
    tracing::info!(user = %member.user_id, sessions = ended, "password changed");
    Ok(PasswordChanged { sessions_ended: ended, session })
}
