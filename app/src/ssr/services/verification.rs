//! The hot path: authenticating the API key that calls, and judging a key presented to the team's
//! own API. A key seen recently costs no database work (see [`crate::ssr::cache`]); malformed keys
//! are refused before any lookup, and bad-checksum keys before any database lookup.

use super::keys::{load_scopes, stored_credits, stored_networks, stored_rate_limit};
use super::{KeyCaller, decoys};
use crate::model::token::{KeyToken, ShapedToken};
use crate::model::{DecoySurface, Environment, KeyStatus, ManagementScope, Scope, WebhookEvent, allows};
use crate::ssr::cache::{Digest, KeyRecord, Lookup};
use crate::ssr::credits::{CreditTerms, Spend};
use crate::ssr::entities::{api_key, membership, project};
use crate::ssr::rate_limit::RateState;
use crate::ssr::verification_log::LoggedVerification;
use crate::ssr::{Core, ServiceError, metrics};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};
use sha2::Digest as _;
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

pub use crate::model::{KeyRejection, VerifyCode};

/// What a service asks about a key its caller presented.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    pub key: String,
    /// The environment the key must belong to, if any.
    pub environment: Option<Environment>,
    /// Scopes the key must all hold.
    pub scopes: Vec<Scope>,
    /// The credits a valid verification spends, for a key that has credits (0 to 1,000).
    pub cost: u32,
    /// The address of the caller who presented the key, for a key with an IP allowlist.
    pub ip: Option<IpAddr>,
}

impl VerifyRequest {
    /// A request for `key` at the default cost (1), with nothing else asked.
    pub fn for_key(key: impl Into<String>) -> Self {
        Self { key: key.into(), ..Self::default() }
    }
}

impl Default for VerifyRequest {
    fn default() -> Self {
        Self { key: String::new(), environment: None, scopes: Vec::new(), cost: 1, ip: None }
    }
}

/// A credit-limited key's credits after a verification: what is left, and when the refill comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditState {
    pub remaining: u64,
    pub refills_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Verdict {
    pub code: VerifyCode,
    /// The key, when it was found in the caller's project.
    pub key: Option<Arc<KeyRecord>>,
    /// The key's rate-limit window after this verification, when it has a limit.
    pub rate: Option<RateState>,
    /// The key's credits after this verification, when it has a credit limit and got this far.
    pub credits: Option<CreditState>,
}

impl Verdict {
    pub fn valid(&self) -> bool {
        self.code == VerifyCode::Valid
    }

    fn not_found() -> Self {
        Self { code: VerifyCode::NotFound, key: None, rate: None, credits: None }
    }
}

/// The API key making a management or verification call, with its rate limit counted.
/// A call over the key's limit is refused here (and counted as denied).
///
/// `now` is read once per request by the caller and passed down the whole path: the clock is
/// one of the hot path's costs, and one instant keeps status, limit and counters consistent.
///
/// `address` is where the call came from: an address whose keys keep turning out unknown is
/// refused (429) before any more database lookups, since the checksum is public and random
/// well-formed tokens are cheap to make. Keys already cached cost no lookup and are never refused.
pub async fn authenticate(
    core: &Core,
    presented: Option<&str>,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<(KeyCaller, Option<RateState>), ServiceError> {
    let presented =
        presented.map(str::trim).filter(|p| !p.is_empty()).ok_or(ServiceError::KeyRejected(KeyRejection::Missing))?;
    let invalid = || ServiceError::KeyRejected(KeyRejection::Invalid);
    let token = KeyToken::shaped(presented).map_err(|_| invalid())?;
    let key = resolve(core, token, address, now).await?.ok_or_else(invalid)?;
    if key.decoy {
        // Refused as an unknown key would be: nothing tells the caller it was noticed.
        decoys::record_use(core, &key, DecoySurface::ManagementApi, address, now);
        return Err(invalid());
    }
    match KeyStatus::effective(key.status, key.expires_at, now) {
        KeyStatus::Active => {}
        KeyStatus::Revoked => return Err(ServiceError::KeyRejected(KeyRejection::Invalid)),
        KeyStatus::Expired => return Err(ServiceError::KeyRejected(KeyRejection::Expired)),
        KeyStatus::Disabled => return Err(ServiceError::KeyRejected(KeyRejection::Disabled)),
    }
    // Behind trusted proxies, `address` is the client they name (see the server's `security`).
    if !allows(key.ip_allowlist.as_deref(), address) {
        return Err(ServiceError::IpNotAllowed);
    }
    let now_ms = now.timestamp_millis();
    let rate = match key.rate_limit {
        Some(limit) => Some(core.limiter.check(key.id, limit, now_ms).await),
        None => None,
    };
    if let Some(state) = rate.filter(|r| !r.allowed) {
        core.usage.record(key.id, key.organization_id, false, now_ms);
        return Err(ServiceError::RateLimited(state));
    }
    Ok((KeyCaller { key, ip: None }, rate))
}

/// Counts a management call: `allowed` unless it was refused for the key's scopes.
pub fn record_call(core: &Core, caller: &KeyCaller, allowed: bool, now: DateTime<Utc>) {
    core.usage.record(caller.key.id, caller.key.organization_id, allowed, now.timestamp_millis());
}

/// Raises `key.credits_exhausted`, off the verification's path: the event is written to the
/// outbox as the verification answers. (Should the process stop in between, the event is lost;
/// the key's credits, which are the record, are not.)
fn announce_exhausted(core: &Core, key: &KeyRecord, refills_at: Option<DateTime<Utc>>) {
    let data = serde_json::json!({
        "organization_id": key.organization_id,
        "target": { "kind": "key", "id": key.id, "name": key.name },
        "external_id": key.external_id,
        "refills_at": refills_at,
    });
    let (db, organization_id) = (core.db.clone(), key.organization_id);
    tokio::spawn(async move {
        if let Err(e) = super::webhooks::enqueue(&db, organization_id, WebhookEvent::KeyCreditsExhausted, data).await {
            tracing::warn!(error = %e, "writing key.credits_exhausted failed");
        }
    });
}

/// Judges a key presented to the caller's own API. Needs `api_keys.verify`; a key of another
/// project than the caller's is NOT_FOUND, so its existence does not leak.
pub async fn verify(
    core: &Core,
    caller: &KeyCaller,
    request: &VerifyRequest,
    now: DateTime<Utc>,
) -> Result<Verdict, ServiceError> {
    if !caller.holds(ManagementScope::ApiKeysVerify) {
        return Err(ServiceError::MissingScope(ManagementScope::ApiKeysVerify.as_str()));
    }
    let found = match KeyToken::shaped(request.key.trim()) {
        // The caller is a known key, held to its own rate limit: no per-address limit here.
        Ok(token) => resolve(core, token, None, now).await?,
        Err(_) => None,
    };
    // A decoy of the caller's organization, presented to one of its services (any project): the
    // alert. The answer is the one an unknown key gets.
    if let Some(decoy) = found.as_ref().filter(|key| key.decoy && key.organization_id == caller.key.organization_id) {
        decoys::record_use(core, decoy, DecoySurface::Verify, request.ip, now);
    }
    let Some(key) = found
        .filter(|key| !key.decoy)
        .filter(|key| key.organization_id == caller.key.organization_id && key.project_id == caller.key.project_id)
    else {
        metrics::verdict(VerifyCode::NotFound);
        log(core, caller, request, None, VerifyCode::NotFound, 0, now);
        return Ok(Verdict::not_found());
    };
    let now_ms = now.timestamp_millis();
    let (mut rate, mut credits) = (None, None);
    let code = match KeyStatus::effective(key.status, key.expires_at, now) {
        KeyStatus::Revoked => VerifyCode::Revoked,
        KeyStatus::Expired => VerifyCode::Expired,
        KeyStatus::Disabled => VerifyCode::Disabled,
        KeyStatus::Active if !allows(key.ip_allowlist.as_deref(), request.ip) => VerifyCode::IpNotAllowed,
        KeyStatus::Active if request.environment.is_some_and(|e| e != key.environment) => VerifyCode::WrongEnvironment,
        KeyStatus::Active if !request.scopes.iter().all(|s| key.scopes.contains(s.as_str())) => {
            VerifyCode::InsufficientScope
        }
        KeyStatus::Active => {
            // Only a verification that passed everything else spends the key's limit.
            if let Some(limit) = key.rate_limit {
                rate = Some(core.limiter.check(key.id, limit, now_ms).await);
            }
            if rate.is_some_and(|r| !r.allowed) {
                VerifyCode::RateLimited
            } else if let Some(terms) = key.credits {
                // Last: a verification refused for anything else spends no credit.
                let spend = Box::pin(core.credits.spend(&core.db, key.id, terms, request.cost, now)).await?;
                let refills_at = terms.refill.map(|refill| refill.next_at(now));
                match spend {
                    Spend::Granted { remaining } => {
                        if remaining == 0 && request.cost > 0 {
                            // This verification spent the last credit: one per exhaustion.
                            announce_exhausted(core, &key, refills_at);
                        }
                        credits = Some(CreditState { remaining, refills_at });
                        VerifyCode::Valid
                    }
                    Spend::Refused { remaining } => {
                        credits = Some(CreditState { remaining, refills_at });
                        VerifyCode::UsageExceeded
                    }
                    Spend::Unlimited => VerifyCode::Valid,
                }
            } else {
                VerifyCode::Valid
            }
        }
    };
    core.usage.record(key.id, key.organization_id, code == VerifyCode::Valid, now_ms);
    metrics::verdict(code);
    let spent = if code == VerifyCode::Valid && credits.is_some() { request.cost } else { 0 };
    log(core, caller, request, Some(&key), code, spent, now);
    Ok(Verdict { code, key: Some(key), rate, credits })
}

/// Appends the verification to the log (written in batches by the usage flush).
fn log(
    core: &Core,
    caller: &KeyCaller,
    request: &VerifyRequest,
    key: Option<&KeyRecord>,
    outcome: VerifyCode,
    credits_spent: u32,
    now: DateTime<Utc>,
) {
    if !core.verifications.is_on() {
        return;
    }
    let scopes =
        (!request.scopes.is_empty()).then(|| request.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "));
    core.verifications.record(LoggedVerification {
        at: now,
        organization_id: caller.key.organization_id,
        key_id: key.map(|k| k.id),
        caller_key_id: caller.key.id,
        outcome,
        address: request.ip,
        environment: key.map(|k| k.environment),
        scopes,
        credits_spent,
    });
}

/// The key a token stands for, from the cache or else the database (and then cached). A replaced
/// secret stands for its key only until its grace period ends. With `address`, a lookup that finds
/// nothing counts against that address, and an address with too many is refused the next lookup.
/// The checksum is checked only on the way to the database (see [`ShapedToken`]).
async fn resolve(
    core: &Core,
    token: ShapedToken<'_>,
    address: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<Option<Arc<KeyRecord>>, ServiceError> {
    let digest: Digest = sha2::Sha256::digest(token.expose_secret().as_bytes()).into();
    if let Some(lookup) = core.cache.get(&digest, now) {
        metrics::cache_lookup(true);
        return Ok(found(lookup, now));
    }
    if token.checked().is_err() {
        metrics::cache_lookup(false);
        return Ok(None);
    }
    let now_ms = now.timestamp_millis();
    let read = || async {
        if let Some(address) = address {
            core.key_failures.reserve(address, now_ms)?;
        }
        // Boxed: the database's future is kilobytes, and unboxed it would make the future of
        // every verification as large, to be moved on every call that never reaches here.
        let lookup = Box::pin(load(core, &digest)).await?;
        // A decoy counts as the unknown key it pretends to be: giving the address its attempt back
        // would tell a decoy from a made-up token.
        let real = match &lookup {
            Lookup::Current(key) | Lookup::Replaced { key, .. } => !key.decoy,
            Lookup::Unknown => false,
        };
        if let (true, Some(address)) = (real, address) {
            core.key_failures.found(address, now_ms);
        }
        Ok::<_, ServiceError>(lookup)
    };
    let (lookup, shared) = Box::pin(core.cache.get_or_load(digest, read)).await?;
    metrics::cache_lookup(shared);
    Ok(found(lookup, now))
}

/// The key a lookup found, if its secret still stands for it at `now`.
fn found(lookup: Lookup, now: DateTime<Utc>) -> Option<Arc<KeyRecord>> {
    match lookup {
        Lookup::Unknown => None,
        Lookup::Current(key) => Some(key),
        Lookup::Replaced { key, until } => (now < until).then_some(key),
    }
}

async fn load(core: &Core, digest: &Digest) -> Result<Lookup, ServiceError> {
    ::metrics::counter!(metrics::KEY_LOOKUPS).increment(1);
    let hex = hex::encode(digest);
    let Some(row) = api_key::Entity::find()
        .filter(Condition::any().add(api_key::Column::Digest.eq(&hex)).add(api_key::Column::PreviousDigest.eq(&hex)))
        .one(&core.db)
        .await?
    else {
        return Ok(Lookup::Unknown);
    };
    let project_name =
        project::Entity::find_by_id(row.project_id).one(&core.db).await?.map(|p| p.name).unwrap_or_default();
    let creator_role = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(row.organization_id))
        .filter(membership::Column::UserId.eq(row.created_by))
        .filter(membership::Column::SuspendedAt.is_null())
        .one(&core.db)
        .await?
        .map(|m| m.role);
    let current = bool::from(row.digest.as_bytes().ct_eq(hex.as_bytes()));
    let until = row.previous_valid_until;
    let key = Arc::new(KeyRecord {
        id: row.id,
        organization_id: row.organization_id,
        project_id: row.project_id,
        project_name,
        environment: row.environment,
        name: row.name.clone(),
        status: row.status,
        expires_at: row.expires_at,
        scopes: load_scopes(&row.scopes),
        rate_limit: stored_rate_limit(&row),
        credits: stored_credits(&row).map(|c| CreditTerms::read(c.refill)),
        ip_allowlist: stored_networks(&row).map(Vec::into_boxed_slice),
        created_by: row.created_by,
        creator_role,
        external_id: row.external_id.clone(),
        meta: row.meta.clone(),
        decoy: row.decoy,
        answer: std::sync::OnceLock::new(),
    });
    Ok(match (current, until) {
        (true, _) => Lookup::Current(key),
        (false, Some(until)) => Lookup::Replaced { key, until },
        (false, None) => Lookup::Unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RateLimit, RateWindow};
    use uuid::Uuid;

    type Inputs = (&'static Core, &'static KeyCaller, &'static VerifyRequest, ShapedToken<'static>);

    /// The size of the future `make` would return, without calling it (nothing needs to exist).
    fn future_size<Fut>(_: impl FnOnce(Inputs) -> Fut) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// A budget, not a timing. A future is as large as the largest path it might take, and the
    /// handler's is moved (copied) into its box on every call: with the database lookup inline,
    /// each verification's future was 2.3 KB, where a cached key needs a tenth of that.
    #[test]
    fn the_verification_paths_futures_stay_small_whatever_their_cold_paths_need() {
        const CEILING: usize = 512;
        let now = Utc::now();
        let sizes = [
            ("authenticate", future_size(move |(core, _, _, _)| authenticate(core, None, None, now))),
            ("verify", future_size(move |(core, caller, request, _)| verify(core, caller, request, now))),
            ("resolve", future_size(move |(core, _, _, token)| resolve(core, token, None, now))),
            (
                "rate limit",
                future_size(move |(core, _, _, _)| {
                    core.limiter.check(Uuid::nil(), RateLimit { requests: 1, window: RateWindow::Hour }, 0)
                }),
            ),
        ];
        for (path, size) in sizes {
            assert!(size <= CEILING, "the {path} future is {size} bytes (ceiling {CEILING})");
        }
    }
}
