//! The audit log: who changed what, when, and from where. Written in the same transaction as the
//! change it records; the product only ever appends to it.

use super::FieldError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened. Stored as its `as_str` name ("key.revoked"), which the filters and the CSV use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
pub enum AuditAction {
    #[strum(serialize = "key.created")]
    KeyCreated,
    #[strum(serialize = "key.revoked")]
    KeyRevoked,
    #[strum(serialize = "key.disabled")]
    KeyDisabled,
    #[strum(serialize = "key.enabled")]
    KeyEnabled,
    #[strum(serialize = "key.rotated")]
    KeyRotated,
    #[strum(serialize = "key.scopes_changed")]
    KeyScopesChanged,
    #[strum(serialize = "key.rate_limit_changed")]
    KeyRateLimitChanged,
    #[strum(serialize = "key.credits_changed")]
    KeyCreditsChanged,
    #[strum(serialize = "key.ip_allowlist_changed")]
    KeyIpAllowlistChanged,
    #[strum(serialize = "key.edited")]
    KeyEdited,
    #[strum(serialize = "key.deleted")]
    KeyDeleted,
    #[strum(serialize = "key.leaked")]
    KeyLeaked,
    #[strum(serialize = "organization.plan_changed")]
    PlanChanged,
    #[strum(serialize = "organization.leak_policy_changed")]
    LeakPolicyChanged,
    #[strum(serialize = "organization.renamed")]
    OrganizationRenamed,
    #[strum(serialize = "organization.ownership_transferred")]
    OwnershipTransferred,
    #[strum(serialize = "member.invited")]
    MemberInvited,
    #[strum(serialize = "member.invitation_revoked")]
    InvitationRevoked,
    #[strum(serialize = "member.joined")]
    MemberJoined,
    #[strum(serialize = "member.role_changed")]
    MemberRoleChanged,
    #[strum(serialize = "member.suspended")]
    MemberSuspended,
    #[strum(serialize = "member.reactivated")]
    MemberReactivated,
    #[strum(serialize = "member.removed")]
    MemberRemoved,
    #[strum(serialize = "project.created")]
    ProjectCreated,
    #[strum(serialize = "project.renamed")]
    ProjectRenamed,
    #[strum(serialize = "project.archived")]
    ProjectArchived,
    #[strum(serialize = "project.restored")]
    ProjectRestored,
    #[strum(serialize = "project.scope_defined")]
    ProjectScopeDefined,
    #[strum(serialize = "project.scope_removed")]
    ProjectScopeRemoved,
    #[strum(serialize = "webhook.created")]
    WebhookCreated,
    #[strum(serialize = "webhook.changed")]
    WebhookChanged,
    #[strum(serialize = "webhook.secret_rotated")]
    WebhookSecretRotated,
    #[strum(serialize = "webhook.deleted")]
    WebhookDeleted,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// How the audit page says it.
    pub const fn label(self) -> &'static str {
        match self {
            Self::KeyCreated => "Key created",
            Self::KeyRevoked => "Key revoked",
            Self::KeyDisabled => "Key disabled",
            Self::KeyEnabled => "Key enabled",
            Self::KeyRotated => "Key rotated",
            Self::KeyScopesChanged => "Key scopes changed",
            Self::KeyRateLimitChanged => "Key rate limit changed",
            Self::KeyCreditsChanged => "Key credits changed",
            Self::KeyIpAllowlistChanged => "Key IP allowlist changed",
            Self::KeyEdited => "Key name, description or expiry changed",
            Self::KeyDeleted => "Key deleted",
            Self::KeyLeaked => "Key reported leaked",
            Self::PlanChanged => "Plan changed",
            Self::LeakPolicyChanged => "Leaked-key policy changed",
            Self::OrganizationRenamed => "Organization renamed",
            Self::OwnershipTransferred => "Ownership transferred",
            Self::MemberInvited => "Member invited",
            Self::InvitationRevoked => "Invitation revoked",
            Self::MemberJoined => "Member joined",
            Self::MemberRoleChanged => "Member role changed",
            Self::MemberSuspended => "Member suspended",
            Self::MemberReactivated => "Member reactivated",
            Self::MemberRemoved => "Member removed",
            Self::ProjectCreated => "Project created",
            Self::ProjectRenamed => "Project renamed",
            Self::ProjectArchived => "Project archived",
            Self::ProjectRestored => "Project restored",
            Self::ProjectScopeDefined => "Project scope defined",
            Self::ProjectScopeRemoved => "Project scope removed",
            Self::WebhookCreated => "Webhook endpoint added",
            Self::WebhookChanged => "Webhook endpoint changed",
            Self::WebhookSecretRotated => "Webhook signing secret rotated",
            Self::WebhookDeleted => "Webhook endpoint deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }
}

/// Who acted: a signed-in member, or an API key (acting for the member who created it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditActor {
    pub user_id: Option<Uuid>,
    pub key_id: Option<Uuid>,
    /// As it read when the change was made: "Ada Lovelace" or "key kw_live_a1b2c3d4 (billing sync)".
    pub name: String,
}

/// One recorded change, as the audit page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor: AuditActor,
    pub action: AuditAction,
    pub target_kind: String,
    pub target_id: Option<Uuid>,
    pub target_name: String,
    /// JSON of what changed, before and after, where it matters.
    pub before: Option<String>,
    pub after: Option<String>,
    /// The same change in words, a line per field ("Scopes: 3 → 5, added api_keys.verify"): the
    /// server writes it, so the browser needs no JSON parser. The CSV export keeps the JSON.
    pub change: Vec<String>,
    pub ip: Option<String>,
}

/// The audit page's filters and page, as they appear in its URL.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    /// A member's user id.
    pub actor: Option<Uuid>,
    pub action: Option<AuditAction>,
    /// A key's id: everything done to it.
    pub key: Option<Uuid>,
    /// Inclusive, UTC days.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub page: u32,
    pub per_page: u32,
}

impl AuditQuery {
    pub const DEFAULT_PER_PAGE: u32 = 25;
    pub const MAX_PER_PAGE: u32 = 100;
    /// The most rows one CSV export holds (newest first).
    pub const MAX_EXPORT_ROWS: u64 = 100_000;

    /// Pages run from 1 to `MAX_PAGE`; a bad page size falls back to the default; a range that ends before it
    /// starts is refused, naming the field.
    pub fn validated(mut self) -> Result<Self, FieldError> {
        self.page = self.page.clamp(1, super::MAX_PAGE);
        if self.per_page == 0 || self.per_page > Self::MAX_PER_PAGE {
            self.per_page = Self::DEFAULT_PER_PAGE;
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && to < from
        {
            return Err(FieldError::new("to", "must not be before the start date"));
        }
        Ok(self)
    }

    /// Reads the page's URL (`?actor=…&action=key.revoked&key=…&from=2026-11-01&to=…&page=2`);
    /// what does not parse is ignored.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let date = |name: &str| get(name).and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok());
        Self {
            actor: get("actor").and_then(|a| a.parse().ok()),
            action: get("action").and_then(|a| AuditAction::parse(&a)),
            key: get("key").and_then(|k| k.parse().ok()),
            from: date("from"),
            to: date("to"),
            page: get("page").and_then(|p| p.parse().ok()).filter(|p| *p >= 1).unwrap_or(1),
            per_page: Self::DEFAULT_PER_PAGE,
        }
    }

    /// The parameters that are set, for the URL (and the CSV link).
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(actor) = self.actor {
            params.push(("actor", actor.to_string()));
        }
        if let Some(action) = self.action {
            params.push(("action", action.as_str().to_owned()));
        }
        if let Some(key) = self.key {
            params.push(("key", key.to_string()));
        }
        if let Some(from) = self.from {
            params.push(("from", from.to_string()));
        }
        if let Some(to) = self.to {
            params.push(("to", to.to_string()));
        }
        if self.page > 1 {
            params.push(("page", self.page.to_string()));
        }
        params
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    /// The organization's members, for the actor filter.
    pub members: Vec<MemberRef>,
}

impl AuditPage {
    pub fn pages(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(self.per_page.max(1)))).unwrap_or(u32::MAX).max(1)
    }
}

/// A member as a filter lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRef {
    pub user_id: Uuid,
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn actions_round_trip_through_their_names() {
        for &action in AuditAction::VARIANTS {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("key.exploded"), None);
    }

    #[test]
    fn the_query_survives_its_url() {
        let query = AuditQuery {
            actor: Some(Uuid::now_v7()),
            action: Some(AuditAction::KeyRevoked),
            key: Some(Uuid::now_v7()),
            from: NaiveDate::from_ymd_opt(2026, 11, 1),
            to: NaiveDate::from_ymd_opt(2026, 11, 23),
            page: 3,
            per_page: AuditQuery::DEFAULT_PER_PAGE,
        };
        let params = query.to_params();
        let read = AuditQuery::from_params(|k| params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()));
        assert_eq!(read, query);
        assert_eq!(AuditQuery::from_params(|_| Some("nonsense".into())).to_params(), vec![]);
    }

    #[test]
    fn a_range_that_ends_before_it_starts_names_the_field() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
        let query = AuditQuery { from: Some(day(20)), to: Some(day(10)), ..AuditQuery::default() };
        assert_eq!(query.validated().unwrap_err().field, "to");
        let ok = AuditQuery { from: Some(day(10)), to: Some(day(10)), per_page: 500, ..AuditQuery::default() }
            .validated()
            .expect("valid");
        assert_eq!((ok.page, ok.per_page), (1, AuditQuery::DEFAULT_PER_PAGE));
    }
}
