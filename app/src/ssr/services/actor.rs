//! Who is acting: a signed-in member (the dashboard) or an API key (the management API). The key
//! services take either, so every rule is written once.

use super::Member;
use crate::model::{AuditActor, Environment, ManagementScope, Permission, Role, ScopeSet};
use crate::ssr::ServiceError;
use crate::ssr::cache::KeyRecord;
use crate::ssr::entities::api_key;
use std::sync::Arc;
use uuid::Uuid;

/// The keys an actor can reach. `None` means any.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
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
    /// Whether the actor may itself do what a management scope names.
    fn may_use(&self, scope: ManagementScope) -> bool;
    /// Refuses to hand out management scopes the actor may not use itself.
    fn may_grant(&self, scopes: &ScopeSet) -> Result<(), ServiceError>;
    /// Refuses a change to this particular key (a developer's to a key another member created).
    fn may_change(&self, key: &api_key::Model) -> Result<(), ServiceError>;
    /// The current role of the person the actor acts for; `None` once they are suspended or removed.
    fn role(&self) -> Option<Role>;
    /// Refuses to rotate or re-scope a key that can do something the actor may not: the new secret,
    /// or the key's new scopes, would hand the actor more than it has. What a key can do is its
    /// management scopes, bounded by its creator's role (known here when the creator is the actor's).
    fn may_take_over(&self, key: &api_key::Model) -> Result<(), ServiceError> {
        let held = super::keys::load_scopes(&key.scopes);
        let creator_role = if key.created_by == self.user_id() { self.role() } else { None };
        let key_can = |scope: ManagementScope| creator_role.is_none_or(|role| role.may_grant(scope));
        match self.first_beyond(&held, &key_can) {
            Some(scope) => Err(ServiceError::Forbidden(format!(
                "This key holds {}, which is more than you may do: it can be rotated or re-scoped only by someone who may.",
                scope.as_str()
            ))),
            None => Ok(()),
        }
    }
    /// The first management scope in `scopes` (among those `counts` keeps) that the actor may not
    /// use itself: what granting, rotating and re-scoping all refuse on.
    fn first_beyond(&self, scopes: &ScopeSet, counts: &dyn Fn(ManagementScope) -> bool) -> Option<ManagementScope> {
        scopes
            .iter()
            .filter_map(|s| ManagementScope::from_name(s.as_str()))
            .find(|scope| counts(*scope) && !self.may_use(*scope))
    }
    /// Refuses a change to the organization as a whole (its members, name, owner, plan) from an
    /// actor bound to one project: a key without `api_keys.manage_all`.
    fn require_organization_wide(&self) -> Result<(), ServiceError> {
        match self.reach().project {
            Some(_) => Err(ServiceError::MissingScope(ManagementScope::ApiKeysManageAll.as_str())),
            None => Ok(()),
        }
    }
    /// Who the audit log says acted.
    fn audit_actor(&self) -> AuditActor;
    /// Where the request came from, when known.
    fn client_ip(&self) -> Option<&str>;
}

impl Member {
    /// Refuses, in words, what the member's role does not allow.
    pub fn permits(&self, permission: Permission) -> Result<(), ServiceError> {
        if self.role.can(permission) { Ok(()) } else { Err(ServiceError::Forbidden(self.role.refusal(permission))) }
    }
}

impl Actor for Member {
    fn organization_id(&self) -> Uuid {
        self.organization_id
    }

    fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn require(&self, scope: ManagementScope) -> Result<(), ServiceError> {
        self.permits(Permission::needed_for(scope))
    }

    fn reach(&self) -> Reach {
        Reach::default()
    }

    fn may_use(&self, scope: ManagementScope) -> bool {
        self.role.may_grant(scope)
    }

    fn role(&self) -> Option<Role> {
        Some(self.role)
    }

    fn may_grant(&self, scopes: &ScopeSet) -> Result<(), ServiceError> {
        match self.first_beyond(scopes, &|_| true) {
            Some(scope) => Err(ServiceError::Forbidden(format!(
                "{} members cannot give a key the scope {}.",
                self.role.label(),
                scope.as_str()
            ))),
            None => Ok(()),
        }
    }

    fn may_change(&self, key: &api_key::Model) -> Result<(), ServiceError> {
        if key.created_by == self.user_id {
            return Ok(());
        }
        self.permits(Permission::ApiKeysManageAll)
    }

    fn audit_actor(&self) -> AuditActor {
        AuditActor { user_id: Some(self.user_id), key_id: None, name: self.user_name.clone() }
    }

    fn client_ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }
}

/// An API key calling the management or verification API, as authenticated for this request.
#[derive(Debug, Clone)]
pub struct KeyCaller {
    pub key: Arc<KeyRecord>,
    /// Where the call came from, when the server knows.
    pub ip: Option<String>,
}

impl KeyCaller {
    /// Whether the key may do what `scope` names: it holds the scope, and its creator's current role
    /// allows it. A key acts for its creator and never beyond them: a creator suspended, removed or
    /// demoted takes that power with them. `api_keys.verify` asks nothing of the creator, so that a
    /// customer's integration does not break because a staff member left.
    pub fn holds(&self, scope: ManagementScope) -> bool {
        self.key.scopes.contains(scope.as_str())
            && (scope == ManagementScope::ApiKeysVerify || self.key.creator_role.is_some_and(|r| r.may_grant(scope)))
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

    fn may_use(&self, scope: ManagementScope) -> bool {
        self.holds(scope)
    }

    fn role(&self) -> Option<Role> {
        self.key.creator_role
    }

    fn may_grant(&self, scopes: &ScopeSet) -> Result<(), ServiceError> {
        match self.first_beyond(scopes, &|_| true) {
            Some(missing) => Err(ServiceError::MissingScope(missing.as_str())),
            None => Ok(()),
        }
    }

    /// As its creator may in the dashboard: the keys the creator made, or anyone's when the
    /// creator's role manages all keys and this key holds `api_keys.manage_all` (within its reach).
    fn may_change(&self, key: &api_key::Model) -> Result<(), ServiceError> {
        if key.created_by == self.key.created_by || self.holds(ManagementScope::ApiKeysManageAll) {
            Ok(())
        } else {
            Err(ServiceError::MissingScope(ManagementScope::ApiKeysManageAll.as_str()))
        }
    }

    fn audit_actor(&self) -> AuditActor {
        AuditActor {
            user_id: Some(self.key.created_by),
            key_id: Some(self.key.id),
            name: format!("key {}", self.key.name),
        }
    }

    fn client_ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }
}
