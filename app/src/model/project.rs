//! Projects: an organization's keys are grouped by the API they are for, and each project names the
//! custom scopes its API understands.

use super::{AllValid, FieldError, FieldErrors, ManagementScope, Scope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A project keys can be created in, as the pickers need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    /// The custom scopes it defines, offered when picking a key's scopes.
    #[serde(default)]
    pub scopes: Vec<CustomScope>,
}

/// A scope a project defines for its own API (`telemetry.write`), with what it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CustomScope {
    pub name: String,
    pub description: String,
}

impl CustomScope {
    pub const MAX_DESCRIPTION_CHARS: usize = 200;

    /// A scope a person defines: `resource.action`, not one of Keyward's own, with a short description.
    pub fn define(name: &str, description: &str) -> Result<Self, FieldErrors> {
        let scope = Scope::parse(name.trim()).map_err(|e| FieldError::new("scope", e.reason)).and_then(|scope| {
            match ManagementScope::from_name(scope.as_str()) {
                Some(_) => Err(FieldError::new("scope", "is one of Keyward's own scopes: pick it on the key instead")),
                None => Ok(scope),
            }
        });
        let description = description.trim();
        let described = if description.chars().count() > Self::MAX_DESCRIPTION_CHARS {
            let max = Self::MAX_DESCRIPTION_CHARS;
            Err(FieldError::new("description", format!("must be at most {max} characters")))
        } else {
            super::text::plain_text("description", description)
        };
        let (scope, ()) = (scope, described).all_valid()?;
        Ok(Self { name: scope.as_str().to_owned(), description: description.to_owned() })
    }
}

/// A project as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectOverview {
    pub id: Uuid,
    pub name: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    /// Archived: no new keys; its keys work until revoked.
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub archived_at: Option<DateTime<Utc>>,
    /// Keys not revoked.
    pub live_keys: u64,
    pub scopes: Vec<CustomScope>,
}

/// A project's name: trimmed, 1 to 80 characters (the same rule as an organization's).
pub fn project_name(raw: &str) -> Result<String, FieldError> {
    super::text::bounded("name", raw, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_scope_is_resource_dot_action_and_not_keywards_own() {
        let ok = CustomScope::define(" telemetry.write ", " Send telemetry ").expect("valid");
        assert_eq!((ok.name.as_str(), ok.description.as_str()), ("telemetry.write", "Send telemetry"));
        assert_eq!(CustomScope::define("telemetry", "").unwrap_err().first().field, "scope");
        assert_eq!(CustomScope::define("api_keys.read", "").unwrap_err().first().field, "scope");
        assert_eq!(CustomScope::define("orders.read", &"x".repeat(201)).unwrap_err().first().field, "description");
        let both = CustomScope::define("api_keys.read", &"x".repeat(201)).unwrap_err();
        assert_eq!(both.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["scope", "description"]);
        assert_eq!(project_name("  ").unwrap_err().field, "name");
        assert_eq!(project_name(" Billing API ").expect("valid"), "Billing API");
    }
}
