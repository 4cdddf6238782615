//! The product's typed vocabulary, shared by the server and the browser. No I/O here.

mod audit;
mod error;
mod key;
mod lifecycle;
mod members;
pub mod org;
mod permission;
mod plan;
mod query;
mod scope;
pub mod token;
mod usage;

pub use audit::{AuditAction, AuditActor, AuditEntry, AuditPage, AuditQuery, MemberRef};
pub use error::{AppError, FieldError};
pub use key::{ApiKey, CreatedKey, Environment, KeyDetails, KeyName, KeyStatus, NewKey, RotatedKey, Rotation};
pub use lifecycle::{Expiration, RateLimit, RateWindow, RotationGrace};
pub use members::{
    INVITATION_DAYS, InvitationPreview, InvitationView, MemberList, MemberStatus, MemberView, NewInvitation,
};
pub use org::{MIN_PASSWORD_CHARS, Project, Role, SessionInfo, SetupForm, normalize_email, validate_new_password};
pub use permission::Permission;
pub use plan::Plan;
pub use query::{KeyPage, KeyQuery, KeySort, KeyStats, PAGE_SIZES};
pub use scope::{ManagementScope, Scope, ScopePreset, ScopeSet};
pub use usage::{HourlyUsage, UsageHistory};
