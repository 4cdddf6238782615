#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use strum::VariantArray;

/// An organization's plan. Its key limit lives here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[derive(strum::VariantArray, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Plan {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "free"))]
    Free,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "developer"))]
    Developer,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "pro"))]
    Pro,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "enterprise"))]
    Enterprise,
}

impl Plan {
    /// How many keys that are neither deleted nor revoked the plan allows; `None` is unlimited.
    pub const fn max_keys(self) -> Option<u32> {
        match self {
            Plan::Free => Some(3),
            Plan::Developer => Some(10),
            Plan::Pro => Some(20),
            Plan::Enterprise => None,
        }
    }

    /// Whether an organization holding `live_keys` keys may create one more.
    pub fn allows_another(self, live_keys: u64) -> bool {
        self.max_keys().is_none_or(|max| live_keys < u64::from(max))
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Plan::Free => "Free",
            Plan::Developer => "Developer",
            Plan::Pro => "Pro",
            Plan::Enterprise => "Enterprise",
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Plan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Plan::VARIANTS.iter().copied().find(|p| p.as_str() == s).ok_or_else(|| format!("unknown plan \"{s}\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_limits_match_the_design() {
        assert_eq!(Plan::Free.max_keys(), Some(3));
        assert_eq!(Plan::Developer.max_keys(), Some(10));
        assert_eq!(Plan::Pro.max_keys(), Some(20));
        assert_eq!(Plan::Enterprise.max_keys(), None);
    }

    #[test]
    fn the_free_plan_refuses_a_fourth_key() {
        assert!(Plan::Free.allows_another(2));
        assert!(!Plan::Free.allows_another(3));
        assert!(!Plan::Free.allows_another(4));
        assert!(Plan::Enterprise.allows_another(1_000_000));
    }

    #[test]
    fn plans_round_trip_through_their_names() {
        for &plan in Plan::VARIANTS {
            assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
        }
        assert!("gold".parse::<Plan>().is_err());
    }
}
