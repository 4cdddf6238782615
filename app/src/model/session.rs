//! The signed-in person, as the dashboard knows them.

use super::{Plan, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

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
