use super::{FieldError, Plan};
#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[serde(rename_all = "lowercase")]
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

/// A project keys can be created in, as the pickers need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub id: Uuid,
    pub name: String,
    /// The custom scopes it defines, offered when picking a key's scopes.
    #[serde(default)]
    pub scopes: Vec<super::CustomScope>,
}

/// Who is signed in, and into which organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user_id: Uuid,
    pub user_name: String,
    pub email: String,
    pub organization_id: Uuid,
    pub organization: String,
    pub plan: Plan,
    pub role: Role,
    /// Every organization the person may switch to, the current one included.
    pub organizations: Vec<super::OrganizationChoice>,
}

impl SessionInfo {
    pub fn can(&self, permission: super::Permission) -> bool {
        self.role.can(permission)
    }

    /// Whether the signed-in member may change `key` (the server decides the same way, and
    /// refuses anyway): their own keys with `api_keys.manage_own`, anyone's with `api_keys.manage_all`.
    pub fn may_change(&self, key: &super::ApiKey) -> bool {
        use super::Permission;
        self.can(Permission::ApiKeysManageAll)
            || (self.can(Permission::ApiKeysManageOwn) && key.created_by_id == self.user_id)
    }
}

/// The first-run form: the organization and its owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupForm {
    pub organization: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

impl SetupForm {
    /// Trims what should be trimmed and refuses bad input, naming the field.
    pub fn validated(self) -> Result<Self, FieldError> {
        let organization = bounded("organization", &self.organization, 80)?;
        let name = bounded("name", &self.name, 80)?;
        let email = normalize_email(&self.email)?;
        validate_new_password(&self.password)?;
        Ok(Self { organization, name, email, password: self.password })
    }
}

/// An organization's name: trimmed, 1 to 80 characters.
pub fn organization_name(raw: &str) -> Result<String, FieldError> {
    bounded("name", raw, 80)
}

pub(super) fn bounded(field: &str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "is required"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(field, format!("must be at most {max} characters")));
    }
    plain_text(field, value)?;
    Ok(value.to_owned())
}

/// Refuses what has no place in a name or a description: NUL and other control characters (a line
/// break in a name, a NUL that PostgreSQL cannot store), and the bidirectional overrides and
/// isolates that make text display in another order than it reads (a "Trojan Source" name).
pub fn plain_text(field: &str, value: &str) -> Result<(), FieldError> {
    let hidden = |c: char| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if value.chars().any(hidden) {
        return Err(FieldError::new(field, "must not contain control or text-direction characters"));
    }
    Ok(())
}

/// Emails are compared lower-cased and trimmed.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if valid { Ok(email) } else { Err(FieldError::new("email", "must be a valid email address")) }
}

pub fn validate_new_password(password: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldError::new("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SetupForm {
        SetupForm {
            organization: " Acme ".into(),
            name: "Ada".into(),
            email: " Ada@Example.COM ".into(),
            password: "correct horse battery".into(),
        }
    }

    #[test]
    fn setup_input_is_trimmed_and_the_email_lower_cased() {
        let ok = form().validated().expect("valid");
        assert_eq!(ok.organization, "Acme");
        assert_eq!(ok.email, "ada@example.com");
    }

    #[test]
    fn bad_setup_input_names_its_field() {
        let cases = [
            (SetupForm { organization: " ".into(), ..form() }, "organization"),
            (SetupForm { name: "".into(), ..form() }, "name"),
            (SetupForm { email: "not-an-email".into(), ..form() }, "email"),
            (SetupForm { password: "short".into(), ..form() }, "password"),
        ];
        for (input, field) in cases {
            assert_eq!(input.validated().unwrap_err().field, field);
        }
    }

    #[test]
    fn names_refuse_hidden_characters() {
        for bad in ["Acme\0", "Ac\nme", "Acme \u{202E}gnp.exe", "\u{2066}Acme\u{2069}", "Acme\u{7}"] {
            let refused = organization_name(bad).expect_err(bad);
            assert_eq!(refused.field, "name");
            assert!(refused.reason.contains("control"), "{refused:?}");
        }
        assert_eq!(organization_name("  Åcme Robotics — Zürich  "), Ok("Åcme Robotics — Zürich".to_owned()));
    }
}
