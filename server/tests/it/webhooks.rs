//! Webhooks over real HTTP, to a receiver on a loopback port: endpoints through the API, events
//! written with their change and signed as Standard Webhooks says (checked by the specification's
//! Python library, not by our own code alone), retries, refused destinations, two workers sending
//! each delivery once, and every caller who must be refused.

use crate::api::{Server, start, start_sending_webhooks_to_loopback};
use app::model::{AuditAction, NewKey, Role, ScopePreset, WebhookEvent};
use app::ssr::ServiceError;
use app::ssr::db::begin_write;
use app::ssr::entities::webhook_delivery;
use app::ssr::services::audit::{self, Change};
use app::ssr::services::webhooks::{self, WebhookSettings};
use app::ssr::services::{keys, members, projects};
use app::ssr::test_support::{member, organization, scoped_key};
use app::ssr::webhook_signing::{self, ServerSecret};
use axum::http::{HeaderMap, StatusCode as AxumStatus, header};
use chrono::{Duration, Utc};
use keyward::webhooks::{Sender, deliver_due};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on a loopback port: it records what it gets and answers `answer`.
/// `/moved` redirects to `/hooks`, which a delivery must not follow.
struct Receiver {
    base: String,
    got: Arc<Mutex<Vec<Received>>>,
    answer: Arc<AtomicU16>,
}

impl Receiver {
    async fn start() -> Self {
        let got = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(200));
        let (record, status) = (Arc::clone(&got), Arc::clone(&answer));
        let app = axum::Router::new()
            .route(
                "/hooks",
                axum::routing::post(move |headers: HeaderMap, body: String| async move {
                    let text =
                        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                    let received = Received {
                        id: text("webhook-id"),
                        timestamp: text("webhook-timestamp"),
                        signature: text("webhook-signature"),
                        body,
                    };
                    record.lock().expect("lock").push(received);
                    AxumStatus::from_u16(status.load(Ordering::SeqCst)).unwrap_or(AxumStatus::OK)
                }),
            )
            .route(
                "/moved",
                axum::routing::post(|| async { (AxumStatus::TEMPORARY_REDIRECT, [(header::LOCATION, "/hooks")]) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base, got, answer }
    }

    fn url(&self) -> String {
        format!("{}/hooks", self.base)
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

/// Registers an endpoint through the API with the admin key: (its id, its secret).
async fn register(s: &Server, url: &str, events: &[&str]) -> (Uuid, String) {
    let (status, body) = s.post("/webhooks", &s.admin, json!({ "url": url, "events": events })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["endpoint"]["id"].as_str().and_then(|id| id.parse().ok()).expect("an id");
    (id, body["secret"].as_str().expect("the secret, shown once").to_owned())
}

fn loopback_sender() -> Sender {
    Sender::new(true).expect("client")
}

/// Whether Python's `standardwebhooks` (the specification's own library) accepts the delivery.
fn standard_library_accepts(secret: &str, received: &Received) -> bool {
    let python = std::env::var("KEYWARD_TEST_PYTHON").expect(
        "KEYWARD_TEST_PYTHON: a Python with the standardwebhooks package (make test-rust installs and sets it)",
    );
    let script = "import json, sys\nfrom standardwebhooks import Webhook\nd = json.load(sys.stdin)\n\
                  Webhook(d['secret']).verify(d['body'], d['headers'])\nprint('verified')";
    let input = json!({
        "secret": secret,
        "body": received.body,
        "headers": { "webhook-id": received.id, "webhook-timestamp": received.timestamp,
            "webhook-signature": received.signature },
    });
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python runs");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.to_string().as_bytes()).expect("written");
    }
    let output = child.wait_with_output().expect("python ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("ModuleNotFoundError"), "standardwebhooks is not installed: {stderr}");
    output.status.success() && String::from_utf8_lossy(&output.stdout).trim() == "verified"
}

async fn deliveries_of(s: &Server, endpoint: Uuid) -> Vec<webhook_delivery::Model> {
    webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .all(&s.core.db)
        .await
        .expect("query")
}

/// Makes every pending delivery of the endpoint due now, as if its wait had passed.
async fn make_due(s: &Server, endpoint: Uuid) {
    for row in deliveries_of(s, endpoint).await {
        let mut row = row.into_active_model();
        row.next_attempt_at = Set(Some(Utc::now() - Duration::seconds(1)));
        row.update(&s.core.db).await.expect("updated");
    }
}

#[tokio::test]
async fn key_events_are_delivered_signed_as_the_standard_says() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = register(&s, &receiver.url(), &["key.created", "key.revoked"]).await;
    assert!(secret.starts_with("whsec_"), "{secret}");

    let (status, created) = s.post("/keys", &s.admin, json!({ "name": "billing sync" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (key_id, token) =
        (created["key"]["id"].as_str().expect("id").to_owned(), created["token"].as_str().expect("token").to_owned());
    let (status, _) = s.post(&format!("/keys/{key_id}/disable"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "not subscribed to, so not sent");
    let (status, _) = s.post(&format!("/keys/{key_id}/revoke"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(deliver_due(&s.core, &loopback_sender()).await, 2);

    let received = receiver.received();
    let types: Vec<String> =
        received.iter().map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(types.len(), 2, "{received:?}");
    assert!(types.contains(&"key.created".into()) && types.contains(&"key.revoked".into()), "{types:?}");
    for delivery in &received {
        assert!(delivery.id.starts_with("msg_"), "{delivery:?}");
        let timestamp: i64 = delivery.timestamp.parse().expect("seconds");
        assert!((Utc::now().timestamp() - timestamp).abs() < 60);
        assert!(webhook_signing::verify(&secret, &delivery.id, timestamp, &delivery.body, &delivery.signature));
        assert!(standard_library_accepts(&secret, delivery), "the specification's library accepts {delivery:?}");
        assert!(!delivery.body.contains(&token), "a key's token never leaves in an event");
        let body = delivery.json();
        assert_eq!(body["data"]["target"]["id"], json!(key_id), "{body}");
        let name = body["data"]["target"]["name"].as_str().unwrap_or_default();
        assert!(name.starts_with("billing sync (kw_live_"), "the name and visible prefix: {name}");
    }
    let revoked = received.iter().find(|r| r.json()["type"] == "key.revoked").expect("revoked");
    assert_eq!(revoked.json()["data"]["after"]["status"], "revoked", "{}", revoked.body);
    // The checks can fail: a changed body, or another endpoint's secret, is refused.
    let tampered = Received { body: revoked.body.replace("revoked", "active"), ..revoked.clone() };
    assert!(!standard_library_accepts(&secret, &tampered));
    let other = s.core.webhooks.secret.endpoint_secret(Uuid::now_v7(), 1).to_whsec();
    assert!(!standard_library_accepts(&other, revoked));

    // The endpoint's page lists them, delivered at the first attempt.
    let (status, page) = s.get(&format!("/webhooks/{endpoint}/deliveries"), &s.admin).await;
    assert_eq!((status, &page["total"]), (StatusCode::OK, &json!(2)), "{page}");
    for delivery in page["deliveries"].as_array().expect("list") {
        assert_eq!(
            (&delivery["status"], &delivery["attempts"], &delivery["response_status"]),
            (&json!("delivered"), &json!(1), &json!(200))
        );
    }
    // Sent once: a second round finds nothing due.
    assert_eq!(deliver_due(&s.core, &loopback_sender()).await, 0);
    assert_eq!(receiver.received().len(), 2);

    // The secret is never shown again, nor recorded.
    let (_, shown) = s.get(&format!("/webhooks/{endpoint}"), &s.admin).await;
    assert!(shown.get("secret").is_none() && !shown.to_string().contains(&secret[6..]), "{shown}");
    let (_, log) = s.get("/audit?action=webhook.created", &s.admin).await;
    assert_eq!(log["total"], 1, "{log}");
    assert!(!log.to_string().contains(&secret[6..]), "{log}");
}

#[tokio::test]
async fn a_test_event_a_resend_and_a_rotated_secret_all_verify() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, old_secret) = register(&s, &receiver.url(), &["key.created"]).await;
    let (status, queued) = s.post(&format!("/webhooks/{endpoint}/test"), &s.admin, json!({})).await;
    assert_eq!((status, &queued["status"]), (StatusCode::ACCEPTED, &json!("pending")), "{queued}");
    deliver_due(&s.core, &loopback_sender()).await;
    let first = receiver.received().remove(0);
    assert_eq!(first.json()["type"], "webhook.test");
    assert!(standard_library_accepts(&old_secret, &first));

    let (status, rotated) = s.post(&format!("/webhooks/{endpoint}/rotate-secret"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new_secret, old_secret);
    // Resent after the rotation: the same id and body, signed with both secrets for a day.
    let (status, resent) = s
        .post(
            &format!("/webhooks/{endpoint}/deliveries/{}/resend", queued["id"].as_str().expect("id")),
            &s.admin,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{resent}");
    deliver_due(&s.core, &loopback_sender()).await;
    let again = receiver.received().remove(1);
    assert_eq!((&again.id, &again.body), (&first.id, &first.body), "receivers deduplicate by webhook-id");
    assert_eq!(again.signature.split(' ').count(), 2, "{}", again.signature);
    assert!(standard_library_accepts(&new_secret, &again) && standard_library_accepts(&old_secret, &again));
    let (_, log) = s.get("/audit?action=webhook.secret_rotated", &s.admin).await;
    assert_eq!(log["total"], 1, "{log}");
}

#[tokio::test]
async fn a_refused_delivery_is_retried_later_and_fails_after_a_day() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    receiver.answer.store(500, Ordering::SeqCst);
    let (endpoint, _) = register(&s, &receiver.url(), &["key.created"]).await;
    s.key("first", &[]).await;
    assert_eq!(deliver_due(&s.core, &loopback_sender()).await, 1);
    let row = deliveries_of(&s, endpoint).await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts, row.response_status), ("pending", 1, Some(500)));
    let wait = row.next_attempt_at.expect("a next attempt") - Utc::now();
    assert!(wait > Duration::seconds(2) && wait <= Duration::seconds(7), "about 5 s with jitter: {wait}");
    assert_eq!(deliver_due(&s.core, &loopback_sender()).await, 0, "not due yet");

    receiver.answer.store(204, Ordering::SeqCst);
    make_due(&s, endpoint).await;
    assert_eq!(deliver_due(&s.core, &loopback_sender()).await, 1);
    let row = deliveries_of(&s, endpoint).await.remove(0);
    assert_eq!((row.status.as_str(), row.attempts, row.response_status), ("delivered", 2, Some(204)));
    assert_eq!(receiver.received().len(), 2);

    // A delivery whose event is over a day old, refused again, is given up.
    receiver.answer.store(503, Ordering::SeqCst);
    s.key("second", &[]).await;
    let pending = deliveries_of(&s, endpoint).await.into_iter().find(|d| d.status == "pending").expect("pending");
    let mut old = pending.into_active_model();
    old.created_at = Set(Utc::now() - Duration::hours(25));
    old.update(&s.core.db).await.expect("aged");
    deliver_due(&s.core, &loopback_sender()).await;
    let (_, page) = s.get(&format!("/webhooks/{endpoint}/deliveries"), &s.admin).await;
    let failed = page["deliveries"].as_array().expect("list").iter().find(|d| d["status"] == "failed").expect("failed");
    assert_eq!(
        (&failed["response_status"], &failed["last_error"], &failed["next_attempt_at"]),
        (&json!(503), &json!("answered 503 Service Unavailable"), &Value::Null),
        "{page}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&s, &format!("{}/moved", receiver.base), &["key.created"]).await;
    s.key("moved", &[]).await;
    deliver_due(&s.core, &loopback_sender()).await;
    assert!(receiver.received().is_empty(), "the redirect's target got nothing");
    let row = deliveries_of(&s, endpoint).await.remove(0);
    assert_eq!((row.status.as_str(), row.response_status), ("pending", Some(307)));
    assert!(row.last_error.unwrap_or_default().contains("not followed"));
}

#[tokio::test]
async fn private_destinations_are_refused_at_registration_and_at_delivery() {
    let s = start().await;
    for url in [
        "http://127.0.0.1:9/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/",
        "http://10.0.0.7/",
        "http://localhost:8080/",
    ] {
        let (status, body) = s.post("/webhooks", &s.admin, json!({ "url": url, "events": ["key.created"] })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
        assert_eq!(body["errors"][0]["field"], "url", "{body}");
    }
    let (_, listed) = s.get("/webhooks", &s.admin).await;
    assert_eq!(listed, json!([]), "nothing registered");

    // Registered where private addresses were allowed, then sent by a worker that refuses them:
    // the check is made again as the delivery connects.
    let receiver = Receiver::start().await;
    let permissive = s.core.clone().with_webhooks(WebhookSettings { allow_private: true, ..s.core.webhooks.clone() });
    for url in [receiver.url(), receiver.url().replace("127.0.0.1", "localhost")] {
        let created =
            webhooks::register(&permissive, &s.owner, &url, &["key.created".to_owned()]).await.expect("registered");
        let strict = Sender::new(false).expect("client");
        s.key(&format!("to {url}"), &[]).await;
        deliver_due(&s.core, &strict).await;
        assert!(receiver.received().is_empty(), "nothing reached {url}");
        let rows = deliveries_of(&s, created.endpoint.id).await;
        let error = rows.iter().filter_map(|d| d.last_error.clone()).next().expect("an attempt");
        assert!(error.contains("not a public address") || error.contains("no public address"), "{error}");
        webhooks::delete(&s.core, &s.owner, created.endpoint.id).await.expect("deleted");
    }
}

#[tokio::test]
async fn two_workers_send_each_delivery_once() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&s, &receiver.url(), &["key.created"]).await;
    for i in 0..30 {
        s.key(&format!("key {i}"), &[]).await;
    }
    let (a, b) = (loopback_sender(), loopback_sender());
    let (sent_a, sent_b) = tokio::join!(deliver_due(&s.core, &a), deliver_due(&s.core, &b));
    assert_eq!(sent_a + sent_b, 30, "{sent_a} + {sent_b}");
    let mut ids: Vec<String> = receiver.received().into_iter().map(|r| r.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "each delivery sent once");
    assert_eq!(receiver.received().len(), 30);
    let delivered = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint))
        .filter(webhook_delivery::Column::Status.eq("delivered"))
        .count(&s.core.db)
        .await
        .expect("count");
    assert_eq!(delivered, 30);
}

#[tokio::test]
async fn the_event_is_written_with_its_change_or_not_at_all() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&s, &receiver.url(), &["key.revoked"]).await;
    let change = || Change::new(AuditAction::KeyRevoked, "key", Uuid::now_v7(), "rolled back");
    let txn = begin_write(&s.core.db).await.expect("transaction");
    audit::record(&txn, &s.owner, change()).await.expect("recorded");
    drop(txn); // Rolled back, as a change that fails after recording is.
    assert!(deliveries_of(&s, endpoint).await.is_empty(), "no event for a change that did not happen");

    // A refused change raises nothing either: revoking a revoked key.
    let (id, _) = s.key("once", &[]).await;
    keys::revoke(&s.core, &s.owner, id).await.expect("revoked");
    assert!(matches!(keys::revoke(&s.core, &s.owner, id).await, Err(ServiceError::Conflict(_))));
    assert_eq!(deliveries_of(&s, endpoint).await.len(), 1, "one revocation, one event");

    // A disabled endpoint gets no new events.
    let (status, _, _) = s
        .call(
            reqwest::Method::PATCH,
            &format!("/webhooks/{endpoint}"),
            Some(&s.admin),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (id, _) = s.key("while disabled", &[]).await;
    keys::revoke(&s.core, &s.owner, id).await.expect("revoked");
    assert_eq!(deliveries_of(&s, endpoint).await.len(), 1);
}

#[tokio::test]
async fn bad_endpoint_input_names_the_field_and_changes_nothing() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&s, &receiver.url(), &["key.created"]).await;
    let long = format!("https://example.com/{}", "a".repeat(2_000));
    for (body, field) in [
        (json!({ "url": "ftp://example.com/", "events": ["key.created"] }), "url"),
        (json!({ "url": "https://user:pw@example.com/", "events": ["key.created"] }), "url"),
        (json!({ "url": long, "events": ["key.created"] }), "url"),
        (json!({ "url": receiver.url(), "events": [] }), "events"),
        (json!({ "url": receiver.url(), "events": ["key.created", "key.exploded"] }), "events[1]"),
        (json!({ "url": receiver.url(), "events": ["key.created"], "secret": "mine" }), "secret"),
    ] {
        let (status, problem) = s.post("/webhooks", &s.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert_eq!(problem["errors"][0]["field"], field, "{body}: {problem}");
    }
    let path = format!("/webhooks/{endpoint}");
    let patch = |body: Value| s.call(reqwest::Method::PATCH, &path, Some(&s.admin), Some(body));
    for (body, field) in
        [(json!({}), "body"), (json!({ "url": "nope" }), "url"), (json!({ "events": ["x"] }), "events[0]")]
    {
        let (status, _, problem) = patch(body.clone()).await;
        assert_eq!(
            (status, &problem["errors"][0]["field"]),
            (StatusCode::UNPROCESSABLE_ENTITY, &json!(field)),
            "{body}: {problem}"
        );
    }
    let (status, problem) = s.get(&format!("/webhooks/{endpoint}/deliveries?page=0"), &s.admin).await;
    assert_eq!((status, &problem["errors"][0]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("page")));
    let (_, listed) = s.get("/webhooks", &s.admin).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!((&listed[0]["url"], &listed[0]["events"]), (&json!(receiver.url()), &json!(["key.created"])));
}

#[tokio::test]
async fn endpoints_are_refused_to_everyone_but_the_organizations_owners_and_admins() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, _) = register(&s, &receiver.url(), &["key.created"]).await;
    let paths = [
        (reqwest::Method::GET, format!("/webhooks/{endpoint}")),
        (reqwest::Method::PATCH, format!("/webhooks/{endpoint}")),
        (reqwest::Method::POST, format!("/webhooks/{endpoint}/rotate-secret")),
        (reqwest::Method::POST, format!("/webhooks/{endpoint}/test")),
        (reqwest::Method::GET, format!("/webhooks/{endpoint}/deliveries")),
        (reqwest::Method::DELETE, format!("/webhooks/{endpoint}")),
    ];
    let attempt = |key: Option<String>| {
        let paths = paths.clone();
        let s = &s;
        async move {
            let mut statuses = Vec::new();
            let (status, _, _) = s
                .call(
                    reqwest::Method::POST,
                    "/webhooks",
                    key.as_deref(),
                    Some(json!({ "url": "https://1.1.1.1/x", "events": ["key.created"] })),
                )
                .await;
            statuses.push(status);
            for (method, path) in paths {
                let (status, _, _) = s.call(method, &path, key.as_deref(), Some(json!({ "enabled": false }))).await;
                statuses.push(status);
            }
            statuses
        }
    };
    // Anonymous.
    assert!(attempt(None).await.iter().all(|s| *s == StatusCode::UNAUTHORIZED));
    // A key without the scope (everything a day-to-day key holds).
    let (_, workspace) =
        s.key_with(scoped_key("workspace", &s.project, ScopePreset::Workspace.scopes().to_strings())).await;
    assert!(attempt(Some(workspace)).await.iter().all(|s| *s == StatusCode::FORBIDDEN));
    // A developer cannot give a key the scope; an admin's key loses it when the admin is demoted.
    let developer = member(&s.core.db, &s.owner, Role::Developer, "Dev").await;
    let refused =
        keys::create(&s.core, &developer, scoped_key("dev", &s.project, vec!["webhooks.manage".into()])).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))), "{refused:?}");
    assert!(matches!(webhooks::list(&s.core, &developer).await, Err(ServiceError::Forbidden(_))));
    let admin = member(&s.core.db, &s.owner, Role::Admin, "Adm").await;
    let admins_key = keys::create(&s.core, &admin, scoped_key("adm", &s.project, vec!["webhooks.manage".into()]))
        .await
        .expect("an admin may")
        .token;
    let (status, _) = s.get("/webhooks", &admins_key).await;
    assert_eq!(status, StatusCode::OK);
    members::change_role(&s.core, &s.owner, admin.user_id, Role::Developer).await.expect("demoted");
    assert!(attempt(Some(admins_key)).await.iter().all(|s| *s == StatusCode::FORBIDDEN));
    // Another organization's full-access key: Acme's endpoint is not found for it.
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let project = projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let globex_key =
        keys::create(&s.core, &globex, scoped_key("admin", &project, ScopePreset::Organization.scopes().to_strings()))
            .await
            .expect("key")
            .token;
    let statuses = attempt(Some(globex_key.clone())).await;
    assert_eq!(statuses[0], StatusCode::CREATED, "its own endpoint it may register");
    assert!(statuses[1..].iter().all(|s| *s == StatusCode::NOT_FOUND), "{statuses:?}");
    // And Globex's events never reach Acme's endpoint.
    keys::create(&s.core, &globex, scoped_key("globex key", &project, vec![])).await.expect("key");
    deliver_due(&s.core, &loopback_sender()).await;
    assert!(receiver.received().iter().all(|r| !r.body.contains("globex key")));

    // Nothing changed: Acme's endpoint is as it was, enabled, with no test event queued.
    let (status, shown) = s.get(&format!("/webhooks/{endpoint}"), &s.admin).await;
    assert_eq!((status, &shown["enabled"]), (StatusCode::OK, &json!(true)), "{shown}");
    assert!(deliveries_of(&s, endpoint).await.iter().all(|d| d.event != WebhookEvent::WebhookTest.as_str()));
    let (_, log) = s.get("/audit?action=webhook.secret_rotated", &s.admin).await;
    assert_eq!(log["total"], 0, "{log}");
}

#[tokio::test]
async fn a_second_secret_key_for_the_same_database_is_refused() {
    let s = start().await;
    let first = ServerSecret::random();
    webhooks::adopt_server_secret(&s.core.db, &first).await.expect("first use");
    webhooks::adopt_server_secret(&s.core.db, &first).await.expect("the same key again");
    let refused = webhooks::adopt_server_secret(&s.core.db, &ServerSecret::random()).await;
    assert!(matches!(refused, Err(ServiceError::Conflict(ref m)) if m.contains("KEYWARD_SECRET_KEY")), "{refused:?}");
}

#[tokio::test]
async fn the_dashboards_webhook_functions_refuse_a_developer_and_another_organization() {
    use crate::attacks::{post_form, root};
    use app::ssr::services::{Client, auth};
    use app::ssr::test_support::PASSWORD;
    let s = start_sending_webhooks_to_loopback().await;
    let (endpoint, _) = register(&s, "http://127.0.0.1:9/hooks", &["key.created"]).await;
    let id = endpoint.to_string();
    let own_origin = [("Origin", root(&s))];
    let cookie = |token: String| format!("kw_session={token}");
    let command = |command: &'static str| ("change_webhook", vec![("endpoint_id", id.as_str()), ("command", command)]);
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("register_webhook", vec![("url", "http://127.0.0.1:9/other"), ("events[0]", "key.created")]),
        command("disable"),
        command("rotate_secret"),
        command("send_test"),
        command("delete"),
    ];

    member(&s.core.db, &s.owner, Role::Developer, "Dev").await;
    let developer = auth::sign_in(&s.core, "dev@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let developer = cookie(developer.token);
    let listed = post_form(&s, "list_webhooks", Some(&developer), &own_origin, &[]).await;
    assert_eq!(listed.status(), StatusCode::FORBIDDEN);
    for (function, form) in &calls {
        let answer = post_form(&s, function, Some(&developer), &own_origin, form).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "a developer's {function}");
    }

    organization(&s.core.db, "Globex", "gus@globex.test").await;
    let outsider = auth::sign_in(&s.core, "gus@globex.test", PASSWORD, &Client::default()).await.expect("signed in");
    let outsider = cookie(outsider.token);
    let listed = post_form(&s, "list_webhooks", Some(&outsider), &own_origin, &[]).await;
    assert_eq!(listed.json::<Value>().await.expect("json"), json!([]), "Globex sees none of Acme's endpoints");
    for (function, form) in &calls[1..] {
        let answer = post_form(&s, function, Some(&outsider), &own_origin, form).await;
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "another organization's {function}");
    }

    let (_, listed) = s.get("/webhooks", &s.admin).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!((&listed[0]["id"], &listed[0]["enabled"]), (&json!(id), &json!(true)));
    assert!(deliveries_of(&s, endpoint).await.is_empty(), "no test event was queued");
}

#[tokio::test]
async fn a_key_is_announced_a_week_and_a_day_before_it_expires_and_when_it_has_once_each() {
    use app::ssr::services::reminders::announce_expiries;
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (_, secret) = register(&s, &receiver.url(), &["key.expiring", "key.expired"]).await;
    let now = Utc::now();
    let (soon, _) = s.key("expires soon", &[]).await;
    s.set_expires(soon, now + Duration::days(3)).await;
    for (name, expires_at, disabled) in [
        ("expires next month", now + Duration::days(30), false),
        ("expired long ago", now - Duration::days(3), false),
        ("disabled", now + Duration::days(2), true),
        // A decoy is nobody's to renew: never announced.
        ("decoy", now + Duration::days(2), false),
    ] {
        let input = NewKey { decoy: name == "decoy", ..scoped_key(name, &s.project, vec![]) };
        let (id, _) = s.key_with(input).await;
        s.set_expires(id, expires_at).await;
        if disabled {
            keys::disable(&s.core, &s.owner, id).await.expect("disabled");
        }
    }

    // Two instances looking at once announce it once; looking again finds nothing new.
    let (a, b) = tokio::join!(announce_expiries(&s.core, now), announce_expiries(&s.core, now));
    assert_eq!(a.expect("looked") + b.expect("looked"), 1);
    assert_eq!(announce_expiries(&s.core, now).await.expect("looked"), 0);
    // A day before, then once it has expired.
    assert_eq!(announce_expiries(&s.core, now + Duration::hours(49)).await.expect("looked"), 1);
    assert_eq!(announce_expiries(&s.core, now + Duration::hours(50)).await.expect("looked"), 0);
    assert_eq!(announce_expiries(&s.core, now + Duration::days(3) + Duration::minutes(1)).await.expect("looked"), 1);
    // Given a new expiry date, it is announced again for it.
    s.set_expires(soon, now + Duration::days(5)).await;
    assert_eq!(announce_expiries(&s.core, now).await.expect("looked"), 1);

    deliver_due(&s.core, &loopback_sender()).await;
    let received = receiver.received();
    let notices: Vec<(String, String)> = received
        .iter()
        .map(|r| {
            let body = r.json();
            assert_eq!(body["data"]["target"]["id"], json!(soon), "{body}");
            (
                body["type"].as_str().unwrap_or_default().to_owned(),
                body["data"]["notice"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut notices = notices;
    notices.sort();
    let expected = [("key.expired", "expired"), ("key.expiring", "1d"), ("key.expiring", "7d"), ("key.expiring", "7d")];
    assert_eq!(notices, expected.map(|(t, n)| (t.to_owned(), n.to_owned())));
    assert!(received.iter().all(|r| standard_library_accepts(&secret, r)));
}

#[tokio::test]
async fn the_verification_that_spends_a_keys_last_credit_raises_one_event() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let (endpoint, secret) = register(&s, &receiver.url(), &["key.credits_exhausted"]).await;
    let (status, created) = s
        .post("/keys", &s.admin, json!({ "name": "metered", "credits": { "remaining": 3 }, "external_id": "cus_42" }))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().expect("token").to_owned();
    let mut codes = Vec::new();
    for cost in [Some(2), Some(0), Some(1), Some(0), None] {
        let body = match cost {
            Some(cost) => json!({ "key": token, "cost": cost }),
            None => json!({ "key": token }),
        };
        codes.push(s.verify_with(body).await["code"].as_str().unwrap_or_default().to_owned());
    }
    assert_eq!(codes, ["VALID", "VALID", "VALID", "USAGE_EXCEEDED", "USAGE_EXCEEDED"]);
    // Written as the verification answers, off its path.
    for _ in 0..100 {
        if !deliveries_of(&s, endpoint).await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(deliveries_of(&s, endpoint).await.len(), 1, "one event for the one that spent the last credit");
    deliver_due(&s.core, &loopback_sender()).await;
    let received = receiver.received();
    let body = received[0].json();
    assert_eq!(
        (&body["type"], &body["data"]["target"]["name"], &body["data"]["external_id"]),
        (&json!("key.credits_exhausted"), &json!("metered"), &json!("cus_42"))
    );
    assert!(standard_library_accepts(&secret, &received[0]));
}

/// 30 registrations at once, by an admin with room for 20: exactly 20 are made, and each of the
/// others is refused with 409 naming the limit (on PostgreSQL too, where they run side by side).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registrations_at_once_never_pass_the_limit_of_endpoints() {
    let s = start_sending_webhooks_to_loopback().await;
    let receiver = Receiver::start().await;
    let url = receiver.url();
    let attempts = (0..30).map(|i| {
        let body = json!({ "url": format!("{url}?n={i}"), "events": ["key.created"] });
        let s = &s;
        async move { s.post("/webhooks", &s.admin, body).await }
    });
    let answers = futures::future::join_all(attempts).await;
    let made = answers.iter().filter(|(status, _)| *status == StatusCode::CREATED).count();
    assert_eq!(made, app::model::MAX_WEBHOOK_ENDPOINTS, "{answers:?}");
    for (status, problem) in answers.iter().filter(|(status, _)| *status != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::CONFLICT, "{problem}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("20 webhook endpoints")), "{problem}");
    }
    let (_, listed) = s.get("/webhooks", &s.admin).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(app::model::MAX_WEBHOOK_ENDPOINTS));
}
