use sea_orm::entity::prelude::*;

/// Where an organization's events are sent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub organization_id: Uuid,
    pub url: String,
    /// `WebhookEvent` names, space-separated.
    pub events: String,
    pub enabled: bool,
    /// Which secret signs: derived from the server's secret key, the endpoint and this number.
    pub secret_version: i32,
    /// After a rotation, deliveries are signed with the previous secret too until then.
    pub previous_secret_until: Option<DateTimeUtc>,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
