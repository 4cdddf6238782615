//! Setup, sign-in and sessions against a real database.

use app::model::{Plan, Role};
use app::ssr::entities::{organization, project, session, user};
use app::ssr::services::auth::SessionPolicy;
use app::ssr::services::{Client, NewSession, auth};
use app::ssr::test_support::{PASSWORD, TestDb, fresh_db, owner_form};
use app::ssr::{ServiceError, crypto};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn setup_creates_the_organization_its_owner_and_a_default_project_once() {
    let t = fresh_db().await;
    assert!(auth::needs_setup(&t.db).await.expect("query"));

    let session =
        auth::set_up(&t.core, owner_form("Acme", " Ada@Acme.test "), &Client::default()).await.expect("set up");
    assert!(!auth::needs_setup(&t.db).await.expect("query"));
    let member = auth::authenticate(&t.core, &session.token).await.expect("signed in");
    assert_eq!(member.organization_name, "Acme");
    assert_eq!(member.email, "ada@acme.test");
    assert_eq!(member.plan, Plan::Free);
    assert_eq!(member.role, Role::Owner);
    let projects = project::Entity::find().all(&t.db).await.expect("projects");
    assert_eq!(projects.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Default"]);

    let again = auth::set_up(&t.core, owner_form("Evil", "eve@evil.test"), &Client::default()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
    assert_eq!(organization::Entity::find().count(&t.db).await.expect("count"), 1);
}

#[tokio::test]
async fn bad_setup_input_names_the_field_and_writes_nothing() {
    let t = fresh_db().await;
    let mut form = owner_form("Acme", "ada@acme.test");
    form.password = "short".into();
    match auth::set_up(&t.core, form, &Client::default()).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, "password"),
        other => panic!("expected a password error, got {other:?}"),
    }
    assert!(auth::needs_setup(&t.db).await.expect("query"));
    assert_eq!(user::Entity::find().count(&t.db).await.expect("count"), 0);
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_and_sessions_as_digests() {
    let t = fresh_db().await;
    let session = auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    let owner = user::Entity::find().one(&t.db).await.expect("query").expect("owner");
    assert!(owner.password_hash.starts_with("$argon2id$"));
    assert!(!owner.password_hash.contains("correct horse battery"));
    let stored = session::Entity::find().one(&t.db).await.expect("query").expect("session");
    assert_eq!(stored.token_digest, hex::encode(Sha256::digest(session.token.as_bytes())));
}

#[tokio::test]
async fn sign_in_accepts_the_right_password_and_refuses_everything_else_alike() {
    let t = fresh_db().await;
    auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");

    let session =
        auth::sign_in(&t.core, "ADA@acme.test", "correct horse battery", &Client::default()).await.expect("signed in");
    assert_eq!(auth::authenticate(&t.core, &session.token).await.expect("member").email, "ada@acme.test");

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
    let session = auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    auth::sign_out(&t.db, &session.token).await.expect("signed out");
    assert!(matches!(auth::authenticate(&t.core, &session.token).await, Err(ServiceError::Unauthenticated)));
    assert!(matches!(auth::authenticate(&t.core, "made-up-token").await, Err(ServiceError::Unauthenticated)));
}

#[tokio::test]
async fn once_set_up_setup_is_refused_before_any_work() {
    let t = fresh_db().await;
    auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    // Even a form that would not pass validation is refused as "already set up": the check comes
    // first, before validation and before the password is hashed.
    let mut hopeless = owner_form("Evil", "eve@evil.test");
    hopeless.password = String::new();
    let again = auth::set_up(&t.core, hopeless, &Client::default()).await;
    assert!(matches!(again, Err(ServiceError::Conflict(_))), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_setups_racing_exactly_one_succeeds() {
    let t = fresh_db().await;
    let attempts = (0..4).map(|i| {
        let core = t.core.clone();
        tokio::spawn(async move {
            auth::set_up(&core, owner_form(&format!("Org {i}"), &format!("owner{i}@race.test")), &Client::default())
                .await
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

/// The stored row of the session with this token, if it is still there.
async fn stored(t: &TestDb, token: &str) -> Option<session::Model> {
    session::Entity::find()
        .filter(session::Column::TokenDigest.eq(crypto::digest(token)))
        .one(&t.db)
        .await
        .expect("query")
}

/// A new session of Ada's, its clock set as if time had passed: opened `opened_ago`, last seen
/// `seen_ago` (`None`: not since sign-in), expiring in `expires_in`.
async fn session_aged(
    t: &TestDb,
    opened_ago: Duration,
    seen_ago: Option<Duration>,
    expires_in: Duration,
) -> NewSession {
    let session = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let now = Utc::now();
    let mut row = stored(t, &session.token).await.expect("session").into_active_model();
    row.created_at = Set(now - opened_ago);
    row.last_seen_at = Set(seen_ago.map(|ago| now - ago));
    row.expires_at = Set(now + expires_in);
    row.update(&t.db).await.expect("aged");
    session
}

const MINUTE: Duration = Duration::minutes(1);

#[tokio::test]
async fn a_session_idle_longer_than_the_timeout_is_refused_and_removed() {
    let t = fresh_db().await;
    auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    let (life, idle) = (t.core.sessions.absolute(), t.core.sessions.idle());

    for (what, seen_ago) in [("last seen too long ago", Some(idle + MINUTE)), ("not seen since sign-in", None)] {
        let session = session_aged(&t, idle + MINUTE, seen_ago, life - idle - MINUTE).await;
        let refused = auth::authenticate(&t.core, &session.token).await;
        assert!(matches!(refused, Err(ServiceError::Unauthenticated)), "{what}: {refused:?}");
        assert!(stored(&t, &session.token).await.is_none(), "{what}: the ended session was kept");
    }
}

#[tokio::test]
async fn a_session_used_within_the_idle_timeout_keeps_working_and_its_idle_clock_restarts() {
    let t = fresh_db().await;
    auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    let (life, idle) = (t.core.sessions.absolute(), t.core.sessions.idle());

    let session = session_aged(&t, idle * 2, Some(idle - MINUTE), life - idle * 2).await;
    auth::authenticate(&t.core, &session.token).await.expect("still signed in");
    let seen = stored(&t, &session.token).await.expect("kept").last_seen_at.expect("seen");
    assert!(Utc::now() - seen < MINUTE, "the request was not recorded as activity: last seen {seen}");
}

#[tokio::test]
async fn the_lifetime_ends_a_session_however_busy() {
    let t = fresh_db().await;
    auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    let life = t.core.sessions.absolute();

    let expired = session_aged(&t, life + MINUTE, Some(Duration::zero()), -MINUTE).await;
    let refused = auth::authenticate(&t.core, &expired.token).await;
    assert!(matches!(refused, Err(ServiceError::Unauthenticated)), "{refused:?}");
    assert!(stored(&t, &expired.token).await.is_none(), "the ended session was kept");

    // A lifetime shortened since sign-in ends the sessions already open longer than it.
    let a_day = SessionPolicy::new(Duration::days(1), Duration::hours(1)).expect("a valid policy");
    let shorter = t.core.clone().with_session_policy(a_day);
    let opened = session_aged(&t, Duration::days(2), Some(Duration::zero()), life - Duration::days(2)).await;
    auth::authenticate(&t.core, &opened.token).await.expect("within the lifetime it was opened with");
    let refused = auth::authenticate(&shorter, &opened.token).await;
    assert!(matches!(refused, Err(ServiceError::Unauthenticated)), "{refused:?}");

    // A new session expires (and its cookie with it) at the end of the lifetime configured.
    let new = auth::sign_in(&shorter, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    assert!((new.expires_at - Utc::now() - Duration::days(1)).abs() < MINUTE, "expires at {}", new.expires_at);
}

#[tokio::test]
async fn the_purge_removes_exactly_the_sessions_that_have_ended() {
    let t = fresh_db().await;
    auth::set_up(&t.core, owner_form("Acme", "ada@acme.test"), &Client::default()).await.expect("set up");
    let policy = t.core.sessions;
    let (life, idle) = (policy.absolute(), policy.idle());

    let live = [
        ("just signed in", session_aged(&t, Duration::zero(), Some(Duration::zero()), life).await),
        ("seen just within the idle timeout", session_aged(&t, idle * 2, Some(idle - MINUTE), life - idle * 2).await),
    ];
    let ended = [
        ("idle too long", session_aged(&t, idle * 2, Some(idle + MINUTE), life - idle * 2).await),
        ("not seen since a sign-in too long ago", session_aged(&t, idle + MINUTE, None, life - idle - MINUTE).await),
        ("past its expiry, though busy", session_aged(&t, life + MINUTE, Some(Duration::zero()), -MINUTE).await),
        // Opened under a longer lifetime than the one now configured.
        ("older than the lifetime", session_aged(&t, life + MINUTE, Some(Duration::zero()), Duration::days(1)).await),
    ];

    let purged = auth::purge_ended_sessions(&t.db, &policy, Utc::now()).await.expect("purged");
    assert_eq!(purged, ended.len() as u64);
    for (what, session) in &ended {
        assert!(stored(&t, &session.token).await.is_none(), "{what}: kept");
    }
    for (what, session) in &live {
        auth::authenticate(&t.core, &session.token).await.unwrap_or_else(|e| panic!("{what}: purged ({e})"));
    }
    // The owner's session from setup is live too.
    assert_eq!(session::Entity::find().count(&t.db).await.expect("count"), live.len() as u64 + 1);
    assert_eq!(auth::purge_ended_sessions(&t.db, &policy, Utc::now()).await.expect("purged"), 0);
}
