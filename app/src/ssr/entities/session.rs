use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// SHA-256 of the session token, hex. The token itself lives only in the browser's cookie.
    #[sea_orm(unique)]
    pub token_digest: String,
    pub user_id: Uuid,
    pub organization_id: Uuid,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// Where the session was opened from, so that its owner can recognise it.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Updated at most every few minutes, not on every request.
    pub last_seen_at: Option<DateTimeUtc>,
}

/// What a request's sign-in reads in one query: the person, the organization the session is
/// for, and their membership of it.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::UserId", to = "super::user::Column::Id")]
    User,
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::membership::Entity",
        from = "(Column::UserId, Column::OrganizationId)",
        to = "(super::membership::Column::UserId, super::membership::Column::OrganizationId)"
    )]
    Membership,
}

impl ActiveModelBehavior for ActiveModel {}
