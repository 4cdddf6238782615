//! The REST API's public shapes. Kept apart from the dashboard's models so that the API can stay
//! stable (RFC 3339 times, nested objects) while the dashboard's wire format is free to change.

use app::model::{
    ApiKey, AuditPage, Credits, Environment, FieldError, KeyCredits, KeyPage, KeyStats, KeyStatus, RateLimit,
    RateWindow, Refill, RefillPeriod, UsageHistory, credit_count, refill_amount, refill_day,
};
use app::ssr::services::verification::{Verdict, VerifyCode};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectRef {
    pub id: Uuid,
    pub name: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimitBody {
    /// 1 to 1,000,000.
    pub requests: u32,
    pub window: RateWindow,
}

impl From<RateLimit> for RateLimitBody {
    fn from(limit: RateLimit) -> Self {
        Self { requests: limit.requests, window: limit.window }
    }
}

impl RateLimitBody {
    pub fn validated(self, field: &str) -> Result<RateLimit, app::model::FieldError> {
        if (1..=RateLimit::MAX_REQUESTS).contains(&self.requests) {
            Ok(RateLimit { requests: self.requests, window: self.window })
        } else {
            Err(app::model::FieldError::new(
                format!("{field}.requests"),
                format!("must be a whole number from 1 to {}", RateLimit::MAX_REQUESTS),
            ))
        }
    }
}

/// A key's credits, as given: how many successful verifications it has left, and its refill.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditsBody {
    /// 0 to 1,000,000,000,000.
    pub remaining: i64,
    /// None: the credits are never refilled.
    pub refill: Option<RefillBody>,
}

/// A refill *sets* the credits to `amount`, at the first verification after midnight UTC of each
/// day, or of the month's `day`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefillBody {
    /// 1 to 1,000,000,000,000.
    pub amount: i64,
    pub interval: RefillPeriod,
    /// For a monthly refill: 1 to 31 (31: the month's last day). Default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub day: Option<i64>,
}

impl CreditsBody {
    /// The credits, or every field that is wrong (named from `field`, e.g. `credits.refill.day`).
    pub fn validated(self, field: &str) -> Result<Credits, app::model::FieldErrors> {
        use app::model::AllValid;
        let remaining = credit_count(&format!("{field}.remaining"), self.remaining);
        let refill = match self.refill {
            None => Ok(None),
            Some(refill) => {
                let day = match (refill.interval, refill.day) {
                    (RefillPeriod::Daily, Some(_)) => {
                        Err(FieldError::new(format!("{field}.refill.day"), "is only for a monthly refill"))
                    }
                    (_, day) => refill_day(&format!("{field}.refill.day"), day.unwrap_or(1)),
                };
                (refill_amount(&format!("{field}.refill.amount"), refill.amount), day)
                    .all_valid()
                    .map(|(amount, day)| Some(Refill { amount, period: refill.interval, day }))
            }
        };
        let (remaining, refill) = (remaining, refill).all_valid()?;
        Ok(Credits { remaining, refill })
    }
}

/// A key's credits as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditsState {
    /// Left now (a refill that is due counts as done).
    pub remaining: u64,
    pub refill: Option<RefillBody>,
    /// When the next refill comes.
    pub refills_at: Option<DateTime<Utc>>,
}

impl From<KeyCredits> for CreditsState {
    fn from(credits: KeyCredits) -> Self {
        let stored = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        Self {
            remaining: credits.remaining,
            refill: credits.refill.map(|r| RefillBody {
                amount: stored(r.amount),
                interval: r.period,
                day: (r.period == RefillPeriod::Monthly).then_some(i64::from(r.day)),
            }),
            refills_at: credits.refills_at,
        }
    }
}

/// An API key as the API shows it: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Key {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The visible start of the token, e.g. `kw_live_a1b2c3d4`.
    pub prefix: String,
    /// A masked preview of the token.
    pub preview: String,
    pub project: ProjectRef,
    pub environment: Environment,
    pub status: KeyStatus,
    pub scopes: Vec<String>,
    pub rate_limit: Option<RateLimitBody>,
    /// Successful verifications left; none: unlimited.
    pub credits: Option<CreditsState>,
    /// The networks (CIDRs) it may be used from; empty: anywhere.
    pub ip_allowlist: Vec<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    /// After a rotation with a grace period: until when the replaced secret still works.
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// Set while the key's current secret is reported leaked; a rotation clears it.
    pub leaked: Option<Leak>,
    /// A decoy: it never authenticates, and each use of it is recorded and announced.
    pub decoy: bool,
    /// Who the key is for in your own system (a customer, a tenant).
    pub external_id: Option<String>,
    /// Your JSON object, as you gave it.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
}

/// That a key's secret was reported leaked.
#[derive(Debug, Serialize, ToSchema)]
pub struct Leak {
    pub at: DateTime<Utc>,
    /// A scanner (`github`) or the member who reported it.
    pub reported_by: String,
    /// Where the secret was found, when the reporter said.
    pub url: Option<String>,
}

impl From<ApiKey> for Key {
    fn from(key: ApiKey) -> Self {
        Self {
            scopes: key.scopes.to_strings(),
            rate_limit: key.rate_limit.map(RateLimitBody::from),
            credits: key.credits.map(CreditsState::from),
            ip_allowlist: key.ip_allowlist,
            project: ProjectRef { id: key.project_id, name: key.project_name },
            id: key.id,
            name: key.name,
            description: key.description,
            prefix: key.prefix,
            preview: key.preview,
            environment: key.environment,
            status: key.status,
            created_by: key.created_by,
            created_at: key.created_at,
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            previous_secret_valid_until: key.previous_valid_until,
            decoy: key.decoy,
            leaked: key.leak.map(|leak| Leak { at: leak.at, reported_by: leak.reported_by, url: leak.url }),
            external_id: key.external_id,
            // Stored only once checked to be a JSON object.
            meta: key.meta.and_then(|meta| serde_json::from_str(&meta).ok()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<Key>,
    /// Keys matching the filters, on every page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl From<KeyPage> for KeyList {
    fn from(page: KeyPage) -> Self {
        Self {
            keys: page.keys.into_iter().map(Key::from).collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

/// A key with its token: the only answer that carries one, once, at creation or rotation.
#[derive(Debug, Serialize, ToSchema)]
pub struct KeyWithToken {
    pub key: Key,
    /// The full key. Store it now: Keyward keeps only its SHA-256 digest.
    pub token: String,
}

/// The list's query: the same search, filters, sort and pages as the dashboard.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Name (anywhere) or prefix (start), case-insensitive.
    pub q: Option<String>,
    /// Must be the key's own environment when given.
    pub environment: Option<String>,
    /// active, disabled, expired or revoked.
    pub status: Option<String>,
    /// Leave revoked keys out.
    pub hide_revoked: Option<bool>,
    /// created (newest first, the default), last_used or name.
    pub sort: Option<String>,
    /// From 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// 10, 25, 50 or 100.
    pub per_page: Option<u32>,
    /// Only with api_keys.manage_all: another project of the organization.
    pub project_id: Option<Uuid>,
    /// Only the keys for this customer or tenant: their `external_id`, exactly.
    pub external_id: Option<String>,
    /// Only active keys never used (`never`), or unused for `30d`, `60d` or `90d` (never-used keys
    /// older than that included).
    pub unused: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// 1 to 64 characters.
    pub name: String,
    pub description: Option<String>,
    /// Defaults to the calling key's project.
    pub project_id: Option<Uuid>,
    /// Defaults to (and must be) the calling key's environment.
    pub environment: Option<Environment>,
    /// `resource.action` scopes. A key can only grant management scopes it holds itself.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Expire this many days from now (1 to 1830)...
    pub expires_in_days: Option<u16>,
    /// ...or at the end of this day (UTC). Neither: never expires.
    pub expires_on: Option<NaiveDate>,
    pub rate_limit: Option<RateLimitBody>,
    /// How many successful verifications it may have, and their refill. None: unlimited.
    pub credits: Option<CreditsBody>,
    /// Up to 100 IPv4 or IPv6 addresses or CIDRs it may be used from. None or empty: anywhere.
    #[serde(default)]
    pub ip_allowlist: Vec<String>,
    /// Who the key is for in your own system (a customer, a tenant): up to 256 characters. Verification
    /// answers with it, and the keys list filters by it.
    pub external_id: Option<String>,
    /// A JSON object of yours, up to 16 KB, kept as given and never interpreted. Verification answers with it.
    #[schema(value_type = Option<Object>)]
    pub meta: Option<serde_json::Value>,
    /// A decoy (honeytoken): it never authenticates anything, each use of it raises
    /// `key.decoy_used`, and it does not count against the plan's key limit (at most 20).
    #[serde(default)]
    pub decoy: bool,
}

/// The fields to change; those left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditKey {
    /// 1 to 64 characters.
    pub name: Option<String>,
    /// `null` or blank removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    /// Expire this many days from now (1 to 1830)...
    pub expires_in_days: Option<u16>,
    /// ...or at the end of this day (UTC)...
    pub expires_on: Option<NaiveDate>,
    /// ...or never (`true`).
    pub never_expires: Option<bool>,
    /// `null` or blank removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub external_id: Option<Option<String>>,
    /// A JSON object, replacing the one there; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>, nullable)]
    pub meta: Option<Option<serde_json::Value>>,
}

/// A field that is present, `null` included (`Some(None)`); absent, `#[serde(default)]` makes it `None`.
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(field: D) -> Result<Option<T>, D::Error> {
    T::deserialize(field).map(Some)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// How long the old secret keeps working: none (default), 1h, 24h or 7d.
    pub grace: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetScopes {
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRateLimit {
    /// `null` removes the limit. Required: a body that forgot it must not remove the limit.
    // `deserialize_with` makes serde require the field (an `Option` is otherwise optional).
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true)]
    pub rate_limit: Option<RateLimitBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsSummary {
    /// Keys ever created in the organization, deleted ones included.
    pub total_created: u64,
    /// Active keys (in the calling key's project and environment).
    pub active: u64,
    /// Keys counting against the plan (the organization's).
    pub live_keys: u64,
    /// The plan's limit; null when unlimited.
    pub max_keys: Option<u32>,
    /// Verifications and API calls in the last 24 hours.
    pub calls_24h: u64,
    pub last_call_at: Option<DateTime<Utc>>,
}

impl From<KeyStats> for StatsSummary {
    fn from(stats: KeyStats) -> Self {
        Self {
            total_created: stats.total_created,
            active: stats.active,
            live_keys: stats.live,
            max_keys: stats.max_keys,
            calls_24h: stats.calls_24h,
            last_call_at: stats.last_call,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// The last 168 hours, oldest first.
    pub hours: Vec<UsageHour>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UsageHour {
    pub hour: DateTime<Utc>,
    pub valid: u64,
    pub denied: u64,
}

impl From<UsageHistory> for Usage {
    fn from(history: UsageHistory) -> Self {
        Self {
            hours: history
                .hours
                .into_iter()
                .map(|h| UsageHour { hour: h.hour, valid: h.valid, denied: h.denied })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"key": "kw_live_…", "environment": "production", "scopes": ["telemetry.write"]}))]
pub struct VerifyKey {
    /// The key your caller presented.
    pub key: String,
    /// The environment it must belong to.
    pub environment: Option<Environment>,
    /// Scopes it must all hold.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// For a key with credits: what a valid verification spends, 0 to 1,000 (default 1).
    pub cost: Option<i64>,
    /// The address of your caller, who presented the key: required for a key with an IP allowlist.
    pub ip: Option<String>,
}

/// The verdict. `valid` is true only for VALID; the key's details are there whenever it was found.
/// The documented shape; the hot path writes it with [`verification_answer`].
#[derive(Debug, Serialize, ToSchema)]
pub struct Verification<'a> {
    pub valid: bool,
    pub code: VerifyCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<VerifiedProject<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<&'a str>>,
    /// Null when the key never expires.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    /// Who the key is for in your own system, when it has that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<&'a str>,
    /// Your JSON object, as you gave it, when the key has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub meta: Option<&'a RawValue>,
    /// When the key has a rate limit and this verification counted against it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratelimit: Option<RateLimitState>,
    /// When the key has credits and the verification got as far as spending them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<VerifiedCredits>,
}

/// The project of a verified key.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedProject<'a> {
    pub id: Uuid,
    pub name: &'a str,
}

/// Sets a key's credits anew (setting them counts as a refill) or removes the limit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCredits {
    /// `null` removes the limit. Required: a body that forgot it must not remove the limit.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true)]
    pub credits: Option<CreditsBody>,
}

/// Replaces a key's IP allowlist.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetIpAllowlist {
    /// Up to 100 IPv4 or IPv6 addresses or CIDRs; empty: anywhere. Required.
    pub ip_allowlist: Vec<String>,
}

/// A credit-limited key's credits after the verification.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedCredits {
    /// What is left (what this verification left, if it was valid).
    pub remaining: u64,
    /// When the next refill sets them back, if the key has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refills_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimitState {
    pub limit: u32,
    pub remaining: u32,
    /// When the window resets, in milliseconds since the Unix epoch.
    pub reset: i64,
}

impl<'a> From<&'a Verdict> for Verification<'a> {
    fn from(verdict: &'a Verdict) -> Self {
        let key = verdict.key.as_deref();
        Self {
            valid: verdict.valid(),
            code: verdict.code,
            key_id: key.map(|k| k.id),
            name: key.map(|k| k.name.as_str()),
            project: key.map(|k| VerifiedProject { id: k.project_id, name: &k.project_name }),
            environment: key.map(|k| k.environment),
            scopes: key.map(|k| k.scopes.iter().map(|s| s.as_str()).collect()),
            expires_at: key.map(|k| k.expires_at),
            external_id: key.and_then(|k| k.external_id.as_deref()),
            meta: key.and_then(|k| k.meta.as_deref()).and_then(|meta| serde_json::from_str(meta).ok()),
            ratelimit: verdict.rate.map(|r| RateLimitState {
                limit: r.limit,
                remaining: r.remaining,
                reset: r.reset_at_ms,
            }),
            credits: verdict.credits.map(|c| VerifiedCredits { remaining: c.remaining, refills_at: c.refills_at }),
        }
    }
}

/// What a verification answer says about the key found: [`Verification`]'s key fields, in its order.
#[derive(Serialize)]
struct VerifiedKey<'a> {
    key_id: Uuid,
    name: &'a str,
    project: VerifiedProject<'a>,
    environment: Environment,
    scopes: Vec<&'a str>,
    expires_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<&'a RawValue>,
}

/// The verification answer as JSON: [`Verification`], written with the key's fields serialized once
/// per cached key (they cannot change while it is cached: any change to a key evicts it) rather than
/// on every verification, the formatting of ids, names and scopes being most of an answer's cost.
pub fn verification_answer(verdict: &Verdict) -> Vec<u8> {
    let mut out = Vec::with_capacity(384);
    out.extend_from_slice(if verdict.valid() {
        b"{\"valid\":true,\"code\":\""
    } else {
        b"{\"valid\":false,\"code\":\""
    });
    out.extend_from_slice(verdict.code.as_str().as_bytes());
    out.push(b'"');
    if let Some(key) = verdict.key.as_deref() {
        let fields = key.answer.get_or_init(|| {
            let described = VerifiedKey {
                key_id: key.id,
                name: &key.name,
                project: VerifiedProject { id: key.project_id, name: &key.project_name },
                environment: key.environment,
                scopes: key.scopes.iter().map(|s| s.as_str()).collect(),
                expires_at: key.expires_at,
                external_id: key.external_id.as_deref(),
                // Stored only once checked to be a JSON object.
                meta: key.meta.as_deref().and_then(|meta| serde_json::from_str(meta).ok()),
            };
            // An object's members without its braces: serde_json cannot fail on these types.
            let object = serde_json::to_vec(&described).unwrap_or_else(|_| b"{}".to_vec());
            object[1..object.len() - 1].into()
        });
        if !fields.is_empty() {
            out.push(b',');
            out.extend_from_slice(fields);
        }
    }
    if let Some(rate) = verdict.rate {
        out.extend_from_slice(b",\"ratelimit\":");
        let state = RateLimitState { limit: rate.limit, remaining: rate.remaining, reset: rate.reset_at_ms };
        // Three integers: cannot fail.
        let _ = serde_json::to_writer(&mut out, &state);
    }
    if let Some(credits) = verdict.credits {
        out.extend_from_slice(b",\"credits\":");
        let state = VerifiedCredits { remaining: credits.remaining, refills_at: credits.refills_at };
        // An integer and a time: cannot fail.
        let _ = serde_json::to_writer(&mut out, &state);
    }
    out.push(b'}');
    out
}

/// The audit log's filters, as query parameters. Unlike the dashboard's URL, a value that does not
/// parse is refused (422, naming the parameter), not ignored.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// A member's user id: what they did (and what keys they created did).
    pub actor: Option<Uuid>,
    /// One action, e.g. `key.revoked` or `member.role_changed`.
    pub action: Option<String>,
    /// A key's id: everything done to it.
    pub key: Option<Uuid>,
    /// First day, inclusive (UTC, YYYY-MM-DD).
    pub from: Option<NaiveDate>,
    /// Last day, inclusive (UTC, YYYY-MM-DD).
    pub to: Option<NaiveDate>,
    /// From 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// 1 to 100 (default 25).
    pub per_page: Option<u32>,
}

/// Who made a change: a member, or a key acting for the member who created it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActorRef {
    pub user_id: Option<Uuid>,
    pub key_id: Option<Uuid>,
    /// As it read at the time of the change.
    pub name: String,
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: AuditActorRef,
    /// e.g. `key.revoked`.
    pub action: String,
    /// `key`, `member`, `invitation` or `organization`.
    pub target_kind: String,
    pub target_id: Option<Uuid>,
    pub target_name: String,
    /// What changed, where it matters.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
    pub ip: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    /// Newest first.
    pub events: Vec<AuditEvent>,
    /// Events matching the filters, on every page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl From<AuditPage> for AuditEventList {
    fn from(page: AuditPage) -> Self {
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Self {
            events: page
                .entries
                .into_iter()
                .map(|e| AuditEvent {
                    id: e.id,
                    at: e.at,
                    actor: AuditActorRef { user_id: e.actor.user_id, key_id: e.actor.key_id, name: e.actor.name },
                    action: e.action.as_str().to_owned(),
                    target_kind: e.target_kind,
                    target_id: e.target_id,
                    target_name: e.target_name,
                    before: json(e.before),
                    after: json(e.after),
                    ip: e.ip,
                })
                .collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{Role, ScopeSet};
    use app::ssr::cache::KeyRecord;
    use app::ssr::rate_limit::RateState;
    use app::ssr::services::verification::CreditState;
    use std::sync::{Arc, OnceLock};

    fn key(name: &str, scopes: &[&str], expires_at: Option<DateTime<Utc>>) -> Arc<KeyRecord> {
        owned_key(name, scopes, expires_at, None, None)
    }

    fn owned_key(
        name: &str,
        scopes: &[&str],
        expires_at: Option<DateTime<Utc>>,
        external_id: Option<&str>,
        meta: Option<&str>,
    ) -> Arc<KeyRecord> {
        Arc::new(KeyRecord {
            id: Uuid::now_v7(),
            organization_id: Uuid::now_v7(),
            project_id: Uuid::now_v7(),
            project_name: "Billing \"EU\" ✓".into(),
            environment: Environment::Staging,
            name: name.into(),
            status: KeyStatus::Active,
            expires_at,
            scopes: ScopeSet::parse(scopes.iter().copied()).expect("scopes"),
            rate_limit: None,
            credits: None,
            ip_allowlist: None,
            created_by: Uuid::now_v7(),
            creator_role: Some(Role::Developer),
            external_id: external_id.map(str::to_owned),
            meta: meta.map(str::to_owned),
            decoy: false,
            answer: OnceLock::new(),
        })
    }

    /// The hand-assembled answer is, byte for byte, what serde makes of the documented shape: with
    /// and without a key, an expiry, scopes, a rate limit, and names that JSON must escape; also the
    /// second time, from the key's kept fields.
    #[test]
    fn the_verification_answer_is_the_documented_shape_byte_for_byte() {
        let expiry = "2030-01-31T12:00:00.123Z".parse().ok();
        let meta = "{\"plan\": \"pro\",\n \"seats\": [1, 2], \"note\": \"\\u00e9 \\\"q\\\"\"}";
        let keys = [
            key("checkout \"prod\"\n\\ 日本", &["telemetry.write", "api_keys.read"], expiry),
            key("", &[], None),
            owned_key("customer's", &[], None, Some("cus_\"42\" ✓"), Some(meta)),
        ];
        let rate = RateState { allowed: true, limit: 100, remaining: 99, reset_at_ms: 1_900_000_000_000 };
        let credits = [
            None,
            Some(CreditState { remaining: 0, refills_at: None }),
            Some(CreditState { remaining: 1_000_000_000_000, refills_at: "2030-02-01T00:00:00Z".parse().ok() }),
        ];
        let mut verdicts = vec![Verdict { code: VerifyCode::NotFound, key: None, rate: None, credits: None }];
        for key in &keys {
            for code in [VerifyCode::Valid, VerifyCode::Revoked, VerifyCode::RateLimited, VerifyCode::UsageExceeded] {
                for rate in [None, Some(rate)] {
                    for credits in credits {
                        verdicts.push(Verdict { code, key: Some(Arc::clone(key)), rate, credits });
                    }
                }
            }
        }
        for verdict in &verdicts {
            let documented = serde_json::to_string(&Verification::from(verdict)).expect("serializes");
            for _ in 0..2 {
                let answer = String::from_utf8(verification_answer(verdict)).expect("UTF-8");
                assert_eq!(answer, documented);
            }
        }
        assert!(keys.iter().all(|k| k.answer.get().is_some()), "each key's fields are kept after its first answer");
    }
}

/// Which verifications of a key to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerificationParams {
    /// Only this verdict, e.g. `VALID`, `REVOKED` or `IP_NOT_ALLOWED`.
    pub outcome: Option<String>,
    /// From 1.
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u32>,
    /// 10, 25, 50 or 100.
    pub per_page: Option<u32>,
}

/// Identical verifications of the key within one second (often one), from the log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedVerification {
    pub at: DateTime<Utc>,
    pub outcome: VerifyCode,
    /// The verifying key: the service that asked.
    pub caller_key_id: Uuid,
    /// The caller's address, as the verification named it (`ip`).
    pub address: Option<String>,
    pub environment: Option<Environment>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// By each verification.
    pub credits_spent: u32,
    /// How many verifications the entry stands for; `at` is the first one's.
    #[schema(minimum = 1)]
    pub count: u32,
}

/// A page of a key's verification log, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationList {
    pub verifications: Vec<LoggedVerification>,
    /// Entries matching the filter.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl From<app::model::VerificationPage> for VerificationList {
    fn from(page: app::model::VerificationPage) -> Self {
        Self {
            verifications: page
                .records
                .into_iter()
                .map(|r| LoggedVerification {
                    at: r.at,
                    outcome: r.outcome,
                    caller_key_id: r.caller_key_id,
                    address: r.address,
                    environment: r.environment,
                    scopes: r.scopes,
                    credits_spent: r.credits_spent,
                    count: r.count,
                })
                .collect(),
            total: page.total,
            page: page.page,
            per_page: page.per_page,
        }
    }
}
