//! A member's role in an organization (what each may do is in `permission`).

#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;
use serde::{Deserialize, Serialize};

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Role {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "owner"))]
    Owner,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "admin"))]
    Admin,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "developer"))]
    Developer,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "viewer"))]
    Viewer,
}

impl Role {
    pub const fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Developer => "Developer",
            Role::Viewer => "Viewer",
        }
    }
}
