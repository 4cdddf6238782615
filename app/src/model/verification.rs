//! The answers of key verification: the verdict's code, and why a calling key was refused. Shared
//! by the services, their errors and the metrics, which must not depend on the service itself.

use super::Environment;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why the calling key was refused (all answer 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    Missing,
    /// Malformed, bad checksum, unknown, revoked, or a replaced secret past its grace: told apart
    /// by neither the answer nor its timing.
    Invalid,
    Expired,
    Disabled,
}

/// The verdict on a presented key. Always an HTTP 200: `valid` and this code say how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum VerifyCode {
    Valid,
    /// Unknown, malformed, bad checksum, or another project's key.
    NotFound,
    Expired,
    Disabled,
    Revoked,
    WrongEnvironment,
    InsufficientScope,
    RateLimited,
    /// The key's credits are spent (until its refill, if it has one).
    UsageExceeded,
    /// The key has an IP allowlist, and the caller's address (`ip`) is not in it, or was not given.
    IpNotAllowed,
}

impl VerifyCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A filter on the verdict, as a URL or a form gives it: blank for any.
    pub fn filter(raw: Option<&str>) -> Result<Option<Self>, super::FieldError> {
        match raw.map(str::trim).filter(|code| !code.is_empty()) {
            None => Ok(None),
            Some(code) => code
                .parse()
                .map(Some)
                .map_err(|_| super::FieldError::new("outcome", "must be a verification code, like VALID or REVOKED")),
        }
    }
}

/// Identical verifications of a key within one second (often one), as its log shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationRecord {
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
    pub outcome: VerifyCode,
    /// The verifying key: the service that asked.
    pub caller_key_id: Uuid,
    /// The caller's address, as the verification named it.
    pub address: Option<String>,
    pub environment: Option<Environment>,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// By each verification.
    pub credits_spent: u32,
    /// How many verifications the entry stands for (1 or more); `at` is the first one's.
    pub count: u32,
}

/// One page of a key's verification log, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationPage {
    pub records: Vec<VerificationRecord>,
    /// Entries matching the filter, on every page.
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl VerificationPage {
    /// How many a key's page shows at a time.
    pub const PER_PAGE: u32 = 25;

    pub fn last_page(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(self.per_page.max(1)))).unwrap_or(u32::MAX).max(1)
    }
}
