//! Expiry reminders: each active key is announced a week and a day before it expires, and when it
//! has expired, as `key.expiring` and `key.expired` webhook events. Every instance looks every
//! minute; a notice row (one per key, notice and expiry date) lets only one of them announce each,
//! and a key given a new expiry date is announced again for it.

use super::webhooks;
use crate::model::{KeyStatus, WebhookEvent};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, key_expiry_notice};
use crate::ssr::{Core, ServiceError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// Within a week of its expiry.
    Week,
    /// Within a day.
    Day,
    Expired,
}

impl Notice {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Week => "7d",
            Self::Day => "1d",
            Self::Expired => "expired",
        }
    }

    /// The reminder a key expiring at `expires_at` is due at `now`: the most urgent one.
    pub fn due(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Self> {
        if expires_at <= now {
            // An expiry long past (before reminders existed, or while Keyward was stopped) is
            // history, not news.
            (expires_at > now - Duration::days(1)).then_some(Self::Expired)
        } else if expires_at <= now + Duration::days(1) {
            Some(Self::Day)
        } else if expires_at <= now + Duration::days(7) {
            Some(Self::Week)
        } else {
            None
        }
    }
}

/// Announces every reminder due at `now` that no instance has sent yet. Returns how many.
pub async fn announce_expiries(core: &Core, now: DateTime<Utc>) -> Result<usize, ServiceError> {
    let keys = api_key::Entity::find()
        .filter(api_key::Column::Status.eq(KeyStatus::Active))
        .filter(api_key::Column::ExpiresAt.lte(now + Duration::days(7)))
        .filter(api_key::Column::ExpiresAt.gt(now - Duration::days(1)))
        .all(&core.db)
        .await?;
    if keys.is_empty() {
        return Ok(0);
    }
    let sent = key_expiry_notice::Entity::find()
        .filter(key_expiry_notice::Column::KeyId.is_in(keys.iter().map(|k| k.id)))
        .all(&core.db)
        .await?;
    let mut announced = 0;
    for key in keys {
        let Some(expires_at) = key.expires_at else { continue };
        let Some(notice) = Notice::due(expires_at, now) else { continue };
        let already = |n: &key_expiry_notice::Model| {
            n.key_id == key.id && n.notice == notice.as_str() && n.expires_at == expires_at
        };
        if sent.iter().any(already) {
            continue;
        }
        let txn = begin_write(&core.db).await?;
        let row = key_expiry_notice::ActiveModel {
            key_id: Set(key.id),
            notice: Set(notice.as_str().to_owned()),
            expires_at: Set(expires_at),
            sent_at: Set(now),
        };
        let columns =
            [key_expiry_notice::Column::KeyId, key_expiry_notice::Column::Notice, key_expiry_notice::Column::ExpiresAt];
        let inserted = key_expiry_notice::Entity::insert(row)
            .on_conflict(OnConflict::columns(columns).do_nothing().to_owned())
            .exec_without_returning(&txn)
            .await?;
        if inserted == 1 {
            let event = if notice == Notice::Expired { WebhookEvent::KeyExpired } else { WebhookEvent::KeyExpiring };
            let data = json!({
                "organization_id": key.organization_id,
                "target": { "kind": "key", "id": key.id, "name": super::keys::target_name(&key) },
                "expires_at": expires_at,
                "notice": notice.as_str(),
                "created_by": key.created_by,
            });
            webhooks::enqueue(&txn, key.organization_id, event, data).await?;
            announced += 1;
        }
        txn.commit().await?;
    }
    Ok(announced)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_urgent_reminder_is_due() {
        let now = Utc::now();
        assert_eq!(Notice::due(now + Duration::days(8), now), None);
        assert_eq!(Notice::due(now + Duration::days(6), now), Some(Notice::Week));
        assert_eq!(Notice::due(now + Duration::hours(20), now), Some(Notice::Day));
        assert_eq!(Notice::due(now - Duration::hours(2), now), Some(Notice::Expired));
        assert_eq!(Notice::due(now - Duration::days(2), now), None, "long past");
    }
}
