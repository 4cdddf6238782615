//! Scopes: `resource.action` strings. Keyward's own management scopes are a typed catalog; a
//! project may add custom scopes for its own API (e.g. `telemetry.write`).

use super::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use strum::VariantArray;

/// A validated `resource.action` scope: lower-case letters, digits and `_`, each part 1 to 32
/// characters, e.g. `api_keys.read` or `telemetry.write`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(String);

impl Scope {
    pub const MAX_PART_CHARS: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let valid_part = |p: &str| {
            !p.is_empty()
                && p.len() <= Self::MAX_PART_CHARS
                && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && p.as_bytes()[0].is_ascii_lowercase()
        };
        match raw.split_once('.') {
            Some((resource, action)) if valid_part(resource) && valid_part(action) => Ok(Self(raw.to_owned())),
            _ => Err(FieldError::new(
                "scopes",
                format!("\"{raw}\" is not a valid scope. Write resource.action in lower-case letters, digits and _."),
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Scope {
    type Error = FieldError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.0
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<ManagementScope> for Scope {
    fn from(scope: ManagementScope) -> Self {
        Self(scope.as_str().to_owned())
    }
}

/// The scopes of Keyward's own management API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
pub enum ManagementScope {
    #[strum(serialize = "api_keys.read")]
    ApiKeysRead,
    #[strum(serialize = "api_keys.create")]
    ApiKeysCreate,
    #[strum(serialize = "api_keys.update")]
    ApiKeysUpdate,
    #[strum(serialize = "api_keys.rotate")]
    ApiKeysRotate,
    #[strum(serialize = "api_keys.revoke")]
    ApiKeysRevoke,
    #[strum(serialize = "api_keys.delete")]
    ApiKeysDelete,
    #[strum(serialize = "api_keys.verify")]
    ApiKeysVerify,
    #[strum(serialize = "api_keys.manage_all")]
    ApiKeysManageAll,
    #[strum(serialize = "projects.read")]
    ProjectsRead,
    /// Create, rename and archive projects; define their custom scopes.
    #[strum(serialize = "projects.manage")]
    ProjectsManage,
    #[strum(serialize = "stats.read")]
    StatsRead,
    #[strum(serialize = "audit.read")]
    AuditRead,
    #[strum(serialize = "audit.export")]
    AuditExport,
    #[strum(serialize = "members.read")]
    MembersRead,
    #[strum(serialize = "members.invite")]
    MembersInvite,
    #[strum(serialize = "members.role_change")]
    MembersRoleChange,
    #[strum(serialize = "members.suspend")]
    MembersSuspend,
    #[strum(serialize = "members.remove")]
    MembersRemove,
    #[strum(serialize = "organization.read")]
    OrganizationRead,
    #[strum(serialize = "organization.settings")]
    OrganizationSettings,
    /// Hand the organization to another member: an owner's alone.
    #[strum(serialize = "organization.transfer")]
    OrganizationTransfer,
    #[strum(serialize = "billing.read")]
    BillingRead,
    #[strum(serialize = "billing.manage")]
    BillingManage,
    #[strum(serialize = "webhooks.manage")]
    WebhooksManage,
}

impl ManagementScope {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The heading the scope is listed under in the checklist.
    pub const fn group(self) -> &'static str {
        match self {
            Self::ApiKeysRead
            | Self::ApiKeysCreate
            | Self::ApiKeysUpdate
            | Self::ApiKeysRotate
            | Self::ApiKeysRevoke
            | Self::ApiKeysDelete
            | Self::ApiKeysVerify
            | Self::ApiKeysManageAll => "API keys",
            Self::ProjectsRead | Self::ProjectsManage | Self::StatsRead => "Projects and usage",
            Self::AuditRead | Self::AuditExport => "Audit log",
            Self::MembersRead
            | Self::MembersInvite
            | Self::MembersRoleChange
            | Self::MembersSuspend
            | Self::MembersRemove => "Members",
            Self::OrganizationRead
            | Self::OrganizationSettings
            | Self::OrganizationTransfer
            | Self::BillingRead
            | Self::BillingManage => "Organization",
            Self::WebhooksManage => "Webhooks",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Self::ApiKeysRead => "List and view keys",
            Self::ApiKeysCreate => "Create keys",
            Self::ApiKeysUpdate => "Edit names, scopes and rate limits; disable and enable",
            Self::ApiKeysRotate => "Rotate keys",
            Self::ApiKeysRevoke => "Revoke keys",
            Self::ApiKeysDelete => "Delete revoked or disabled keys",
            Self::ApiKeysVerify => "Verify keys presented to your API",
            Self::ApiKeysManageAll => "Manage every key, not only its own project's",
            Self::ProjectsRead => "View projects",
            Self::ProjectsManage => "Create, rename and archive projects; define their scopes",
            Self::StatsRead => "View usage statistics",
            Self::AuditRead => "Read the audit log",
            Self::AuditExport => "Export the audit log",
            Self::MembersRead => "View members",
            Self::MembersInvite => "Invite members",
            Self::MembersRoleChange => "Change members' roles",
            Self::MembersSuspend => "Suspend and reactivate members",
            Self::MembersRemove => "Remove members",
            Self::OrganizationRead => "View the organization",
            Self::OrganizationSettings => "Rename the organization",
            Self::OrganizationTransfer => "Transfer the organization's ownership (an owner's key only)",
            Self::BillingRead => "View the plan",
            Self::BillingManage => "Change the plan",
            Self::WebhooksManage => "Add, change and delete webhook endpoints; see and resend deliveries",
        }
    }

    pub fn is_read_only(self) -> bool {
        self.as_str().ends_with(".read")
    }

    /// The groups, in catalog order, each with its scopes.
    pub fn grouped() -> Vec<(&'static str, Vec<ManagementScope>)> {
        let mut groups: Vec<(&'static str, Vec<ManagementScope>)> = Vec::new();
        for &scope in Self::VARIANTS {
            match groups.iter_mut().find(|(g, _)| *g == scope.group()) {
                Some((_, scopes)) => scopes.push(scope),
                None => groups.push((scope.group(), vec![scope])),
            }
        }
        groups
    }

    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

/// Ready-made scope sets for the create dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ScopePreset {
    /// `api_keys.verify` alone: what a service that checks its callers' keys needs, and nothing it
    /// could use to change a key.
    Verifier,
    /// Every `*.read` scope.
    ReadOnly,
    /// Day-to-day work with keys in the key's project: read, create, verify and revoke, figures.
    /// Rotating, editing and deleting (which hand over or widen a key) are picked one by one.
    Workspace,
    /// Every management scope but an owner's own (changing the plan, handing the organization
    /// over): those are picked one by one, so that an admin's full-access key is possible too.
    Organization,
}

impl ScopePreset {
    /// What the create dialog starts on: least privilege; more is a deliberate choice.
    pub const FOR_NEW_KEYS: Self = Self::ReadOnly;

    pub fn scopes(self) -> ScopeSet {
        let pick = |f: fn(ManagementScope) -> bool| {
            ScopeSet(ManagementScope::VARIANTS.iter().copied().filter(|s| f(*s)).map(Scope::from).collect())
        };
        use ManagementScope::*;
        match self {
            Self::Verifier => pick(|s| s == ApiKeysVerify),
            Self::ReadOnly => pick(ManagementScope::is_read_only),
            Self::Workspace => pick(|s| {
                matches!(s, ApiKeysRead | ApiKeysCreate | ApiKeysRevoke | ApiKeysVerify | ProjectsRead | StatsRead)
            }),
            Self::Organization => pick(|s| !matches!(s, BillingManage | OrganizationTransfer)),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Verifier => "Verifier",
            Self::ReadOnly => "Read-only",
            Self::Workspace => "Workspace",
            Self::Organization => "Organization (full access)",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

/// A key's scopes: management scopes and custom ones, sorted, without repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    pub const MAX_SCOPES: usize = 100;

    /// Parses every scope; the first bad one is refused by name.
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, FieldError> {
        let scopes =
            raw.into_iter().filter(|s| !s.trim().is_empty()).map(Scope::parse).collect::<Result<BTreeSet<_>, _>>()?;
        if scopes.len() > Self::MAX_SCOPES {
            return Err(FieldError::new("scopes", format!("at most {} scopes per key", Self::MAX_SCOPES)));
        }
        Ok(Self(scopes))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s.as_str() == scope)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Holds every scope of the full-access preset.
    pub fn is_full_access(&self) -> bool {
        ScopePreset::Organization.scopes().iter().all(|s| self.contains(s.as_str()))
    }

    /// What the table shows: "Full access", "Read-only", "No scopes", "1 scope", "5 scopes".
    pub fn summary(&self) -> String {
        if self.is_full_access() {
            "Full access".to_owned()
        } else if !self.is_empty() && *self == ScopePreset::ReadOnly.scopes() {
            "Read-only".to_owned()
        } else {
            match self.len() {
                0 => "No scopes".to_owned(),
                1 => "1 scope".to_owned(),
                n => format!("{n} scopes"),
            }
        }
    }

    /// What the scopes let a key do, as a person would say it: "Can read keys and the audit log,
    /// and verify keys". The create dialog sums a key up with it before the key exists.
    pub fn in_words(&self) -> String {
        use ManagementScope::*;
        let has = |scope: ManagementScope| self.contains(scope.as_str());
        let named = |pairs: &[(ManagementScope, &'static str)]| {
            pairs.iter().filter(|(scope, _)| has(*scope)).map(|(_, word)| *word).collect::<Vec<_>>()
        };
        let reads = named(&[
            (ApiKeysRead, "keys"),
            (ProjectsRead, "projects"),
            (StatsRead, "usage"),
            (AuditRead, "the audit log"),
            (MembersRead, "members"),
            (OrganizationRead, "the organization"),
            (BillingRead, "the plan"),
        ]);
        let changes = named(&[
            (ApiKeysCreate, "create"),
            (ApiKeysUpdate, "edit"),
            (ApiKeysRotate, "rotate"),
            (ApiKeysRevoke, "revoke"),
            (ApiKeysDelete, "delete"),
            (ApiKeysVerify, "verify"),
        ]);
        let custom: Vec<&str> =
            self.iter().map(Scope::as_str).filter(|s| ManagementScope::from_name(s).is_none()).collect();

        let mut can = Vec::new();
        if !reads.is_empty() {
            can.push(format!("read {}", and_list(&reads)));
        }
        if !changes.is_empty() {
            // Without manage_all, a key changes its own project's keys only.
            let reach = if has(ApiKeysManageAll) { " in every project" } else { "" };
            can.push(format!("{} keys{reach}", and_list(&changes)));
        }
        if has(AuditExport) {
            can.push("export the audit log".to_owned());
        }
        match custom.len() {
            0 => {}
            1..=3 => can.push(format!("use {}", and_list(&custom))),
            n => can.push(format!("use {n} scopes of your API")),
        }
        if can.is_empty() {
            return "Can do nothing (no scopes)".to_owned();
        }
        // Clauses that are lists themselves are kept apart, so that no "and" joins two lists.
        let lists = can.iter().any(|c| c.contains(" and ") || c.contains(", "));
        let joined = if lists { can.join("; ") } else { and_list(&can) };
        format!("Can {joined}")
    }

    /// The scopes as strings, in order: how they are stored.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|s| s.as_str().to_owned()).collect()
    }
}

/// "a", "a and b", "a, b and c".
fn and_list<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            format!("{} and {}", rest.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", "), last.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    #[test]
    fn scopes_are_resource_dot_action() {
        for ok in ["api_keys.read", "telemetry.write", "v2_orders.create"] {
            assert_eq!(Scope::parse(ok).map(|s| s.to_string()), Ok(ok.to_owned()));
        }
        for bad in ["", "read", "api_keys.", ".read", "Api.read", "a.b.c", "tele metry.write", "1x.read", "a-b.read"] {
            let err = Scope::parse(bad).expect_err(bad);
            assert_eq!(err.field, "scopes");
        }
    }

    #[test]
    fn the_catalog_scopes_are_valid_and_unique() {
        let names: BTreeSet<&str> = ManagementScope::VARIANTS.iter().map(|s| s.as_str()).collect();
        assert_eq!(names.len(), ManagementScope::VARIANTS.len());
        for &scope in ManagementScope::VARIANTS {
            assert_eq!(ManagementScope::from_name(scope.as_str()), Some(scope));
            assert!(Scope::parse(scope.as_str()).is_ok());
        }
    }

    #[test]
    fn full_access_is_every_scope_but_an_owners_own() {
        let full = ScopePreset::Organization.scopes();
        for &scope in ManagementScope::VARIANTS {
            let owners_own = matches!(scope, ManagementScope::BillingManage | ManagementScope::OrganizationTransfer);
            assert_eq!(full.contains(scope.as_str()), !owners_own, "{scope:?}");
            assert_eq!(Role::Admin.may_grant(scope), !owners_own, "an admin may make a full-access key: {scope:?}");
        }
        assert!(full.is_full_access());
    }

    #[test]
    fn presets_hold_what_they_say() {
        let read_only = ScopePreset::ReadOnly.scopes();
        assert!(read_only.iter().all(|s| s.as_str().ends_with(".read")));
        assert!(read_only.contains("api_keys.read"));
        assert_eq!(ScopePreset::Verifier.scopes().to_strings(), ["api_keys.verify"]);
        let workspace = ScopePreset::Workspace.scopes();
        assert!(workspace.contains("api_keys.verify"));
        assert!(workspace.contains("api_keys.create"));
        assert!(workspace.contains("api_keys.revoke"));
        // Rotating hands over a key, editing widens one, deleting erases one: chosen one by one.
        for absent in ["api_keys.rotate", "api_keys.update", "api_keys.delete", "api_keys.manage_all", "audit.export"] {
            assert!(!workspace.contains(absent), "{absent}");
        }
    }

    #[test]
    fn the_summary_names_full_access_read_only_or_a_count() {
        assert_eq!(ScopePreset::Organization.scopes().summary(), "Full access");
        assert_eq!(ScopePreset::ReadOnly.scopes().summary(), "Read-only");
        assert_eq!(ScopeSet::default().summary(), "No scopes");
        assert_eq!(ScopeSet::parse(["telemetry.write"]).map(|s| s.summary()), Ok("1 scope".to_owned()));
        let mut custom = ScopePreset::Organization.scopes().to_strings();
        custom.push("telemetry.write".into());
        let custom = ScopeSet::parse(custom.iter().map(String::as_str)).expect("valid");
        assert_eq!(custom.summary(), "Full access");
        let five = ScopeSet::parse(["a.read", "b.read", "c.write", "d.write", "e.write"]).expect("valid");
        assert_eq!(five.summary(), "5 scopes");
    }

    #[test]
    fn a_scope_set_drops_blanks_and_repeats_and_refuses_bad_entries() {
        let set = ScopeSet::parse(["b.read", " ", "a.read", "b.read"]).expect("valid");
        assert_eq!(set.to_strings(), ["a.read", "b.read"]);
        assert_eq!(ScopeSet::parse(["a.read", "nope"]).unwrap_err().field, "scopes");
    }

    #[test]
    fn scopes_read_as_a_sentence() {
        let words = |raw: &[&str]| ScopeSet::parse(raw.iter().copied()).map(|s| s.in_words());
        assert_eq!(
            ScopePreset::ReadOnly.scopes().in_words(),
            "Can read keys, projects, usage, the audit log, members, the organization and the plan"
        );
        assert_eq!(ScopePreset::Verifier.scopes().in_words(), "Can verify keys");
        assert_eq!(
            ScopePreset::Workspace.scopes().in_words(),
            "Can read keys, projects and usage; create, revoke and verify keys"
        );
        assert_eq!(words(&["api_keys.read", "audit.read"]), Ok("Can read keys and the audit log".to_owned()));
        assert_eq!(words(&["api_keys.read", "api_keys.verify"]), Ok("Can read keys and verify keys".to_owned()));
        assert_eq!(
            words(&["api_keys.rotate", "api_keys.manage_all", "orders.read"]),
            Ok("Can rotate keys in every project and use orders.read".to_owned())
        );
        assert_eq!(words(&["a.read", "b.read", "c.read", "d.read"]), Ok("Can use 4 scopes of your API".to_owned()));
        assert_eq!(ScopeSet::default().in_words(), "Can do nothing (no scopes)");
    }
}
