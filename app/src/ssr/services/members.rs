//! Members: invitations by one-time link, accepting them, roles, suspension and removal. An
//! organization always keeps an active owner.

use super::audit::{self, Change};
use super::auth::{self, Client, NewSession};
use super::organizations;
use super::{Actor, Member};
use crate::model::{
    AllValid, AuditAction, FieldError, InvitationPreview, InvitationView, ManagementScope, MemberList, MemberStatus,
    MemberView, NewInvitation, Permission, Role, normalize_email, validate_new_password,
};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{invitation, membership, organization, session, user};
use crate::ssr::invalidation::{self, Stale};
use crate::ssr::{Core, ServiceError, crypto};
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// The organization's members (oldest first) and its open invitations. Every member may see them.
pub async fn list(db: &DatabaseConnection, actor: &dyn Actor) -> Result<MemberList, ServiceError> {
    actor.require(ManagementScope::MembersRead)?;
    let memberships = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(actor.organization_id()))
        .order_by_asc(membership::Column::CreatedAt)
        .all(db)
        .await?;
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(memberships.iter().map(|m| m.user_id)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let members = memberships
        .into_iter()
        .filter_map(|m| {
            let person = users.get(&m.user_id)?;
            Some(member_view(m, person))
        })
        .collect();
    let open = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(actor.organization_id()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .order_by_desc(invitation::Column::CreatedAt)
        .all(db)
        .await?;
    let inviters: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(open.iter().map(|i| i.invited_by)))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let invitations = open.into_iter().map(|i| invitation_view(&i, &inviters)).collect();
    Ok(MemberList { members, invitations })
}

fn invitation_view(i: &invitation::Model, inviters: &HashMap<Uuid, String>) -> InvitationView {
    InvitationView {
        id: i.id,
        email: i.email.clone(),
        role: i.role,
        invited_by: inviters.get(&i.invited_by).cloned().unwrap_or_else(|| "Unknown".to_owned()),
        expires_at: i.expires_at,
    }
}

/// Invites a person by email with a role no greater than the inviter's. With no mail server, the
/// answer holds the one-time link's token, for the inviter to pass on; only its digest is stored.
pub async fn invite(
    db: &DatabaseConnection,
    actor: &dyn Actor,
    email: &str,
    role: Role,
) -> Result<NewInvitation, ServiceError> {
    actor.require(ManagementScope::MembersInvite)?;
    actor.require_organization_wide()?;
    let may_assign = assignable(actor.role(), role, "invite");
    let (email, ()) = (normalize_email(email), may_assign).all_valid()?;
    let token = crypto::session_token();
    let now = Utc::now();
    let txn = begin_write(db).await?;
    let role_now = organizations::permits_now(&txn, actor, Permission::MembersInvite).await?;
    assignable(Some(role_now), role, "invite")?;
    if member_by_email(&txn, actor.organization_id(), &email).await?.is_some() {
        return Err(FieldError::new("email", "is already a member of this organization").into());
    }
    let row = invitation::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(actor.organization_id()),
        email: Set(email.clone()),
        role: Set(role),
        token_digest: Set(crypto::digest(&token)),
        invited_by: Set(actor.user_id()),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(crate::model::INVITATION_DAYS)),
        accepted_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(&txn)
    .await?;
    let change = Change::new(AuditAction::MemberInvited, "invitation", row.id, email)
        .with_after(json!({ "role": role.as_str() }));
    audit::record(&txn, actor, change).await?;
    let inviters = HashMap::from([(actor.user_id(), user_name(&txn, actor.user_id()).await?)]);
    txn.commit().await?;
    Ok(NewInvitation { invitation: invitation_view(&row, &inviters), token })
}

/// Refuses a role that `own` (the actor's role; for a key, its creator's) may not hand out.
fn assignable(own: Option<Role>, role: Role, verb: &str) -> Result<(), FieldError> {
    match own {
        Some(own) if own.may_assign(role) => Ok(()),
        own => Err(FieldError::new(
            "role",
            format!("{} members cannot {verb} an {}", own.map_or("Former", |r| r.label()), role.label().to_lowercase()),
        )),
    }
}

/// Withdraws an open invitation: its link stops working.
pub async fn revoke_invitation(db: &DatabaseConnection, actor: &dyn Actor, id: Uuid) -> Result<(), ServiceError> {
    actor.require(ManagementScope::MembersInvite)?;
    actor.require_organization_wide()?;
    let txn = begin_write(db).await?;
    organizations::permits_now(&txn, actor, Permission::MembersInvite).await?;
    let row = invitation::Entity::find_by_id(id)
        .filter(invitation::Column::OrganizationId.eq(actor.organization_id()))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("invitation"))?;
    let email = row.email.clone();
    let mut active = row.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(&txn).await?;
    audit::record(&txn, actor, Change::new(AuditAction::InvitationRevoked, "invitation", id, email)).await?;
    txn.commit().await?;
    Ok(())
}

/// An invitation that can still be accepted. Unknown, used, withdrawn and expired links all read
/// the same: not found.
async fn open_invitation(db: &impl ConnectionTrait, token: &str) -> Result<invitation::Model, ServiceError> {
    invitation::Entity::find()
        .filter(invitation::Column::TokenDigest.eq(crypto::digest(token.trim())))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .filter(invitation::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("invitation"))
}

/// What the invitation page shows: the organization, the email and the role.
pub async fn preview(db: &DatabaseConnection, token: &str) -> Result<InvitationPreview, ServiceError> {
    let row = open_invitation(db, token).await?;
    let org = organization::Entity::find_by_id(row.organization_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("invitation"))?;
    let existing_account = user::Entity::find().filter(user::Column::Email.eq(&row.email)).count(db).await? > 0;
    Ok(InvitationPreview { organization: org.name, email: row.email, role: row.role, existing_account })
}

/// Accepts an invitation: creates the account (argon2id password) or, for an email that has one,
/// checks its password; adds the membership; signs the person in to the organization. All or nothing.
pub async fn accept(
    core: &Core,
    token: &str,
    name: &str,
    password: &str,
    client: &Client,
) -> Result<NewSession, ServiceError> {
    let db = &core.db;
    let row = open_invitation(db, token).await?;
    let existing = user::Entity::find().filter(user::Column::Email.eq(&row.email)).one(db).await?;
    // The slow part (argon2) happens before the transaction opens.
    let new_account = match &existing {
        Some(account) => {
            // A password is checked here as at sign-in, and limited the same way.
            core.sign_in.attempt(&account.email, client.ip)?;
            if auth::check_password(Some(account.clone()), password).await?.is_none() {
                return Err(FieldError::new("password", "is not this account's password").into());
            }
            core.sign_in.succeeded(&account.email);
            None
        }
        None => {
            let name = name.trim();
            let named = if name.is_empty() || name.chars().count() > 80 {
                Err(FieldError::new("name", "is required (at most 80 characters)"))
            } else {
                crate::model::plain_text("name", name)
            };
            (named, validate_new_password(password)).all_valid()?;
            Some((name.to_owned(), auth::hash(password).await?))
        }
    };

    let txn = begin_write(db).await?;
    // Read again inside the transaction: the link works once, even if two tabs accept it at once.
    let row = open_invitation(&txn, token).await?;
    let now = Utc::now();
    let person = match (existing, new_account) {
        (Some(account), _) => account,
        (None, Some((name, hash))) => {
            user::ActiveModel {
                id: Set(Uuid::now_v7()),
                email: Set(row.email.clone()),
                name: Set(name),
                password_hash: Set(hash),
                created_at: Set(now),
            }
            .insert(&txn)
            .await?
        }
        (None, None) => return Err(ServiceError::Internal("no account to accept with".into())),
    };
    if member_by_email(&txn, row.organization_id, &row.email).await?.is_some() {
        return Err(ServiceError::Conflict("You are already a member of this organization.".into()));
    }
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(row.organization_id),
        user_id: Set(person.id),
        role: Set(row.role),
        created_at: Set(now),
        suspended_at: Set(None),
        last_active_at: Set(Some(now)),
    }
    .insert(&txn)
    .await?;
    let org = organization::Entity::find_by_id(row.organization_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("invitation"))?;
    let (invitation_id, role) = (row.id, row.role);
    let mut used = row.into_active_model();
    used.accepted_at = Set(Some(now));
    used.update(&txn).await?;
    let session = auth::open_session(&txn, &core.sessions, person.id, org.id, client).await?;
    let joined = Member {
        user_id: person.id,
        user_name: person.name.clone(),
        email: person.email.clone(),
        organization_id: org.id,
        organization_name: org.name,
        plan: org.plan,
        role,
        session_id: session.id,
        ip: client.ip.map(|ip| ip.to_string()),
    };
    let change = Change::new(AuditAction::MemberJoined, "member", person.id, person.name.clone())
        .with_after(json!({ "role": role.as_str(), "invitation": invitation_id }));
    audit::record(&txn, &joined, change).await?;
    commit_membership_change(core, txn).await?;
    Ok(session)
}

/// Changes a member's role (one's own too: an owner may step down). Only an owner changes an owner
/// or makes one; the last active owner keeps the role.
pub async fn change_role(
    core: &Core,
    actor: &dyn Actor,
    user_id: Uuid,
    role: Role,
) -> Result<MemberView, ServiceError> {
    actor.require(ManagementScope::MembersRoleChange)?;
    actor.require_organization_wide()?;
    assignable(actor.role(), role, "make anyone")?;
    let txn = begin_write(&core.db).await?;
    let target = target_membership(&txn, actor, user_id, Some(role)).await?;
    let was = target.role;
    if was == Role::Owner && role != Role::Owner {
        keep_an_owner(&txn, actor.organization_id(), &target).await?;
    }
    let mut active = target.into_active_model();
    active.role = Set(role);
    let target = active.update(&txn).await?;
    let name = user_name(&txn, user_id).await?;
    let change = Change::new(AuditAction::MemberRoleChanged, "member", user_id, name)
        .from_to(json!({ "role": was.as_str() }), json!({ "role": role.as_str() }));
    audit::record(&txn, actor, change).await?;
    commit_membership_change(core, txn).await?;
    view(&core.db, target).await
}

/// Suspends a member (their sessions in the organization end at once) or reactivates them.
pub async fn set_suspended(
    core: &Core,
    actor: &dyn Actor,
    user_id: Uuid,
    suspended: bool,
) -> Result<MemberView, ServiceError> {
    actor.require(ManagementScope::MembersSuspend)?;
    actor.require_organization_wide()?;
    if user_id == actor.user_id() {
        return Err(ServiceError::Conflict("You cannot suspend yourself.".into()));
    }
    let txn = begin_write(&core.db).await?;
    let target = target_membership(&txn, actor, user_id, None).await?;
    if suspended && target.role == Role::Owner {
        keep_an_owner(&txn, actor.organization_id(), &target).await?;
    }
    let mut active = target.into_active_model();
    active.suspended_at = Set(suspended.then(Utc::now));
    let target = active.update(&txn).await?;
    if suspended {
        end_sessions(&txn, user_id, actor.organization_id()).await?;
        revoke_invitations_by(&txn, actor, user_id).await?;
    }
    let action = if suspended { AuditAction::MemberSuspended } else { AuditAction::MemberReactivated };
    let name = user_name(&txn, user_id).await?;
    audit::record(&txn, actor, Change::new(action, "member", user_id, name)).await?;
    commit_membership_change(core, txn).await?;
    view(&core.db, target).await
}

/// Removes a member from the organization, or lets an admin or owner leave it (their account and
/// the keys they created stay). The last active owner cannot go.
pub async fn remove(core: &Core, actor: &dyn Actor, user_id: Uuid) -> Result<(), ServiceError> {
    actor.require(ManagementScope::MembersRemove)?;
    actor.require_organization_wide()?;
    let txn = begin_write(&core.db).await?;
    let target = target_membership(&txn, actor, user_id, None).await?;
    if target.role == Role::Owner {
        keep_an_owner(&txn, actor.organization_id(), &target).await?;
    }
    let role = target.role;
    membership::Entity::delete_by_id(target.id).exec(&txn).await?;
    end_sessions(&txn, user_id, actor.organization_id()).await?;
    revoke_invitations_by(&txn, actor, user_id).await?;
    let name = user_name(&txn, user_id).await?;
    let change =
        Change::new(AuditAction::MemberRemoved, "member", user_id, name).with_after(json!({ "role": role.as_str() }));
    audit::record(&txn, actor, change).await?;
    commit_membership_change(core, txn).await?;
    Ok(())
}

/// Commits a change of who is a member, or with which role. The keys a member created act within
/// that member's current role, and every instance caches what a key may do: all of them forget it
/// (membership changes are rare; a key's next call reads its creator's role afresh).
pub(crate) async fn commit_membership_change(core: &Core, txn: DatabaseTransaction) -> Result<(), ServiceError> {
    invalidation::announce(&txn, Stale::Everything).await?;
    txn.commit().await?;
    core.cache.clear();
    Ok(())
}

/// Withdraws the open invitations `inviter` sent in the actor's organization: a suspended or removed
/// member's links must not go on letting people in. Each is recorded as withdrawn by the actor.
async fn revoke_invitations_by(
    txn: &DatabaseTransaction,
    actor: &dyn Actor,
    inviter: Uuid,
) -> Result<(), ServiceError> {
    let open = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(actor.organization_id()))
        .filter(invitation::Column::InvitedBy.eq(inviter))
        .filter(invitation::Column::AcceptedAt.is_null())
        .filter(invitation::Column::RevokedAt.is_null())
        .all(txn)
        .await?;
    let now = Utc::now();
    for row in open {
        let (id, email) = (row.id, row.email.clone());
        let mut withdrawn = row.into_active_model();
        withdrawn.revoked_at = Set(Some(now));
        withdrawn.update(txn).await?;
        audit::record(txn, actor, Change::new(AuditAction::InvitationRevoked, "invitation", id, email)).await?;
    }
    Ok(())
}

/// A member of the actor's organization whom the actor may change, read inside the change's
/// transaction after taking the organization's lock: member changes in one organization happen one
/// at a time, and the actor's own role is read afresh (two owners demoting each other at once
/// cannot leave none). Only an owner changes an owner, or gives the role `assigning`.
async fn target_membership(
    txn: &DatabaseTransaction,
    acting: &dyn Actor,
    user_id: Uuid,
    assigning: Option<Role>,
) -> Result<membership::Model, ServiceError> {
    let role_now = organizations::permits_now(txn, acting, Permission::MembersRoleChange).await?;
    if let Some(role) = assigning {
        assignable(Some(role_now), role, "make anyone")?;
    }
    let target = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(acting.organization_id()))
        .filter(membership::Column::UserId.eq(user_id))
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("member"))?;
    if target.role == Role::Owner && role_now != Role::Owner {
        return Err(ServiceError::Forbidden(format!("{} members cannot change an owner.", role_now.label())));
    }
    Ok(target)
}

/// Refuses to leave the organization without an active owner.
async fn keep_an_owner(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    leaving: &membership::Model,
) -> Result<(), ServiceError> {
    let others = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .filter(membership::Column::SuspendedAt.is_null())
        .filter(membership::Column::Id.ne(leaving.id))
        .count(db)
        .await?;
    if others == 0 {
        return Err(ServiceError::Conflict(
            "The last owner cannot be removed, suspended or demoted. Make another member an owner first.".into(),
        ));
    }
    Ok(())
}

async fn end_sessions(db: &impl ConnectionTrait, user_id: Uuid, organization_id: Uuid) -> Result<(), ServiceError> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .filter(session::Column::OrganizationId.eq(organization_id))
        .exec(db)
        .await?;
    Ok(())
}

async fn member_by_email(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    email: &str,
) -> Result<Option<membership::Model>, ServiceError> {
    let Some(person) = user::Entity::find().filter(user::Column::Email.eq(email)).one(db).await? else {
        return Ok(None);
    };
    Ok(membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(person.id))
        .one(db)
        .await?)
}

async fn user_name(db: &impl ConnectionTrait, user_id: Uuid) -> Result<String, ServiceError> {
    Ok(user::Entity::find_by_id(user_id).one(db).await?.map(|u| u.name).unwrap_or_default())
}

async fn view(db: &DatabaseConnection, m: membership::Model) -> Result<MemberView, ServiceError> {
    let person = user::Entity::find_by_id(m.user_id).one(db).await?.ok_or(ServiceError::NotFound("member"))?;
    Ok(member_view(m, &person))
}

/// A membership as the member list shows it: the one place its status is derived.
fn member_view(m: membership::Model, person: &user::Model) -> MemberView {
    MemberView {
        user_id: m.user_id,
        name: person.name.clone(),
        email: person.email.clone(),
        role: m.role,
        status: if m.suspended_at.is_some() { MemberStatus::Suspended } else { MemberStatus::Active },
        joined_at: m.created_at,
        last_active_at: m.last_active_at,
    }
}
