//! The organization's plan.

use super::Member;
use super::audit::{self, Change};
use super::keys::count_live_keys;
use crate::model::{AuditAction, FieldError, Permission, Plan};
use crate::ssr::ServiceError;
use crate::ssr::db::begin_write;
use crate::ssr::entities::organization;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set};
use serde_json::json;

/// Switches the plan (no billing). Only an owner may; a plan too small for the keys already live is
/// refused rather than leaving the organization over its limit.
pub async fn change_plan(db: &DatabaseConnection, member: &Member, plan: Plan) -> Result<Plan, ServiceError> {
    member.permits(Permission::BillingManage)?;
    let txn = begin_write(db).await?;
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
    tracing::info!(organization = %member.organization_id, plan = plan.as_str(), "plan changed");
    Ok(plan)
}
