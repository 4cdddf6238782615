//! Events out: the endpoints an organization registers, the events they receive, and what became
//! of each delivery. Deliveries follow the Standard Webhooks specification (signed with the
//! endpoint's secret, `webhook-id` / `webhook-timestamp` / `webhook-signature`).

use super::{AuditAction, FieldError, FieldErrors};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Something that happened, as an endpoint subscribes to it and a delivery's `type` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
pub enum WebhookEvent {
    #[strum(serialize = "key.created")]
    #[serde(rename = "key.created")]
    KeyCreated,
    #[strum(serialize = "key.revoked")]
    #[serde(rename = "key.revoked")]
    KeyRevoked,
    #[strum(serialize = "key.rotated")]
    #[serde(rename = "key.rotated")]
    KeyRotated,
    #[strum(serialize = "key.disabled")]
    #[serde(rename = "key.disabled")]
    KeyDisabled,
    #[strum(serialize = "key.enabled")]
    #[serde(rename = "key.enabled")]
    KeyEnabled,
    #[strum(serialize = "key.deleted")]
    #[serde(rename = "key.deleted")]
    KeyDeleted,
    #[strum(serialize = "key.scopes_changed")]
    #[serde(rename = "key.scopes_changed")]
    KeyScopesChanged,
    /// A week, and again a day, before an active key expires.
    #[strum(serialize = "key.expiring")]
    #[serde(rename = "key.expiring")]
    KeyExpiring,
    /// An active key reached its expiry.
    #[strum(serialize = "key.expired")]
    #[serde(rename = "key.expired")]
    KeyExpired,
    /// A verification spent a key's last credit.
    #[strum(serialize = "key.credits_exhausted")]
    #[serde(rename = "key.credits_exhausted")]
    KeyCreditsExhausted,
    /// A key's secret was reported leaked (by a scanner or a member), and the policy applied.
    #[strum(serialize = "key.leaked")]
    #[serde(rename = "key.leaked")]
    KeyLeaked,
    /// A decoy key was used: at verify, or against the management API.
    #[strum(serialize = "key.decoy_used")]
    #[serde(rename = "key.decoy_used")]
    KeyDecoyUsed,
    #[strum(serialize = "member.invited")]
    #[serde(rename = "member.invited")]
    MemberInvited,
    #[strum(serialize = "member.joined")]
    #[serde(rename = "member.joined")]
    MemberJoined,
    #[strum(serialize = "member.removed")]
    #[serde(rename = "member.removed")]
    MemberRemoved,
    /// Sent only by "Send a test event", to the one endpoint it is asked of.
    #[strum(serialize = "webhook.test")]
    #[serde(rename = "webhook.test")]
    WebhookTest,
}

impl WebhookEvent {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    /// The event a recorded change raises, if any: the audit log and the outbox are written from
    /// the same change, in the same transaction.
    pub const fn raised_by(action: AuditAction) -> Option<Self> {
        Some(match action {
            AuditAction::KeyCreated => Self::KeyCreated,
            AuditAction::KeyRevoked => Self::KeyRevoked,
            AuditAction::KeyRotated => Self::KeyRotated,
            AuditAction::KeyDisabled => Self::KeyDisabled,
            AuditAction::KeyEnabled => Self::KeyEnabled,
            AuditAction::KeyDeleted => Self::KeyDeleted,
            AuditAction::KeyScopesChanged => Self::KeyScopesChanged,
            AuditAction::KeyLeaked => Self::KeyLeaked,
            AuditAction::MemberInvited => Self::MemberInvited,
            AuditAction::MemberJoined => Self::MemberJoined,
            AuditAction::MemberRemoved => Self::MemberRemoved,
            _ => return None,
        })
    }

    /// The events an endpoint may subscribe to (all but the test event, which every endpoint takes).
    pub fn subscribable() -> impl Iterator<Item = Self> {
        <Self as strum::VariantArray>::VARIANTS.iter().copied().filter(|e| *e != Self::WebhookTest)
    }
}

/// The most endpoints an organization may register: each change fans out to every one of them.
pub const MAX_WEBHOOK_ENDPOINTS: usize = 20;
/// The longest endpoint URL taken.
pub const MAX_WEBHOOK_URL_CHARS: usize = 2_000;

/// The events an endpoint asked for: each known, at least one, each once.
pub fn webhook_events(raw: &[String]) -> Result<Vec<WebhookEvent>, FieldErrors> {
    if raw.is_empty() {
        return Err(FieldError::new("events", "Choose at least one event.").into());
    }
    let mut events = Vec::with_capacity(raw.len());
    let mut errors = Vec::new();
    for (i, name) in raw.iter().enumerate() {
        match WebhookEvent::parse(name.trim()).filter(|e| *e != WebhookEvent::WebhookTest) {
            Some(event) => events.push(event),
            None => errors.push(FieldError::new(
                format!("events[{i}]"),
                format!("{:?} is not an event; known events: {}.", name.chars().take(64).collect::<String>(), {
                    WebhookEvent::subscribable().map(WebhookEvent::as_str).collect::<Vec<_>>().join(", ")
                }),
            )),
        }
    }
    if let Ok(errors) = FieldErrors::try_from(errors) {
        return Err(errors);
    }
    events.sort_unstable();
    events.dedup();
    Ok(events)
}

/// An endpoint, as its page and the API show it. Its secret is never shown again after it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<WebhookEvent>,
    /// A disabled endpoint keeps its deliveries waiting (up to their 24 hours) and gets no new ones.
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

/// An endpoint just registered, or its secret just rotated: the signing secret, shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    /// `whsec_` and the base64 of 32 bytes, as Standard Webhooks libraries take it.
    pub secret: String,
}

/// What a button on an endpoint's card asks for: one server function takes them all, so that the
/// dashboard carries one form handler for the card rather than one per button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndpointCommand {
    SendTest,
    Enable,
    Disable,
    RotateSecret,
    Delete,
    /// Send a delivery again (its `msg_…` id goes with it).
    Resend,
}

impl EndpointCommand {
    /// As a form sends it (the serde name).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SendTest => "send_test",
            Self::Enable => "enable",
            Self::Disable => "disable",
            Self::RotateSecret => "rotate_secret",
            Self::Delete => "delete",
            Self::Resend => "resend",
        }
    }
}

/// What an endpoint command did, as the toast says it; a rotation's new secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointChanged {
    pub message: String,
    pub secret: Option<EndpointWithSecret>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted by the endpoint: it is tried again, with growing waits, for 24 hours.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Not accepted within 24 hours of the event. It can be sent again by hand.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    /// Also the `webhook-id` header: the same on every attempt, so receivers can drop repeats.
    pub id: String,
    pub event: WebhookEvent,
    pub status: DeliveryStatus,
    pub attempts: u32,
    /// The endpoint's last HTTP status, if it answered.
    pub response_status: Option<u16>,
    /// Why the last attempt failed, in words (a timeout, a refused address, a 500...).
    pub last_error: Option<String>,
    /// When it is tried next, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// An endpoint with its latest deliveries, as the webhooks page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointOverview {
    pub endpoint: WebhookEndpoint,
    /// The latest [`EndpointOverview::RECENT`] deliveries, newest first.
    pub recent: Vec<WebhookDelivery>,
    pub total_deliveries: u64,
}

impl EndpointOverview {
    pub const RECENT: u64 = 10;
}

impl WebhookDelivery {
    /// The delivery's state in words, for its row: "Delivered (200)", "Retrying: answered 500".
    pub fn outcome(&self) -> String {
        let answer = self.last_error.clone().or_else(|| self.response_status.map(|s| format!("answered {s}")));
        match (self.status, answer) {
            (DeliveryStatus::Delivered, _) => match self.response_status {
                Some(status) => format!("Delivered ({status})"),
                None => "Delivered".to_owned(),
            },
            (DeliveryStatus::Pending, None) => "Waiting to be sent".to_owned(),
            (DeliveryStatus::Pending, Some(answer)) => format!("Will retry: {answer}"),
            (DeliveryStatus::Failed, answer) => format!("Failed: {}", answer.unwrap_or_else(|| "no answer".into())),
        }
    }
}

/// One page of an endpoint's deliveries, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeliveryPage {
    pub deliveries: Vec<WebhookDelivery>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn events_are_known_deduplicated_and_at_least_one() {
        let events = webhook_events(&names(&["key.revoked", "key.created", "key.revoked"])).expect("valid");
        assert_eq!(events, vec![WebhookEvent::KeyCreated, WebhookEvent::KeyRevoked]);
        assert_eq!(webhook_events(&[]).unwrap_err().first().field, "events");
        let bad = webhook_events(&names(&["key.created", "key.exploded", "webhook.test"])).unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["events[1]", "events[2]"], "the test event is not subscribed to");
    }

    #[test]
    fn a_deliverys_outcome_reads_in_words() {
        let at = chrono::DateTime::<Utc>::UNIX_EPOCH;
        let delivery = |status, response_status, last_error: Option<&str>| WebhookDelivery {
            id: "msg_1".into(),
            event: WebhookEvent::KeyCreated,
            status,
            attempts: 1,
            response_status,
            last_error: last_error.map(str::to_owned),
            next_attempt_at: None,
            created_at: at,
            delivered_at: None,
        };
        assert_eq!(delivery(DeliveryStatus::Delivered, Some(204), None).outcome(), "Delivered (204)");
        assert_eq!(delivery(DeliveryStatus::Pending, None, None).outcome(), "Waiting to be sent");
        assert_eq!(
            delivery(DeliveryStatus::Pending, Some(500), Some("answered 500 Internal Server Error")).outcome(),
            "Will retry: answered 500 Internal Server Error"
        );
        assert_eq!(delivery(DeliveryStatus::Failed, None, None).outcome(), "Failed: no answer");
    }

    #[test]
    fn changes_that_raise_events_are_the_ones_named() {
        assert_eq!(WebhookEvent::raised_by(AuditAction::KeyRevoked), Some(WebhookEvent::KeyRevoked));
        assert_eq!(WebhookEvent::raised_by(AuditAction::KeyRateLimitChanged), None);
        for event in WebhookEvent::subscribable() {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
        }
    }
}
