//! Who is acting: a signed-in member (the dashboard) or an API key (the management API). The key
//! services take either, so every rule is written once.

use super::Member;
use crate::model::{Environment, ManagementScope, ScopeSet};
use crate::ssr::ServiceError;
use crate::ssr::cache::KeyRecord;
use std::sync::Arc;
use uuid::Uuid;

/// The keys an actor can reach. `None` means any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    pub project: Option<Uuid>,
    pub environment: Option<Environment>,
}

pub trait Actor: Send + Sync {
    fn organization_id(&self) -> Uuid;
    /// The person a change is recorded against: a key acts for the member who created it.
    fn user_id(&self) -> Uuid;
    /// Refuses unless the actor may do what `scope` names.
    fn require(&self, scope: ManagementScope) -> Result<(), ServiceError>;
    /// The project and environment the actor works in.
    fn reach(&self) -> Reach;
    /// Refuses to hand out management scopes the actor does not hold itself.
    fn may_grant(&self, scopes: &ScopeSet) -> Result<(), ServiceError>;
}

impl Actor for Member {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn require(&self, scope: ManagementScope) -> Result<(), ServiceError> {
        if scope.is_read_only() || self.role.manages_keys() { Ok(()) } else { Err(ServiceError::Forbidden) }
    }

    fn reach(&self) -> Reach {
        Reach::default()
    }

    fn may_grant(&self, _: &ScopeSet) -> Result<(), ServiceError> {
        Ok(())
    }
}

/// An API key calling the management or verification API, as authenticated for this request.
#[derive(Debug, Clone)]
pub struct KeyCaller {
    pub key: Arc<KeyRecord>,
}

impl KeyCaller {
    pub fn holds(&self, scope: ManagementScope) -> bool {
        self.key.scopes.contains(scope.as_str())
    }
}

impl Actor for KeyCaller {
    fn organization_id(&self) -> Uuid {
        self.key.organization_id
    }

    fn user_id(&self) -> Uuid {
        self.key.created_by
    }

    fn require(&self, scope: ManagementScope) -> Result<(), ServiceError> {
        if self.holds(scope) { Ok(()) } else { Err(ServiceError::MissingScope(scope.as_str())) }
    }

    /// Its own environment always; its own project unless it holds `api_keys.manage_all`.
    fn reach(&self) -> Reach {
        Reach {
            project: (!self.holds(ManagementScope::ApiKeysManageAll)).then_some(self.key.project_id),
            environment: Some(self.key.environment),
        }
    }

    fn may_grant(&self, scopes: &ScopeSet) -> Result<(), ServiceError> {
        match scopes.iter().filter_map(|s| ManagementScope::from_name(s.as_str())).find(|s| !self.holds(*s)) {
            Some(missing) => Err(ServiceError::MissingScope(missing.as_str())),
            None => Ok(()),
        }
    }
}
