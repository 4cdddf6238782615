//! First-run setup, sign-in, sessions.

use super::PasswordWork;
use crate::model::{FieldError, OrganizationChoice, Plan, Role, SessionInfo, SetupForm, normalize_email};
use crate::ssr::entities::{installation, membership, organization, project, session, user};
use crate::ssr::{Core, ServiceError, crypto};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr, TransactionTrait,
};
use std::fmt;
use std::net::IpAddr;
use uuid::Uuid;

/// How long a session lasts without signing in again.
pub const SESSION_TTL: Duration = Duration::days(7);
/// The project every organization starts with.
pub const DEFAULT_PROJECT: &str = "Default";

/// The signed-in person, in the organization their session is for. Every service call is
/// scoped by `organization_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: Uuid,
    pub user_name: String,
    pub email: String,
    pub organization_id: Uuid,
    pub organization_name: String,
    pub plan: Plan,
    pub role: Role,
    /// The session this request came with.
    pub session_id: Uuid,
    /// Where this request came from (set by the edge that serves it), for the audit log.
    pub ip: Option<String>,
}

impl Member {
    /// What the dashboard knows of the signed-in person; `organizations` are those they may switch to.
    pub fn session_info(&self, organizations: Vec<OrganizationChoice>) -> SessionInfo {
        SessionInfo {
            user_id: self.user_id,
            user_name: self.user_name.clone(),
            email: self.email.clone(),
            organization_id: self.organization_id,
            organization: self.organization_name.clone(),
            plan: self.plan,
            role: self.role,
            organizations,
        }
    }
}

/// Where a sign-in comes from, kept with the session so that its owner can recognise it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
}

/// The longest user agent kept (the column's width).
const MAX_USER_AGENT: usize = 256;

/// A session just opened: its token goes into the cookie and nowhere else.
pub struct NewSession {
    pub id: Uuid,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession").field("id", &self.id).field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

/// True until the first organization exists.
pub async fn needs_setup(db: &DatabaseConnection) -> Result<bool, ServiceError> {
    Ok(organization::Entity::find().count(db).await? == 0)
}

/// First run: creates the first organization and its owner, and signs the owner in. Only once.
pub async fn set_up(db: &DatabaseConnection, form: SetupForm, client: &Client) -> Result<NewSession, ServiceError> {
    let already = || ServiceError::Conflict("Keyward is already set up. Please sign in.".into());
    // Before any work: once set up, this is a cheap refusal, however often it is asked.
    if !needs_setup(db).await? {
        return Err(already());
    }
    let form = form.validated()?;
    let password_hash = hash(&form.password).await?;
    let txn = db.begin().await?;
    // The one-row table's primary key lets exactly one setup commit, however many race.
    installation::ActiveModel { id: Set(installation::THE_INSTALLATION), set_up_at: Set(Utc::now()) }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => already(),
            _ => ServiceError::from(e),
        })?;
    let session = insert_organization(&txn, form, password_hash, client).await?;
    txn.commit().await?;
    Ok(session)
}

/// Creates an organization (Free plan, a "Default" project) with a new owner, and signs the owner in.
/// All or nothing.
pub async fn create_organization(
    db: &DatabaseConnection,
    form: SetupForm,
    client: &Client,
) -> Result<NewSession, ServiceError> {
    let form = form.validated()?;
    let password_hash = hash(&form.password).await?;
    let txn = db.begin().await?;
    let session = insert_organization(&txn, form, password_hash, client).await?;
    txn.commit().await?;
    Ok(session)
}

pub(crate) async fn hash(password: &str) -> Result<String, ServiceError> {
    let password = password.to_owned();
    PasswordWork::process()
        .run(move || crypto::hash_password(&password))
        .await?
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

async fn insert_organization(
    txn: &DatabaseTransaction,
    form: SetupForm,
    password_hash: String,
    client: &Client,
) -> Result<NewSession, ServiceError> {
    let owner = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(form.email),
        name: Set(form.name),
        password_hash: Set(password_hash),
        created_at: Set(Utc::now()),
    }
    .insert(txn)
    .await
    .map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => FieldError::new("email", "is already registered").into(),
        _ => ServiceError::from(e),
    })?;
    let org = found_organization(txn, form.organization, owner.id).await?;
    let session = open_session(txn, owner.id, org.id, client).await?;
    tracing::info!(organization = %org.id, user = %owner.id, "organization created");
    Ok(session)
}

/// A new organization (Free plan, a "Default" project) owned by an existing account. Part of the
/// caller's transaction.
pub(crate) async fn found_organization(
    txn: &DatabaseTransaction,
    name: String,
    owner_id: Uuid,
) -> Result<organization::Model, ServiceError> {
    let now = Utc::now();
    let org = organization::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        plan: Set(Plan::Free),
        keys_created_total: Set(0),
        created_at: Set(now),
    }
    .insert(txn)
    .await?;
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        user_id: Set(owner_id),
        role: Set(Role::Owner),
        created_at: Set(now),
        suspended_at: Set(None),
        last_active_at: Set(Some(now)),
    }
    .insert(txn)
    .await?;
    project::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(org.id),
        name: Set(DEFAULT_PROJECT.to_owned()),
        created_at: Set(now),
        archived_at: Set(None),
    }
    .insert(txn)
    .await?;
    Ok(org)
}

/// Checks an email and password and opens a session in the person's first organization.
/// Every failure is the same `InvalidCredentials`, and takes about as long; too many wrong passwords
/// for the account, or attempts from the address, are refused before the password is looked at.
pub async fn sign_in(core: &Core, email: &str, password: &str, client: &Client) -> Result<NewSession, ServiceError> {
    let db = &core.db;
    let email = normalize_email(email).unwrap_or_default();
    core.sign_in.attempt(&email, client.ip)?;
    let account = user::Entity::find().filter(user::Column::Email.eq(&email)).one(db).await?;
    let Some(account) = check_password(account, password).await? else {
        return Err(ServiceError::InvalidCredentials);
    };
    core.sign_in.succeeded(&email);

    let membership = membership::Entity::find()
        .filter(membership::Column::UserId.eq(account.id))
        .filter(membership::Column::SuspendedAt.is_null())
        .order_by_asc(membership::Column::CreatedAt)
        .one(db)
        .await?
        .ok_or(ServiceError::InvalidCredentials)?;
    let session = open_session(db, account.id, membership.organization_id, client).await?;
    tracing::info!(user = %account.id, "signed in");
    Ok(session)
}

/// The account, if `password` is its password. With no account, a decoy hash is checked all the
/// same, so that the answer takes as long either way.
pub(crate) async fn check_password(
    account: Option<user::Model>,
    password: &str,
) -> Result<Option<user::Model>, ServiceError> {
    let stored = account.as_ref().map(|u| u.password_hash.clone());
    let password = password.to_owned();
    let matches = PasswordWork::process()
        .run(move || {
            // No account: a decoy hash is checked all the same, so the answer takes as long.
            match &stored {
                Some(hash) => crypto::verify_password(&password, hash),
                None => crypto::verify_password(&password, crypto::decoy_password_hash()),
            }
        })
        .await?;
    Ok(account.filter(|_| matches))
}

pub(crate) async fn open_session(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    organization_id: Uuid,
    client: &Client,
) -> Result<NewSession, ServiceError> {
    let token = crypto::session_token().map_err(|e| ServiceError::Internal(e.to_string()))?;
    let now = Utc::now();
    let expires_at = now + SESSION_TTL;
    let id = Uuid::now_v7();
    session::ActiveModel {
        id: Set(id),
        token_digest: Set(crypto::digest(&token)),
        user_id: Set(user_id),
        organization_id: Set(organization_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        ip: Set(client.ip.map(|ip| ip.to_string())),
        user_agent: Set(client.user_agent.as_deref().map(|ua| ua.chars().take(MAX_USER_AGENT).collect())),
        last_seen_at: Set(Some(now)),
    }
    .insert(db)
    .await?;
    Ok(NewSession { id, token, expires_at })
}

/// Gives a session a new token (the old one stops working at once), keeping its expiry.
pub(crate) async fn renew_session_token(
    db: &impl ConnectionTrait,
    session_id: Uuid,
) -> Result<NewSession, ServiceError> {
    let row = session::Entity::find_by_id(session_id).one(db).await?.ok_or(ServiceError::Unauthenticated)?;
    let token = crypto::session_token().map_err(|e| ServiceError::Internal(e.to_string()))?;
    let expires_at = row.expires_at;
    let mut renewed = row.into_active_model();
    renewed.token_digest = Set(crypto::digest(&token));
    renewed.update(db).await?;
    Ok(NewSession { id: session_id, token, expires_at })
}

/// Ends the session whose token this is (if any).
pub async fn sign_out(db: &DatabaseConnection, token: &str) -> Result<(), ServiceError> {
    session::Entity::delete_many().filter(session::Column::TokenDigest.eq(crypto::digest(token))).exec(db).await?;
    Ok(())
}

/// How stale "last active" may be: one write per member per interval, not one per request.
const ACTIVITY_RESOLUTION: Duration = Duration::minutes(5);

/// "Last active" for the member list and "last seen" for the sessions list.
async fn note_activity(
    db: &DatabaseConnection,
    session: &session::Model,
    membership: &membership::Model,
) -> Result<(), ServiceError> {
    use sea_orm::sea_query::Expr;
    let now = Utc::now();
    let stale = |at: Option<DateTime<Utc>>| at.is_none_or(|at| now - at >= ACTIVITY_RESOLUTION);
    if stale(membership.last_active_at) {
        membership::Entity::update_many()
            .col_expr(membership::Column::LastActiveAt, Expr::value(now))
            .filter(membership::Column::Id.eq(membership.id))
            .exec(db)
            .await?;
    }
    if stale(session.last_seen_at) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(session.id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The member a session token stands for. Looked up by digest: the token is never stored.
pub async fn authenticate(db: &DatabaseConnection, token: &str) -> Result<Member, ServiceError> {
    let session = session::Entity::find()
        .filter(session::Column::TokenDigest.eq(crypto::digest(token)))
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    if session.expires_at <= Utc::now() {
        session::Entity::delete_by_id(session.id).exec(db).await?;
        return Err(ServiceError::Unauthenticated);
    }
    let account = user::Entity::find_by_id(session.user_id).one(db).await?.ok_or(ServiceError::Unauthenticated)?;
    let org = organization::Entity::find_by_id(session.organization_id)
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    let membership = membership::Entity::find()
        .filter(membership::Column::UserId.eq(account.id))
        .filter(membership::Column::OrganizationId.eq(org.id))
        .one(db)
        .await?
        .filter(|m| m.suspended_at.is_none())
        .ok_or(ServiceError::Unauthenticated)?;
    note_activity(db, &session, &membership).await?;
    Ok(Member {
        user_id: account.id,
        user_name: account.name,
        email: account.email,
        organization_id: org.id,
        organization_name: org.name,
        plan: org.plan,
        role: membership.role,
        session_id: session.id,
        ip: None,
    })
}
