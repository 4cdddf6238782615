//! What goes over the wire: the verification API's question and verdict, and the keys the
//! management API shows. The names and values are the API's own (see its OpenAPI document at
//! `/api/v1/openapi.json`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

/// Where a key may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Environment {
    Production,
    Staging,
    Development,
    /// One this version of the crate does not know.
    #[serde(other)]
    Other,
}

/// A verdict's code. Only [`VerifyCode::Valid`] lets a caller in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum VerifyCode {
    Valid,
    /// Unknown, malformed, or another project's key.
    NotFound,
    Expired,
    Disabled,
    Revoked,
    WrongEnvironment,
    InsufficientScope,
    RateLimited,
    /// The key's credits are spent.
    UsageExceeded,
    /// The key has an IP allowlist and the caller's address is outside it.
    IpNotAllowed,
    /// A code this version of the crate does not know: treated as a refusal.
    #[serde(other)]
    Other,
}

/// A question to the verification API: is `key` valid, with these scopes, here?
#[derive(Clone, Default, Serialize)]
pub struct Verify {
    /// The key your caller presented.
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Scopes the key must all hold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// For a key with credits: what a valid verification spends (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<u32>,
    /// Your caller's address: required for a key with an IP allowlist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

impl fmt::Debug for Verify {
    // Never the key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verify")
            .field("environment", &self.environment)
            .field("scopes", &self.scopes)
            .field("cost", &self.cost)
            .field("ip", &self.ip)
            .finish_non_exhaustive()
    }
}

/// The verdict. The key's details are there whenever the key was found.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Verification {
    pub valid: bool,
    pub code: VerifyCode,
    pub key_id: Option<Uuid>,
    pub name: Option<String>,
    pub project: Option<ProjectRef>,
    pub environment: Option<Environment>,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Who the key is for in your own system.
    pub external_id: Option<String>,
    /// The key's JSON object, as its creator gave it.
    pub meta: Option<serde_json::Value>,
    /// When the key has a rate limit and this verification counted against it.
    pub ratelimit: Option<RateLimitState>,
    /// When the key has credits.
    pub credits: Option<CreditsLeft>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRef {
    pub id: Uuid,
    pub name: String,
}

/// A rate limit after a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct RateLimitState {
    pub limit: u32,
    pub remaining: u32,
    /// When the window resets, in milliseconds since the Unix epoch.
    pub reset: i64,
}

/// A credit-limited key's credits after a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct CreditsLeft {
    pub remaining: u64,
    pub refills_at: Option<DateTime<Utc>>,
}

/// A key's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum KeyStatus {
    Active,
    Disabled,
    Revoked,
    Expired,
    #[serde(other)]
    Other,
}

/// How many requests a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub window: RateWindow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateWindow {
    Second,
    Minute,
    Hour,
}

/// An API key as the management API shows it: never its secret.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Key {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The visible start of the token, e.g. `kw_live_a1b2c3d4`.
    pub prefix: String,
    pub project: ProjectRef,
    pub environment: Environment,
    pub status: KeyStatus,
    pub scopes: Vec<String>,
    pub rate_limit: Option<RateLimit>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub external_id: Option<String>,
    pub meta: Option<serde_json::Value>,
    pub decoy: bool,
}

/// A new key, with its token: the only time the token is shown.
#[derive(Clone, PartialEq, Deserialize)]
pub struct KeyWithToken {
    pub key: Key,
    /// Store it now: Keyward keeps only its digest.
    pub token: String,
}

impl fmt::Debug for KeyWithToken {
    // Never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyWithToken").field("key", &self.key).finish_non_exhaustive()
    }
}

/// One page of keys.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KeyList {
    pub keys: Vec<Key>,
    /// Keys matching the filters, on every page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

/// A key to create. Only `name` is required; the rest defaults as the API says.
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewKey {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    pub scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_days: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Value>,
}

/// The keys list's filters; `None` leaves one out.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyFilter {
    /// Name (anywhere) or prefix (start), case-insensitive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<KeyStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
    /// 10, 25, 50 or 100.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u32>,
}

/// How long a rotated key's old secret keeps working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Grace {
    /// It stops at once.
    #[default]
    #[serde(rename = "none")]
    None,
    #[serde(rename = "1h")]
    OneHour,
    #[serde(rename = "24h")]
    OneDay,
    #[serde(rename = "7d")]
    SevenDays,
}

/// An error answer from Keyward (RFC 9457 problem details).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Problem {
    pub status: u16,
    /// Stable and machine-readable, e.g. `INSUFFICIENT_SCOPE`.
    pub code: String,
    pub detail: String,
    /// For `VALIDATION_FAILED`: each field and what is wrong with it.
    #[serde(default)]
    pub errors: Vec<FieldProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_from_a_newer_server_reads_as_a_refusal() {
        let verdict: Verification =
            serde_json::from_str(r#"{"valid":false,"code":"SOMETHING_NEW"}"#).expect("a verdict");
        assert_eq!(verdict.code, VerifyCode::Other);
        assert!(!verdict.valid);
    }

    #[test]
    fn debug_output_never_shows_a_key_or_a_token() {
        let question = Verify { key: "kw_live_presented".into(), ..Verify::default() };
        assert!(!format!("{question:?}").contains("presented"));
    }

    #[test]
    fn a_question_leaves_out_what_it_does_not_ask() {
        let question = Verify { key: "kw_live_x".into(), ..Verify::default() };
        assert_eq!(serde_json::to_string(&question).expect("json"), r#"{"key":"kw_live_x"}"#);
    }
}
