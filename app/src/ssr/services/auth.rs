//! First-run setup, sign-in, sessions.

use super::PasswordWork;
use crate::model::{FieldError, LeakPolicy, OrganizationChoice, Plan, Role, SessionInfo, SetupForm, normalize_email};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{installation, membership, organization, project, session, user};
use crate::ssr::{Core, ServiceError, crypto};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, SqlErr,
};
use std::fmt;
use std::net::IpAddr;
use uuid::Uuid;

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

/// How long a session may be used: until `absolute` after sign-in however busy it is, and until
/// `idle` after its last request. The operator sets both (`KEYWARD_SESSION_LIFETIME`,
/// `KEYWARD_SESSION_IDLE_TIMEOUT`); `new` is the one place they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    absolute: Duration,
    idle: Duration,
}

/// Why a session policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionPolicyError {
    #[error("the session lifetime must be longer than zero")]
    NoLifetime,
    #[error("the session lifetime must be at most {} days", SessionPolicy::MAX_LIFETIME.num_days())]
    LifetimeTooLong,
    /// Activity is recorded every `ACTIVITY_RESOLUTION`, so the last recorded request may be that
    /// much older than the real one: a timeout near the resolution would end sessions in use.
    #[error("the idle timeout must be at least {} minutes", SessionPolicy::MIN_IDLE_TIMEOUT.num_minutes())]
    IdleTooShort,
    #[error("the idle timeout must not be longer than the session lifetime")]
    IdleBeyondLifetime,
}

/// The moments a session's end is decided by.
#[derive(Debug, Clone, Copy)]
struct SessionTimes {
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
}

impl SessionPolicy {
    /// A week: the lifetime sessions always had, so that an upgrade signs no one out sooner.
    pub const DEFAULT_LIFETIME: Duration = Duration::days(7);
    /// Half a day: a working day of coming and going keeps its session, a session left overnight or
    /// on a forgotten machine ends. Stricter deployments set e.g. 12h and 30m (NIST SP 800-63B AAL2).
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::hours(12);
    /// Twice `ACTIVITY_RESOLUTION`: a session used at least every five minutes is never ended for
    /// idleness, although its recorded activity lags by up to five.
    pub const MIN_IDLE_TIMEOUT: Duration = Duration::minutes(10);
    /// A year; also keeps `now + lifetime` far from the end of the calendar.
    pub const MAX_LIFETIME: Duration = Duration::days(365);

    pub fn new(absolute: Duration, idle: Duration) -> Result<Self, SessionPolicyError> {
        if absolute <= Duration::zero() {
            return Err(SessionPolicyError::NoLifetime);
        }
        if absolute > Self::MAX_LIFETIME {
            return Err(SessionPolicyError::LifetimeTooLong);
        }
        if idle < Self::MIN_IDLE_TIMEOUT {
            return Err(SessionPolicyError::IdleTooShort);
        }
        if idle > absolute {
            return Err(SessionPolicyError::IdleBeyondLifetime);
        }
        Ok(Self { absolute, idle })
    }

    pub fn absolute(&self) -> Duration {
        self.absolute
    }

    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// True once the session may no longer be used. Its own `expires_at` counts, and so does the
    /// lifetime now configured: shortening it shortens the sessions already open.
    fn has_ended(&self, session: &SessionTimes, now: DateTime<Utc>) -> bool {
        // The last recorded request, which may be up to `ACTIVITY_RESOLUTION` older than the real
        // one: the session ends that much early at worst, never late.
        let last_active = session.last_seen_at.unwrap_or(session.created_at);
        session.expires_at <= now || session.created_at <= now - self.absolute || last_active <= now - self.idle
    }

    /// `has_ended`, as a condition on the sessions table.
    fn ended(&self, now: DateTime<Utc>) -> Condition {
        let idle_since = now - self.idle;
        Condition::any()
            .add(session::Column::ExpiresAt.lte(now))
            .add(session::Column::CreatedAt.lte(now - self.absolute))
            .add(session::Column::LastSeenAt.lte(idle_since))
            .add(
                Condition::all()
                    .add(session::Column::LastSeenAt.is_null())
                    .add(session::Column::CreatedAt.lte(idle_since)),
            )
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { absolute: Self::DEFAULT_LIFETIME, idle: Self::DEFAULT_IDLE_TIMEOUT }
    }
}

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
pub async fn set_up(core: &Core, form: SetupForm, client: &Client) -> Result<NewSession, ServiceError> {
    let db = &core.db;
    let already = || ServiceError::Conflict("Keyward is already set up. Please sign in.".into());
    // Before any work: once set up, this is a cheap refusal, however often it is asked.
    if !needs_setup(db).await? {
        return Err(already());
    }
    let form = form.validated()?;
    let password_hash = hash(&form.password).await?;
    let txn = begin_write(db).await?;
    // The one-row table's primary key lets exactly one setup commit, however many race.
    installation::ActiveModel { id: Set(installation::THE_INSTALLATION), set_up_at: Set(Utc::now()) }
        .insert(&txn)
        .await
        .map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => already(),
            _ => ServiceError::from(e),
        })?;
    let session = insert_organization(&txn, &core.sessions, form, password_hash, client).await?;
    txn.commit().await?;
    Ok(session)
}

/// Creates an organization (Free plan, a "Default" project) with a new owner, and signs the owner in.
/// All or nothing.
pub async fn register_organization(core: &Core, form: SetupForm, client: &Client) -> Result<NewSession, ServiceError> {
    let form = form.validated()?;
    let password_hash = hash(&form.password).await?;
    let txn = begin_write(&core.db).await?;
    let session = insert_organization(&txn, &core.sessions, form, password_hash, client).await?;
    txn.commit().await?;
    Ok(session)
}

pub(crate) async fn hash(password: &str) -> Result<String, ServiceError> {
    let password = password.to_owned();
    PasswordWork::process()
        .run(move || crypto::hash_password(&password))
        .await?
        .map_err(|e| ServiceError::Internal(e.into()))
}

async fn insert_organization(
    txn: &DatabaseTransaction,
    policy: &SessionPolicy,
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
    let session = open_session(txn, policy, owner.id, org.id, client).await?;
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
        keys_stored: Set(0),
        created_at: Set(now),
        leak_policy: Set(LeakPolicy::default()),
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
    let session = open_session(db, &core.sessions, account.id, membership.organization_id, client).await?;
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
    policy: &SessionPolicy,
    user_id: Uuid,
    organization_id: Uuid,
    client: &Client,
) -> Result<NewSession, ServiceError> {
    let token = crypto::session_token();
    let now = Utc::now();
    let expires_at = now + policy.absolute;
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
    let token = crypto::session_token();
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

/// Deletes every session that has ended by time (past its lifetime, or idle too long) as of `now`,
/// and answers how many. Such a session is refused anyway; this keeps the ones never presented
/// again from staying in the table, and off the person's list of sessions.
pub async fn purge_ended_sessions(
    db: &DatabaseConnection,
    policy: &SessionPolicy,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    Ok(session::Entity::delete_many().filter(policy.ended(now)).exec(db).await?.rows_affected)
}

/// How stale "last active" may be: one write per member per interval, not one per request.
const ACTIVITY_RESOLUTION: Duration = Duration::minutes(5);
// The idle check reads activity recorded this coarsely: see `SessionPolicy::MIN_IDLE_TIMEOUT`.
const _: () = assert!(SessionPolicy::MIN_IDLE_TIMEOUT.num_seconds() >= 2 * ACTIVITY_RESOLUTION.num_seconds());

/// "Last active" for the member list and "last seen" for the sessions list.
async fn note_activity(db: &DatabaseConnection, row: &SignedInRow, now: DateTime<Utc>) -> Result<(), ServiceError> {
    use sea_orm::sea_query::Expr;
    let stale = |at: Option<DateTime<Utc>>| at.is_none_or(|at| now - at >= ACTIVITY_RESOLUTION);
    if stale(row.last_active_at) {
        membership::Entity::update_many()
            .col_expr(membership::Column::LastActiveAt, Expr::value(now))
            .filter(membership::Column::Id.eq(row.membership_id))
            .exec(db)
            .await?;
    }
    if stale(row.last_seen_at) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::Id.eq(row.session_id))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// A session with its person, organization and membership: what a request's sign-in reads.
#[derive(Debug, FromQueryResult)]
struct SignedInRow {
    session_id: Uuid,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen_at: Option<DateTime<Utc>>,
    user_id: Uuid,
    user_name: String,
    email: String,
    organization_id: Uuid,
    organization_name: String,
    plan: Plan,
    membership_id: Uuid,
    role: Role,
    suspended_at: Option<DateTime<Utc>>,
    last_active_at: Option<DateTime<Utc>>,
}

/// The member a session token stands for, read in one joined query. Looked up by digest: the token
/// is never stored. A session past its lifetime or idle too long is refused, and deleted at once.
pub async fn authenticate(core: &Core, token: &str) -> Result<Member, ServiceError> {
    use sea_orm::{JoinType, QuerySelect, RelationTrait};
    let db = &core.db;
    let row = session::Entity::find()
        .select_only()
        .column_as(session::Column::Id, "session_id")
        .columns([session::Column::CreatedAt, session::Column::ExpiresAt, session::Column::LastSeenAt])
        .column_as(user::Column::Id, "user_id")
        .column_as(user::Column::Name, "user_name")
        .column(user::Column::Email)
        .column_as(organization::Column::Id, "organization_id")
        .column_as(organization::Column::Name, "organization_name")
        .column(organization::Column::Plan)
        .column_as(membership::Column::Id, "membership_id")
        .columns([membership::Column::Role, membership::Column::SuspendedAt, membership::Column::LastActiveAt])
        .join(JoinType::InnerJoin, session::Relation::User.def())
        .join(JoinType::InnerJoin, session::Relation::Organization.def())
        .join(JoinType::InnerJoin, session::Relation::Membership.def())
        .filter(session::Column::TokenDigest.eq(crypto::digest(token)))
        .into_model::<SignedInRow>()
        .one(db)
        .await?
        .ok_or(ServiceError::Unauthenticated)?;
    let now = Utc::now();
    let session =
        SessionTimes { created_at: row.created_at, expires_at: row.expires_at, last_seen_at: row.last_seen_at };
    if core.sessions.has_ended(&session, now) {
        session::Entity::delete_by_id(row.session_id).exec(db).await?;
        return Err(ServiceError::Unauthenticated);
    }
    if row.suspended_at.is_some() {
        return Err(ServiceError::Unauthenticated);
    }
    note_activity(db, &row, now).await?;
    Ok(Member {
        user_id: row.user_id,
        user_name: row.user_name,
        email: row.email,
        organization_id: row.organization_id,
        organization_name: row.organization_name,
        plan: row.plan,
        role: row.role,
        session_id: row.session_id,
        ip: None,
    })
}
