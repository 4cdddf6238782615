use crate::model::{LeakPolicy, Plan};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub plan: Plan,
    /// Every key ever created, deleted ones included. Also the row creates lock on, so that
    /// concurrent creates are serialised per organization and the plan limit holds.
    pub keys_created_total: i64,
    /// The keys it holds now, any status (deleted keys are gone).
    pub keys_stored: i64,
    pub created_at: DateTimeUtc,
    /// What happens to a key reported leaked.
    pub leak_policy: LeakPolicy,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
