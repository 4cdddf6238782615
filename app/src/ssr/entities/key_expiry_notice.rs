use sea_orm::entity::prelude::*;

/// A reminder that went out: `notice` (`7d`, `1d` or `expired`) for the key's expiry `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "key_expiry_notices")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub notice: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub expires_at: DateTimeUtc,
    pub sent_at: DateTimeUtc,
    /// When the reminder's email reached the SMTP server (never, without `KEYWARD_SMTP_URL`).
    pub emailed_at: Option<DateTimeUtc>,
    /// When an instance took the email to send; another may take it once this is old.
    pub email_claimed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
