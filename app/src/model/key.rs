use super::{Credits, Expiration, FieldError, KeyCredits, RateLimit, ScopeSet};
use chrono::{DateTime, Utc};
#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use strum::VariantArray;
use uuid::Uuid;

/// Where a key may be used. Its token says so too (`live`, `stage`, `dev`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Environment {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "production"))]
    Production,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "staging"))]
    Staging,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "development"))]
    Development,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Environment::Production => "Production",
            Environment::Staging => "Staging",
            Environment::Development => "Development",
        }
    }

    /// The segment of the key token that names the environment.
    pub const fn token_segment(self) -> &'static str {
        match self {
            Environment::Production => "live",
            Environment::Staging => "stage",
            Environment::Development => "dev",
        }
    }

    pub fn from_token_segment(segment: &str) -> Option<Self> {
        Self::VARIANTS.iter().copied().find(|e| e.token_segment() == segment)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for Environment {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::VARIANTS
            .iter()
            .copied()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| FieldError::new("environment", "must be production, staging or development"))
    }
}

/// A key's stored state. `Expired` is never stored: it is derived from `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum KeyStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "active"))]
    Active,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "disabled"))]
    Disabled,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "revoked"))]
    Revoked,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "expired"))]
    Expired,
}

impl KeyStatus {
    /// What a person sees: the stored state, or `Expired` once `expires_at` has passed
    /// (a revoked key stays revoked: that is the stronger fact).
    pub fn effective(stored: KeyStatus, expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match (stored, expires_at) {
            (KeyStatus::Revoked, _) => KeyStatus::Revoked,
            (_, Some(at)) if at <= now => KeyStatus::Expired,
            (stored, _) => stored,
        }
    }

    /// Revocation is permanent: only a key that is not yet revoked can be revoked.
    pub fn can_revoke(self) -> bool {
        self != KeyStatus::Revoked
    }

    /// Disabling is for an active key; it is undone by enabling.
    pub fn can_disable(self) -> bool {
        self == KeyStatus::Active
    }

    /// Only a disabled key can be enabled; an expired one cannot (rotate it instead).
    pub fn can_enable(self) -> bool {
        self == KeyStatus::Disabled
    }

    /// Rotation gives a new secret to any key that is not revoked, an expired one included.
    pub fn can_rotate(self) -> bool {
        self != KeyStatus::Revoked
    }

    /// Only a key that no longer works (revoked, disabled or expired) can be deleted.
    pub fn can_delete(self) -> bool {
        self != KeyStatus::Active
    }

    /// Scopes and rate limits can be edited until the key is revoked.
    pub fn can_edit(self) -> bool {
        self != KeyStatus::Revoked
    }

    pub const fn label(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Disabled => "Disabled",
            KeyStatus::Revoked => "Revoked",
            KeyStatus::Expired => "Expired",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A key's name: trimmed, 1 to 64 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyName(String);

impl KeyName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(FieldError::new("name", "is required"));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("name", format!("must be at most {} characters", Self::MAX_CHARS)));
        }
        super::text::plain_text("name", name)?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// What a person asks for when creating a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    pub name: String,
    pub description: Option<String>,
    pub project_id: Uuid,
    pub environment: Environment,
    /// Raw scope strings, validated by the service (the project's custom scopes included).
    pub scopes: Vec<String>,
    pub expiration: Expiration,
    pub rate_limit: Option<RateLimit>,
    /// How many successful verifications it may have (`None`: unlimited), and their refill.
    pub credits: Option<Credits>,
    /// The addresses or CIDRs it may be used from (empty: anywhere), checked by the service.
    pub ip_allowlist: Vec<String>,
    /// Who the key is for in the team's own system ([`external_id`]).
    pub external_id: Option<String>,
    /// A JSON object, as text, checked by the service ([`KEY_META_MAX_BYTES`]).
    pub meta: Option<String>,
    /// A decoy (honeytoken): never authenticates anything; every use of it raises an alert.
    pub decoy: bool,
}

/// The most a key's `meta` may hold, in bytes of JSON.
pub const KEY_META_MAX_BYTES: usize = 16 * 1024;

/// A key's external id as given: trimmed, `None` if blank, at most 256 characters of plain text.
pub fn external_id(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    const MAX_CHARS: usize = 256;
    let Some(raw) = raw.map(str::trim).filter(|id| !id.is_empty()) else {
        return Ok(None);
    };
    if raw.chars().count() > MAX_CHARS {
        return Err(FieldError::new("external_id", format!("must be at most {MAX_CHARS} characters")));
    }
    super::text::plain_text("external_id", raw)?;
    Ok(Some(raw.to_owned()))
}

impl NewKey {
    pub const MAX_DESCRIPTION_CHARS: usize = 500;

    /// The description, trimmed, `None` if blank.
    pub fn validated_description(&self) -> Result<Option<String>, FieldError> {
        key_description(self.description.as_deref())
    }
}

/// A key's description as given: trimmed, `None` if blank, at most 500 characters of plain text.
pub fn key_description(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(raw) = raw.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    if raw.chars().count() > NewKey::MAX_DESCRIPTION_CHARS {
        return Err(FieldError::new(
            "description",
            format!("must be at most {} characters", NewKey::MAX_DESCRIPTION_CHARS),
        ));
    }
    // Descriptions may run over lines; nothing else hidden.
    super::text::plain_text("description", &raw.replace(['\n', '\r', '\t'], " "))?;
    Ok(Some(raw.to_owned()))
}

/// What a person changes about a key on its page (or with `PATCH /api/v1/keys/{id}`): its name,
/// its description, and when it expires. `None` leaves each as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyEdit {
    pub name: Option<String>,
    /// `Some(None)` (or a blank one): no description.
    pub description: Option<Option<String>>,
    pub expiration: Option<Expiration>,
    /// `Some(None)` (or a blank one): no external id.
    pub external_id: Option<Option<String>>,
    /// `Some(None)`: no meta.
    pub meta: Option<Option<String>>,
}

/// A key as the dashboard shows it: never the secret, only its visible prefix and a masked preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub prefix: String,
    pub preview: String,
    pub project_id: Uuid,
    pub project_name: String,
    pub environment: Environment,
    pub status: KeyStatus,
    pub scopes: ScopeSet,
    pub rate_limit: Option<RateLimit>,
    /// Credits left now and their refill; `None`: unlimited.
    pub credits: Option<KeyCredits>,
    /// The networks it may be used from, as CIDRs; empty: anywhere.
    pub ip_allowlist: Vec<String>,
    pub created_by: String,
    /// The member who created it: a developer may change only their own keys.
    pub created_by_id: Uuid,
    // Timestamps travel as epoch milliseconds: the browser then needs no date parser.
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// While a rotation's grace period lasts: until when the previous secret works too. The server
    /// sends it only while it is in the future (the browser has no clock worth trusting).
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub previous_valid_until: Option<DateTime<Utc>>,
    /// Set while the key's current secret is reported leaked (a rotation clears it).
    pub leak: Option<super::KeyLeak>,
    /// A decoy: it never authenticates, and each use of it is an alert.
    pub decoy: bool,
    pub external_id: Option<String>,
    /// JSON text, as stored.
    pub meta: Option<String>,
}

/// One rotation of a key, for its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub old_prefix: String,
    pub new_prefix: String,
    pub rotated_by: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub rotated_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub grace_until: Option<DateTime<Utc>>,
}

/// A key with everything the details view shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyDetails {
    pub key: ApiKey,
    pub rotations: Vec<Rotation>,
    /// Who revoked the key, and when: for a revoked key.
    pub revocation: Option<Revocation>,
    /// The custom scopes the key's project defines, offered when its scopes are edited.
    pub project_scopes: Vec<super::CustomScope>,
}

/// Who revoked a key (a member's name, or a key's, as the audit log recorded it), and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// The answer to a rotation: the key, and its new token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedKey {
    pub key: ApiKey,
    pub token: String,
}

/// The answer to a create: the key, and its full token, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub token: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn a_key_name_is_trimmed_and_bounded() {
        assert_eq!(KeyName::parse("  CI deploy  ").map(KeyName::into_inner), Ok("CI deploy".to_owned()));
        assert_eq!(KeyName::parse("   ").unwrap_err().field, "name");
        assert!(KeyName::parse(&"x".repeat(64)).is_ok());
        let too_long = KeyName::parse(&"x".repeat(65)).unwrap_err();
        assert_eq!(too_long, FieldError::new("name", "must be at most 64 characters"));
        // Characters, not bytes, are counted.
        assert!(KeyName::parse(&"é".repeat(64)).is_ok());
    }

    #[test]
    fn expiry_is_derived_and_revocation_wins() {
        let now = Utc::now();
        let past = Some(now - Duration::seconds(1));
        let future = Some(now + Duration::days(1));
        assert_eq!(KeyStatus::effective(KeyStatus::Active, None, now), KeyStatus::Active);
        assert_eq!(KeyStatus::effective(KeyStatus::Active, future, now), KeyStatus::Active);
        assert_eq!(KeyStatus::effective(KeyStatus::Active, past, now), KeyStatus::Expired);
        assert_eq!(KeyStatus::effective(KeyStatus::Disabled, past, now), KeyStatus::Expired);
        assert_eq!(KeyStatus::effective(KeyStatus::Revoked, past, now), KeyStatus::Revoked);
    }

    #[test]
    fn each_transition_is_allowed_only_from_the_right_states() {
        use KeyStatus::*;
        let allowed = |f: fn(KeyStatus) -> bool| {
            [Active, Disabled, Revoked, Expired].into_iter().filter(|s| f(*s)).collect::<Vec<_>>()
        };
        assert_eq!(allowed(KeyStatus::can_disable), [Active]);
        assert_eq!(allowed(KeyStatus::can_enable), [Disabled]);
        assert_eq!(allowed(KeyStatus::can_rotate), [Active, Disabled, Expired]);
        assert_eq!(allowed(KeyStatus::can_delete), [Disabled, Revoked, Expired]);
        assert_eq!(allowed(KeyStatus::can_edit), [Active, Disabled, Expired]);
    }

    #[test]
    fn only_an_unrevoked_key_can_be_revoked() {
        assert!(KeyStatus::Active.can_revoke());
        assert!(KeyStatus::Disabled.can_revoke());
        assert!(KeyStatus::Expired.can_revoke());
        assert!(!KeyStatus::Revoked.can_revoke());
    }

    #[test]
    fn environments_parse_from_their_names_and_token_segments() {
        for &env in Environment::VARIANTS {
            assert_eq!(env.as_str().parse::<Environment>(), Ok(env));
            assert_eq!(Environment::from_token_segment(env.token_segment()), Some(env));
        }
        assert_eq!("prod".parse::<Environment>().unwrap_err().field, "environment");
    }

    #[test]
    fn a_blank_description_is_none_and_a_long_one_is_refused() {
        let mut key = NewKey {
            name: "a".into(),
            description: Some("  ".into()),
            project_id: Uuid::nil(),
            environment: Environment::Production,
            scopes: Vec::new(),
            expiration: Expiration::Never,
            rate_limit: None,
            credits: None,
            ip_allowlist: Vec::new(),
            external_id: None,
            meta: None,
            decoy: false,
        };
        assert_eq!(key.validated_description(), Ok(None));
        key.description = Some("x".repeat(501));
        assert_eq!(key.validated_description().unwrap_err().field, "description");
    }
}
