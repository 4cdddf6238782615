//! The key service against a real database.

use app::model::token::KeyToken;
use app::model::{Environment, KeyStatus, NewKey, Plan};
use app::ssr::ServiceError;
use app::ssr::entities::{api_key, organization};
use app::ssr::services::keys;
use app::ssr::test_support::{default_project, fresh_db, new_key, organization, page};
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use sha2::{Digest, Sha256};

async fn stored_keys(db: &DatabaseConnection) -> u64 {
    api_key::Entity::find().count(db).await.expect("count")
}

async fn keys_created_total(db: &DatabaseConnection) -> Vec<i64> {
    organization::Entity::find().all(db).await.expect("orgs").into_iter().map(|o| o.keys_created_total).collect()
}

#[tokio::test]
async fn a_created_key_is_listed_newest_first_with_its_prefix_only() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;

    let first = keys::create(&t.core, &owner, new_key("first", &project)).await.expect("created");
    let second = keys::create(
        &t.core,
        &owner,
        NewKey {
            description: Some("  for CI  ".into()),
            environment: Environment::Staging,
            ..new_key("  second  ", &project)
        },
    )
    .await
    .expect("created");

    let token = KeyToken::parse(&second.token).expect("a well-formed token");
    assert_eq!(token.environment(), Environment::Staging);
    assert!(second.token.starts_with("kw_stage_"));
    assert_eq!(second.key.prefix, token.visible_prefix());

    let listed = page(&t.core, &owner).await;
    assert_eq!(listed.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["second", "first"]);
    let shown = &listed[0];
    assert_eq!(shown.description.as_deref(), Some("for CI"));
    assert_eq!(shown.project_name, "Default");
    assert_eq!(shown.status, KeyStatus::Active);
    assert_eq!(shown.created_by, "Owner of Acme");
    assert_eq!(shown.last_used_at, None);
    assert!(shown.preview.starts_with(&shown.prefix));
    let listed_text = format!("{listed:?}");
    assert!(!listed_text.contains(&first.token) && !listed_text.contains(&second.token));
}

#[tokio::test]
async fn the_secret_is_stored_only_as_its_sha256_digest() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let created = keys::create(&t.core, &owner, new_key("ci", &project)).await.expect("created");

    let row = api_key::Entity::find_by_id(created.key.id).one(&t.db).await.expect("query").expect("row");
    assert_eq!(row.digest, hex::encode(Sha256::digest(created.token.as_bytes())));
    let secret_part = &created.token[row.prefix.len()..];
    for column in [&row.name, &row.prefix, &row.preview, &row.digest] {
        assert!(!column.contains(secret_part), "secret found in a column");
    }
}

#[tokio::test]
async fn another_organization_never_sees_or_touches_the_first_ones_keys() {
    let t = fresh_db().await;
    let acme = organization(&t.db, "Acme", "ada@acme.test").await;
    let globex = organization(&t.db, "Globex", "hank@globex.test").await;
    let acme_project = default_project(&t.db, &acme).await;
    let acme_key = keys::create(&t.core, &acme, new_key("acme secret", &acme_project)).await.expect("created");

    assert!(page(&t.core, &globex).await.is_empty());
    assert!(matches!(keys::revoke(&t.core, &globex, acme_key.key.id).await, Err(ServiceError::NotFound(_))));
    // Nor can it create a key in Acme's project.
    let refused = keys::create(&t.core, &globex, new_key("sneaky", &acme_project)).await;
    assert!(matches!(refused, Err(ServiceError::Invalid(ref e)) if e.first().field == "project_id"));

    let acme_keys = page(&t.core, &acme).await;
    assert_eq!(acme_keys.len(), 1);
    assert_eq!(acme_keys[0].status, KeyStatus::Active);
}

#[tokio::test]
async fn revoking_a_key_keeps_it_listed_as_revoked_and_cannot_be_repeated() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let created = keys::create(&t.core, &owner, new_key("old", &project)).await.expect("created");

    let revoked = keys::revoke(&t.core, &owner, created.key.id).await.expect("revoked");
    assert_eq!(revoked.status, KeyStatus::Revoked);
    let listed = page(&t.core, &owner).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, KeyStatus::Revoked);
    let row = api_key::Entity::find_by_id(created.key.id).one(&t.db).await.expect("query").expect("row");
    assert!(row.revoked_at.is_some());

    assert!(matches!(keys::revoke(&t.core, &owner, created.key.id).await, Err(ServiceError::Conflict(_))));
}

#[tokio::test]
async fn bad_input_is_refused_naming_the_field_and_nothing_is_written() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let unknown_project = app::model::Project { id: uuid::Uuid::now_v7(), name: "nowhere".into(), scopes: Vec::new() };

    let cases = [
        (new_key("   ", &project), "name", "is required"),
        (new_key(&"x".repeat(65), &project), "name", "must be at most 64 characters"),
        (new_key("fine", &unknown_project), "project_id", "does not exist in this organization"),
        (
            NewKey { description: Some("d".repeat(501)), ..new_key("fine", &project) },
            "description",
            "must be at most 500 characters",
        ),
    ];
    for (input, field, reason) in cases {
        match keys::create(&t.core, &owner, input).await {
            Err(ServiceError::Invalid(e)) => {
                let e = e.first();
                assert_eq!((e.field.as_str(), e.reason.as_str()), (field, reason))
            }
            other => panic!("expected a refusal of {field}, got {other:?}"),
        }
    }
    assert_eq!(stored_keys(&t.db).await, 0);
    assert_eq!(keys_created_total(&t.db).await, vec![0]);
}

/// A form with several mistakes gets all of them back at once, in the form's order, so a person
/// fixes them in one go; the fields that are fine are not named.
#[tokio::test]
async fn every_bad_field_is_named_at_once() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let input = NewKey {
        description: Some("d".repeat(501)),
        scopes: vec!["api_keys.read".into(), "Not A Scope".into()],
        expiration: app::model::Expiration::On(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date")),
        ..new_key(" ", &project)
    };
    match keys::create(&t.core, &owner, input).await {
        Err(ServiceError::Invalid(errors)) => {
            let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(fields, ["name", "description", "scopes", "expires_on"]);
        }
        other => panic!("expected four fields refused, got {other:?}"),
    }
    assert_eq!(stored_keys(&t.db).await, 0);
}

#[tokio::test]
async fn the_free_plan_refuses_a_fourth_live_key_and_revoking_frees_a_slot() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(keys::create(&t.core, &owner, new_key(&format!("key {i}"), &project)).await.expect("within plan"));
    }
    let refused = keys::create(&t.core, &owner, new_key("one too many", &project)).await;
    assert!(matches!(refused, Err(ServiceError::PlanLimitReached { plan: Plan::Free, limit: 3 })), "{refused:?}");
    assert_eq!(stored_keys(&t.db).await, 3);
    assert_eq!(keys_created_total(&t.db).await, vec![3]);

    keys::revoke(&t.core, &owner, created[0].key.id).await.expect("revoked");
    keys::create(&t.core, &owner, new_key("replacement", &project)).await.expect("a revoked key does not count");
    assert_eq!(keys_created_total(&t.db).await, vec![4]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_never_exceed_the_plan_limit() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;

    let attempts = (0..8).map(|i| {
        let (core, owner, input) = (t.core.clone(), owner.clone(), new_key(&format!("racer {i}"), &project));
        tokio::spawn(async move { keys::create(&core, &owner, input).await })
    });
    let mut created = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        match attempt.await.expect("task") {
            Ok(_) => created += 1,
            Err(ServiceError::PlanLimitReached { .. }) => {}
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!(created, 3);
    assert_eq!(stored_keys(&t.db).await, 3);
}

/// The unfiltered list's total is the number kept beside the organization, not a count over its
/// keys: it follows every create and delete, and nothing that was refused.
#[tokio::test]
async fn the_whole_lists_total_follows_creates_and_deletes_and_nothing_refused() {
    use app::model::KeyQuery;
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let other = organization(&t.db, "Globex", "hank@globex.test").await;
    let project = default_project(&t.db, &owner).await;
    let theirs = default_project(&t.db, &other).await;
    keys::create(&t.core, &other, new_key("theirs", &theirs)).await.expect("created");
    let mut created = Vec::new();
    for i in 0..3 {
        created.push(keys::create(&t.core, &owner, new_key(&format!("key {i}"), &project)).await.expect("created"));
    }
    let total = |member| {
        let core = t.core.clone();
        async move { keys::list(&core, member, &KeyQuery::default()).await.expect("listed").total }
    };
    let kept = || async {
        organization::Entity::find()
            .all(&t.db)
            .await
            .expect("orgs")
            .into_iter()
            .map(|o| o.keys_stored)
            .collect::<Vec<_>>()
    };
    assert_eq!((total(&owner).await, total(&other).await), (3, 1));

    // Refused: over the plan's limit; deleting a key that still works.
    assert!(keys::create(&t.core, &owner, new_key("one too many", &project)).await.is_err());
    assert!(keys::delete(&t.core, &owner, created[0].key.id).await.is_err());
    assert_eq!(total(&owner).await, 3);

    keys::revoke(&t.core, &owner, created[0].key.id).await.expect("revoked");
    keys::delete(&t.core, &owner, created[0].key.id).await.expect("deleted");
    assert_eq!((total(&owner).await, total(&other).await), (2, 1));
    assert_eq!(stored_keys(&t.db).await, 3, "two of Acme's, one of Globex's");
    let mut kept = kept().await;
    kept.sort_unstable();
    assert_eq!(kept, vec![1, 2], "what is kept is what is stored");
    // A filtered list still counts its keys.
    let active = KeyQuery { status: Some(KeyStatus::Active), ..KeyQuery::default() };
    assert_eq!(keys::list(&t.core, &owner, &active).await.expect("listed").total, 2);
}

/// Who a key is for: its external id and meta are kept as given, listed by the external id (in
/// the organization only), edited, cleared, and each change is audited without copying the meta.
#[tokio::test]
async fn a_keys_external_id_and_meta_are_kept_filtered_by_and_edited() {
    use app::model::{KeyEdit, KeyQuery};
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let meta = r#"{"plan": "pro", "seats": [1, 2]}"#;
    let owned = NewKey {
        external_id: Some("  cus_42  ".into()),
        meta: Some(meta.into()),
        ..new_key("for a customer", &project)
    };
    let created = keys::create(&t.core, &owner, owned).await.expect("created").key;
    assert_eq!((created.external_id.as_deref(), created.meta.as_deref()), (Some("cus_42"), Some(meta)));
    keys::create(&t.core, &owner, new_key("for no one", &project)).await.expect("created");
    // Another organization's key for a customer of the same id is theirs alone.
    let globex = organization(&t.db, "Globex", "hank@globex.test").await;
    let globex_project = default_project(&t.db, &globex).await;
    let theirs = NewKey { external_id: Some("cus_42".into()), ..new_key("theirs", &globex_project) };
    keys::create(&t.core, &globex, theirs).await.expect("created");

    let for_customer = |id: &str| KeyQuery { external_id: Some(id.into()), ..KeyQuery::default() };
    let listed = keys::list(&t.core, &owner, &for_customer("cus_42")).await.expect("list");
    assert_eq!(listed.keys.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(), ["for a customer"]);
    assert_eq!(listed.total, 1);
    assert_eq!(keys::list(&t.core, &owner, &for_customer("cus_4")).await.expect("list").total, 0);
    assert_eq!(keys::list(&t.core, &owner, &KeyQuery::default()).await.expect("list").total, 2);

    let edit = |external_id: Option<Option<&str>>, meta: Option<Option<&str>>| KeyEdit {
        name: None,
        description: None,
        expiration: None,
        external_id: external_id.map(|id| id.map(str::to_owned)),
        meta: meta.map(|m| m.map(str::to_owned)),
    };
    let edited = keys::edit(&t.core, &owner, created.id, edit(Some(Some("tenant-7")), None)).await.expect("edited");
    assert_eq!((edited.external_id.as_deref(), edited.meta.as_deref()), (Some("tenant-7"), Some(meta)));
    let cleared = keys::edit(&t.core, &owner, created.id, edit(Some(None), Some(None))).await.expect("edited");
    assert_eq!((cleared.external_id, cleared.meta), (None, None));
    assert_eq!(keys::list(&t.core, &owner, &for_customer("cus_42")).await.expect("list").total, 0);

    let audited = app::ssr::entities::audit_event::Entity::find().all(&t.db).await.expect("audit");
    let after: Vec<_> = audited.iter().filter_map(|e| e.after.as_deref()).collect();
    assert!(after.iter().any(|a| a.contains("\"external_id\":\"tenant-7\"")), "{after:?}");
    assert!(after.iter().all(|a| !a.contains("seats")), "the meta itself is not copied into the log: {after:?}");
}

/// Bad owners and metadata are refused, every field at once, and nothing is stored.
#[tokio::test]
async fn a_bad_external_id_or_meta_is_refused_naming_it() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let big = format!(r#"{{"blob": "{}"}}"#, "x".repeat(16 * 1024));
    for (external_id, meta, fields) in [
        (Some("x".repeat(257)), None, vec!["external_id"]),
        (Some("evil\u{202e}".into()), None, vec!["external_id"]),
        (None, Some("[1, 2]".to_owned()), vec!["meta"]),
        (None, Some("\"pro\"".to_owned()), vec!["meta"]),
        (None, Some("{not json".to_owned()), vec!["meta"]),
        (None, Some(big), vec!["meta"]),
        (Some("y".repeat(300)), Some("null".to_owned()), vec!["external_id", "meta"]),
    ] {
        let input = NewKey { external_id, meta, ..new_key("k", &project) };
        match keys::create(&t.core, &owner, input).await {
            Err(ServiceError::Invalid(errors)) => {
                assert_eq!(errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), fields)
            }
            other => panic!("expected {fields:?} refused, got {other:?}"),
        }
    }
    // 256 characters and exactly 16 KB are fine.
    let at_most = format!(r#"{{"b":"{}"}}"#, "x".repeat(16 * 1024 - 8));
    assert_eq!(at_most.len(), 16 * 1024);
    let input = NewKey { external_id: Some("é".repeat(256)), meta: Some(at_most), ..new_key("k", &project) };
    keys::create(&t.core, &owner, input).await.expect("at the limits");
    assert_eq!(stored_keys(&t.db).await, 1);
}
