//! Decoy keys (honeytokens): keys that look like any other and never authenticate anything. Left
//! where an intruder would look (a config file, a wiki page, a CI variable), any use of one says
//! that someone is where they should not be.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most decoy keys an organization may hold: they do not count against the plan's limit.
pub const MAX_DECOY_KEYS: u64 = 20;

/// How many days of decoy uses the keys page's alert looks back over.
pub const DECOY_ALERT_DAYS: i64 = 30;

/// Where a decoy was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DecoySurface {
    /// Sent to a service that verified it.
    Verify,
    /// Used as the key of a management API call.
    ManagementApi,
    /// Found where it was left and reported as leaked: by a secret scanner, or pasted into
    /// "Check a leaked token".
    LeakReport,
}

impl DecoySurface {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    pub const fn describe(self) -> &'static str {
        match self {
            Self::Verify => "presented to a service that verified it",
            Self::ManagementApi => "used against the management API",
            Self::LeakReport => "reported as a leaked token",
        }
    }
}

/// One use of a decoy key, as the dashboard's alert shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DecoyUse {
    pub key_id: Uuid,
    pub key_name: String,
    pub prefix: String,
    pub surface: DecoySurface,
    /// The address it came from, when known (for a verification, the one the service passed on).
    pub ip: Option<String>,
    pub at: DateTime<Utc>,
}
