use sea_orm::entity::prelude::*;

/// Identical verifications within one second (often one), as the log keeps them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_verifications")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub organization_id: Uuid,
    /// The key presented; `None` when none was found.
    pub key_id: Option<Uuid>,
    /// The verifying key (the calling service's).
    pub caller_key_id: Uuid,
    /// The verdict's code, e.g. `VALID`.
    pub outcome: String,
    /// The caller's address, as the verification named it (`ip`).
    pub address: Option<String>,
    pub environment: Option<String>,
    /// The scopes asked for, space-separated.
    pub scopes: Option<String>,
    /// Credits spent by each of them.
    pub credits_spent: i32,
    /// How many verifications the row stands for; `at` is the first one's.
    pub count: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
