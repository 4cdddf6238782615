//! Leaked keys: what an organization does with a key whose secret was found where it should not
//! be, and what the key then says about it. A report comes from a secret scanner (GitHub's partner
//! format), from "Report as leaked" on the key's page, or from a token pasted into "Check a leaked
//! token"; all three take the same path.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;

/// What happens to a key reported leaked. Disabling is the default: the leaked secret stops at
/// once, and the owner can rotate the key and enable it again without breaking its record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum LeakPolicy {
    #[default]
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "disable"))]
    Disable,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "revoke"))]
    Revoke,
    /// The key keeps working; the organization is only told (audit log, `key.leaked`, a banner).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "notify"))]
    Notify,
}

impl LeakPolicy {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    /// How Settings offers it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Disable => "Disable the key (it can be rotated and enabled again)",
            Self::Revoke => "Revoke the key (permanent)",
            Self::Notify => "Only notify (the key keeps working)",
        }
    }
}

/// What was done with a leaked secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LeakAction {
    Disabled,
    Revoked,
    /// The secret was a rotated-out one still in its grace period: only its grace ended, because
    /// the key's current secret did not leak.
    GraceEnded,
    /// Nothing changed: the policy only notifies, or the key already no longer works.
    NotifiedOnly,
}

impl LeakAction {
    /// The end of "… reported leaked: …" on the key's page and in the check's answer.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::Disabled => "the key was disabled",
            Self::Revoked => "the key was revoked",
            Self::GraceEnded => "it was a replaced secret, which stopped working at once",
            Self::NotifiedOnly => "the key was left as it was",
        }
    }
}

/// The most a report's `source` or `url` keeps (longer text is cut).
pub const MAX_LEAK_TEXT_CHARS: usize = 500;

/// That a key's secret was reported leaked, as the key's page and the API show it. Cleared when the
/// key is rotated: the leaked secret is then no longer its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLeak {
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub at: DateTime<Utc>,
    /// Who reported it: a scanner ("github") or the member who did.
    pub reported_by: String,
    /// Where the secret was found, when the reporter said.
    pub url: Option<String>,
}

/// The answer to "Check a leaked token": the key it is, and what was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeakHandled {
    pub key_id: Uuid,
    pub key_name: String,
    pub prefix: String,
    pub action: LeakAction,
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn every_policy_reads_back_from_its_name() {
        for policy in LeakPolicy::VARIANTS {
            assert_eq!(LeakPolicy::parse(policy.as_str()), Some(*policy));
        }
        assert_eq!(LeakPolicy::parse("delete"), None);
        assert_eq!(LeakPolicy::default(), LeakPolicy::Disable);
    }
}
