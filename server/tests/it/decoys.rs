//! Decoy keys over real HTTP: a decoy never authenticates anything, answers exactly as an unknown
//! key does, and each use of it (at verify, or as the key of a management call) is recorded with
//! its address and sent as `key.decoy_used`. It does not count against the plan's limit.

use crate::api::{Server, code, start, start_on, unknown_token};
use app::model::{DecoySurface, MAX_DECOY_KEYS, NewKey, Plan, ScopePreset};
use app::ssr::ServiceError;
use app::ssr::entities::{decoy_use, webhook_delivery};
use app::ssr::services::{insight, keys, webhooks};
use app::ssr::test_support::{organization, scoped_key};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

async fn decoy(s: &Server, name: &str, scopes: Vec<String>) -> (Uuid, String) {
    s.key_with(NewKey { decoy: true, ..scoped_key(name, &s.project, scopes) }).await
}

/// The uses recorded of `key`, once `count` are there (they are written off the request's path).
async fn uses(s: &Server, key: Uuid, count: usize) -> Vec<decoy_use::Model> {
    let mut rows = Vec::new();
    for _ in 0..100 {
        rows = decoy_use::Entity::find()
            .filter(decoy_use::Column::KeyId.eq(key))
            .order_by_asc(decoy_use::Column::CreatedAt)
            .all(&s.core.db)
            .await
            .expect("uses");
        if rows.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rows
}

#[tokio::test]
async fn a_decoy_answers_as_an_unknown_key_and_each_use_is_recorded_and_announced() {
    let s = start().await;
    let hook = webhooks::register(&s.core, &s.owner, "https://1.1.1.1/hooks", &["key.decoy_used".to_owned()])
        .await
        .expect("endpoint");
    let (id, token) = decoy(&s, "aws-backup (do not use)", vec!["api_keys.verify".into()]).await;

    let as_decoy = s.verify_with(json!({ "key": token, "ip": "203.0.113.7" })).await;
    let as_unknown = s.verify_with(json!({ "key": unknown_token(), "ip": "203.0.113.7" })).await;
    assert_eq!(as_decoy, as_unknown, "a decoy's answer tells it from an unknown key");
    assert_eq!(code(&as_decoy), "NOT_FOUND");
    let recorded = uses(&s, id, 1).await;
    assert_eq!(recorded.len(), 1);
    assert_eq!((recorded[0].surface.as_str(), recorded[0].ip.as_deref()), ("verify", Some("203.0.113.7")));

    // Repeats from the same address within seconds are one record; another address is another.
    s.verify_with(json!({ "key": token, "ip": "203.0.113.7" })).await;
    s.verify_with(json!({ "key": token, "ip": "198.51.100.4" })).await;
    let recorded = uses(&s, id, 2).await;
    assert_eq!(recorded.len(), 2, "{recorded:?}");
    assert_eq!(recorded[1].ip.as_deref(), Some("198.51.100.4"));

    // As the key of a management call: refused as an unknown key is, and recorded.
    let (status, _, as_caller) = s.call(reqwest::Method::GET, "/keys", Some(&token), None).await;
    let (unknown_status, _, as_unknown_caller) =
        s.call(reqwest::Method::GET, "/keys", Some(&unknown_token()), None).await;
    assert_eq!((status, &as_caller), (unknown_status, &as_unknown_caller));
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let recorded = uses(&s, id, 3).await;
    assert_eq!(recorded[2].surface, DecoySurface::ManagementApi.as_str());
    assert_eq!(recorded[2].ip.as_deref(), Some("127.0.0.1"));

    // Each use went to the endpoint; the token never did.
    let sent = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(hook.endpoint.id))
        .filter(webhook_delivery::Column::Event.eq("key.decoy_used"))
        .all(&s.core.db)
        .await
        .expect("deliveries");
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|d| !d.payload.contains(&token)));
    // The keys page's alert, and the API's, list them, newest first.
    let attention = insight::needs_attention(&s.core, &s.owner).await.expect("attention");
    assert_eq!(attention.decoys_used.len(), 3);
    assert_eq!(attention.decoys_used[0].surface, DecoySurface::ManagementApi);
    let (status, body) = s.get("/keys/decoy-uses", &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(3), "{body}");
    assert_eq!(body[0]["surface"], "management_api", "{body}");
    let (_, shown) = s.get(&format!("/keys/{id}"), &s.admin).await;
    assert_eq!(shown["decoy"], true);
}

#[tokio::test]
async fn a_decoy_with_every_scope_still_does_nothing() {
    let s = start().await;
    let (id, token) = decoy(&s, "root (honeytoken)", ScopePreset::Organization.scopes().to_strings()).await;
    for (method, path, body) in [
        (reqwest::Method::GET, "/keys".to_owned(), None),
        (reqwest::Method::POST, "/keys".to_owned(), Some(json!({ "name": "planted" }))),
        (reqwest::Method::POST, format!("/keys/{id}/revoke"), None),
        (reqwest::Method::POST, "/keys/verify".to_owned(), Some(json!({ "key": s.admin }))),
    ] {
        let (status, _, answer) = s.call(method, &path, Some(&token), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {answer}");
        assert_eq!(answer["code"], "INVALID_API_KEY", "{path}: {answer}");
    }
    let (_, list) = s.get("/keys", &s.admin).await;
    assert_eq!(list["total"], 2, "a key was made with the decoy: {list}");
}

#[tokio::test]
async fn another_organizations_service_learns_nothing_and_raises_nothing() {
    let s = start().await;
    let (id, token) = decoy(&s, "planted", vec![]).await;
    // Globex's own service verifies Acme's decoy: unknown to it, and no alert in Acme.
    let globex = organization(&s.core.db, "Globex", "hank@globex.test").await;
    let project = app::ssr::services::projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let theirs = keys::create(&s.core, &globex, scoped_key("verifier", &project, vec!["api_keys.verify".into()]))
        .await
        .expect("key")
        .token;
    let (status, verdict) = s.post("/keys/verify", &theirs, json!({ "key": token, "ip": "203.0.113.9" })).await;
    assert_eq!((status, code(&verdict)), (StatusCode::OK, "NOT_FOUND"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(uses(&s, id, 0).await.is_empty(), "another organization's call raised Acme's alert");
}

#[tokio::test]
async fn decoys_do_not_count_against_the_plan_and_have_a_limit_of_their_own() {
    let s = start_on(Plan::Free).await;
    // The admin key and two more fill Free's three.
    s.key("second", &[]).await;
    s.key("third", &[]).await;
    let over = keys::create(&s.core, &s.owner, scoped_key("fourth", &s.project, vec![])).await;
    assert!(matches!(over, Err(ServiceError::PlanLimitReached { .. })), "{over:?}");
    for i in 0..MAX_DECOY_KEYS {
        decoy(&s, &format!("decoy {i}"), vec![]).await;
    }
    let one_more =
        keys::create(&s.core, &s.owner, NewKey { decoy: true, ..scoped_key("one more", &s.project, vec![]) });
    match one_more.await {
        Err(ServiceError::Conflict(reason)) => assert!(reason.contains("decoy"), "{reason}"),
        other => panic!("a decoy past the limit: {other:?}"),
    }
    // The keys page's figures count working keys: the decoys are neither active nor live.
    let stats = keys::stats(&s.core, &s.owner).await.expect("stats");
    assert_eq!((stats.active, stats.live), (3, 3));
    // Through the API too, with the field named in the document.
    let (status, body) = s.post("/keys", &s.admin, json!({ "name": "api decoy", "decoy": true })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, body) = s.post("/keys", &s.admin, json!({ "name": "bad", "decoy": "yes" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["field"], "decoy", "{body}");
}

/// Unknown keys are limited per address (a lookup each); a decoy must count as one too, or an
/// address's allowance would tell a decoy from a made-up token.
#[tokio::test]
async fn a_decoy_spends_an_addresss_allowance_as_an_unknown_key_does() {
    let s = start().await;
    let (_, token) = decoy(&s, "planted", vec![]).await;
    let per_minute = app::ssr::throttle::KeyFailureLimit::DEFAULT_PER_MINUTE;
    for _ in 1..per_minute {
        let (status, _, _) = s.call(reqwest::Method::GET, "/keys", Some(&unknown_token()), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = s.call(reqwest::Method::GET, "/keys", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The allowance is spent: a decoy took its share, as an unknown key would have.
    let (status, _, answer) = s.call(reqwest::Method::GET, "/keys", Some(&unknown_token()), None).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
}

#[tokio::test]
async fn a_decoys_uses_are_its_organizations_to_read() {
    let s = start().await;
    let (id, token) = decoy(&s, "planted", vec![]).await;
    s.verify_with(json!({ "key": token, "ip": "203.0.113.7" })).await;
    assert_eq!(uses(&s, id, 1).await.len(), 1);
    let globex = organization(&s.core.db, "Globex", "hank@globex.test").await;
    let theirs = app::ssr::services::decoys::uses_of(&s.core, &globex, id).await;
    assert!(matches!(theirs, Err(ServiceError::NotFound(_))), "{theirs:?}");
    assert!(app::ssr::services::decoys::recent(&s.core, &globex).await.expect("alerts").is_empty());
    let ours = app::ssr::services::decoys::uses_of(&s.core, &s.owner, id).await.expect("uses");
    assert_eq!(ours.len(), 1);
}
