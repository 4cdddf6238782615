use sea_orm::entity::prelude::*;

/// One change recorded in the audit log. Appended only: the product never updates or deletes one
/// (they go only with their organization).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub actor_user_id: Option<Uuid>,
    pub actor_key_id: Option<Uuid>,
    pub actor_name: String,
    /// `AuditAction::as_str`.
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<Uuid>,
    pub target_name: String,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
