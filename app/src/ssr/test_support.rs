//! Fixtures for the integration tests and benchmarks of `app` and `keyward` (the `test-support`
//! feature, never in a release build): a fresh database per test, organizations with their owners,
//! members, projects and keys.
//!
//! A test runs on SQLite in its own temporary folder, or, with
//! `KEYWARD_TEST_DATABASE_URL=postgres://...`, on a fresh PostgreSQL database of that server.

use crate::model::{ApiKey, Environment, Expiration, KeyQuery, NewKey, Project, Role, SetupForm};
use crate::ssr::entities::{membership, user};
use crate::ssr::services::{Client, Member, auth, keys, projects};
use crate::ssr::{Core, crypto, db};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, DatabaseConnection, Set};
use std::path::Path;

/// The password every fixture person signs in with.
pub const PASSWORD: &str = "correct horse battery";

pub struct TestDb {
    pub db: DatabaseConnection,
    /// The same database, with the in-memory key state the key services work on.
    pub core: Core,
    _dir: tempfile::TempDir,
}

/// A fresh, migrated database for one test.
pub async fn fresh_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let db = db::connect_and_migrate(&url).await.expect("database with migrations");
    TestDb { core: Core::new(db.clone()), db, _dir: dir }
}

/// The URL of a fresh database: a new PostgreSQL database when `KEYWARD_TEST_DATABASE_URL` names a
/// server, else a SQLite file in `dir`.
pub async fn fresh_database_url(dir: &Path) -> String {
    match postgres_server() {
        Some(server) => fresh_postgres(&server).await,
        None => format!("sqlite://{}/keyward.db", dir.display()),
    }
}

/// The PostgreSQL server named by `KEYWARD_TEST_DATABASE_URL`, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("KEYWARD_TEST_DATABASE_URL").ok().filter(|url| url.starts_with("postgres"))
}

/// For a test marked `#[ignore = "needs PostgreSQL"]`: the server it needs. Run with
/// `--include-ignored` and no server configured, it fails and says why, rather than passing.
pub fn required_postgres() -> String {
    postgres_server().expect("this test needs KEYWARD_TEST_DATABASE_URL=postgres://... (PostgreSQL)")
}

/// For a test marked `#[ignore = "needs Redis"]`: the server it needs, as `required_postgres`.
pub fn required_redis() -> String {
    std::env::var("KEYWARD_TEST_REDIS_URL").expect("this test needs KEYWARD_TEST_REDIS_URL=redis://... (Redis)")
}

/// Creates a new database on `server` and answers its URL.
pub async fn fresh_postgres(server: &str) -> String {
    let name = format!("keyward_test_{}", uuid::Uuid::now_v7().simple());
    let admin = Database::connect(server).await.expect("PostgreSQL reachable");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    format!("{base}/{name}")
}

pub fn owner_form(org: &str, email: &str) -> SetupForm {
    SetupForm {
        organization: org.to_owned(),
        name: format!("Owner of {org}"),
        email: email.to_owned(),
        password: PASSWORD.to_owned(),
    }
}

/// A new organization (Free plan, a Default project) and its signed-in owner.
pub async fn organization(db: &DatabaseConnection, org: &str, email: &str) -> Member {
    let core = Core::new(db.clone());
    let session = auth::register_organization(&core, owner_form(org, email), &Client::default())
        .await
        .expect("organization created");
    auth::authenticate(&core, &session.token).await.expect("owner signed in")
}

/// A second person in `owner`'s organization with `role`, signed in as they would be. The rows are
/// written directly: the invitation flow has tests of its own.
pub async fn member(db: &DatabaseConnection, owner: &Member, role: Role, name: &str) -> Member {
    let now = chrono::Utc::now();
    let email = format!("{}@{}.test", name.to_lowercase(), owner.organization_name.to_lowercase());
    let person = user::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.clone()),
        name: Set(name.to_owned()),
        password_hash: Set(crypto::hash_password(PASSWORD).expect("hash")),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .expect("user");
    membership::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        organization_id: Set(owner.organization_id),
        user_id: Set(person.id),
        role: Set(role),
        created_at: Set(now),
        suspended_at: Set(None),
        last_active_at: Set(None),
    }
    .insert(db)
    .await
    .expect("membership");
    let core = Core::new(db.clone());
    let session = auth::sign_in(&core, &email, PASSWORD, &Client::default()).await.expect("signed in");
    auth::authenticate(&core, &session.token).await.expect("member")
}

pub async fn default_project(db: &DatabaseConnection, member: &Member) -> Project {
    projects::list(db, member).await.expect("projects").into_iter().next().expect("a Default project")
}

/// The first page of the keys list, as `member` sees it.
pub async fn page(core: &Core, member: &Member) -> Vec<ApiKey> {
    keys::list(core, member, &KeyQuery::default()).await.expect("list").keys
}

/// A production key that never expires, with `api_keys.read`.
pub fn new_key(name: &str, project: &Project) -> NewKey {
    scoped_key(name, project, scopes(&["api_keys.read"]))
}

/// A production key that never expires, with `scopes`.
pub fn scoped_key(name: &str, project: &Project, scopes: Vec<String>) -> NewKey {
    NewKey {
        name: name.to_owned(),
        description: None,
        project_id: project.id,
        environment: Environment::Production,
        scopes,
        expiration: Expiration::Never,
        rate_limit: None,
        credits: None,
        ip_allowlist: Vec::new(),
        external_id: None,
        meta: None,
        decoy: false,
    }
}

pub fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
