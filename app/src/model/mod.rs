//! The product's typed vocabulary, shared by the server and the browser. No I/O here.

mod account;
mod audit;
mod error;
mod key;
mod lifecycle;
mod members;
pub mod org;
mod permission;
mod plan;
mod project;
#[cfg(test)]
mod props;
mod query;
mod scope;
pub mod token;
mod usage;
mod verification;

pub use account::{OrganizationChoice, PasswordChange, SessionView, describe_user_agent};
pub use audit::{AuditAction, AuditActor, AuditEntry, AuditPage, AuditQuery, MemberRef};
pub use error::{AppError, FieldError, UNREAD_ARGUMENTS, capitalize};
pub use key::{ApiKey, CreatedKey, Environment, KeyDetails, KeyName, KeyStatus, NewKey, RotatedKey, Rotation};
pub use lifecycle::{Expiration, RateLimit, RateWindow, RotationGrace};
pub use members::{
    INVITATION_DAYS, InvitationPreview, InvitationView, MemberList, MemberStatus, MemberView, NewInvitation,
};
pub use org::{
    MIN_PASSWORD_CHARS, Project, Role, SessionInfo, SetupForm, normalize_email, organization_name, plain_text,
    validate_new_password,
};
pub use permission::Permission;
pub use plan::Plan;
pub use project::{CustomScope, ProjectOverview, project_name};
pub use query::{KeyPage, KeyQuery, KeySort, KeyStats, PAGE_SIZES};
pub use scope::{ManagementScope, Scope, ScopePreset, ScopeSet};
pub use usage::{HourlyUsage, UsageHistory};
pub use verification::{KeyRejection, VerifyCode};
