//! Who may do what: the roles of an organization and the permissions each grants, in one table.
//! The server enforces it (every service asks [`Role::can`]); the UI reads the same table to hide
//! or disable what the signed-in member may not do.

use super::{ManagementScope, Role};
use serde::{Deserialize, Serialize};

/// Something a member may be allowed to do in the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[derive(strum::VariantArray, strum::IntoStaticStr)]
pub enum Permission {
    /// Organization settings and projects.
    #[strum(serialize = "settings.manage")]
    SettingsManage,
    /// The organization's plan.
    #[strum(serialize = "billing.manage")]
    BillingManage,
    /// Hand the organization over to another member.
    #[strum(serialize = "organization.transfer")]
    OrganizationTransfer,
    #[strum(serialize = "members.invite")]
    MembersInvite,
    /// Change a member's role, suspend or remove a member.
    #[strum(serialize = "members.role_change")]
    MembersRoleChange,
    #[strum(serialize = "api_keys.read")]
    ApiKeysRead,
    #[strum(serialize = "api_keys.create")]
    ApiKeysCreate,
    /// Revoke, disable, enable, rotate, edit and delete the keys one created.
    #[strum(serialize = "api_keys.manage_own")]
    ApiKeysManageOwn,
    /// Do all of that to anyone's keys.
    #[strum(serialize = "api_keys.manage_all")]
    ApiKeysManageAll,
    #[strum(serialize = "audit.read")]
    AuditRead,
    #[strum(serialize = "audit.export")]
    AuditExport,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The permission in words, after "cannot".
    pub const fn describe(self) -> &'static str {
        match self {
            Self::SettingsManage => "change the organization's settings",
            Self::BillingManage => "change the plan",
            Self::OrganizationTransfer => "transfer the organization",
            Self::MembersInvite => "invite members",
            Self::MembersRoleChange => "change members' roles",
            Self::ApiKeysRead => "see keys",
            Self::ApiKeysCreate => "create keys",
            Self::ApiKeysManageOwn => "change or revoke keys",
            Self::ApiKeysManageAll => "change keys other members created",
            Self::AuditRead => "read the audit log",
            Self::AuditExport => "export the audit log",
        }
    }

    /// What a member needs to do what a management scope names, and to give a key that scope:
    /// nobody hands a key more than they may do themselves.
    pub const fn needed_for(scope: ManagementScope) -> Permission {
        match scope {
            ManagementScope::ApiKeysCreate => Self::ApiKeysCreate,
            ManagementScope::ApiKeysUpdate
            | ManagementScope::ApiKeysRotate
            | ManagementScope::ApiKeysRevoke
            | ManagementScope::ApiKeysDelete => Self::ApiKeysManageOwn,
            ManagementScope::ApiKeysManageAll => Self::ApiKeysManageAll,
            ManagementScope::AuditRead => Self::AuditRead,
            ManagementScope::AuditExport => Self::AuditExport,
            // Webhooks send the organization's events elsewhere: its settings, owners' and admins'.
            ManagementScope::WebhooksManage
            | ManagementScope::ProjectsManage
            | ManagementScope::OrganizationSettings => Self::SettingsManage,
            ManagementScope::MembersInvite => Self::MembersInvite,
            ManagementScope::MembersRoleChange | ManagementScope::MembersSuspend | ManagementScope::MembersRemove => {
                Self::MembersRoleChange
            }
            ManagementScope::OrganizationTransfer => Self::OrganizationTransfer,
            ManagementScope::BillingManage => Self::BillingManage,
            // Reading keys, figures and the organization, and verifying keys: anyone who may read keys.
            ManagementScope::ApiKeysRead
            | ManagementScope::ApiKeysVerify
            | ManagementScope::ProjectsRead
            | ManagementScope::StatsRead
            | ManagementScope::MembersRead
            | ManagementScope::OrganizationRead
            | ManagementScope::BillingRead => Self::ApiKeysRead,
        }
    }
}

impl Role {
    /// The table: an owner may do everything; an admin everything but the plan and handing the
    /// organization over; a developer creates
    /// keys and manages the ones they created; a viewer sees, never changes.
    pub const fn can(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Admin => !matches!(permission, BillingManage | OrganizationTransfer),
            Role::Developer => matches!(permission, ApiKeysRead | ApiKeysCreate | ApiKeysManageOwn | AuditRead),
            Role::Viewer => matches!(permission, ApiKeysRead | AuditRead),
        }
    }

    /// Whether a member with this role may give a key `scope`.
    pub const fn may_grant(self, scope: ManagementScope) -> bool {
        self.can(Permission::needed_for(scope))
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// What the role does not allow, as the dashboard says it.
    pub fn refusal(self, permission: Permission) -> String {
        format!("{} members cannot {}.", self.label(), permission.describe())
    }

    pub fn parse(raw: &str) -> Option<Role> {
        raw.parse().ok()
    }

    /// The roles a member with this role may hand out (invite as, or change others to): never more
    /// than their own. Only an owner makes owners.
    pub fn may_assign(self, role: Role) -> bool {
        self.can(Permission::MembersRoleChange) && (self == Role::Owner || role != Role::Owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn the_role_table() {
        use Permission::*;
        let expected: [(Role, &[Permission]); 4] = [
            (Role::Owner, Permission::VARIANTS),
            (
                Role::Admin,
                &[
                    SettingsManage,
                    MembersInvite,
                    MembersRoleChange,
                    ApiKeysRead,
                    ApiKeysCreate,
                    ApiKeysManageOwn,
                    ApiKeysManageAll,
                    AuditRead,
                    AuditExport,
                ],
            ),
            (Role::Developer, &[ApiKeysRead, ApiKeysCreate, ApiKeysManageOwn, AuditRead]),
            (Role::Viewer, &[ApiKeysRead, AuditRead]),
        ];
        for (role, allowed) in expected {
            for &permission in Permission::VARIANTS {
                assert_eq!(role.can(permission), allowed.contains(&permission), "{role:?} {permission:?}");
            }
        }
    }

    #[test]
    fn nobody_grants_a_key_more_than_their_role() {
        assert!(!Role::Developer.may_grant(ManagementScope::ApiKeysManageAll));
        assert!(!Role::Developer.may_grant(ManagementScope::AuditExport));
        assert!(Role::Developer.may_grant(ManagementScope::ApiKeysRevoke));
        assert!(Role::Admin.may_grant(ManagementScope::ApiKeysManageAll));
        assert!(!Role::Viewer.may_grant(ManagementScope::ApiKeysCreate));
        assert!(Role::Viewer.may_grant(ManagementScope::ApiKeysVerify));
    }

    #[test]
    fn only_an_owner_makes_owners() {
        assert!(Role::Owner.may_assign(Role::Owner));
        assert!(!Role::Admin.may_assign(Role::Owner));
        assert!(Role::Admin.may_assign(Role::Admin));
        assert!(!Role::Developer.may_assign(Role::Viewer));
    }
}
