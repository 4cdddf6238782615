//! The management and verification APIs over real HTTP: the whole router on a loopback port, a fresh
//! database per test (SQLite, or PostgreSQL with KEYWARD_TEST_DATABASE_URL).

use app::model::token::KeyToken;
use app::model::{
    AuditAction, AuditQuery, Environment, NewKey, Plan, Project, RateLimit, RateWindow, Role, ScopePreset, SetupForm,
};
use app::ssr::entities::{api_key, key_usage, membership, project};
use app::ssr::leak_reports::LeakReporters;
use app::ssr::services::webhooks::WebhookSettings;
use app::ssr::services::{Client, Member, audit, auth, keys, organizations, projects};
use app::ssr::test_support::{fresh_database_url, organization, scoped_key, scopes};
use app::ssr::{AppState, Core, db};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// The one file in the test server's site, at `/pkg/` (see `start_configured`).
pub(crate) const SITE_FILE: &str = "keyward.wasm";

/// The longest any request of a test waits for its answer: a server that stops answering fails its
/// test, and does not hold the whole suite until CI's time runs out.
pub(crate) const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(60);

/// The whole router on a loopback port, with an organization, its owner and a full-access key.
pub(crate) struct Server {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) core: Core,
    pub(crate) owner: Member,
    pub(crate) project: Project,
    /// A full-access production key of the Default project.
    pub(crate) admin: String,
    _dir: tempfile::TempDir,
}

pub(crate) async fn start() -> Server {
    start_on(Plan::Enterprise).await
}

pub(crate) async fn start_on(plan: Plan) -> Server {
    start_behind(plan, "").await
}

/// A server that believes `X-Forwarded-For` from these proxies (`KEYWARD_TRUSTED_PROXIES`'s form).
pub(crate) async fn start_behind(plan: Plan, trusted_proxies: &str) -> Server {
    start_with(plan, trusted_proxies, false).await
}

/// A server as configured behind TLS (`KEYWARD_SECURE_COOKIES`), when `https`.
pub(crate) async fn start_with(plan: Plan, trusted_proxies: &str, https: bool) -> Server {
    start_configured(plan, trusted_proxies, https, false, LeakReporters::default(), |_| ()).await
}

/// A server that sends webhooks to loopback addresses too (`KEYWARD_WEBHOOK_ALLOW_PRIVATE`), where
/// the tests' receivers listen.
pub(crate) async fn start_sending_webhooks_to_loopback() -> Server {
    start_configured(Plan::Enterprise, "", false, true, LeakReporters::default(), |_| ()).await
}

/// A server that takes leak reports signed by these scanners (`KEYWARD_LEAK_REPORT_KEYS`).
pub(crate) async fn start_taking_leak_reports(reporters: LeakReporters) -> Server {
    start_configured(Plan::Enterprise, "", false, false, reporters, |_| ()).await
}

/// A server that records every SQL statement it runs (their text, without the values).
pub(crate) async fn start_recording_statements() -> (Server, Arc<Mutex<Vec<String>>>) {
    let statements = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&statements);
    let s = start_configured(Plan::Enterprise, "", false, false, LeakReporters::default(), move |db| {
        db.set_metric_callback(move |info| {
            if let Ok(mut statements) = record.lock() {
                statements.push(info.statement.sql.clone());
            }
        })
    })
    .await;
    (s, statements)
}

async fn start_configured(
    plan: Plan,
    trusted_proxies: &str,
    https: bool,
    allow_private_webhooks: bool,
    leak_reporters: LeakReporters,
    configure: impl FnOnce(&mut sea_orm::DatabaseConnection),
) -> Server {
    // The servers' log, when asked for (e.g. KEYWARD_TEST_LOG=debug, with --nocapture).
    if let Ok(filter) = std::env::var("KEYWARD_TEST_LOG") {
        let filter = tracing_subscriber::EnvFilter::new(filter);
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let mut db = db::connect_and_migrate(&url).await.expect("database with migrations");
    configure(&mut db);
    let webhooks = WebhookSettings { allow_private: allow_private_webhooks, ..WebhookSettings::default() };
    let core = Core::new(db).with_webhooks(webhooks).with_leak_reporters(leak_reporters);
    // A site with one file of the kind a page loads, served beside the pages.
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("pkg")).expect("site folder");
    std::fs::write(site.join("pkg").join(SITE_FILE), b"\0asm not really").expect("site file");
    let leptos_options = leptos::config::LeptosOptions::builder()
        .output_name("keyward")
        .site_root(site.to_string_lossy().into_owned())
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("address");
    let trusted = keyward::security::parse_trusted_proxies(trusted_proxies).expect("proxies");
    let site = keyward::security::Site::new(None, addr, trusted, https).expect("site");
    let app = keyward::router::build(AppState::new(leptos_options, core.clone(), https), site);
    let base = format!("http://{addr}/api/v1");
    // As the binary serves it: with the peer's address, which the audit log records.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let owner = organization(&core.db, "Acme", "ada@acme.test").await;
    organizations::change_plan(&core, &owner, plan).await.expect("plan");
    let owner = Member { plan, ..owner };
    let project = projects::list(&core.db, &owner).await.expect("projects").remove(0);
    let admin =
        keys::create(&core, &owner, scoped_key("admin", &project, ScopePreset::Organization.scopes().to_strings()))
            .await
            .expect("admin key")
            .token;
    let http = reqwest::Client::builder().timeout(ANSWER_WITHIN).build().expect("client");
    Server { base, http, core, owner, project, admin, _dir: dir }
}

/// What another server started in this process builds, on the same database: its router, with the
/// app's pages worked out.
pub(crate) fn another_servers_router(core: &Core) -> axum::Router {
    let options = leptos::config::LeptosOptions::builder().output_name("keyward").build();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 9));
    let trusted = keyward::security::parse_trusted_proxies("").expect("proxies");
    let site = keyward::security::Site::new(None, addr, trusted, false).expect("site");
    keyward::router::build(AppState::new(options, core.clone(), false), site)
}

impl Server {
    /// A key made in the dashboard, with these scopes: (id, token).
    pub(crate) async fn key(&self, name: &str, scopes: &[&str]) -> (Uuid, String) {
        self.key_with(scoped_key(name, &self.project, self::scopes(scopes))).await
    }

    pub(crate) async fn key_with(&self, input: NewKey) -> (Uuid, String) {
        let created = keys::create(&self.core, &self.owner, input).await.expect("key created");
        (created.key.id, created.token)
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("response");
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.expect("body");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, headers, value)
    }

    pub(crate) async fn get(&self, path: &str, key: &str) -> (StatusCode, Value) {
        let (status, _, body) = self.call(reqwest::Method::GET, path, Some(key), None).await;
        (status, body)
    }

    pub(crate) async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, body) = self.call(reqwest::Method::POST, path, Some(key), Some(body)).await;
        (status, body)
    }

    /// Verifies `presented` with the admin key: the verdict's body.
    pub(crate) async fn verify(&self, presented: &str) -> Value {
        self.verify_with(json!({ "key": presented })).await
    }

    pub(crate) async fn verify_with(&self, body: Value) -> Value {
        let (status, verdict) = self.post("/keys/verify", &self.admin, body).await;
        assert_eq!(status, StatusCode::OK, "{verdict}");
        verdict
    }

    /// A second project in the organization (projects get their own pages in a later issue).
    pub(crate) async fn add_project(&self, name: &str) -> Project {
        let row = project::ActiveModel {
            id: Set(Uuid::now_v7()),
            organization_id: Set(self.owner.organization_id),
            name: Set(name.into()),
            created_at: Set(Utc::now()),
            archived_at: Set(None),
        }
        .insert(&self.core.db)
        .await
        .expect("project");
        Project { id: row.id, name: row.name, scopes: Vec::new() }
    }

    pub(crate) async fn set_expires(&self, id: Uuid, at: chrono::DateTime<Utc>) {
        let mut key =
            api_key::Entity::find_by_id(id).one(&self.core.db).await.expect("query").expect("key").into_active_model();
        key.expires_at = Set(Some(at));
        key.update(&self.core.db).await.expect("updated");
    }

    /// A key named "metered" with `remaining` credits and no refill.
    pub(crate) async fn metered_key(&self, remaining: u64) -> (Uuid, String) {
        let credits = Some(app::model::Credits { remaining, refill: None });
        self.key_with(NewKey { credits, ..scoped_key("metered", &self.project, vec![]) }).await
    }

    /// Sets the key's credits anew through the API (no refill), as an admin.
    pub(crate) async fn set_credits(&self, id: Uuid, remaining: u64) {
        let body = json!({ "credits": { "remaining": remaining } });
        let path = format!("/keys/{id}/credits");
        let (status, _, answer) = self.call(reqwest::Method::PUT, &path, Some(&self.admin), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }

    /// The key's credits as the database holds them.
    pub(crate) async fn credits_stored(&self, id: Uuid) -> Option<i64> {
        api_key::Entity::find_by_id(id).one(&self.core.db).await.expect("query").and_then(|k| k.credits_remaining)
    }
}

pub(crate) fn code(verdict: &Value) -> &str {
    verdict["code"].as_str().unwrap_or_default()
}

pub(crate) fn unknown_token() -> String {
    KeyToken::generate(Environment::Production).expose_secret().to_owned()
}

#[tokio::test]
async fn verification_answers_every_code() {
    let s = start().await;
    let (id, good) = s.key("telemetry", &["telemetry.write", "telemetry.read"]).await;

    let valid = s.verify_with(json!({ "key": good, "environment": "production", "scopes": ["telemetry.write"] })).await;
    assert_eq!(valid["valid"], true);
    assert_eq!(code(&valid), "VALID");
    assert_eq!(valid["key_id"], id.to_string());
    assert_eq!(valid["name"], "telemetry");
    assert_eq!(valid["project"]["name"], "Default");
    assert_eq!(valid["environment"], "production");
    assert_eq!(valid["scopes"], json!(["telemetry.read", "telemetry.write"]));
    assert_eq!(valid["expires_at"], Value::Null);
    assert!(valid.get("ratelimit").is_none(), "no limit, no ratelimit object: {valid}");

    assert_eq!(code(&s.verify_with(json!({ "key": good, "scopes": ["billing.write"] })).await), "INSUFFICIENT_SCOPE");
    assert_eq!(code(&s.verify_with(json!({ "key": good, "environment": "staging" })).await), "WRONG_ENVIRONMENT");

    // Unknown, malformed and bad-checksum keys are all simply not found, and say nothing more.
    let mut typo = good.clone();
    let last = typo.pop().expect("a character");
    typo.push(if last == 'a' { 'b' } else { 'a' });
    for presented in [unknown_token(), "hello".to_owned(), typo, String::new()] {
        let verdict = s.verify(&presented).await;
        assert_eq!(verdict, json!({ "valid": false, "code": "NOT_FOUND" }), "{presented}");
    }

    let (disabled_id, disabled) = s.key("disabled", &[]).await;
    keys::disable(&s.core, &s.owner, disabled_id).await.expect("disabled");
    assert_eq!(code(&s.verify(&disabled).await), "DISABLED");

    let (revoked_id, revoked) = s.key("revoked", &[]).await;
    keys::revoke(&s.core, &s.owner, revoked_id).await.expect("revoked");
    let verdict = s.verify(&revoked).await;
    assert_eq!((code(&verdict), &verdict["valid"]), ("REVOKED", &json!(false)));
    assert_eq!(verdict["key_id"], revoked_id.to_string());

    let (expired_id, expired) = s.key("expired", &[]).await;
    s.set_expires(expired_id, Utc::now() - Duration::minutes(1)).await;
    assert_eq!(code(&s.verify(&expired).await), "EXPIRED");

    let limited = NewKey {
        rate_limit: Some(RateLimit { requests: 2, window: RateWindow::Hour }),
        ..scoped_key("limited", &s.project, vec![])
    };
    let (_, limited) = s.key_with(limited).await;
    let first = s.verify(&limited).await;
    assert_eq!(
        (code(&first), first["ratelimit"]["limit"].as_u64(), first["ratelimit"]["remaining"].as_u64()),
        ("VALID", Some(2), Some(1))
    );
    assert!(first["ratelimit"]["reset"].as_i64().unwrap_or_default() > Utc::now().timestamp_millis());
    assert_eq!(code(&s.verify(&limited).await), "VALID");
    let over = s.verify(&limited).await;
    assert_eq!(
        (code(&over), &over["valid"], over["ratelimit"]["remaining"].as_u64()),
        ("RATE_LIMITED", &json!(false), Some(0))
    );

    // Another project's key, and another organization's, are not found: their existence does not leak.
    let other_project = s.add_project("Billing").await;
    let (_, elsewhere) = s.key_with(scoped_key("billing", &other_project, vec![])).await;
    assert_eq!(s.verify(&elsewhere).await, json!({ "valid": false, "code": "NOT_FOUND" }));
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let globex_project = projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let foreign =
        keys::create(&s.core, &globex, scoped_key("foreign", &globex_project, vec![])).await.expect("key").token;
    assert_eq!(s.verify(&foreign).await, json!({ "valid": false, "code": "NOT_FOUND" }));
}

/// Verdicts change with the next call and answers may hold a token: no answer of the API, the
/// verification's included (it sets the header itself, off the other routes' layer), is for a cache.
#[tokio::test]
async fn no_api_answer_is_for_a_cache() {
    let s = start().await;
    let (_, token) = s.key("customer", &[]).await;
    let calls = [
        (reqwest::Method::POST, "/keys/verify", Some(s.admin.as_str()), Some(json!({ "key": token })), StatusCode::OK),
        (reqwest::Method::POST, "/keys/verify", None, Some(json!({ "key": token })), StatusCode::UNAUTHORIZED),
        (
            reqwest::Method::POST,
            "/keys/verify",
            Some(s.admin.as_str()),
            Some(json!({ "kee": 1 })),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (reqwest::Method::GET, "/keys", Some(s.admin.as_str()), None, StatusCode::OK),
        (reqwest::Method::GET, "/no-such-endpoint", None, None, StatusCode::NOT_FOUND),
        // A wrong method: on the hot path, which answers outside the `/api/v1` layer, and elsewhere.
        (reqwest::Method::GET, "/keys/verify", Some(s.admin.as_str()), None, StatusCode::METHOD_NOT_ALLOWED),
        (reqwest::Method::DELETE, "/keys", Some(s.admin.as_str()), None, StatusCode::METHOD_NOT_ALLOWED),
    ];
    for (method, path, key, body, expected) in calls {
        let (status, headers, answer) = s.call(method.clone(), path, key, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        assert_eq!(headers.get("cache-control").map(|v| v.as_bytes()), Some(&b"no-store"[..]), "{method} {path}");
        if status == StatusCode::METHOD_NOT_ALLOWED {
            // Both paths take a POST: the answer says so.
            let allow = headers.get("allow").and_then(|allow| allow.to_str().ok()).unwrap_or_default();
            assert!(allow.split(',').any(|m| m.trim() == "POST"), "{method} {path}: Allow {allow:?}");
        }
    }
}

#[tokio::test]
async fn the_calling_key_is_checked_on_every_request() {
    let s = start().await;
    let (_, reader) = s.key("reader", &["api_keys.read"]).await;

    // Both headers carry a key.
    assert_eq!(s.get("/keys", &reader).await.0, StatusCode::OK);
    let bearer = s.http.get(format!("{}/keys", s.base)).bearer_auth(&reader).send().await.expect("response");
    assert_eq!(bearer.status(), StatusCode::OK);

    let (status, headers, missing) = s.call(reqwest::Method::GET, "/keys", None, None).await;
    assert_eq!((status, missing["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("MISSING_API_KEY")));
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(missing["status"], 401);
    assert!(missing["detail"].as_str().is_some_and(|d| d.contains("X-API-Key")));

    // Malformed, unknown and revoked keys get the same answer.
    let (revoked_id, revoked) = s.key("revoked", &["api_keys.read"]).await;
    keys::revoke(&s.core, &s.owner, revoked_id).await.expect("revoked");
    let mut answers = Vec::new();
    for key in ["kw_live_nope".to_owned(), unknown_token(), revoked.clone()] {
        let (status, body) = s.get("/keys", &key).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{key}");
        assert!(!body.to_string().contains(&key), "the answer must not echo the key");
        answers.push(body);
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0]["code"], "INVALID_API_KEY");

    let (disabled_id, disabled) = s.key("disabled", &["api_keys.read"]).await;
    keys::disable(&s.core, &s.owner, disabled_id).await.expect("disabled");
    assert_eq!(s.get("/keys", &disabled).await.1["code"], "KEY_DISABLED");
    let (expired_id, expired) = s.key("expired", &["api_keys.read"]).await;
    s.set_expires(expired_id, Utc::now() - Duration::seconds(1)).await;
    assert_eq!(s.get("/keys", &expired).await.1["code"], "KEY_EXPIRED");

    // A key without the endpoint's scope: 403, naming the scope.
    let (status, body) = s.post("/keys", &reader, json!({ "name": "nope" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("INSUFFICIENT_SCOPE")));
    assert!(body["detail"].as_str().is_some_and(|d| d.contains("api_keys.create")));
    let (status, body) = s.post("/keys/verify", &reader, json!({ "key": s.admin })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("INSUFFICIENT_SCOPE")));
    assert_eq!(s.get("/stats/summary", &reader).await.0, StatusCode::FORBIDDEN);

    let (status, body) = s.get("/nothing-here", &reader).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")));
}

#[tokio::test]
async fn a_caller_over_its_rate_limit_gets_429_with_retry_after() {
    let s = start().await;
    let limited = NewKey {
        rate_limit: Some(RateLimit { requests: 2, window: RateWindow::Hour }),
        ..scoped_key("limited", &s.project, scopes(&["api_keys.read"]))
    };
    let (_, key) = s.key_with(limited).await;
    let (status, headers, _) = s.call(reqwest::Method::GET, "/keys", Some(&key), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (&headers["ratelimit-limit"], &headers["ratelimit-remaining"]),
        (&"2".parse().expect("v"), &"1".parse().expect("v"))
    );
    assert_eq!(s.call(reqwest::Method::GET, "/keys", Some(&key), None).await.0, StatusCode::OK);
    let (status, headers, body) = s.call(reqwest::Method::GET, "/keys", Some(&key), None).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("RATE_LIMITED")));
    let retry: u64 = headers["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    assert_eq!(headers["ratelimit-remaining"], "0");
    assert_eq!(headers["ratelimit-reset"], headers["retry-after"]);
    // The admin key has no limit: unaffected.
    assert_eq!(s.get("/keys", &s.admin).await.0, StatusCode::OK);
}

#[tokio::test]
async fn bad_input_gets_422_naming_the_field() {
    let s = start().await;
    let cases = [
        (json!({}), "name"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x", "scopes": ["Not A Scope"] }), "scopes"),
        (json!({ "name": "x", "environment": "moon" }), "environment"),
        (json!({ "name": "x", "rate_limit": { "requests": 0, "window": "minute" } }), "rate_limit.requests"),
        (json!({ "name": "x", "rate_limit": { "requests": 5 } }), "rate_limit.window"),
        (json!({ "name": "x", "expires_on": "2000-01-01" }), "expires_on"),
        (json!({ "name": "x", "expires_in_days": 30, "expires_on": "2030-01-01" }), "expires_on"),
        (json!({ "name": "x", "scope": ["a.b"] }), "scope"),
        (json!({ "name": 5 }), "name"),
    ];
    for (body, field) in cases {
        let (status, problem) = s.post("/keys", &s.admin, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {problem}");
        assert_eq!(problem["code"], "VALIDATION_FAILED");
        assert_eq!(problem["errors"][0]["field"], field, "{body} → {problem}");
        assert!(problem["errors"][0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    // Several mistakes at once: every one is named, in the body's order, and the detail says each.
    let body =
        json!({ "name": " ", "description": "d".repeat(501), "scopes": ["Not A Scope"], "expires_on": "2000-01-01" });
    let (status, problem) = s.post("/keys", &s.admin, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let fields: Vec<_> =
        problem["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["name", "description", "scopes", "expires_on"], "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("name is required.") && detail.contains("expires_on must be in the future."),
        "{detail}"
    );
    let raw = s
        .http
        .post(format!("{}/keys", s.base))
        .header("X-API-Key", &s.admin)
        .body("{not json")
        .send()
        .await
        .expect("response");
    assert_eq!(raw.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (status, problem) = s.post("/keys/verify", &s.admin, json!({ "key": "x", "scopes": ["nope"] })).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("scopes")));
    let (status, problem) = s.get("/keys?per_page=7", &s.admin).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("per_page")));
    let (status, problem) =
        s.post(&format!("/keys/{}/rotate", Uuid::now_v7()), &s.admin, json!({ "grace": "1y" })).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("grace")));
    // Nothing was written.
    assert_eq!(s.get("/keys", &s.admin).await.1["total"], 1);
}

#[tokio::test]
async fn a_key_acts_in_its_own_project_and_environment_only() {
    let s = start().await;
    let (production_id, _) = s.key("production service", &[]).await;
    let staging_admin = NewKey {
        environment: Environment::Staging,
        ..scoped_key("staging admin", &s.project, ScopePreset::Workspace.scopes().to_strings())
    };
    let (_, staging) = s.key_with(staging_admin).await;
    let (staging_other, _) = s
        .key_with(NewKey { environment: Environment::Staging, ..scoped_key("staging service", &s.project, vec![]) })
        .await;

    let (status, list) = s.get("/keys", &staging).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = list["keys"].as_array().expect("keys").iter().filter_map(|k| k["name"].as_str()).collect();
    assert_eq!(names, ["staging service", "staging admin"]);
    assert_eq!(list["keys"][0]["id"], staging_other.to_string());

    let (status, body) = s.get("/keys?environment=production", &staging).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("WRONG_ENVIRONMENT")));
    let (status, body) = s.post("/keys", &staging, json!({ "name": "x", "environment": "production" })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("WRONG_ENVIRONMENT")));
    // Another environment's key is simply not there.
    for (method, path) in [("GET", format!("/keys/{production_id}")), ("POST", format!("/keys/{production_id}/revoke"))]
    {
        let (status, _, body) = s.call(method.parse().expect("method"), &path, Some(&staging), Some(json!({}))).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("NOT_FOUND")), "{path}");
    }
    let (status, created) = s.post("/keys", &staging, json!({ "name": "made in staging" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["key"]["environment"], "staging");
    assert!(created["token"].as_str().is_some_and(|t| t.starts_with("kw_stage_")));

    // Another project needs api_keys.manage_all.
    let billing = s.add_project("Billing").await;
    let (status, body) = s.post("/keys", &staging, json!({ "name": "x", "project_id": billing.id })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("INSUFFICIENT_SCOPE")));
    let (status, created) = s.post("/keys", &s.admin, json!({ "name": "billing", "project_id": billing.id })).await;
    assert_eq!((status, created["key"]["project"]["name"].as_str()), (StatusCode::CREATED, Some("Billing")));

    // A key cannot hand out management scopes it does not hold.
    let (status, body) = s.post("/keys", &staging, json!({ "name": "x", "scopes": ["audit.export"] })).await;
    assert_eq!((status, body["code"].as_str()), (StatusCode::FORBIDDEN, Some("INSUFFICIENT_SCOPE")));
    let (status, _) =
        s.post("/keys", &staging, json!({ "name": "x", "scopes": ["api_keys.read", "telemetry.write"] })).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn every_change_takes_effect_on_the_next_request() {
    let s = start().await;
    let (id, token) = s.key("service", &["telemetry.write"]).await;
    let path = |action: &str| format!("/keys/{id}/{action}");
    assert_eq!(code(&s.verify(&token).await), "VALID"); // now cached

    assert_eq!(s.post(&path("disable"), &s.admin, json!({})).await.0, StatusCode::OK);
    assert_eq!(code(&s.verify(&token).await), "DISABLED");
    assert_eq!(s.post(&path("enable"), &s.admin, json!({})).await.0, StatusCode::OK);
    assert_eq!(code(&s.verify(&token).await), "VALID");

    let narrowed = s
        .call(reqwest::Method::PUT, &path("scopes"), Some(&s.admin), Some(json!({ "scopes": ["telemetry.read"] })))
        .await;
    assert_eq!(narrowed.0, StatusCode::OK);
    assert_eq!(
        code(&s.verify_with(json!({ "key": token, "scopes": ["telemetry.write"] })).await),
        "INSUFFICIENT_SCOPE"
    );

    let limited = s
        .call(
            reqwest::Method::PUT,
            &path("rate-limit"),
            Some(&s.admin),
            Some(json!({ "rate_limit": { "requests": 1, "window": "hour" } })),
        )
        .await;
    assert_eq!(limited.0, StatusCode::OK, "{}", limited.2);
    assert_eq!(code(&s.verify(&token).await), "VALID");
    assert_eq!(code(&s.verify(&token).await), "RATE_LIMITED");
    // A body that forgot the limit does not remove it; only an explicit null does.
    for forgot in [None, Some(json!({}))] {
        let (status, _, body) = s.call(reqwest::Method::PUT, &path("rate-limit"), Some(&s.admin), forgot).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["field"], "rate_limit", "{body}");
    }
    assert_eq!(code(&s.verify(&token).await), "RATE_LIMITED");
    s.call(reqwest::Method::PUT, &path("rate-limit"), Some(&s.admin), Some(json!({ "rate_limit": null }))).await;
    assert_eq!(code(&s.verify(&token).await), "VALID");

    // Rotation without grace: the old secret stops at once.
    let (status, rotated) = s.post(&path("rotate"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let second = rotated["token"].as_str().expect("new token").to_owned();
    assert_eq!(code(&s.verify(&token).await), "NOT_FOUND");
    assert_eq!(code(&s.verify(&second).await), "VALID");
    // With grace: both work, and the key says until when.
    let (_, rotated) = s.post(&path("rotate"), &s.admin, json!({ "grace": "1h" })).await;
    let third = rotated["token"].as_str().expect("new token").to_owned();
    assert!(rotated["key"]["previous_secret_valid_until"].is_string());
    assert_eq!(code(&s.verify(&second).await), "VALID");
    assert_eq!(code(&s.verify(&third).await), "VALID");
    // Revoking ends the grace too.
    assert_eq!(s.post(&path("revoke"), &s.admin, json!({})).await.0, StatusCode::OK);
    assert_eq!(code(&s.verify(&third).await), "REVOKED");
    assert_eq!(code(&s.verify(&second).await), "NOT_FOUND");

    let (status, _, _) = s.call(reqwest::Method::DELETE, &format!("/keys/{id}"), Some(&s.admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(code(&s.verify(&third).await), "NOT_FOUND");

    // A calling key revoked in the dashboard is refused on its next call.
    let (reader_id, reader) = s.key("reader", &["api_keys.read"]).await;
    assert_eq!(s.get("/keys", &reader).await.0, StatusCode::OK);
    keys::revoke(&s.core, &s.owner, reader_id).await.expect("revoked");
    assert_eq!(s.get("/keys", &reader).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_management_api_does_what_the_keys_page_does() {
    let s = start_on(Plan::Free).await;
    let (status, headers, created) = s
        .call(
            reqwest::Method::POST,
            "/keys",
            Some(&s.admin),
            Some(json!({
                "name": "CI deploy", "description": "GitHub Actions", "scopes": ["api_keys.read"],
                "expires_in_days": 30, "rate_limit": { "requests": 100, "window": "minute" }
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(headers["cache-control"], "no-store");
    let token = created["token"].as_str().expect("token");
    assert!(KeyToken::parse(token).is_ok());
    let key = &created["key"];
    assert_eq!(
        (key["name"].as_str(), key["status"].as_str(), key["environment"].as_str()),
        (Some("CI deploy"), Some("active"), Some("production"))
    );
    assert_eq!(key["rate_limit"], json!({ "requests": 100, "window": "minute" }));
    assert_eq!(key["created_by"], "Owner of Acme");
    assert!(key["expires_at"].is_string());
    assert!(token.starts_with(key["prefix"].as_str().expect("prefix")));
    let id = key["id"].as_str().expect("id").to_owned();
    // Only the digest is stored.
    let row = api_key::Entity::find()
        .filter(api_key::Column::Name.eq("CI deploy"))
        .one(&s.core.db)
        .await
        .expect("query")
        .expect("row");
    assert!(!format!("{row:?}").contains(token));

    let (status, fetched) = s.get(&format!("/keys/{id}"), &s.admin).await;
    assert_eq!((status, fetched["name"].as_str()), (StatusCode::OK, Some("CI deploy")));
    assert!(!fetched.to_string().contains(token), "a key is never shown again");
    let (_, found) = s.get("/keys?q=ci%20dep&per_page=10", &s.admin).await;
    assert_eq!((found["total"].as_u64(), found["keys"][0]["id"].as_str()), (Some(1), Some(id.as_str())));
    let (_, sorted) = s.get("/keys?sort=name&per_page=10&page=1", &s.admin).await;
    assert_eq!(sorted["keys"].as_array().map(Vec::len), Some(2));
    let (_, page_two) = s.get("/keys?per_page=10&page=2", &s.admin).await;
    assert_eq!((page_two["total"].as_u64(), page_two["keys"].as_array().map(Vec::len)), (Some(2), Some(0)));

    // Free plan: three keys. The third is fine, the fourth is refused.
    assert_eq!(s.post("/keys", &s.admin, json!({ "name": "third" })).await.0, StatusCode::CREATED);
    let (status, refused) = s.post("/keys", &s.admin, json!({ "name": "fourth" })).await;
    assert_eq!((status, refused["code"].as_str()), (StatusCode::CONFLICT, Some("PLAN_LIMIT_REACHED")));

    let (status, stats) = s.get("/stats/summary", &s.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (stats["total_created"].as_u64(), stats["live_keys"].as_u64(), stats["max_keys"].as_u64()),
        (Some(3), Some(3), Some(3))
    );

    // Delete: only once it no longer works.
    let key_path = format!("/keys/{id}");
    assert_eq!(s.call(reqwest::Method::DELETE, &key_path, Some(&s.admin), None).await.0, StatusCode::CONFLICT);
    s.post(&format!("/keys/{id}/disable"), &s.admin, json!({})).await;
    assert_eq!(s.call(reqwest::Method::DELETE, &key_path, Some(&s.admin), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.get(&format!("/keys/{id}"), &s.admin).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/keys/not-a-uuid", &s.admin).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn usage_is_counted_in_memory_and_written_in_batches() {
    let s = start().await;
    let (id, token) = s.key("service", &["telemetry.write"]).await;
    for _ in 0..3 {
        assert_eq!(code(&s.verify(&token).await), "VALID");
    }
    assert_eq!(code(&s.verify_with(json!({ "key": token, "scopes": ["x.y"] })).await), "INSUFFICIENT_SCOPE");
    assert!(!s.core.usage.is_empty());
    let before = api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("row");
    assert_eq!(before.last_used_at, None, "nothing is written on the hot path");

    // The background task writes on stop (graceful shutdown) as well as on its timer.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = keyward::tasks::spawn_usage_flush(s.core.clone(), std::time::Duration::from_secs(3600), stopped);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await; // its first tick flushes at once
    stop.send(true).expect("task running");
    task.await.expect("task finished");
    assert!(s.core.usage.is_empty());

    let rows = key_usage::Entity::find().filter(key_usage::Column::KeyId.eq(id)).all(&s.core.db).await.expect("usage");
    assert_eq!(rows.iter().map(|r| (r.valid, r.denied)).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1)), (3, 1));
    let after = api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("row");
    assert!(after.last_used_at.is_some_and(|at| at > Utc::now() - Duration::minutes(1)));

    // A second flush adds up rather than overwriting.
    s.verify(&token).await;
    s.core.usage.flush(&s.core.db).await.expect("flushed");
    let (_, usage) = s.get(&format!("/keys/{id}/usage"), &s.admin).await;
    let hours = usage["hours"].as_array().expect("hours");
    assert_eq!(hours.len(), 168);
    let sum = |field: &str| hours.iter().filter_map(|h| h[field].as_u64()).sum::<u64>();
    assert_eq!((sum("valid"), sum("denied")), (4, 1));

    // What the dashboard shows: calls in 24 h count verifications and the admin key's own calls.
    s.core.usage.flush(&s.core.db).await.expect("flushed");
    let stats = keys::stats(&s.core, &s.owner).await.expect("stats");
    assert!(stats.calls_24h >= 5 + 6, "{stats:?}");
    assert!(stats.last_call.is_some());
    let details = keys::details(&s.core, &s.owner, id).await.expect("details");
    assert!(details.key.last_used_at.is_some());
}

/// A key's name, description and expiry change with `PATCH`, in one audited change that the very
/// next verification sees; what is left out stays; an expired key is not brought back this way.
#[tokio::test]
async fn a_keys_name_description_and_expiry_are_edited_and_verification_sees_it_at_once() {
    let s = start().await;
    let (id, token) = s.key("billing sync", &["telemetry.write"]).await;
    assert_eq!(s.verify(&token).await["name"], "billing sync", "cached under its old name");

    let path = format!("/keys/{id}");
    let patch = |body: Value| s.call(reqwest::Method::PATCH, &path, Some(&s.admin), Some(body));
    let (status, _, key) =
        patch(json!({ "name": "  invoices sync ", "description": "Nightly", "expires_in_days": 30 })).await;
    assert_eq!(status, StatusCode::OK, "{key}");
    assert_eq!((key["name"].as_str(), key["description"].as_str()), (Some("invoices sync"), Some("Nightly")));
    let expires = key["expires_at"].as_str().and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
    let in_30_days = Utc::now() + Duration::days(30);
    assert!(expires.is_some_and(|at| (at.to_utc() - in_30_days).num_minutes().abs() < 2), "{key}");
    let verdict = s.verify(&token).await;
    assert_eq!((verdict["name"].as_str(), verdict["valid"].as_bool()), (Some("invoices sync"), Some(true)));

    // Left out: as it is. null: gone.
    let (_, _, key) = patch(json!({ "description": null })).await;
    assert_eq!((key["name"].as_str(), &key["description"]), (Some("invoices sync"), &Value::Null));
    assert!(key["expires_at"].is_string(), "{key}");
    let (_, _, key) = patch(json!({ "never_expires": true })).await;
    assert_eq!(key["expires_at"], Value::Null);

    // Recorded once per change, in words.
    let query = AuditQuery { action: Some(AuditAction::KeyEdited), ..AuditQuery::default() };
    let page = audit::list(&s.core.db, &s.owner, query).await.expect("audit");
    assert_eq!(page.total, 3);
    let first = page.entries.last().expect("the rename");
    assert!(first.change.iter().any(|line| line == "Name: billing sync → invoices sync"), "{:?}", first.change);

    // Bad input names its field and changes nothing.
    let before = api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query");
    for (body, field) in [
        (json!({ "name": "" }), "name"),
        (json!({ "name": "x".repeat(65) }), "name"),
        (json!({ "description": "x".repeat(501) }), "description"),
        (json!({ "expires_in_days": 0 }), "expires_in_days"),
        (json!({ "expires_in_days": 5000 }), "expires_on"),
        (json!({ "expires_on": "2020-01-01" }), "expires_on"),
        (json!({ "expires_in_days": 3, "never_expires": true }), "never_expires"),
        (json!({ "expires_in_days": 3, "expires_on": "2030-01-01" }), "expires_on"),
    ] {
        let (status, _, problem) = patch(body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {problem}");
        assert!(problem.to_string().contains(field), "{body}: {problem}");
    }
    let (status, _, _) = patch(json!({ "colour": "red" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // Without a key: refused before anything is read.
    let (status, _, problem) = s.call(reqwest::Method::PATCH, &path, None, Some(json!({ "name": "anyone's" }))).await;
    assert_eq!((status, problem["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("MISSING_API_KEY")));
    assert_eq!(api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query"), before);

    // An expired key is rotated back to life, not edited.
    let mut expired = before.expect("row").into_active_model();
    expired.expires_at = Set(Some(Utc::now() - Duration::minutes(1)));
    expired.update(&s.core.db).await.expect("expired");
    let (status, _, problem) = patch(json!({ "expires_in_days": 30 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
}

/// A revoked key's page says who revoked it and when: a key's name when a key did it, a member's
/// when a person did; nothing for a key still in use.
#[tokio::test]
async fn a_revoked_keys_details_say_who_revoked_it_and_when() {
    let s = start().await;
    let (by_key, _) = s.key("revoked by a script", &["telemetry.write"]).await;
    let (by_person, _) = s.key("revoked by a person", &["telemetry.write"]).await;
    let (kept, _) = s.key("still in use", &["telemetry.write"]).await;

    let (status, _) = s.post(&format!("/keys/{by_key}/revoke"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    keys::revoke(&s.core, &s.owner, by_person).await.expect("revoked");

    let details = |id| keys::details(&s.core, &s.owner, id);
    let scripted = details(by_key).await.expect("details").revocation.expect("a revocation");
    assert_eq!(scripted.by, "key admin");
    assert!(scripted.at > Utc::now() - Duration::minutes(1), "{scripted:?}");
    let by_hand = details(by_person).await.expect("details").revocation;
    assert_eq!(by_hand.map(|r| r.by), Some("Owner of Acme".to_owned()));
    assert_eq!(details(kept).await.expect("details").revocation, None);
}

#[tokio::test]
async fn the_openapi_document_is_generated_and_public() {
    let s = start().await;
    let (status, _, doc) = s.call(reqwest::Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    for path in ["/api/v1/keys/verify", "/api/v1/keys", "/api/v1/keys/{id}/rotate", "/api/v1/stats/summary"] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert_eq!(doc["components"]["securitySchemes"]["api_key"]["name"], "X-API-Key");
    // Error answers as ApiError sends them (RFC 9457), and only those.
    let responses =
        doc["paths"].as_object().expect("paths").values().flat_map(|item| {
            item.as_object().expect("operations").values().filter_map(|op| op["responses"].as_object())
        });
    let mut problems = 0;
    for (status, response) in responses.flatten() {
        let content = &response["content"];
        if status.starts_with('4') || status.starts_with('5') {
            assert!(content.get("application/json").is_none(), "{status}: {response}");
            problems += usize::from(content.get("application/problem+json").is_some());
        }
    }
    assert!(problems > 10, "{problems} problem answers documented");
    let codes = doc["components"]["schemas"]["VerifyCode"]["enum"].as_array().expect("codes");
    assert!(codes.contains(&json!("RATE_LIMITED")) && codes.contains(&json!("WRONG_ENVIRONMENT")));
    // Every list states the pages it serves, so that a client (and Schemathesis) knows where the
    // API's refusal starts.
    let operations =
        doc["paths"].as_object().expect("paths").values().flat_map(|item| item.as_object().expect("ops").values());
    let pages: Vec<_> = operations
        .flat_map(|op| op["parameters"].as_array().into_iter().flatten())
        .filter(|p| p["name"] == "page")
        .map(|p| (p["schema"]["minimum"].as_u64(), p["schema"]["maximum"].as_u64()))
        .collect();
    assert!(pages.len() >= 4, "{pages:?}");
    assert!(pages.iter().all(|p| *p == (Some(1), Some(u64::from(app::model::MAX_PAGE)))), "{pages:?}");
}

#[tokio::test]
async fn a_page_past_the_last_one_served_is_refused_by_every_list() {
    let s = start().await;
    let (id, _) = s.key("customer", &["telemetry.write"]).await;
    let past = app::model::MAX_PAGE + 1;
    for list in ["/keys", "/audit", &format!("/keys/{id}/verifications")] {
        for page in [0, past, u32::MAX] {
            let (status, problem) = s.get(&format!("{list}?page={page}"), &s.admin).await;
            assert_eq!(
                (status, problem["errors"][0]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("page")),
                "{list}?page={page}: {problem}"
            );
        }
        let (status, _) = s.get(&format!("{list}?page={}", app::model::MAX_PAGE), &s.admin).await;
        assert_eq!(status, StatusCode::OK, "{list}: the last page is served, empty");
    }
}

#[tokio::test]
async fn a_change_made_with_a_key_is_audited_as_that_key_from_its_address() {
    let s = start().await;
    let (id, _) = s.key("customer", &["telemetry.write"]).await;
    let (status, _, _) = s.call(reqwest::Method::POST, &format!("/keys/{id}/disable"), Some(&s.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    let query = AuditQuery { action: Some(AuditAction::KeyDisabled), ..AuditQuery::default() };
    let page = audit::list(&s.core.db, &s.owner, query).await.expect("audit");
    let entry = page.entries.first().expect("the disable is recorded");
    assert_eq!(entry.target_id, Some(id));
    assert!(entry.actor.key_id.is_some(), "the key that acted: {:?}", entry.actor);
    assert_eq!(entry.actor.user_id, Some(s.owner.user_id), "acting for the member who created it");
    assert_eq!(entry.actor.name, "key admin");
    assert_eq!(entry.ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn the_dashboard_exports_the_audit_log_as_csv_to_those_allowed() {
    let s = start().await;
    let (id, _) = s.key("customer", &[]).await;
    keys::revoke(&s.core, &s.owner, id).await.expect("revoked");
    let site = s.base.trim_end_matches("/api/v1").to_owned();
    let export = |cookie: Option<String>| {
        let mut request = s.http.get(format!("{site}/audit/export.csv?action=key.revoked"));
        if let Some(cookie) = cookie {
            request = request.header("Cookie", format!("kw_session={cookie}"));
        }
        request.send()
    };

    let owner =
        auth::sign_in(&s.core, "ada@acme.test", "correct horse battery", &Client::default()).await.expect("signed in");
    let answer = export(Some(owner.token)).await.expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/csv")));
    assert!(answer.headers()["content-disposition"].to_str().is_ok_and(|d| d.contains("attachment")));
    let csv = answer.text().await.expect("body");
    assert_eq!(csv.lines().count(), 2, "the header and the one revoke: {csv}");
    assert!(csv.contains(&id.to_string()));

    assert_eq!(export(None).await.expect("answer").status(), StatusCode::UNAUTHORIZED);
    // A made-up session, and a well-formed one that was never issued.
    for forged in ["not-a-session", &"ab".repeat(32)] {
        assert_eq!(export(Some(forged.to_owned())).await.expect("answer").status(), StatusCode::UNAUTHORIZED);
    }
    // The owner of another organization exports their own log: none of Acme's changes are in it.
    let form = SetupForm {
        organization: "Rival".into(),
        name: "Lin".into(),
        email: "lin@rival.test".into(),
        password: "correct horse battery".into(),
    };
    let rival = auth::register_organization(&s.core, form, &Client::default()).await.expect("rival");
    let answer = export(Some(rival.token)).await.expect("answer");
    assert_eq!(answer.status(), StatusCode::OK);
    let theirs = answer.text().await.expect("body");
    assert_eq!(theirs.lines().count(), 1, "the header alone: {theirs}");
    // A developer reads the log but may not export it.
    let developer = add_member(&s, Role::Developer, "grace@acme.test").await;
    let answer = export(Some(developer)).await.expect("answer");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(answer.text().await.expect("body").contains("cannot export the audit log"));
}

/// A member with `role` in the server's organization; their session token.
pub(crate) async fn add_member(s: &Server, role: Role, email: &str) -> String {
    let form = SetupForm {
        organization: "Elsewhere".into(),
        name: "Grace".into(),
        email: email.into(),
        password: "correct horse battery".into(),
    };
    // The account comes with an organization of its own; the membership in Acme is the one used.
    let own = auth::register_organization(&s.core, form, &Client::default()).await.expect("account");
    let account = auth::authenticate(&s.core, &own.token).await.expect("signed in");
    membership::Entity::delete_many()
        .filter(membership::Column::UserId.eq(account.user_id))
        .exec(&s.core.db)
        .await
        .expect("left the other organization");
    membership::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(s.owner.organization_id),
        user_id: Set(account.user_id),
        role: Set(role),
        created_at: Set(Utc::now()),
        suspended_at: Set(None),
        last_active_at: Set(None),
    }
    .insert(&s.core.db)
    .await
    .expect("membership");
    auth::sign_in(&s.core, email, "correct horse battery", &Client::default()).await.expect("signed in").token
}

#[tokio::test]
async fn a_key_with_audit_read_reads_its_organizations_audit_log_and_nothing_else() {
    let s = start().await;
    let (revoked, _) = s.key("customer", &[]).await;
    keys::revoke(&s.core, &s.owner, revoked).await.expect("revoked");
    let (_, auditor) = s.key("siem", &["audit.read"]).await;
    // Another organization's changes never show.
    let other = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let other_project = projects::list(&s.core.db, &other).await.expect("projects").remove(0);
    let (foreign, _) = {
        let created = keys::create(&s.core, &other, scoped_key("theirs", &other_project, vec![])).await.expect("key");
        (created.key.id, created.token)
    };
    keys::revoke(&s.core, &other, foreign).await.expect("revoked");

    let (status, body) = s.get("/audit?action=key.revoked", &auditor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = body["events"].as_array().expect("events");
    assert_eq!(body["total"], 1, "{body}");
    assert_eq!(events[0]["target_id"], json!(revoked));
    assert_eq!(events[0]["action"], "key.revoked");
    assert_eq!(events[0]["actor"]["user_id"], json!(s.owner.user_id));
    assert_eq!(events[0]["before"]["status"], "active", "before/after are JSON objects: {body}");

    let (_, everything) = s.get("/audit?per_page=100", &auditor).await;
    let targets: Vec<&Value> =
        everything["events"].as_array().expect("events").iter().map(|e| &e["target_id"]).collect();
    assert!(targets.contains(&&json!(revoked)) && !targets.contains(&&json!(foreign)), "{everything}");
    let (_, by_key) = s.get(&format!("/audit?key={revoked}"), &auditor).await;
    assert_eq!(by_key["total"], 2, "created and revoked: {by_key}");

    let (status, body) = s.get("/audit?action=key.exploded", &auditor).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("action")));
    let (status, body) = s.get("/audit?key=not-an-id", &auditor).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("key")));
    let (status, body) = s.get("/audit?per_page=1000", &auditor).await;
    assert_eq!((status, body["errors"][0]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("per_page")));
    let (_, reader) = s.key("reader", &["api_keys.read"]).await;
    let (status, body) = s.get("/audit", &reader).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::FORBIDDEN, json!("INSUFFICIENT_SCOPE")));
}

#[tokio::test]
async fn a_key_of_one_organization_can_neither_read_nor_change_anothers_keys() {
    let s = start().await;
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let globex_project = projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let input = NewKey { external_id: Some("globex-customer".into()), ..scoped_key("theirs", &globex_project, vec![]) };
    let theirs = keys::create(&s.core, &globex, input).await.expect("key").key.id;
    let before = api_key::Entity::find_by_id(theirs).one(&s.core.db).await.expect("query");

    // Acme's full-access key, guessing Globex's key id: every route answers 404, as for no key at all.
    use reqwest::Method;
    let attempts = [
        (Method::GET, format!("/keys/{theirs}"), None),
        (Method::GET, format!("/keys/{theirs}/usage"), None),
        (Method::POST, format!("/keys/{theirs}/revoke"), None),
        (Method::POST, format!("/keys/{theirs}/disable"), None),
        (Method::POST, format!("/keys/{theirs}/rotate"), Some(json!({ "grace": "none" }))),
        (Method::PATCH, format!("/keys/{theirs}"), Some(json!({ "name": "ours now", "never_expires": true }))),
        (Method::PATCH, format!("/keys/{theirs}"), Some(json!({ "external_id": "ours", "meta": null }))),
        (Method::PUT, format!("/keys/{theirs}/scopes"), Some(json!({ "scopes": ["api_keys.read"] }))),
        (Method::PUT, format!("/keys/{theirs}/rate-limit"), Some(json!({ "rate_limit": null }))),
        (Method::PUT, format!("/keys/{theirs}/credits"), Some(json!({ "credits": { "remaining": 9 } }))),
        (Method::PUT, format!("/keys/{theirs}/ip-allowlist"), Some(json!({ "ip_allowlist": ["10.0.0.0/8"] }))),
        (Method::DELETE, format!("/keys/{theirs}"), None),
    ];
    for (method, path, body) in attempts {
        let (status, _, answer) = s.call(method.clone(), &path, Some(&s.admin), body).await;
        assert_eq!((status, answer["code"].clone()), (StatusCode::NOT_FOUND, json!("NOT_FOUND")), "{method} {path}");
    }
    let (_, listed) = s.get("/keys?per_page=100", &s.admin).await;
    assert!(listed["keys"].as_array().expect("keys").iter().all(|k| k["id"] != json!(theirs)), "{listed}");
    // Nor through the project filter, with Globex's project id.
    let (status, listed) = s.get(&format!("/keys?project_id={}", globex_project.id), &s.admin).await;
    assert_eq!((status, listed["total"].clone()), (StatusCode::OK, json!(0)), "{listed}");
    // Nor through the external id filter, with the id of Globex's customer.
    let (status, listed) = s.get("/keys?external_id=globex-customer", &s.admin).await;
    assert_eq!((status, listed["total"].clone()), (StatusCode::OK, json!(0)), "{listed}");
    assert_eq!(api_key::Entity::find_by_id(theirs).one(&s.core.db).await.expect("query"), before, "untouched");
}

/// A key's owner in the team's system and their metadata: set at creation, answered by every
/// verification (the metadata as given), filtered by, edited and removed through the API.
#[tokio::test]
async fn a_keys_external_id_and_meta_come_back_from_verification_and_filter_the_list() {
    let s = start().await;
    let body =
        json!({ "name": "for cus_42", "scopes": [], "external_id": "cus_42", "meta": { "plan": "pro", "seats": 3 } });
    let (status, created) = s.post("/keys", &s.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!((&created["key"]["external_id"], &created["key"]["meta"]["plan"]), (&json!("cus_42"), &json!("pro")));
    let token = created["token"].as_str().expect("token").to_owned();
    let id = created["key"]["id"].as_str().expect("id").to_owned();

    let verdict = s.verify(&token).await;
    assert_eq!(
        (verdict["code"].as_str(), verdict["external_id"].as_str()),
        (Some("VALID"), Some("cus_42")),
        "{verdict}"
    );
    assert_eq!(verdict["meta"], json!({ "plan": "pro", "seats": 3 }));
    // A key without them answers without them.
    let plain = s.verify(&s.admin).await;
    assert!(plain.get("external_id").is_none() && plain.get("meta").is_none(), "{plain}");

    let (status, listed) = s.get("/keys?external_id=cus_42", &s.admin).await;
    assert_eq!((status, listed["total"].as_u64()), (StatusCode::OK, Some(1)), "{listed}");
    assert_eq!(listed["keys"][0]["id"].as_str(), Some(id.as_str()));
    assert_eq!(s.get("/keys?external_id=cus_4", &s.admin).await.1["total"], 0);

    let path = format!("/keys/{id}");
    let (status, _, edited) =
        s.call(reqwest::Method::PATCH, &path, Some(&s.admin), Some(json!({ "meta": { "plan": "team" } }))).await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!((&edited["external_id"], &edited["meta"]), (&json!("cus_42"), &json!({ "plan": "team" })));
    // The verification cache forgets the key's old answer at once.
    assert_eq!(s.verify(&token).await["meta"], json!({ "plan": "team" }));
    let (status, _, cleared) =
        s.call(reqwest::Method::PATCH, &path, Some(&s.admin), Some(json!({ "external_id": null, "meta": null }))).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert!(cleared["external_id"].is_null() && cleared["meta"].is_null(), "{cleared}");
    let verdict = s.verify(&token).await;
    assert!(verdict.get("external_id").is_none() && verdict.get("meta").is_none(), "{verdict}");

    // Refused, naming the field: a meta that is not an object, or too long an id.
    for (body, field) in [
        (json!({ "name": "x", "meta": [1, 2] }), "meta"),
        (json!({ "name": "x", "meta": "pro" }), "meta"),
        (json!({ "name": "x", "external_id": "x".repeat(257) }), "external_id"),
        (json!({ "name": "x", "meta": { "blob": "x".repeat(16 * 1024) } }), "meta"),
    ] {
        let (status, problem) = s.post("/keys", &s.admin, body).await;
        assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)));
    }
    let (status, problem) = s.get(&format!("/keys?external_id={}", "x".repeat(300)), &s.admin).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("external_id"))
    );
}

/// Credits through the API: set at creation, spent by valid verifications only (at their cost),
/// refused at 0 with what is left and when the refill comes, set anew, refilled once per period,
/// and removed.
#[tokio::test]
async fn credits_are_spent_by_valid_verifications_only_and_refill_once_per_period() {
    let s = start().await;
    let body = json!({ "name": "metered", "scopes": ["telemetry.write"],
        "credits": { "remaining": 12, "refill": { "amount": 20, "interval": "monthly", "day": 31 } } });
    let (status, created) = s.post("/keys", &s.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let credits = &created["key"]["credits"];
    assert_eq!(
        (&credits["remaining"], &credits["refill"]),
        (&json!(12), &json!({ "amount": 20, "interval": "monthly", "day": 31 }))
    );
    let token = created["token"].as_str().expect("token").to_owned();
    let id: Uuid = created["key"]["id"].as_str().and_then(|id| id.parse().ok()).expect("id");

    let first = s.verify_with(json!({ "key": token, "cost": 5 })).await;
    assert_eq!((code(&first), &first["credits"]["remaining"]), ("VALID", &json!(7)), "{first}");
    let refills_at: chrono::DateTime<Utc> =
        first["credits"]["refills_at"].as_str().and_then(|t| t.parse().ok()).expect("a refill time");
    assert!(refills_at > Utc::now() && refills_at < Utc::now() + Duration::days(32), "{refills_at}");
    // Refused for another reason: nothing is spent.
    let refused = s.verify_with(json!({ "key": token, "scopes": ["billing.read"], "cost": 5 })).await;
    assert_eq!(code(&refused), "INSUFFICIENT_SCOPE");
    assert!(refused.get("credits").is_none(), "{refused}");
    assert_eq!(code(&s.verify_with(json!({ "key": token, "cost": 5 })).await), "VALID");
    // 2 left: a cost of 5 is refused and spends nothing; a cost of 2 then spends the rest.
    let over = s.verify_with(json!({ "key": token, "cost": 5 })).await;
    assert_eq!(
        (code(&over), &over["valid"], &over["credits"]["remaining"]),
        ("USAGE_EXCEEDED", &json!(false), &json!(2)),
        "{over}"
    );
    assert_eq!(s.verify_with(json!({ "key": token, "cost": 2 })).await["credits"]["remaining"], 0);
    // At 0 even a cost of 0 is refused: a key with no credits left is not valid.
    assert_eq!(code(&s.verify_with(json!({ "key": token, "cost": 0 })).await), "USAGE_EXCEEDED");
    assert_eq!(code(&s.verify(&token).await), "USAGE_EXCEEDED");
    let (_, key) = s.get(&format!("/keys/{id}"), &s.admin).await;
    assert_eq!(key["credits"]["remaining"], 0, "{key}");

    // The refill's moment passes (the last refill was before it): the next verification refills
    // to 20 and spends 1, once; the one after spends from 19.
    let mut row =
        api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("key").into_active_model();
    row.credits_refilled_at = Set(Some(Utc::now() - Duration::days(40)));
    row.update(&s.core.db).await.expect("backdated");
    let (_, key) = s.get(&format!("/keys/{id}"), &s.admin).await;
    assert_eq!(key["credits"]["remaining"], 20, "a due refill counts in what a page shows: {key}");
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 19);
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 18);

    // Set anew (audited), then removed: the key is unlimited at once.
    let path = format!("/keys/{id}/credits");
    let (status, _, set) =
        s.call(reqwest::Method::PUT, &path, Some(&s.admin), Some(json!({ "credits": { "remaining": 1 } }))).await;
    assert_eq!(
        (status, &set["credits"]["remaining"], &set["credits"]["refill"]),
        (StatusCode::OK, &json!(1), &json!(null)),
        "{set}"
    );
    assert_eq!(code(&s.verify(&token).await), "VALID");
    assert_eq!(code(&s.verify(&token).await), "USAGE_EXCEEDED");
    let (status, _, removed) =
        s.call(reqwest::Method::PUT, &path, Some(&s.admin), Some(json!({ "credits": null }))).await;
    assert_eq!((status, &removed["credits"]), (StatusCode::OK, &json!(null)));
    let unlimited = s.verify(&token).await;
    assert!(code(&unlimited) == "VALID" && unlimited.get("credits").is_none(), "{unlimited}");
    let entries = audit::list(
        &s.core.db,
        &s.owner,
        AuditQuery { action: Some(AuditAction::KeyCreditsChanged), ..AuditQuery::default() },
    )
    .await
    .expect("audit");
    assert_eq!(entries.total, 2, "each change of credits is audited");
}

/// 200 verifications at once of a key with 50 credits, on one instance: exactly 50 are valid, each
/// told a different count left, and the database ends at 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credits_are_exact_under_concurrent_verifications() {
    let s = start().await;
    let (id, token) = s.metered_key(50).await;
    let verdicts = futures::future::join_all((0..200).map(|_| s.verify(&token))).await;
    let mut left: Vec<u64> =
        verdicts.iter().filter(|v| code(v) == "VALID").filter_map(|v| v["credits"]["remaining"].as_u64()).collect();
    left.sort_unstable();
    assert_eq!(left, (0..50).collect::<Vec<_>>(), "50 valid, each with what it left");
    assert_eq!(verdicts.iter().filter(|v| code(v) == "USAGE_EXCEEDED").count(), 150);
    let row = api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("key");
    assert_eq!(row.credits_remaining, Some(0));
}

/// A key with many credits: the instance takes a reserve with a batch's decrement and spends the
/// next verifications from memory. The answers count exactly as if every one were written, and
/// giving the reserve back leaves the database exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_busy_key_spends_from_a_reserve_and_the_count_stays_exact() {
    let s = start().await;
    let (id, token) = s.metered_key(1_000_000).await;
    // The first decrement learns what is left; the next one takes a thousandth of it on top.
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 999_999);
    let verdicts = futures::future::join_all((0..300).map(|_| s.verify(&token))).await;
    let mut left: Vec<u64> = verdicts.iter().filter_map(|v| v["credits"]["remaining"].as_u64()).collect();
    left.sort_unstable();
    assert_eq!(left, (999_699..999_999).collect::<Vec<_>>(), "300 valid, each with what it left");
    let reserved = s.core.credits.reserved(id);
    assert!(reserved > 0 && reserved <= app::ssr::credits::MAX_RESERVE, "{reserved}");
    assert_eq!(s.credits_stored(id).await, Some(999_699 - i64::try_from(reserved).expect("small")));
    // The key's page and the keys list count the reserve this instance holds: what the
    // verifications were told.
    let (_, key) = s.get(&format!("/keys/{id}"), &s.admin).await;
    assert_eq!(key["credits"]["remaining"], 999_699, "{key}");
    let (_, list) = s.get("/keys?q=metered", &s.admin).await;
    assert_eq!(list["keys"][0]["credits"]["remaining"], 999_699, "{list}");
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 999_698);

    // A sweep gives back only the reserves of keys not verified since the one before.
    s.core.credits.give_back_reserves(&s.core.db, true).await.expect("sweep");
    assert!(s.core.credits.reserved(id) > 0, "verified since the last sweep: kept");
    let given = s.core.credits.give_back_reserves(&s.core.db, true).await.expect("sweep");
    assert_eq!((given, s.core.credits.reserved(id)), (reserved - 1, 0));
    assert_eq!(s.credits_stored(id).await, Some(999_698));
}

/// A reserve never outlives a change to its key: credits set anew replace it (the verifications
/// after the change spend from the new count only), and any other change gives it back.
#[tokio::test]
async fn a_change_to_the_key_ends_its_reserve() {
    let s = start().await;
    let (id, token) = s.metered_key(50_000).await;
    for left in [49_999, 49_998, 49_997] {
        assert_eq!(s.verify(&token).await["credits"]["remaining"], left);
    }
    assert_eq!(s.core.credits.reserved(id), 48, "a thousandth of 49,999, less the one spent from it");

    // Renamed: the next verification gives the reserve back first, and is counted from the whole.
    let (status, _, _) = s
        .call(reqwest::Method::PATCH, &format!("/keys/{id}"), Some(&s.admin), Some(json!({ "name": "renamed" })))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 49_996);
    s.core.credits.give_back_reserves(&s.core.db, false).await.expect("given back");
    assert_eq!(s.credits_stored(id).await, Some(49_996));

    // Built up again, then the credits are set to 10: the old reserve is void, not added.
    for _ in 0..3 {
        s.verify(&token).await;
    }
    assert!(s.core.credits.reserved(id) > 0);
    s.set_credits(id, 10).await;
    let left: Vec<_> = futures::future::join_all((0..12).map(|_| s.verify(&token))).await;
    let valid = left.iter().filter(|v| code(v) == "VALID").count();
    assert_eq!(valid, 10, "{left:?}");
    s.core.credits.give_back_reserves(&s.core.db, false).await.expect("given back");
    assert_eq!(s.credits_stored(id).await, Some(0));
}

/// A reserve is sized from what the instance last saw, which may be old: the statement takes it
/// only if what it finds is large enough. Credits set from a million to 1,001 give no reserve, so
/// none are held back from a key that has fewer than a thousand left.
#[tokio::test]
async fn a_reserve_is_taken_only_from_a_count_large_enough_for_it() {
    let s = start().await;
    let (id, token) = s.metered_key(1_000_000).await;
    for _ in 0..2 {
        s.verify(&token).await;
    }
    assert!(s.core.credits.reserved(id) > 0);
    s.set_credits(id, 1_001).await;
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 1_000);
    assert_eq!((s.core.credits.reserved(id), s.credits_stored(id).await), (0, Some(1_000)));
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 999);
    assert_eq!((s.core.credits.reserved(id), s.credits_stored(id).await), (0, Some(999)));
}

/// Out-of-range credits, refills and costs: a 422 naming each field, and nothing written or spent.
#[tokio::test]
async fn bad_credits_and_costs_are_refused_naming_the_field() {
    let s = start().await;
    let (id, token) = s.metered_key(3).await;
    let before = api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query");
    let refill =
        |amount: i64, interval: &str, day: Value| json!({ "amount": amount, "interval": interval, "day": day });
    for (credits, fields) in [
        (json!({ "remaining": -1 }), vec!["credits.remaining"]),
        (json!({ "remaining": 1_000_000_000_001_i64 }), vec!["credits.remaining"]),
        (json!({ "remaining": 5, "refill": refill(5, "monthly", json!(0)) }), vec!["credits.refill.day"]),
        (json!({ "remaining": 5, "refill": refill(5, "monthly", json!(32)) }), vec!["credits.refill.day"]),
        (json!({ "remaining": 5, "refill": refill(5, "daily", json!(3)) }), vec!["credits.refill.day"]),
        (
            json!({ "remaining": -5, "refill": refill(0, "monthly", json!(1)) }),
            vec!["credits.remaining", "credits.refill.amount"],
        ),
    ] {
        let path = format!("/keys/{id}/credits");
        let (status, _, problem) =
            s.call(reqwest::Method::PUT, &path, Some(&s.admin), Some(json!({ "credits": credits }))).await;
        let named: Vec<&str> =
            problem["errors"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
        assert_eq!((status, named), (StatusCode::UNPROCESSABLE_ENTITY, fields.clone()), "{credits}: {problem}");
        let (status, problem) = s.post("/keys", &s.admin, json!({ "name": "x", "credits": credits })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
        assert_eq!(problem["errors"][0]["field"].as_str(), Some(fields[0]));
    }
    let (status, problem) = s
        .post(
            "/keys",
            &s.admin,
            json!({ "name": "x", "credits": { "remaining": 5, "refill": refill(5, "weekly", json!(1)) } }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    for cost in [json!(-1), json!(1001), json!("one")] {
        let (status, problem) = s.post("/keys/verify", &s.admin, json!({ "key": token, "cost": cost })).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("cost")),
            "{problem}"
        );
    }
    assert_eq!(
        api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query"),
        before,
        "nothing written or spent"
    );
}

/// A daily refill: none before midnight UTC (however many verifications ask), one after it.
#[tokio::test]
async fn a_daily_refill_comes_once_a_day() {
    let s = start().await;
    let refill = app::model::Refill { amount: 5, period: app::model::RefillPeriod::Daily, day: 1 };
    let input = NewKey {
        credits: Some(app::model::Credits { remaining: 1, refill: Some(refill) }),
        ..scoped_key("daily", &s.project, vec![])
    };
    let (id, token) = s.key_with(input).await;
    assert_eq!(s.verify(&token).await["credits"]["remaining"], 0);
    let exhausted = s.verify(&token).await;
    assert_eq!(code(&exhausted), "USAGE_EXCEEDED", "set today: no refill before midnight");
    let midnight = Utc::now().date_naive().succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).expect("tomorrow").and_utc();
    assert_eq!(exhausted["credits"]["refills_at"].as_str().and_then(|t| t.parse().ok()), Some(midnight));

    // Last refilled a second before today's midnight: one refill now, and only one.
    let today = Utc::now().date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let mut row =
        api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("key").into_active_model();
    row.credits_refilled_at = Set(Some(today - Duration::seconds(1)));
    row.update(&s.core.db).await.expect("backdated");
    let mut left = Vec::new();
    for _ in 0..3 {
        left.push(s.verify(&token).await["credits"]["remaining"].clone());
    }
    assert_eq!(left, [json!(4), json!(3), json!(2)]);
}

/// A key's IP allowlist: its verifications must name a caller within it, and its own calls to the
/// API must come from within it (behind trusted proxies: the client they name). Bad entries are
/// refused, naming each, and nothing changes.
#[tokio::test]
async fn an_ip_allowlist_holds_for_verifications_and_for_the_keys_own_calls() {
    let s = start_behind(Plan::Enterprise, "127.0.0.1").await;
    let body = json!({ "name": "office only", "scopes": ["api_keys.read"],
        "ip_allowlist": ["10.1.2.3/8", "2001:db8::1/32", "192.0.2.7"] });
    let (status, created) = s.post("/keys", &s.admin, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["key"]["ip_allowlist"], json!(["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]));
    let token = created["token"].as_str().expect("token").to_owned();
    let id = created["key"]["id"].as_str().expect("id").to_owned();
    let (server, token) = (&s, token.as_str());

    let verdict = |ip: Option<&str>| {
        let body = match ip {
            Some(ip) => json!({ "key": token, "ip": ip }),
            None => json!({ "key": token }),
        };
        async move { code(&server.verify_with(body).await).to_owned() }
    };
    assert_eq!(verdict(Some("10.200.0.1")).await, "VALID");
    assert_eq!(verdict(Some("::ffff:10.0.0.9")).await, "VALID");
    assert_eq!(verdict(Some("2001:db8:ff::2")).await, "VALID");
    assert_eq!(verdict(Some("192.0.2.8")).await, "IP_NOT_ALLOWED");
    assert_eq!(verdict(None).await, "IP_NOT_ALLOWED", "a key with an allowlist needs its caller's address");
    let (status, problem) = s.post("/keys/verify", &s.admin, json!({ "key": token, "ip": "10.0.0.300" })).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ip")));

    // The key's own calls: from inside the list (as the trusted proxy names the client), and not.
    let call = |forwarded: &'static str| {
        let request = server.http.get(format!("{}/keys", server.base)).header("X-API-Key", token);
        async move { request.header("X-Forwarded-For", forwarded).send().await.expect("answered") }
    };
    assert_eq!(call("10.9.8.7").await.status(), StatusCode::OK);
    let outside = call("198.51.100.4").await;
    assert_eq!(outside.status(), StatusCode::FORBIDDEN);
    assert_eq!(outside.json::<Value>().await.expect("problem")["code"], "IP_NOT_ALLOWED");

    // Bad entries: a 422 naming each, and the list stays as it was.
    let path = format!("/keys/{id}/ip-allowlist");
    let too_many: Vec<String> = (0..101).map(|i| format!("10.{i}.0.0/16")).collect();
    for (list, says) in [
        (json!(["10.0.0.0/8", "10.0.0.300", "fe80::/129"]), "entry 2 (\"10.0.0.300\"), entry 3 (\"fe80::/129\")"),
        (json!(too_many), "at most 100"),
    ] {
        let (status, _, problem) =
            s.call(reqwest::Method::PUT, &path, Some(&s.admin), Some(json!({ "ip_allowlist": list }))).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("ip_allowlist"))
        );
        assert!(problem["errors"][0]["reason"].as_str().is_some_and(|r| r.contains(says)), "{problem}");
    }
    let (status, problem) = s.post("/keys", &s.admin, json!({ "name": "x", "ip_allowlist": ["nowhere"] })).await;
    assert_eq!(
        (status, problem["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("ip_allowlist"))
    );
    assert_eq!(verdict(Some("10.0.0.1")).await, "VALID", "unchanged");

    // Emptied: anywhere, at once.
    let (status, _, key) =
        s.call(reqwest::Method::PUT, &path, Some(&s.admin), Some(json!({ "ip_allowlist": [] }))).await;
    assert_eq!((status, &key["ip_allowlist"]), (StatusCode::OK, &json!([])));
    assert_eq!(verdict(None).await, "VALID");
    assert_eq!(call("198.51.100.4").await.status(), StatusCode::OK);
    let query = AuditQuery { action: Some(AuditAction::KeyIpAllowlistChanged), ..AuditQuery::default() };
    assert_eq!(audit::list(&s.core.db, &s.owner, query).await.expect("audit").total, 1);
}

/// Every verification is logged (batched: written by the flush), and a key's log is listed newest
/// first, filtered by outcome and paged in the database; another organization's key is not found;
/// records past the retention are purged.
#[tokio::test]
async fn a_keys_verifications_are_logged_listed_filtered_and_purged() {
    let s = start().await;
    let input = NewKey {
        credits: Some(app::model::Credits { remaining: 3, refill: None }),
        ..scoped_key("logged", &s.project, scopes(&["telemetry.write"]))
    };
    let (id, token) = s.key_with(input).await;
    for body in [
        json!({ "key": token, "ip": "203.0.113.7", "scopes": ["telemetry.write"] }),
        json!({ "key": token, "scopes": ["billing.read"] }),
        json!({ "key": token, "cost": 2 }),
        json!({ "key": token }),
    ] {
        s.verify_with(body).await;
    }
    s.verify(&unknown_token()).await;
    // Nothing is written per request: the flush writes the batch.
    let path = format!("/keys/{id}/verifications");
    assert_eq!(s.get(&path, &s.admin).await.1["total"], 0);
    assert_eq!(s.core.verifications.flush(&s.core.db).await.expect("flushed"), 5);

    let (status, log) = s.get(&path, &s.admin).await;
    assert_eq!((status, &log["total"]), (StatusCode::OK, &json!(4)), "{log}");
    let outcomes: Vec<&str> =
        log["verifications"].as_array().expect("list").iter().filter_map(|v| v["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["USAGE_EXCEEDED", "VALID", "INSUFFICIENT_SCOPE", "VALID"], "newest first: {log}");
    let first = &log["verifications"][3];
    assert_eq!(
        (&first["address"], &first["scopes"], &first["credits_spent"]),
        (&json!("203.0.113.7"), &json!(["telemetry.write"]), &json!(1))
    );
    assert_eq!(first["environment"], "production");
    assert_eq!(log["verifications"][1]["credits_spent"], 2);

    let (_, valid) = s.get(&format!("{path}?outcome=VALID&per_page=10"), &s.admin).await;
    assert_eq!(valid["total"], 2);
    let (_, second) = s.get(&format!("{path}?per_page=10&page=2"), &s.admin).await;
    assert_eq!((&second["total"], second["verifications"].as_array().map(Vec::len)), (&json!(4), Some(0)));
    for bad in ["outcome=MAYBE", "per_page=7", "page=0"] {
        let (status, problem) = s.get(&format!("{path}?{bad}"), &s.admin).await;
        let field = bad.split('=').next();
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{bad}"
        );
    }
    let (_, reader) = s.key("reader", &["api_keys.read"]).await;
    assert_eq!(s.get(&path, &reader).await.0, StatusCode::OK);
    let (_, verifier) = s.key("verifier only", &["api_keys.verify"]).await;
    assert_eq!(s.get(&path, &verifier).await.0, StatusCode::FORBIDDEN);
    // Another organization's key guesses the id: not found, as for no key at all.
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let globex_project = projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let globex_admin = keys::create(
        &s.core,
        &globex,
        scoped_key("admin", &globex_project, ScopePreset::Organization.scopes().to_strings()),
    )
    .await
    .expect("key")
    .token;
    assert_eq!(s.get(&path, &globex_admin).await.0, StatusCode::NOT_FOUND);

    // Past the retention (30 days): purged; the rest stays.
    let purged = s.core.verifications.purge(&s.core.db, Utc::now() + Duration::days(29)).await.expect("purge");
    assert_eq!(purged, 0);
    let purged = s.core.verifications.purge(&s.core.db, Utc::now() + Duration::days(31)).await.expect("purge");
    assert_eq!(purged, 5);
    assert_eq!(s.get(&path, &s.admin).await.1["total"], 0);
}
