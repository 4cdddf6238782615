//! The product's typed vocabulary, shared by the server and the browser. No I/O here.

mod account;
mod audit;
mod credits;
mod decoy;
mod error;
mod insight;
mod key;
mod leak;
mod lifecycle;
mod members;
mod network;
mod outline;
mod permission;
mod plan;
mod project;
#[cfg(test)]
mod props;
mod query;
mod role;
mod scope;
mod session;
mod setup;
mod text;
pub mod token;
mod usage;
mod verification;
mod webhook;

pub use account::{OrganizationChoice, PasswordChange, SessionView, describe_user_agent};
pub use audit::{AuditAction, AuditActor, AuditEntry, AuditPage, AuditQuery, MemberRef};
pub use credits::{
    Credits, KeyCredits, MAX_COST, MAX_CREDITS, Refill, RefillPeriod, credit_count, refill_amount, refill_day,
    verification_cost,
};
pub use decoy::{DECOY_ALERT_DAYS, DecoySurface, DecoyUse, MAX_DECOY_KEYS};
pub use error::{AllValid, AppError, FieldError, FieldErrors, UNREAD_ARGUMENTS, capitalize};
pub use insight::{
    BulkDisabled, ChartWindow, KeyExpiringSoon, KeyInsight, KeyStillPresented, NeedsAttention, OutcomeBucket,
    OutcomeCount, ProjectTraffic, RefusedUse, ScopeUse, Staleness, TopKey, key_ids, parse_key_ids,
};
pub use key::{
    ApiKey, CreatedKey, Environment, KEY_META_MAX_BYTES, KeyDetails, KeyEdit, KeyName, KeyStatus, NewKey, Revocation,
    RotatedKey, Rotation, external_id, key_description,
};
pub use leak::{KeyLeak, LeakAction, LeakHandled, LeakPolicy, MAX_LEAK_TEXT_CHARS};
pub use lifecycle::{Expiration, RateLimit, RateWindow, RotationGrace};
pub use members::{
    INVITATION_DAYS, InvitationPreview, InvitationView, MemberList, MemberStatus, MemberView, NewInvitation,
};
pub use network::{MAX_ALLOWED_NETWORKS, allows, caller_ip, ip_allowlist};
pub use outline::{KeyOutline, SiteOrigin, day_in_words, verify_command};
pub use permission::Permission;
pub use plan::Plan;
pub use project::{CustomScope, Project, ProjectOverview, project_name};
pub use query::{KeyPage, KeyQuery, KeySort, KeyStats, MAX_PAGE, PAGE_SIZES, page_and_size, page_in_range};
pub use role::Role;
pub use scope::{ManagementScope, Scope, ScopePreset, ScopeSet};
pub use session::SessionInfo;
pub use setup::{MIN_PASSWORD_CHARS, SetupForm, normalize_email, validate_new_password};
pub use text::{grouped, organization_name, plain_text};
pub use usage::{HourlyUsage, UsageHistory};
pub use verification::{KeyRejection, VerificationPage, VerificationRecord, VerifyCode};
pub use webhook::{
    DeliveryPage, DeliveryStatus, EndpointChanged, EndpointCommand, EndpointOverview, EndpointWithSecret,
    MAX_WEBHOOK_ENDPOINTS, MAX_WEBHOOK_URL_CHARS, WebhookDelivery, WebhookEndpoint, WebhookEvent, webhook_events,
};
