//! The organization: its name, plan and owners, its lock for changes that must not interleave, its
//! key counts.

use super::audit::{self, Change};
use super::{Actor, members};
use crate::model::{AuditAction, FieldError, KeyStatus, ManagementScope, Permission, Plan, Role, organization_name};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, membership, organization};
use crate::ssr::{Core, ServiceError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

/// The organization, its plan and what the plan's limit counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationSummary {
    pub id: Uuid,
    pub name: String,
    pub plan: Plan,
    /// Keys counted against the plan's limit: not revoked, not decoys.
    pub keys_in_use: u64,
    pub members: u64,
    pub created_at: DateTime<Utc>,
}

/// The actor's organization. `scope`: `organization.read`, or `billing.read` for its plan.
pub async fn summary(
    db: &DatabaseConnection,
    actor: &dyn Actor,
    scope: ManagementScope,
) -> Result<OrganizationSummary, ServiceError> {
    debug_assert!(matches!(scope, ManagementScope::OrganizationRead | ManagementScope::BillingRead));
    actor.require(scope)?;
    describe(db, actor.organization_id()).await
}

async fn describe(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<OrganizationSummary, ServiceError> {
    let org = organization::Entity::find_by_id(organization_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("organization"))?;
    let members = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id))
        .filter(membership::Column::SuspendedAt.is_null())
        .count(db)
        .await?;
    Ok(OrganizationSummary {
        keys_in_use: count_live_keys(db, org.id).await?,
        members,
        id: org.id,
        name: org.name,
        plan: org.plan,
        created_at: org.created_at,
    })
}

/// Switches the plan (no billing). Only an owner may; a plan too small for the keys already live is
/// refused rather than leaving the organization over its limit.
pub async fn change_plan(core: &Core, actor: &dyn Actor, plan: Plan) -> Result<OrganizationSummary, ServiceError> {
    actor.require(ManagementScope::BillingManage)?;
    actor.require_organization_wide()?;
    let txn = begin_write(&core.db).await?;
    permits_now(&txn, actor, Permission::BillingManage).await?;
    let org = lock(&txn, actor.organization_id()).await?;
    let live = count_live_keys(&txn, org.id).await?;
    if let Some(max) = plan.max_keys().filter(|max| live > u64::from(*max)) {
        return Err(FieldError::new(
            "plan",
            format!("{plan} allows {max} keys and {live} are in use: revoke or delete keys first"),
        )
        .into());
    }
    let (was, name) = (org.plan, org.name.clone());
    let mut active = org.into_active_model();
    active.plan = Set(plan);
    active.update(&txn).await?;
    let change = Change::new(AuditAction::PlanChanged, "organization", actor.organization_id(), name)
        .from_to(json!({ "plan": was.as_str() }), json!({ "plan": plan.as_str() }));
    audit::record(&txn, actor, change).await?;
    let changed = describe(&txn, actor.organization_id()).await?;
    txn.commit().await?;
    // The keys page's figures show the plan's limit.
    core.stats.forget(actor.organization_id());
    tracing::info!(organization = %actor.organization_id(), plan = plan.as_str(), "plan changed");
    Ok(changed)
}

/// Gives the organization a new name.
pub async fn rename(core: &Core, actor: &dyn Actor, name: &str) -> Result<OrganizationSummary, ServiceError> {
    actor.require(ManagementScope::OrganizationSettings)?;
    actor.require_organization_wide()?;
    let name = organization_name(name)?;
    let txn = begin_write(&core.db).await?;
    permits_now(&txn, actor, Permission::SettingsManage).await?;
    let org = lock(&txn, actor.organization_id()).await?;
    let was = org.name.clone();
    let mut active = org.into_active_model();
    active.name = Set(name.clone());
    active.update(&txn).await?;
    let change = Change::new(AuditAction::OrganizationRenamed, "organization", actor.organization_id(), name.clone())
        .from_to(json!({ "name": was }), json!({ "name": name }));
    audit::record(&txn, actor, change).await?;
    let renamed = describe(&txn, actor.organization_id()).await?;
    txn.commit().await?;
    Ok(renamed)
}

/// Hands the organization over: `user_id`, an active member, becomes an owner, and the owner
/// handing it over becomes an admin, in one transaction. Only an owner may, and not to themselves.
pub async fn transfer(core: &Core, actor: &dyn Actor, user_id: Uuid) -> Result<(), ServiceError> {
    actor.require(ManagementScope::OrganizationTransfer)?;
    actor.require_organization_wide()?;
    if user_id == actor.user_id() {
        return Err(FieldError::new("user_id", "is you: name the member who is to own the organization").into());
    }
    let txn = begin_write(&core.db).await?;
    lock(&txn, actor.organization_id()).await?;
    let membership_of = |id: Uuid| {
        membership::Entity::find()
            .filter(membership::Column::OrganizationId.eq(actor.organization_id()))
            .filter(membership::Column::UserId.eq(id))
            .filter(membership::Column::SuspendedAt.is_null())
            .one(&txn)
    };
    // The owner's role is read afresh under the lock: a demoted owner's key cannot hand it over.
    let giver = membership_of(actor.user_id()).await?.ok_or(ServiceError::Unauthenticated)?;
    if giver.role != Role::Owner {
        return Err(ServiceError::Forbidden(format!(
            "{} members cannot transfer the organization.",
            giver.role.label()
        )));
    }
    let taker = membership_of(user_id).await?.ok_or(ServiceError::NotFound("member"))?;
    if taker.role == Role::Owner {
        return Err(FieldError::new("user_id", "is already an owner").into());
    }
    let taker_was = taker.role;
    let mut taking = taker.into_active_model();
    taking.role = Set(Role::Owner);
    taking.update(&txn).await?;
    let mut giving = giver.into_active_model();
    giving.role = Set(Role::Admin);
    giving.update(&txn).await?;
    let name = organization::Entity::find_by_id(actor.organization_id())
        .one(&txn)
        .await?
        .map(|org| org.name)
        .unwrap_or_default();
    let change = Change::new(AuditAction::OwnershipTransferred, "organization", actor.organization_id(), name).from_to(
        json!({ "owner": actor.user_id(), "new_owner_role": taker_was.as_str() }),
        json!({ "owner": user_id, "previous_owner_role": Role::Admin.as_str() }),
    );
    audit::record(&txn, actor, change).await?;
    members::commit_membership_change(core, txn).await
}

/// The role of the person the actor acts for, as it is now, read under the organization's lock:
/// a key carries its creator's role from when it was looked up, and a change must not go by a role
/// its creator has just lost. Refuses unless that role grants `permission`.
pub(crate) async fn permits_now(
    txn: &DatabaseTransaction,
    actor: &dyn Actor,
    permission: Permission,
) -> Result<Role, ServiceError> {
    lock(txn, actor.organization_id()).await?;
    let role = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(actor.organization_id()))
        .filter(membership::Column::UserId.eq(actor.user_id()))
        .filter(membership::Column::SuspendedAt.is_null())
        .one(txn)
        .await?
        .ok_or(ServiceError::Unauthenticated)?
        .role;
    if role.can(permission) { Ok(role) } else { Err(ServiceError::Forbidden(role.refusal(permission))) }
}

/// Locks the organization's row for the rest of the transaction, so that changes which check a
/// count first (the plan's key limit, the last owner) do not interleave. On SQLite, where rows are
/// not locked, the write transaction (`BEGIN IMMEDIATE`) already holds the database's write lock.
pub(crate) async fn lock(
    txn: &DatabaseTransaction,
    organization_id: Uuid,
) -> Result<organization::Model, ServiceError> {
    organization::Entity::find_by_id(organization_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("organization"))
}

/// Counts one more key created, ever and held now, in the organization (rolled back with the
/// transaction).
pub(crate) async fn count_key_created(txn: &DatabaseTransaction, organization_id: Uuid) -> Result<(), ServiceError> {
    organization::Entity::update_many()
        .col_expr(organization::Column::KeysCreatedTotal, Expr::col(organization::Column::KeysCreatedTotal).add(1))
        .col_expr(organization::Column::KeysStored, Expr::col(organization::Column::KeysStored).add(1))
        .filter(organization::Column::Id.eq(organization_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Counts one key fewer held by the organization (rolled back with the transaction).
pub(crate) async fn count_key_deleted(txn: &DatabaseTransaction, organization_id: Uuid) -> Result<(), ServiceError> {
    organization::Entity::update_many()
        .col_expr(organization::Column::KeysStored, Expr::col(organization::Column::KeysStored).sub(1))
        .filter(organization::Column::Id.eq(organization_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The keys the organization holds, any status: what its unfiltered keys list totals.
pub(crate) async fn keys_stored(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<u64, ServiceError> {
    let stored = organization::Entity::find_by_id(organization_id)
        .select_only()
        .column(organization::Column::KeysStored)
        .into_tuple::<i64>()
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("organization"))?;
    Ok(u64::try_from(stored).unwrap_or_default())
}

/// Keys that count against the plan: not revoked, not decoys (deleted keys are gone from the table).
pub(crate) async fn count_live_keys(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<u64, ServiceError> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .filter(api_key::Column::Status.ne(KeyStatus::Revoked))
        .filter(api_key::Column::Decoy.eq(false))
        .count(db)
        .await?)
}
