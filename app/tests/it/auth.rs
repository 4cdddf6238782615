//! Setup, sign-in and sessions against a real database.

use app::model::{Plan, Role};
use app::ssr::ServiceError;
use app::ssr::entities::{organization, project, session, user};
use app::ssr::services::{Client, auth};
use app::ssr::test_support::{fresh_db, owner_form};
use sea_orm::{EntityTrait, PaginatorTrait};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn setup_creates_the_organization_its_owner_and_a_default_project_once() {
    let t = fresh_db().await;
    assert!(auth::needs_setup(&t.db).await.expect("query"));

    let session = auth::set_up(&t.db, owner_form("Acme", " Ada@Acme.test "), &Client::default()).await.expect("set up");
    assert!(!auth::needs_setup(&t.db).await.expect("query"));
    let member = auth::authenticate(&t.db, &session.token).await.expect("signed in");
    assert_eq!(member.organization_name, "Acme");
    assert_eq!(member.email, "ada@acme.test");
    assert_eq!(member.plan, Plan::Free);
    assert_eq!(member.role, Role::Owner);
    let projects = project::Entity::find().all(&t.db).await.expect("projects");
    assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Default"]);

    let again = auth::set_up(&t.db, owner_form("Evil", "eve@evil.test"), &Client::default()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    assert_eq!(organization::Entity::find().count(&t.db).await.expect("count"), 1);
}

#[tokio::test]
async fn bad_setup_input_names_the_field_and_writes_nothing() {
    let t = fresh_db().await;
    let mut form = owner_form("Acme", "ada@acme.test");
    form.password = "short".into();
    match auth::set_up(&t.db, form, &Client::default()).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.field, "password"),
        other => panic!("expected a password error, got {other:?}"),
    }
    assert!(auth::needs_setup(&t.db).await.expect("query"));
    assert_eq!(user::Entity::find().count(&t.db).await.expect("count"), 0);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_and_sessions_as_digests() {
    let t = fresh_db().await;
    let session = auth::set_up(&t.db, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    let owner = user::Entity::find().one(&t.db).await.expect("query").expect("owner");
    assert!(owner.password_hash.starts_with("$argon2id$"));
    assert!(!owner.password_hash.contains("correct horse battery"));
    let stored = session::Entity::find().one(&t.db).await.expect("query").expect("session");
    assert_eq!(stored.token_digest, hex::encode(Sha256::digest(session.token.as_bytes())));
}

#[tokio::test]
async fn sign_in_accepts_the_right_password_and_refuses_everything_else_alike() {
    let t = fresh_db().await;
    auth::set_up(&t.db, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");

    let session =
        auth::sign_in(&t.core, "ADA@acme.test", "correct horse battery", &Client::default()).await.expect("signed in");
    assert_eq!(auth::authenticate(&t.db, &session.token).await.expect("member").email, "ada@acme.test");

    for (email, password) in
        [("ada@acme.test", "wrong password!"), ("nobody@acme.test", "correct horse battery"), ("not an email", "x")]
    {
        let refused = auth::sign_in(&t.core, email, password, &Client::default()).await;
        assert!(matches!(refused, Err(ServiceError::InvalidCredentials)), "{email}: {refused:?}");
    }
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let t = fresh_db().await;
    let session = auth::set_up(&t.db, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    auth::sign_out(&t.db, &session.token).await.expect("signed out");
    assert!(matches!(auth::authenticate(&t.db, &session.token).await, Err(ServiceError::Unauthenticated)));
    assert!(matches!(auth::authenticate(&t.db, "made-up-token").await, Err(ServiceError::Unauthenticated)));
}

#[tokio::test]
async fn once_set_up_setup_is_refused_before_any_work() {
    let t = fresh_db().await;
    auth::set_up(&t.db, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    // Even a form that would not pass validation is refused as "already set up": the check comes
    // first, before validation and before the password is hashed.
    let mut hopeless = owner_form("Evil", "eve@evil.test");
    hopeless.password = String::new();
    let again = auth::set_up(&t.db, hopeless, &Client::default()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_setups_racing_exactly_one_succeeds() {
    let t = fresh_db().await;
    let attempts = (0..4).map(|i| {
        let db = t.db.clone();
        tokio::spawn(async move {
            auth::set_up(&db, owner_form(&format!("Org {i}"), &format!("owner{i}@race.test")), &Client::default()).await
        })
    });
    let mut succeeded = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.expect("task") {
            Ok(_) => succeeded += 1,
            Err(ServiceError::Conflict(_)) => {}
            Err(other) => panic!("a racing setup failed otherwise: {other:?}"),
        }
    }
    assert_eq!(succeeded, 1);
    assert_eq!(organization::Entity::find().count(&t.db).await.expect("count"), 1);
    assert_eq!(user::Entity::find().count(&t.db).await.expect("count"), 1);
}
