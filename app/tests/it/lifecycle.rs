//! Every transition of a key's life, and every refusal, against a real database.

use app::model::{
    Environment, Expiration, KeyQuery, KeySort, KeyStatus, Plan, RateLimit, RateWindow, Role, RotationGrace,
};
use app::ssr::entities::{api_key, key_rotation};
use app::ssr::services::{Member, keys, organizations};
use app::ssr::test_support::{default_project, fresh_db, new_key, organization, page};
use app::ssr::{Core, ServiceError};
use chrono::{Duration, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait, Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

async fn row(db: &DatabaseConnection, id: Uuid) -> api_key::Model {
    api_key::Entity::find_by_id(id).one(db).await.expect("query").expect("row")
}

async fn expire(db: &DatabaseConnection, id: Uuid) {
    let mut key = row(db, id).await.into_active_model();
    key.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
    key.update(db).await.expect("expired");
}

fn conflict<T: std::fmt::Debug>(result: Result<T, ServiceError>) {
    assert!(matches!(result, Err(ServiceError::Conflict(_))), "expected a refusal, got {result:?}");
}

async fn enterprise(core: &Core) -> Member {
    let owner = organization(&core.db, "Acme", "ada@acme.test").await;
    organizations::change_plan(core, &owner, Plan::Enterprise).await.expect("upgraded");
    Member { plan: Plan::Enterprise, ..owner }
}

#[tokio::test]
async fn disable_and_enable_are_reversible_but_an_expired_key_stays_off() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created").key;

    assert_eq!(keys::disable(&t.core, &owner, key.id).await.expect("disabled").status, KeyStatus::Disabled);
    conflict(keys::disable(&t.core, &owner, key.id).await);
    assert_eq!(keys::enable(&t.core, &owner, key.id).await.expect("enabled").status, KeyStatus::Active);
    conflict(keys::enable(&t.core, &owner, key.id).await);

    keys::disable(&t.core, &owner, key.id).await.expect("disabled");
    expire(&t.db, key.id).await;
    conflict(keys::enable(&t.core, &owner, key.id).await);
    assert_eq!(row(&t.db, key.id).await.status, KeyStatus::Disabled);
    assert_eq!(page(&t.core, &owner).await[0].status, KeyStatus::Expired);
}

#[tokio::test]
async fn a_revoked_key_refuses_every_other_change() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created").key;
    keys::revoke(&t.core, &owner, key.id).await.expect("revoked");
    let before = row(&t.db, key.id).await;

    conflict(keys::disable(&t.core, &owner, key.id).await);
    conflict(keys::enable(&t.core, &owner, key.id).await);
    conflict(keys::rotate(&t.core, &owner, key.id, RotationGrace::None).await);
    conflict(keys::update_scopes(&t.core, &owner, key.id, &["a.read".to_owned()]).await);
    conflict(keys::update_rate_limit(&t.core, &owner, key.id, None).await);
    assert_eq!(row(&t.db, key.id).await, before);
}

#[tokio::test]
async fn rotation_replaces_the_secret_and_records_it() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let created = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created");
    let old_digest = hex::encode(Sha256::digest(created.token.as_bytes()));

    let rotated = keys::rotate(&t.core, &owner, created.key.id, RotationGrace::None).await.expect("rotated");
    assert_ne!(rotated.token, created.token);
    assert!(rotated.token.starts_with("kw_live_"));
    assert_eq!((rotated.key.id, rotated.key.name.as_str()), (created.key.id, "k"));
    assert_eq!(rotated.key.scopes, created.key.scopes);
    let stored = row(&t.db, created.key.id).await;
    assert_eq!(stored.digest, hex::encode(Sha256::digest(rotated.token.as_bytes())));
    assert_eq!(stored.previous_digest, None, "without grace the old secret stops at once");

    let with_grace = keys::rotate(&t.core, &owner, created.key.id, RotationGrace::OneDay).await.expect("rotated");
    let stored = row(&t.db, created.key.id).await;
    assert_eq!(stored.previous_digest, Some(hex::encode(Sha256::digest(rotated.token.as_bytes()))));
    assert_ne!(stored.previous_digest, Some(old_digest));
    let until = stored.previous_valid_until.expect("grace end");
    assert!((until - (Utc::now() + Duration::hours(24))).num_seconds().abs() < 60);
    let shown = with_grace.key.previous_valid_until.expect("the grace period is shown");
    assert!((shown - until).num_seconds().abs() < 1);

    let details = keys::details(&t.core, &owner, created.key.id).await.expect("details");
    assert_eq!(details.rotations.len(), 2);
    assert_eq!(details.rotations[0].new_prefix, with_grace.key.prefix);
    assert!(details.rotations[0].grace_until.is_some());
    assert_eq!(details.rotations[1].old_prefix, created.key.prefix);
    assert_eq!(key_rotation::Entity::find().count(&t.db).await.expect("count"), 2);
}

#[tokio::test]
async fn an_expired_key_can_be_rotated_back_to_life() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let input = app::model::NewKey { expiration: Expiration::Days(30), ..new_key("k", &project) };
    let key = keys::create(&t.core, &owner, input).await.expect("created").key;
    expire(&t.db, key.id).await;

    let rotated = keys::rotate(&t.core, &owner, key.id, RotationGrace::None).await.expect("rotated");
    assert_eq!(rotated.key.status, KeyStatus::Active);
    assert!(rotated.key.expires_at.expect("still expires") > Utc::now());
}

#[tokio::test]
async fn only_a_key_that_no_longer_works_can_be_deleted_and_it_still_counts() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created").key;

    conflict(keys::delete(&t.core, &owner, key.id).await);
    assert_eq!(page(&t.core, &owner).await.len(), 1);

    keys::disable(&t.core, &owner, key.id).await.expect("disabled");
    keys::rotate(&t.core, &owner, key.id, RotationGrace::OneHour).await.expect("rotated");
    keys::delete(&t.core, &owner, key.id).await.expect("deleted");
    assert!(page(&t.core, &owner).await.is_empty());
    assert_eq!(key_rotation::Entity::find().count(&t.db).await.expect("count"), 0, "its history goes with it");
    assert!(matches!(keys::delete(&t.core, &owner, key.id).await, Err(ServiceError::NotFound(_))));

    let stats = keys::stats(&t.core, &owner).await.expect("stats");
    assert_eq!((stats.total_created, stats.active, stats.calls_24h, stats.last_call), (1, 0, 0, None));
}

#[tokio::test]
async fn scopes_and_rate_limits_are_edited_and_bad_ones_refused_without_a_trace() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created").key;

    let edited = keys::update_scopes(&t.core, &owner, key.id, &["telemetry.write".into(), "api_keys.verify".into()])
        .await
        .expect("edited");
    assert_eq!(edited.scopes.to_strings(), ["api_keys.verify", "telemetry.write"]);

    let before = row(&t.db, key.id).await;
    match keys::update_scopes(&t.core, &owner, key.id, &["telemetry.write".into(), "Not A Scope".into()]).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, "scopes"),
        other => panic!("expected a scope error, got {other:?}"),
    }
    assert_eq!(row(&t.db, key.id).await, before);

    let limit = RateLimit { requests: 100, window: RateWindow::Minute };
    assert_eq!(
        keys::update_rate_limit(&t.core, &owner, key.id, Some(limit)).await.expect("set").rate_limit,
        Some(limit)
    );
    assert_eq!(page(&t.core, &owner).await[0].rate_limit, Some(limit));
    assert_eq!(keys::update_rate_limit(&t.core, &owner, key.id, None).await.expect("removed").rate_limit, None);
}

#[tokio::test]
async fn a_bad_expiry_or_scope_at_creation_writes_nothing() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let yesterday = (Utc::now() - Duration::days(1)).date_naive();
    let cases = [
        (app::model::NewKey { expiration: Expiration::On(yesterday), ..new_key("k", &project) }, "expires_on"),
        (
            app::model::NewKey {
                expiration: Expiration::On(NaiveDate::from_ymd_opt(2099, 1, 1).expect("date")),
                ..new_key("k", &project)
            },
            "expires_on",
        ),
        (app::model::NewKey { scopes: vec!["bad scope".into()], ..new_key("k", &project) }, "scopes"),
    ];
    for (input, field) in cases {
        match keys::create(&t.core, &owner, input).await {
            Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, field),
            other => panic!("expected {field} refused, got {other:?}"),
        }
    }
    assert_eq!(api_key::Entity::find().count(&t.db).await.expect("count"), 0);
    assert_eq!(keys::stats(&t.core, &owner).await.expect("stats").total_created, 0);
}

#[tokio::test]
async fn the_table_searches_filters_sorts_and_pages_in_the_database() {
    let t = fresh_db().await;
    let owner = enterprise(&t.core).await;
    let other = organization(&t.db, "Globex", "hank@globex.test").await;
    let project = default_project(&t.db, &owner).await;
    let mut created = Vec::new();
    for i in 0..30 {
        let environment = [Environment::Production, Environment::Staging, Environment::Development][i % 3];
        let input = app::model::NewKey { environment, ..new_key(&format!("service {i:02}"), &project) };
        created.push(keys::create(&t.core, &owner, input).await.expect("created"));
    }
    let other_project = default_project(&t.db, &other).await;
    keys::create(&t.core, &other, new_key("service 99", &other_project)).await.expect("created");
    keys::revoke(&t.core, &owner, created[0].key.id).await.expect("revoked");
    keys::disable(&t.core, &owner, created[1].key.id).await.expect("disabled");

    let list = |query: KeyQuery| {
        let (core, owner) = (t.core.clone(), owner.clone());
        async move { keys::list(&core, &owner, &query).await.expect("list") }
    };

    let first = list(KeyQuery { per_page: 10, ..KeyQuery::default() }).await;
    assert_eq!((first.total, first.keys.len(), first.pages()), (30, 10, 3));
    assert_eq!(first.keys[0].name, "service 29", "newest first");
    let third = list(KeyQuery { per_page: 10, page: 3, ..KeyQuery::default() }).await;
    assert_eq!(third.keys.last().map(|k| k.name.as_str()), Some("service 00"));
    assert_eq!(third.range_label(), "21–30 of 30");

    let by_name = list(KeyQuery { search: "SERVICE 1".into(), ..KeyQuery::default() }).await;
    assert_eq!(by_name.total, 10);
    let prefix = created[5].key.prefix.clone();
    let by_prefix = list(KeyQuery { search: prefix.clone(), ..KeyQuery::default() }).await;
    assert_eq!(by_prefix.keys.iter().map(|k| k.prefix.clone()).collect::<Vec<_>>(), [prefix]);
    assert_eq!(list(KeyQuery { search: "99".into(), ..KeyQuery::default() }).await.total, 0, "never another org's");
    assert_eq!(list(KeyQuery { search: "%".into(), ..KeyQuery::default() }).await.total, 0, "wildcards are literal");

    let staging = list(KeyQuery { environment: Some(Environment::Staging), ..KeyQuery::default() }).await;
    assert_eq!(staging.total, 10);
    assert!(staging.keys.iter().all(|k| k.environment == Environment::Staging));
    assert_eq!(list(KeyQuery { status: Some(KeyStatus::Revoked), ..KeyQuery::default() }).await.total, 1);
    assert_eq!(list(KeyQuery { status: Some(KeyStatus::Disabled), ..KeyQuery::default() }).await.total, 1);
    assert_eq!(list(KeyQuery { status: Some(KeyStatus::Active), ..KeyQuery::default() }).await.total, 28);
    assert_eq!(list(KeyQuery { hide_revoked: true, ..KeyQuery::default() }).await.total, 29);
    assert_eq!(list(KeyQuery { project: Some(other_project.id), ..KeyQuery::default() }).await.total, 0);
    assert_eq!(list(KeyQuery { project: Some(project.id), ..KeyQuery::default() }).await.total, 30);

    let sorted = list(KeyQuery { sort: KeySort::Name, per_page: 100, ..KeyQuery::default() }).await;
    let names: Vec<_> = sorted.keys.iter().map(|k| k.name.clone()).collect();
    let mut expected = names.clone();
    expected.sort();
    assert_eq!(names, expected);

    let stats = keys::stats(&t.core, &owner).await.expect("stats");
    assert_eq!((stats.total_created, stats.active, stats.live, stats.max_keys), (30, 28, 29, None));
}

/// The search reads indexes (a trigram table on SQLite, kept by triggers; `pg_trgm` on PostgreSQL):
/// they must follow every change to the keys, survive `VACUUM`, and give the results a scan gave.
#[tokio::test]
async fn the_search_finds_what_a_scan_would_after_renames_deletions_and_a_vacuum() {
    let t = fresh_db().await;
    let owner = enterprise(&t.core).await;
    let project = default_project(&t.db, &owner).await;
    let mut ids = Vec::new();
    for name in ["Billing Worker", "billing-cron", "Search \"quoted\" 100%", "Ünïcode Gateway", "under_score"] {
        ids.push(keys::create(&t.core, &owner, new_key(name, &project)).await.expect("created").key);
    }
    let found = |search: &str| {
        let (core, owner, search) = (t.core.clone(), owner.clone(), search.to_owned());
        async move {
            let page = keys::list(&core, &owner, &KeyQuery { search, ..KeyQuery::default() }).await.expect("list");
            let mut names: Vec<String> = page.keys.into_iter().map(|k| k.name).collect();
            names.sort();
            names
        }
    };
    assert_eq!(found("BILLING").await, ["Billing Worker", "billing-cron"], "any case");
    assert_eq!(found("ing-c").await, ["billing-cron"], "inside a word");
    assert_eq!(found("bi").await, ["Billing Worker", "billing-cron"], "shorter than a trigram");
    assert_eq!(found("\"quoted\"").await, ["Search \"quoted\" 100%"], "quotes are literal");
    assert_eq!(found("100%").await, ["Search \"quoted\" 100%"], "so is a wildcard");
    assert!(found("g_w").await.is_empty(), "an underscore matches only itself (not the space of \"Billing Worker\")");
    assert_eq!(found("under_").await, ["under_score"]);
    assert_eq!(found("gateway").await, ["Ünïcode Gateway"]);
    // Full-text query syntax is searched for as text, never run, and never fails the list.
    for hostile in [
        "x\"",
        "\"\"\"",
        "*",
        "billing*",
        "NEAR(billing worker)",
        "billing OR cron",
        "{name}: x",
        "^bil",
        "'); DROP TABLE api_keys; --",
        "🔑🔑🔑",
    ] {
        assert!(found(hostile).await.is_empty(), "{hostile:?} is text");
    }
    assert!(found(&"x".repeat(64)).await.is_empty(), "the longest search allowed");
    // Another organization's keys match the words too, and are never shown.
    let other = organization(&t.db, "Globex", "hank@globex.test").await;
    let other_project = default_project(&t.db, &other).await;
    keys::create(&t.core, &other, new_key("Billing at Globex", &other_project)).await.expect("created");
    assert_eq!(found("billing").await, ["Billing Worker", "billing-cron"], "never another organization's");
    let prefix = ids[0].prefix.to_uppercase();
    assert_eq!(found(&prefix[..prefix.len() - 2]).await, ["Billing Worker"], "a prefix, in any case");
    assert!(found(&ids[0].prefix[3..]).await.is_empty(), "a prefix matches from its start only");

    // Renamed (no service renames yet; the index must follow whoever writes the name).
    let mut renamed =
        api_key::Entity::find_by_id(ids[1].id).one(&t.db).await.expect("read").expect("key").into_active_model();
    renamed.name = Set("nightly job".into());
    renamed.update(&t.db).await.expect("renamed");
    assert_eq!(found("billing").await, ["Billing Worker"]);
    assert_eq!(found("nightly").await, ["nightly job"]);

    keys::revoke(&t.core, &owner, ids[0].id).await.expect("revoked");
    keys::delete(&t.core, &owner, ids[0].id).await.expect("deleted");
    assert!(found("billing").await.is_empty(), "a deleted key is gone from the index");
    let rotated = keys::rotate(&t.core, &owner, ids[4].id, RotationGrace::None).await.expect("rotated");
    assert_eq!(found(&rotated.key.prefix).await, ["under_score"], "the new prefix");

    if t.db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        t.db.execute_unprepared("VACUUM").await.expect("vacuum");
    }
    let added = keys::create(&t.core, &owner, new_key("after vacuum", &project)).await.expect("created").key;
    assert_eq!(found("vacuum").await, ["after vacuum"]);
    assert_eq!(found("nightly").await, ["nightly job"], "still the right key after VACUUM");
    keys::revoke(&t.core, &owner, added.id).await.expect("revoked");
    keys::delete(&t.core, &owner, added.id).await.expect("deleted");
    assert!(found("vacuum").await.is_empty());
    assert_eq!(found("gateway").await, ["Ünïcode Gateway"], "deleting one key leaves the others");
}

#[tokio::test]
async fn only_an_owner_changes_the_plan_and_never_below_the_keys_in_use() {
    let t = fresh_db().await;
    let owner = enterprise(&t.core).await;
    let project = default_project(&t.db, &owner).await;
    for i in 0..5 {
        keys::create(&t.core, &owner, new_key(&format!("k{i}"), &project)).await.expect("created");
    }
    let developer = Member { role: Role::Developer, ..owner.clone() };
    assert!(matches!(
        organizations::change_plan(&t.core, &developer, Plan::Pro).await,
        Err(ServiceError::Forbidden(_))
    ));
    match organizations::change_plan(&t.core, &owner, Plan::Free).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, "plan"),
        other => panic!("expected the downgrade refused, got {other:?}"),
    }
    assert_eq!(
        organizations::change_plan(&t.core, &owner, Plan::Developer).await.expect("changed").plan,
        Plan::Developer
    );
    let stats = keys::stats(&t.core, &owner).await.expect("stats");
    assert_eq!(stats.max_keys, Some(10));
}

#[tokio::test]
async fn a_viewer_changes_nothing() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created").key;
    let viewer = Member { role: Role::Viewer, ..owner.clone() };
    assert!(matches!(keys::create(&t.core, &viewer, new_key("v", &project)).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(keys::revoke(&t.core, &viewer, key.id).await, Err(ServiceError::Forbidden(_))));
    assert!(matches!(
        keys::rotate(&t.core, &viewer, key.id, RotationGrace::None).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(keys::delete(&t.core, &viewer, key.id).await, Err(ServiceError::Forbidden(_))));
    assert_eq!(page(&t.core, &viewer).await.len(), 1, "a viewer still sees");
}

#[tokio::test]
async fn the_keys_pages_figures_are_exact_after_every_change_though_cached() {
    let t = fresh_db().await;
    let owner = enterprise(&t.core).await;
    let project = default_project(&t.db, &owner).await;
    let figures = || async { keys::stats(&t.core, &owner).await.expect("stats") };
    let first = keys::create(&t.core, &owner, new_key("first", &project)).await.expect("created");
    assert_eq!((figures().await.active, figures().await.live), (1, 1));
    // Each change shows at once, although the figures were just read (and cached).
    let second = keys::create(&t.core, &owner, new_key("second", &project)).await.expect("created");
    assert_eq!((figures().await.total_created, figures().await.active), (2, 2));
    keys::disable(&t.core, &owner, second.key.id).await.expect("disabled");
    assert_eq!((figures().await.active, figures().await.live), (1, 2));
    keys::revoke(&t.core, &owner, first.key.id).await.expect("revoked");
    assert_eq!((figures().await.active, figures().await.live), (0, 1));
    keys::delete(&t.core, &owner, first.key.id).await.expect("deleted");
    assert_eq!((figures().await.live, figures().await.total_created), (1, 2));
    organizations::change_plan(&t.core, &owner, Plan::Developer).await.expect("plan");
    assert_eq!(figures().await.max_keys, Some(10));
    // Another organization's change leaves these figures alone, and the other way round.
    let other = organization(&t.db, "Other", "grace@other.test").await;
    let elsewhere = default_project(&t.db, &other).await;
    keys::create(&t.core, &other, new_key("theirs", &elsewhere)).await.expect("created");
    assert_eq!(figures().await.live, 1);
    assert_eq!(keys::stats(&t.core, &other).await.expect("stats").live, 1);
}
