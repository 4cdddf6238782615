//! The organization: its plan, its lock for changes that must not interleave, its key counts.

use super::Member;
use super::audit::{self, Change};
use crate::model::{AuditAction, FieldError, KeyStatus, Permission, Plan};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, organization};
use crate::ssr::{Core, ServiceError};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

/// Switches the plan (no billing). Only an owner may; a plan too small for the keys already live is
/// refused rather than leaving the organization over its limit.
pub async fn change_plan(core: &Core, member: &Member, plan: Plan) -> Result<Plan, ServiceError> {
    member.permits(Permission::BillingManage)?;
    let txn = begin_write(&core.db).await?;
    let org = organization::Entity::find_by_id(member.organization_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("organization"))?;
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
    let change = Change::new(AuditAction::PlanChanged, "organization", member.organization_id, name)
        .from_to(json!({ "plan": was.as_str() }), json!({ "plan": plan.as_str() }));
    audit::record(&txn, member, change).await?;
    txn.commit().await?;
    // The keys page's figures show the plan's limit.
    core.stats.forget(member.organization_id);
    tracing::info!(organization = %member.organization_id, plan = plan.as_str(), "plan changed");
    Ok(plan)
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
