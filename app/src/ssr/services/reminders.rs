//! Expiry reminders: each active key is announced a week and a day before it expires, and when it
//! has expired, as `key.expiring` and `key.expired` webhook events. Every instance looks every
//! minute; a notice row (one per key, notice and expiry date) lets only one of them announce each,
//! and a key given a new expiry date is announced again for it.
//!
//! Where the operator has SMTP, the same reminders go by email to each key's creator. The notice
//! row is the email's outbox too: an instance claims it just before sending (the claim lapses
//! after [`EMAIL_CLAIM_LAPSES`], so a crash mid-send delays the email rather than losing it),
//! sends, and records it done. A send that failed keeps its claim until it lapses, then is tried
//! again, for as long as the notice is news.

use super::webhooks;
use crate::model::{KeyStatus, WebhookEvent};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, key_expiry_notice};
use crate::ssr::entities::{membership, project, user};
use crate::ssr::{Core, ServiceError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

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

    fn parse(stored: &str) -> Option<Self> {
        [Self::Week, Self::Day, Self::Expired].into_iter().find(|n| n.as_str() == stored)
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
    let keys = expiring_around(now).all(&core.db).await?;
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
            ..Default::default()
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

/// The active keys a reminder may be due for at `now`: expiring within a week, or expired within
/// the last day. Read every minute by every instance, through the index on the expiry. Decoys are
/// nobody's to renew.
fn expiring_around(now: DateTime<Utc>) -> sea_orm::Select<api_key::Entity> {
    api_key::Entity::find()
        .filter(api_key::Column::Status.eq(KeyStatus::Active))
        .filter(api_key::Column::Decoy.eq(false))
        .filter(api_key::Column::ExpiresAt.lte(now + Duration::days(7)))
        .filter(api_key::Column::ExpiresAt.gt(now - Duration::days(1)))
}

/// How long an instance's claim on a reminder's email holds: far longer than a send may take
/// (lettre gives up on an SMTP server after a minute).
pub const EMAIL_CLAIM_LAPSES: Duration = Duration::minutes(5);

/// How many notices beyond the emails asked for a look reads, for those it finds taken or with no
/// one to email: a look for one email is not ended by a notice it closes unsent.
const CANDIDATES_BEYOND: u64 = 100;

/// An expiry reminder's email, for the key's creator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderEmail {
    /// When this instance claimed it: only that claim may record it done.
    pub claimed_at: DateTime<Utc>,
    pub key_id: Uuid,
    pub notice: Notice,
    pub expires_at: DateTime<Utc>,
    pub to_name: String,
    pub to_address: String,
    pub subject: String,
    pub body: String,
}

/// Claims, for this instance, up to `limit` reminders whose email has not gone yet (of notices
/// still news: announced within the last day), and writes each for the key's creator. A creator
/// no longer an active member of the key's organization gets none: their notice is closed unsent.
/// `origin` is where the dashboard is (for the link to the key).
pub async fn claim_emails(
    core: &Core,
    origin: &str,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<ReminderEmail>, ServiceError> {
    use key_expiry_notice::Column;
    let unclaimed = || {
        Condition::any().add(Column::EmailClaimedAt.is_null()).add(Column::EmailClaimedAt.lt(now - EMAIL_CLAIM_LAPSES))
    };
    let candidates = key_expiry_notice::Entity::find()
        .filter(Column::EmailedAt.is_null())
        .filter(Column::SentAt.gt(now - Duration::days(1)))
        .filter(unclaimed())
        .order_by_asc(Column::SentAt)
        // Some may be taken by another instance meanwhile, or have no one to go to: read more.
        .limit(limit.saturating_add(CANDIDATES_BEYOND))
        .all(&core.db)
        .await?;
    let mut emails = Vec::new();
    for notice in candidates {
        if emails.len() as u64 >= limit {
            break;
        }
        let this = Condition::all()
            .add(Column::KeyId.eq(notice.key_id))
            .add(Column::Notice.eq(notice.notice.as_str()))
            .add(Column::ExpiresAt.eq(notice.expires_at));
        // Another instance may have claimed it since the read: only one update takes it.
        let claimed = key_expiry_notice::Entity::update_many()
            .col_expr(Column::EmailClaimedAt, Expr::value(now))
            .filter(this.clone())
            .filter(Column::EmailedAt.is_null())
            .filter(unclaimed())
            .exec(&core.db)
            .await?;
        if claimed.rows_affected != 1 {
            continue;
        }
        match reminder_email(core, &notice, origin, now).await? {
            Some(email) => emails.push(email),
            None => {
                key_expiry_notice::Entity::update_many()
                    .col_expr(Column::EmailedAt, Expr::value(now))
                    .filter(this)
                    .exec(&core.db)
                    .await?;
            }
        }
    }
    Ok(emails)
}

/// Records a claimed email done: sent, or refused for good by the SMTP server. Only while this
/// instance's claim still holds it: a claim that lapsed belongs to whoever took it next. (An email
/// whose send failed for now is left claimed, and is tried again once the claim lapses.)
pub async fn email_done(core: &Core, email: &ReminderEmail, now: DateTime<Utc>) -> Result<(), ServiceError> {
    use key_expiry_notice::Column;
    key_expiry_notice::Entity::update_many()
        .col_expr(Column::EmailedAt, Expr::value(now))
        .filter(Column::KeyId.eq(email.key_id))
        .filter(Column::Notice.eq(email.notice.as_str()))
        .filter(Column::ExpiresAt.eq(email.expires_at))
        .filter(Column::EmailClaimedAt.eq(email.claimed_at))
        .exec(&core.db)
        .await?;
    Ok(())
}

/// The notice's email, for the key's creator while they are an active member of its organization.
async fn reminder_email(
    core: &Core,
    notice: &key_expiry_notice::Model,
    origin: &str,
    claimed_at: DateTime<Utc>,
) -> Result<Option<ReminderEmail>, ServiceError> {
    let Some(notice_kind) = Notice::parse(&notice.notice) else { return Ok(None) };
    let Some(key) = api_key::Entity::find_by_id(notice.key_id).one(&core.db).await? else { return Ok(None) };
    // Revoked or given another expiry since: the reminder is no longer true.
    if key.expires_at != Some(notice.expires_at) || key.status == KeyStatus::Revoked {
        return Ok(None);
    }
    let member = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(key.organization_id))
        .filter(membership::Column::UserId.eq(key.created_by))
        .filter(membership::Column::SuspendedAt.is_null())
        .one(&core.db)
        .await?;
    let Some(creator) = (match member {
        Some(_) => user::Entity::find_by_id(key.created_by).one(&core.db).await?,
        None => None,
    }) else {
        return Ok(None);
    };
    let project = project::Entity::find_by_id(key.project_id).one(&core.db).await?.map(|p| p.name).unwrap_or_default();
    let when = notice.expires_at.format("%Y-%m-%d %H:%M UTC");
    let subject = match notice_kind {
        Notice::Week => format!("API key \"{}\" expires in a week", key.name),
        Notice::Day => format!("API key \"{}\" expires within a day", key.name),
        Notice::Expired => format!("API key \"{}\" has expired", key.name),
    };
    let status = match notice_kind {
        Notice::Expired => format!("expired at {when}; requests made with it are refused"),
        _ => format!("expires at {when}; after that, requests made with it are refused"),
    };
    let body = format!(
        "Hello {name},\n\nThe API key \"{key}\" ({prefix}…) that you created in the project {project} {status}.\n\n\
         To keep the integration that uses it working, rotate it or give it a new expiry date:\n{origin}/keys/{id}\n\n\
         You receive this because you created the key. Keyward\n",
        name = creator.name,
        key = key.name,
        prefix = key.prefix,
        id = key.id,
    );
    Ok(Some(ReminderEmail {
        claimed_at,
        key_id: key.id,
        notice: notice_kind,
        expires_at: notice.expires_at,
        to_name: creator.name,
        to_address: creator.email,
        subject,
        body,
    }))
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
