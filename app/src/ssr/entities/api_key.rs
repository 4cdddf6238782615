use crate::model::{Environment, KeyStatus, RateWindow, RefillPeriod};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub environment: Environment,
    pub name: String,
    pub description: Option<String>,
    /// The visible start of the token (`kw_live_a1b2c3d4`): safe to show and to search.
    pub prefix: String,
    pub preview: String,
    /// SHA-256 of the full token, hex: the only form in which the secret is kept.
    #[sea_orm(unique)]
    pub digest: String,
    /// Only `active`, `disabled` or `revoked` are stored; `expired` is derived from `expires_at`.
    pub status: KeyStatus,
    pub expires_at: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    /// Space-separated `resource.action` scopes (a scope never contains a space).
    pub scopes: String,
    pub rate_limit_requests: Option<i32>,
    pub rate_limit_window: Option<RateWindow>,
    /// During a rotation's grace period: the digest of the replaced secret, and until when it works.
    #[sea_orm(unique)]
    pub previous_digest: Option<String>,
    pub previous_valid_until: Option<DateTimeUtc>,
    /// Who the key is for in the team's own system (a customer, a tenant).
    pub external_id: Option<String>,
    /// A JSON object of the team's, as given: never interpreted.
    pub meta: Option<String>,
    /// Successful verifications left; `None`: unlimited.
    pub credits_remaining: Option<i64>,
    /// A refill sets the credits to this amount, daily or monthly on `credits_refill_day`.
    pub credits_refill_amount: Option<i64>,
    pub credits_refill_period: Option<RefillPeriod>,
    pub credits_refill_day: Option<i16>,
    /// When the credits were last set or refilled.
    pub credits_refilled_at: Option<DateTimeUtc>,
    /// Space-separated CIDRs the key may be used from; `None`: anywhere.
    pub ip_allowlist: Option<String>,
    /// Set when the key's secret was reported leaked; cleared by a rotation.
    pub leaked_at: Option<DateTimeUtc>,
    pub leak_reported_by: Option<String>,
    pub leak_url: Option<String>,
    /// A decoy (honeytoken): never authenticates; each use is recorded and raises an alert.
    pub decoy: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
