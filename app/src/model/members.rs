//! The people of an organization: members, their roles and status, and invitations.

use super::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MemberStatus {
    Active,
    /// Cannot sign in to this organization until reactivated; keeps their role and their keys.
    Suspended,
}

impl MemberStatus {
    pub const fn label(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Suspended => "Suspended",
        }
    }
}

/// A member as the members page lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub status: MemberStatus,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub joined_at: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_active_at: Option<DateTime<Utc>>,
}

/// An invitation not yet accepted, revoked or expired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemberList {
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
}

/// An invitation just made: the link's token is in this answer and nowhere else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvitation {
    pub invitation: InvitationView,
    pub token: String,
}

impl NewInvitation {
    /// The path the invited person opens (the page adds the site's origin).
    pub fn path(&self) -> String {
        format!("/invite/{}", self.token)
    }
}

/// What the invitation page shows before the person accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationPreview {
    pub organization: String,
    pub email: String,
    pub role: Role,
    /// The email already has an account: accepting asks for its password, not a new one.
    pub existing_account: bool,
}
