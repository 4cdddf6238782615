//! The audit log: each change recorded with the change, by whom, before and after; filters,
//! pages and the CSV export; and no organization ever sees another's.

use app::model::{AuditAction, AuditQuery, Plan, RateLimit, RateWindow, Role, RotationGrace};
use app::ssr::ServiceError;
use app::ssr::services::{audit, keys, organizations};
use app::ssr::test_support::{default_project, fresh_db, member, new_key, organization};
use chrono::{Days, Utc};

fn actions(page: &app::model::AuditPage) -> Vec<AuditAction> {
    page.entries.iter().rev().map(|e| e.action).collect()
}

#[tokio::test]
async fn every_key_change_and_the_plan_are_recorded_with_before_and_after() {
    let t = fresh_db().await;
    let mut owner = organization(&t.db, "Acme", "ada@acme.test").await;
    owner.ip = Some("203.0.113.7".into());
    let project = default_project(&t.db, &owner).await;
    let created = keys::create(&t.core, &owner, new_key("billing sync", &project)).await.expect("created");
    let key = created.key;
    keys::disable(&t.core, &owner, key.id).await.expect("disabled");
    keys::enable(&t.core, &owner, key.id).await.expect("enabled");
    keys::update_scopes(&t.core, &owner, key.id, &["telemetry.write".to_owned()]).await.expect("scopes");
    let limit = RateLimit { requests: 10, window: RateWindow::Minute };
    keys::update_rate_limit(&t.core, &owner, key.id, Some(limit)).await.expect("limit");
    let rotation = keys::rotate(&t.core, &owner, key.id, RotationGrace::OneHour).await.expect("rotated");
    let rotated = rotation.key;
    keys::revoke(&t.core, &owner, key.id).await.expect("revoked");
    keys::delete(&t.core, &owner, key.id).await.expect("deleted");
    organizations::change_plan(&t.core, &owner, Plan::Pro).await.expect("plan");

    let page = audit::list(&t.db, &owner, AuditQuery::default()).await.expect("audit");
    assert_eq!(
        actions(&page),
        [
            AuditAction::KeyCreated,
            AuditAction::KeyDisabled,
            AuditAction::KeyEnabled,
            AuditAction::KeyScopesChanged,
            AuditAction::KeyRateLimitChanged,
            AuditAction::KeyRotated,
            AuditAction::KeyRevoked,
            AuditAction::KeyDeleted,
            AuditAction::PlanChanged,
        ]
    );
    let find = |action| page.entries.iter().find(|e| e.action == action).expect("entry");
    let disabled = find(AuditAction::KeyDisabled);
    assert_eq!(disabled.actor.user_id, Some(owner.user_id));
    assert_eq!(disabled.actor.name, owner.user_name);
    assert_eq!(disabled.target_id, Some(key.id));
    assert!(disabled.target_name.starts_with("billing sync (kw_live_"), "{}", disabled.target_name);
    assert_eq!(disabled.before.as_deref(), Some(r#"{"status":"active"}"#));
    assert_eq!(disabled.after.as_deref(), Some(r#"{"status":"disabled"}"#));
    assert_eq!(disabled.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(find(AuditAction::KeyScopesChanged).after.as_deref(), Some(r#"{"scopes":"telemetry.write"}"#));
    assert_eq!(find(AuditAction::KeyRateLimitChanged).after.as_deref(), Some(r#"{"rate_limit":"10 / minute"}"#));
    let rotated_entry = find(AuditAction::KeyRotated);
    assert!(rotated_entry.after.as_deref().is_some_and(|a| a.contains(&rotated.prefix)), "{:?}", rotated_entry.after);
    assert!(rotated_entry.after.as_deref().is_some_and(|a| a.contains("grace_until")));
    assert_eq!(find(AuditAction::PlanChanged).after.as_deref(), Some(r#"{"plan":"pro"}"#));
    // Nothing in the log holds a secret: only the visible prefix of a token ever appears.
    let everything = serde_json::to_string(&page.entries).expect("json");
    for token in [&created.token, &rotation.token] {
        assert!(!everything.contains(token.as_str()));
    }
}

#[tokio::test]
async fn a_refused_change_records_nothing() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("k", &project)).await.expect("created").key;
    keys::revoke(&t.core, &owner, key.id).await.expect("revoked");
    assert!(matches!(keys::revoke(&t.core, &owner, key.id).await, Err(ServiceError::Conflict(_))));
    assert!(matches!(
        keys::update_scopes(&t.core, &owner, key.id, &["bad scope".into()]).await,
        Err(ServiceError::Invalid(_))
    ));
    let page = audit::list(&t.db, &owner, AuditQuery::default()).await.expect("audit");
    assert_eq!(actions(&page), [AuditAction::KeyCreated, AuditAction::KeyRevoked]);
}

#[tokio::test]
async fn filters_and_pages() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    organizations::change_plan(&t.core, &owner, Plan::Enterprise).await.expect("upgraded");
    let developer = member(&t.db, &owner, Role::Developer, "Grace").await;
    let project = default_project(&t.db, &owner).await;
    let mut ids = Vec::new();
    for i in 0..27 {
        ids.push(keys::create(&t.core, &owner, new_key(&format!("k{i}"), &project)).await.expect("created").key.id);
    }
    let mine = keys::create(&t.core, &developer, new_key("grace's", &project)).await.expect("created").key;
    keys::revoke(&t.core, &developer, mine.id).await.expect("revoked");
    keys::revoke(&t.core, &owner, ids[3]).await.expect("revoked");

    let all = |query| audit::list(&t.db, &owner, query);
    // 1 plan change + 28 creates + 2 revokes, newest first, 25 a page.
    let first = all(AuditQuery::default()).await.expect("page 1");
    assert_eq!((first.total, first.entries.len(), first.pages()), (31, 25, 2));
    assert_eq!(first.entries[0].action, AuditAction::KeyRevoked);
    let second = all(AuditQuery { page: 2, ..AuditQuery::default() }).await.expect("page 2");
    assert_eq!(second.entries.len(), 6);
    assert_eq!(second.entries.last().map(|e| e.action), Some(AuditAction::PlanChanged));

    let by_action =
        all(AuditQuery { action: Some(AuditAction::KeyRevoked), ..AuditQuery::default() }).await.expect("action");
    assert_eq!(by_action.total, 2);
    let by_actor = all(AuditQuery { actor: Some(developer.user_id), ..AuditQuery::default() }).await.expect("actor");
    assert_eq!(actions(&by_actor), [AuditAction::KeyCreated, AuditAction::KeyRevoked]);
    assert!(by_actor.entries.iter().all(|e| e.actor.name == "Grace"));
    let by_key = all(AuditQuery { key: Some(ids[3]), ..AuditQuery::default() }).await.expect("key");
    assert_eq!(actions(&by_key), [AuditAction::KeyCreated, AuditAction::KeyRevoked]);
    assert_eq!(by_key.members.len(), 2, "the actor filter lists the organization's members");

    let today = Utc::now().date_naive();
    let tomorrow = today.checked_add_days(Days::new(1)).expect("date");
    let today_only =
        all(AuditQuery { from: Some(today), to: Some(today), ..AuditQuery::default() }).await.expect("range");
    assert_eq!(today_only.total, 31);
    let future = all(AuditQuery { from: Some(tomorrow), ..AuditQuery::default() }).await.expect("range");
    assert_eq!(future.total, 0);
    match all(AuditQuery { from: Some(tomorrow), to: Some(today), ..AuditQuery::default() }).await {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, "to"),
        other => panic!("expected the backwards range refused, got {other:?}"),
    }
}

#[tokio::test]
async fn the_csv_export_holds_every_matching_entry_and_defuses_formulas() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let key =
        keys::create(&t.core, &owner, new_key("=HYPERLINK(\"http://evil\")", &project)).await.expect("created").key;
    keys::revoke(&t.core, &owner, key.id).await.expect("revoked");

    let csv = audit::export_csv(&t.db, &owner, AuditQuery::default()).await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "time,actor,actor_user_id,actor_key_id,action,target,target_id,before,after,ip");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains("key.revoked") && lines[2].contains("key.created"));
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "formulas are defused: {csv}");
    let revoked_only =
        audit::export_csv(&t.db, &owner, AuditQuery { action: Some(AuditAction::KeyRevoked), ..AuditQuery::default() })
            .await
            .expect("csv");
    assert_eq!(revoked_only.lines().count(), 2);

    let developer = member(&t.db, &owner, Role::Developer, "Grace").await;
    assert!(matches!(
        audit::export_csv(&t.db, &developer, AuditQuery::default()).await,
        Err(ServiceError::Forbidden(_))
    ));
}

#[tokio::test]
async fn no_organization_sees_anothers_log() {
    let t = fresh_db().await;
    let acme = organization(&t.db, "Acme", "ada@acme.test").await;
    let globex = organization(&t.db, "Globex", "hank@globex.test").await;
    let project = default_project(&t.db, &acme).await;
    let key = keys::create(&t.core, &acme, new_key("k", &project)).await.expect("created").key;
    keys::revoke(&t.core, &acme, key.id).await.expect("revoked");

    let theirs = audit::list(&t.db, &globex, AuditQuery::default()).await.expect("audit");
    assert_eq!(theirs.total, 0);
    let guessed =
        audit::list(&t.db, &globex, AuditQuery { key: Some(key.id), ..AuditQuery::default() }).await.expect("audit");
    assert_eq!(guessed.total, 0);
    assert!(theirs.members.iter().all(|m| m.user_id != acme.user_id));
    let csv = audit::export_csv(&t.db, &globex, AuditQuery::default()).await.expect("csv");
    assert_eq!(csv.lines().count(), 1, "only the header: {csv}");
}
