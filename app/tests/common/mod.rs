//! A fresh database per test: a SQLite file in its own temporary folder, every migration applied.
//! With `KEYWARD_TEST_DATABASE_URL=postgres://...` set, a fresh PostgreSQL database per test instead.

#![allow(dead_code)]

use app::model::{Environment, Project, SetupForm};
use app::ssr::services::{Client, Member, auth, projects};
use app::ssr::{Core, db};
use sea_orm::DatabaseConnection;

pub struct TestDb {
    pub db: DatabaseConnection,
    /// The same database, with the in-memory key state the key services work on.
    pub core: Core,
    _dir: tempfile::TempDir,
}

pub async fn fresh_db() -> TestDb {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = match std::env::var("KEYWARD_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => fresh_postgres(&server).await,
        _ => format!("sqlite://{}/keyward.db", dir.path().display()),
    };
    let db = db::connect_and_migrate(&url).await.expect("database with migrations");
    TestDb { core: Core::new(db.clone()), db, _dir: dir }
}

async fn fresh_postgres(server: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
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
        password: "correct horse battery".to_owned(),
    }
}

/// An organization and its signed-in owner.
pub async fn organization(db: &DatabaseConnection, org: &str, email: &str) -> Member {
    let session =
        auth::create_organization(db, owner_form(org, email), &Client::default()).await.expect("organization created");
    auth::authenticate(db, &session.token).await.expect("owner signed in")
}

pub async fn default_project(db: &DatabaseConnection, member: &Member) -> Project {
    projects::list(db, member).await.expect("projects").into_iter().next().expect("a Default project")
}

pub async fn page(core: &Core, member: &Member) -> Vec<app::model::ApiKey> {
    app::ssr::services::keys::list(core, member, &app::model::KeyQuery::default()).await.expect("list").keys
}

pub fn new_key(name: &str, project: &Project) -> app::model::NewKey {
    app::model::NewKey {
        name: name.to_owned(),
        description: None,
        project_id: project.id,
        environment: Environment::Production,
        scopes: vec!["api_keys.read".to_owned()],
        expiration: app::model::Expiration::Never,
        rate_limit: None,
    }
}

/// A second person in `owner`'s organization with `role`, signed in as they would be. (Until
/// invitations exist, the rows are written directly.)
pub async fn member(db: &DatabaseConnection, owner: &Member, role: app::model::Role, name: &str) -> Member {
    use app::ssr::entities::{membership, user};
    use sea_orm::{ActiveModelTrait, Set};
    let now = chrono::Utc::now();
    let email = format!("{}@{}.test", name.to_lowercase(), owner.organization_name.to_lowercase());
    let person = user::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        email: Set(email.clone()),
        name: Set(name.to_owned()),
        password_hash: Set(app::ssr::crypto::hash_password("correct horse battery").expect("hash")),
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
    let session = auth::sign_in(&Core::new(db.clone()), &email, "correct horse battery", &Client::default())
        .await
        .expect("signed in");
    auth::authenticate(db, &session.token).await.expect("member")
}
