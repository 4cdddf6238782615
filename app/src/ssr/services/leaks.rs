//! Leaked keys: a secret found where it should not be, handled as its organization's policy says.
//! A secret scanner's report, "Report as leaked" on a key's page and "Check a leaked token" all
//! end in [`apply`], so a leak is handled, recorded and announced (`key.leaked`) the same way.

use super::audit::{self, Change};
use super::keys::{find_key_locked, target_name};
use super::{Actor, Member};
use crate::model::token::KeyToken;
use crate::model::{
    AuditAction, AuditActor, DecoySurface, FieldError, KeyStatus, LeakAction, LeakHandled, LeakPolicy,
    MAX_LEAK_TEXT_CHARS, ManagementScope, Permission,
};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{api_key, organization};
use crate::ssr::invalidation::{self, Stale};
use crate::ssr::{Core, ServiceError, crypto};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;

/// Who reported a leak, as the audit log and the key's banner name them.
struct Reporter<'a> {
    who: AuditActor,
    ip: Option<&'a str>,
}

impl<'a> Reporter<'a> {
    fn scanner(name: &str, ip: Option<&'a str>) -> Self {
        Self { who: AuditActor { user_id: None, key_id: None, name: format!("secret scanning ({name})") }, ip }
    }

    fn actor(actor: &'a dyn Actor) -> Self {
        Self { who: actor.audit_actor(), ip: actor.client_ip() }
    }
}

/// Where a scanner found a secret, as its report said.
#[derive(Debug, Clone, Copy, Default)]
pub struct FoundAt<'a> {
    pub url: Option<&'a str>,
    /// What it was found in (`content`, `commit`, `npm`...).
    pub source: Option<&'a str>,
}

/// Which of a key's secrets leaked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LeakedSecret {
    Current,
    /// The secret a rotation replaced, kept for its grace period.
    Replaced,
}

/// A token a secret scanner found (`scanner` names it, e.g. `github`). `None` when it is no key of
/// any organization here: not a Keyward token, or an unknown one.
pub async fn report_from_scanner(
    core: &Core,
    scanner: &str,
    ip: Option<&str>,
    token: &str,
    found: FoundAt<'_>,
) -> Result<Option<LeakHandled>, ServiceError> {
    let Ok(token) = KeyToken::parse(token) else { return Ok(None) };
    let digest = crypto::digest(token.expose_secret());
    // Looked up before the write transaction: most reported tokens are no key here, and on SQLite
    // each write transaction holds the database's one write lock.
    let Some((key, _)) = key_by_digest(&core.db, &digest, None).await? else { return Ok(None) };
    if key.decoy {
        let address = ip.and_then(|ip| ip.parse().ok());
        return Ok(Some(decoy_found(core, &key, address)));
    }
    let txn = begin_write(&core.db).await?;
    let Some((key, secret)) = key_by_digest(&txn, &digest, None).await? else { return Ok(None) };
    let handled = apply(core, txn, key, secret, Reporter::scanner(scanner, ip), found).await?;
    Ok(Some(handled))
}

/// "Check a leaked token": anyone in the organization may paste a token they came across. Holding
/// the secret already gives all the key can do, so stopping it asks for no role; a token of
/// another organization is "not a key of this organization", as an unknown one is.
pub async fn check_token(core: &Core, member: &Member, token: &str) -> Result<LeakHandled, ServiceError> {
    let token = KeyToken::parse(token.trim())
        .map_err(|_| ServiceError::from(FieldError::new("token", "This is not a Keyward API key (kw_…).")))?;
    let digest = crypto::digest(token.expose_secret());
    let not_ours = || ServiceError::from(FieldError::new("token", "This is not a key of this organization."));
    let (key, _) = key_by_digest(&core.db, &digest, Some(member.organization_id)).await?.ok_or_else(not_ours)?;
    if key.decoy {
        let address = member.client_ip().and_then(|ip| ip.parse().ok());
        return Ok(decoy_found(core, &key, address));
    }
    let txn = begin_write(&core.db).await?;
    let (key, secret) = key_by_digest(&txn, &digest, Some(member.organization_id)).await?.ok_or_else(not_ours)?;
    apply(core, txn, key, secret, Reporter::actor(member), FoundAt::default()).await
}

/// "Report as leaked" on a key's page. The actor must be able to do to the key what the policy
/// does (disable or revoke it): a report is not a way around one's role.
pub async fn report_key(core: &Core, actor: &dyn Actor, key_id: Uuid) -> Result<LeakHandled, ServiceError> {
    let txn = begin_write(&core.db).await?;
    let key = find_key_locked(&txn, actor, key_id).await?;
    let needed = match policy_of(&txn, key.organization_id).await? {
        LeakPolicy::Revoke => ManagementScope::ApiKeysRevoke,
        LeakPolicy::Disable | LeakPolicy::Notify => ManagementScope::ApiKeysUpdate,
    };
    actor.require(needed)?;
    actor.may_change(&key)?;
    if key.decoy {
        return Err(ServiceError::Conflict(
            "A decoy key is not reported as leaked: each use of it is already an alert.".into(),
        ));
    }
    apply(core, txn, key, LeakedSecret::Current, Reporter::actor(actor), FoundAt::default()).await
}

/// A decoy found where it was left: that is what it is for. Its use is recorded (and announced as
/// `key.decoy_used`); it stays as it is, a decoy.
fn decoy_found(core: &Core, key: &api_key::Model, address: Option<std::net::IpAddr>) -> LeakHandled {
    super::decoys::record_found(core, key, DecoySurface::LeakReport, address, Utc::now());
    LeakHandled {
        key_id: key.id,
        key_name: key.name.clone(),
        prefix: key.prefix.clone(),
        action: LeakAction::NotifiedOnly,
    }
}

/// The organization's policy for leaked keys.
pub async fn policy(core: &Core, member: &Member) -> Result<LeakPolicy, ServiceError> {
    policy_of(&core.db, member.organization_id).await
}

/// Sets the policy: owners and admins (`settings.manage`).
pub async fn set_policy(core: &Core, member: &Member, policy: LeakPolicy) -> Result<LeakPolicy, ServiceError> {
    member.permits(Permission::SettingsManage)?;
    let txn = begin_write(&core.db).await?;
    let org = super::organizations::lock(&txn, member.organization_id).await?;
    let (was, name) = (org.leak_policy, org.name.clone());
    if was != policy {
        let mut active = org.into_active_model();
        active.leak_policy = Set(policy);
        active.update(&txn).await?;
        let change = Change::new(AuditAction::LeakPolicyChanged, "organization", member.organization_id, name)
            .from_to(json!({ "leak_policy": was.as_str() }), json!({ "leak_policy": policy.as_str() }));
        audit::record(&txn, member, change).await?;
    }
    txn.commit().await?;
    Ok(policy)
}

async fn policy_of(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<LeakPolicy, ServiceError> {
    organization::Entity::find_by_id(organization_id)
        .select_only()
        .column(organization::Column::LeakPolicy)
        .into_tuple::<LeakPolicy>()
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("organization"))
}

/// The key whose current or replaced secret has this digest, in `organization` when given.
async fn key_by_digest(
    db: &impl ConnectionTrait,
    digest: &str,
    organization: Option<Uuid>,
) -> Result<Option<(api_key::Model, LeakedSecret)>, ServiceError> {
    let key = api_key::Entity::find()
        .filter(
            Condition::any().add(api_key::Column::Digest.eq(digest)).add(api_key::Column::PreviousDigest.eq(digest)),
        )
        .filter(Condition::all().add_option(organization.map(|id| api_key::Column::OrganizationId.eq(id))))
        // In the report's transaction, a rotation waits for it or it for the rotation, and then finds
        // the secret where the rotation left it (current, replaced, or gone).
        .lock_exclusive()
        .one(db)
        .await?;
    Ok(key.map(|key| {
        // Digests are compared in the database by index; the secret itself never is.
        let secret = if key.digest == digest { LeakedSecret::Current } else { LeakedSecret::Replaced };
        (key, secret)
    }))
}

/// What the policy does to a key whose `secret` leaked, as things stand `now`.
fn action_for(policy: LeakPolicy, secret: LeakedSecret, key: &api_key::Model, now: DateTime<Utc>) -> LeakAction {
    let status = KeyStatus::effective(key.status, key.expires_at, now);
    match secret {
        LeakedSecret::Replaced if key.previous_valid_until.is_some_and(|until| until > now) => LeakAction::GraceEnded,
        LeakedSecret::Replaced => LeakAction::NotifiedOnly,
        LeakedSecret::Current => match policy {
            LeakPolicy::Disable if status.can_disable() => LeakAction::Disabled,
            LeakPolicy::Revoke if status.can_revoke() => LeakAction::Revoked,
            _ => LeakAction::NotifiedOnly,
        },
    }
}

/// Handles one leak in `txn`: applies the policy, marks the key, records `key.leaked` (audit log
/// and outbox), and makes every instance read the key again.
async fn apply(
    core: &Core,
    txn: DatabaseTransaction,
    key: api_key::Model,
    secret: LeakedSecret,
    reporter: Reporter<'_>,
    found: FoundAt<'_>,
) -> Result<LeakHandled, ServiceError> {
    let now = Utc::now();
    let policy = policy_of(&txn, key.organization_id).await?;
    let action = action_for(policy, secret, &key, now);
    // Reported again (a scanner's retry, a replayed report): nothing new to do or to announce.
    if secret == LeakedSecret::Current && key.leaked_at.is_some() && action == LeakAction::NotifiedOnly {
        return Ok(LeakHandled { key_id: key.id, key_name: key.name, prefix: key.prefix, action });
    }
    let stale: Vec<String> = std::iter::once(key.digest.clone()).chain(key.previous_digest.clone()).collect();
    let status_was = key.status;
    let cut = |text: &str| Some(text.chars().take(MAX_LEAK_TEXT_CHARS).collect::<String>()).filter(|t| !t.is_empty());
    let url = found.url.and_then(cut);
    let mut active = key.into_active_model();
    match action {
        LeakAction::Disabled => active.status = Set(KeyStatus::Disabled),
        LeakAction::Revoked => {
            active.status = Set(KeyStatus::Revoked);
            active.revoked_at = Set(Some(now));
        }
        LeakAction::GraceEnded | LeakAction::NotifiedOnly => {}
    }
    if matches!(action, LeakAction::Revoked | LeakAction::GraceEnded) {
        active.previous_digest = Set(None);
        active.previous_valid_until = Set(None);
    }
    if secret == LeakedSecret::Current {
        active.leaked_at = Set(Some(now));
        active.leak_reported_by = Set(Some(reporter.who.name.chars().take(200).collect()));
        active.leak_url = Set(url.clone());
    }
    let key = active.update(&txn).await?;
    let change = Change::new(AuditAction::KeyLeaked, "key", key.id, target_name(&key)).from_to(
        json!({ "status": status_was.as_str() }),
        json!({
            "status": key.status.as_str(),
            "action": action,
            "secret": if secret == LeakedSecret::Current { "current" } else { "replaced" },
            "policy": policy.as_str(),
            "url": url,
            "source": found.source.and_then(cut),
        }),
    );
    audit::record_by(&txn, key.organization_id, reporter.who, reporter.ip, change).await?;
    let stale: Vec<&str> = stale.iter().map(String::as_str).collect();
    invalidation::announce(&txn, Stale::Digests(&stale)).await?;
    txn.commit().await?;
    core.cache.forget(stale);
    core.stats.forget(key.organization_id);
    // The prefix only: the secret never reaches a log.
    tracing::warn!(key = %key.id, prefix = %key.prefix, action = ?action, "API key reported leaked");
    Ok(LeakHandled { key_id: key.id, key_name: key.name, prefix: key.prefix, action })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn key(status: KeyStatus, expires_at: Option<DateTime<Utc>>, grace: Option<DateTime<Utc>>) -> api_key::Model {
        let now = Utc::now();
        api_key::Model {
            id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            project_id: Uuid::now_v7(),
            environment: crate::model::Environment::Production,
            name: "k".into(),
            description: None,
            prefix: "kw_live_abcd".into(),
            preview: "kw_live_abcd…".into(),
            digest: "d".into(),
            status,
            expires_at,
            created_by: Uuid::now_v7(),
            created_at: now,
            last_used_at: None,
            revoked_at: None,
            scopes: String::new(),
            rate_limit_requests: None,
            rate_limit_window: None,
            previous_digest: grace.map(|_| "p".into()),
            previous_valid_until: grace,
            external_id: None,
            meta: None,
            credits_remaining: None,
            credits_refill_amount: None,
            credits_refill_period: None,
            credits_refill_day: None,
            credits_refilled_at: None,
            ip_allowlist: None,
            leaked_at: None,
            leak_reported_by: None,
            leak_url: None,
            decoy: false,
        }
    }

    #[test]
    fn the_policy_decides_what_happens_to_a_working_key() {
        let now = Utc::now();
        let active = key(KeyStatus::Active, None, None);
        assert_eq!(action_for(LeakPolicy::Disable, LeakedSecret::Current, &active, now), LeakAction::Disabled);
        assert_eq!(action_for(LeakPolicy::Revoke, LeakedSecret::Current, &active, now), LeakAction::Revoked);
        assert_eq!(action_for(LeakPolicy::Notify, LeakedSecret::Current, &active, now), LeakAction::NotifiedOnly);
    }

    #[test]
    fn a_key_that_already_does_not_work_is_left_or_only_revoked() {
        let now = Utc::now();
        let disabled = key(KeyStatus::Disabled, None, None);
        assert_eq!(action_for(LeakPolicy::Disable, LeakedSecret::Current, &disabled, now), LeakAction::NotifiedOnly);
        assert_eq!(action_for(LeakPolicy::Revoke, LeakedSecret::Current, &disabled, now), LeakAction::Revoked);
        let expired = key(KeyStatus::Active, Some(now - Duration::hours(1)), None);
        assert_eq!(action_for(LeakPolicy::Disable, LeakedSecret::Current, &expired, now), LeakAction::NotifiedOnly);
        let revoked = key(KeyStatus::Revoked, None, None);
        assert_eq!(action_for(LeakPolicy::Revoke, LeakedSecret::Current, &revoked, now), LeakAction::NotifiedOnly);
    }

    #[test]
    fn a_leaked_replaced_secret_ends_its_grace_and_spares_the_key() {
        let now = Utc::now();
        let in_grace = key(KeyStatus::Active, None, Some(now + Duration::hours(1)));
        for policy in [LeakPolicy::Disable, LeakPolicy::Revoke, LeakPolicy::Notify] {
            assert_eq!(action_for(policy, LeakedSecret::Replaced, &in_grace, now), LeakAction::GraceEnded);
        }
        let grace_over = key(KeyStatus::Active, None, Some(now - Duration::hours(1)));
        assert_eq!(action_for(LeakPolicy::Disable, LeakedSecret::Replaced, &grace_over, now), LeakAction::NotifiedOnly);
    }
}
