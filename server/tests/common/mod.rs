//! Fixtures shared by the server's integration tests: a fresh database, an organization with its
//! owner, and keys.

#![allow(dead_code)] // Each test binary uses its own share of these.

use app::model::{Environment, Expiration, NewKey, Project, SetupForm};
use app::ssr::Core;
use app::ssr::services::{Client, Member, auth};
use uuid::Uuid;

/// The database a test runs on: a fresh PostgreSQL database when KEYWARD_TEST_DATABASE_URL names a
/// server, else a SQLite file in `dir`.
pub async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("KEYWARD_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => fresh_postgres(&server).await,
        _ => format!("sqlite://{}/keyward.db", dir.display()),
    }
}

pub async fn fresh_postgres(server: &str) -> String {
    use sea_orm::{ConnectionTrait, Database};
    let name = format!("keyward_test_{}", Uuid::now_v7().simple());
    let admin = Database::connect(server).await.expect("PostgreSQL reachable");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    format!("{base}/{name}")
}

pub async fn member(core: &Core, org: &str, email: &str) -> Member {
    let form = SetupForm {
        organization: org.into(),
        name: format!("Owner of {org}"),
        email: email.into(),
        password: "correct horse battery".into(),
    };
    let session = auth::create_organization(&core.db, form, &Client::default()).await.expect("organization");
    auth::authenticate(&core.db, &session.token).await.expect("signed in")
}

pub fn new_key(name: &str, project: &Project, scopes: Vec<String>) -> NewKey {
    NewKey {
        name: name.into(),
        description: None,
        project_id: project.id,
        environment: Environment::Production,
        scopes,
        expiration: Expiration::Never,
        rate_limit: None,
    }
}

pub fn scopes(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
