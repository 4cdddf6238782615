//! Real `keyward` processes: several instances on one PostgreSQL (and Redis), and one process's
//! operations (readiness, metrics, graceful shutdown).
//!
//! The several-instance tests need PostgreSQL (KEYWARD_TEST_DATABASE_URL=postgres://...; SQLite
//! serves one instance), and the Redis one KEYWARD_TEST_REDIS_URL too. They are `#[ignore]`d, so a
//! plain run reports them as skipped; `.ci/run` runs them with `--include-ignored` where the servers
//! answer. The single-process test runs everywhere.

use app::model::{Plan, Project, RateLimit, RateWindow, ScopePreset};
use app::ssr::entities::key_usage;
use app::ssr::services::{Member, keys, organizations, projects};
use app::ssr::test_support::{
    fresh_database_url, fresh_postgres, organization, required_postgres, required_redis, scoped_key, scopes,
};
use app::ssr::{Core, db};
use futures::future::join_all;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How soon a change made through one instance must show at every other.
const PROPAGATION: Duration = Duration::from_secs(1);

/// One `keyward serve` process on a loopback port of its own.
pub(crate) struct Instance {
    child: Child,
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
}

impl Instance {
    pub(crate) async fn start(database_url: &str, settings: &[(&str, &str)]) -> Self {
        Self::start_logging_to(database_url, settings, Stdio::null()).await
    }

    /// With its log (warnings and errors) written to `log`.
    pub(crate) async fn start_logging_to(database_url: &str, settings: &[(&str, &str)], log: impl Into<Stdio>) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_keyward"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("KEYWARD_LISTEN", format!("127.0.0.1:{port}"))
            .env("KEYWARD_LEPTOS_TOML", concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml"))
            .env("KEYWARD_LOG", "warn")
            // Its pages are not what these tests look at: no site build's hash.txt is needed.
            .env("LEPTOS_HASH_FILES", "false")
            .env_remove("REDIS_URL")
            .env_remove("KEYWARD_METRICS_TOKEN")
            // Every instance of a cluster has the same secret key (its webhooks' signatures).
            .env("KEYWARD_SECRET_KEY", "5eed".repeat(16))
            .stdout(log);
        for (name, value) in settings {
            command.env(name, value);
        }
        let child = command.spawn().expect("keyward starts");
        let instance = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::builder().timeout(crate::api::ANSWER_WITHIN).build().expect("client"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = instance.http.get(format!("{}/readyz", instance.base)).send().await
                && response.status() == StatusCode::OK
            {
                return instance;
            }
            assert!(Instant::now() < deadline, "keyward did not become ready on port {port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn post(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .header("X-API-Key", key)
            .json(&body)
            .send()
            .await
            .expect("request answered");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, path: &str, key: &str, body: Value) -> StatusCode {
        let url = format!("{}/api/v1{path}", self.base);
        self.http.put(url).header("X-API-Key", key).json(&body).send().await.expect("answered").status()
    }

    /// The verdict's code for `token`, asked with the verifying key `verifier`.
    async fn verify(&self, verifier: &str, token: &str, scopes: &[&str]) -> String {
        let (status, verdict) = self.post("/keys/verify", verifier, json!({ "key": token, "scopes": scopes })).await;
        assert_eq!(status, StatusCode::OK, "{verdict}");
        verdict["code"].as_str().expect("a code").to_owned()
    }

    /// How many times the instance has looked a presented key up in the database, as its
    /// `/metrics` (scraped with `metrics_token`) says.
    pub(crate) async fn database_lookups(&self, metrics_token: &str) -> f64 {
        let scraped = self.http.get(format!("{}/metrics", self.base)).bearer_auth(metrics_token).send().await;
        let text = scraped.expect("answered").text().await.expect("metrics");
        text.lines()
            .find(|l| l.starts_with("keyward_key_database_lookups_total"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
            .unwrap_or(0.0)
    }

    /// SIGTERM, then waits for the process to finish its requests and exit.
    pub(crate) fn stop(mut self) -> std::process::ExitStatus {
        let terminated = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        assert!(terminated.is_ok_and(|s| s.success()), "SIGTERM sent");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("process state") {
                return status;
            }
            assert!(Instant::now() < deadline, "keyward did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An organization with its Default project and a full-access key (the verifier and manager).
pub(crate) struct Organization {
    pub(crate) core: Core,
    pub(crate) owner: Member,
    pub(crate) project: Project,
    pub(crate) admin: String,
}

pub(crate) async fn acme(url: &str, plan: Plan) -> Organization {
    let core = Core::new(db::connect_and_migrate(url).await.expect("database with migrations"));
    let owner = organization(&core.db, "Acme", "ada@acme.test").await;
    organizations::change_plan(&core, &owner, plan).await.expect("plan");
    let owner = Member { plan, ..owner };
    let project = projects::list(&core.db, &owner).await.expect("projects").remove(0);
    let scopes = ScopePreset::Organization.scopes().to_strings();
    let admin = keys::create(&core, &owner, scoped_key("admin", &project, scopes)).await.expect("admin key").token;
    Organization { core, owner, project, admin }
}

/// Asks `instance` until the verdict is `expected`; how long that took.
async fn settles(instance: &Instance, verifier: &str, token: &str, scopes: &[&str], expected: &str) -> Duration {
    let started = Instant::now();
    loop {
        let code = instance.verify(verifier, token, scopes).await;
        if code == expected {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "still {code}, not {expected}, after 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn a_change_through_one_instance_holds_at_the_other_within_a_second() {
    let url = fresh_postgres(&required_postgres()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let (a, b) = (Instance::start(&url, &[]).await, Instance::start(&url, &[]).await);
    let created = keys::create(&org.core, &org.owner, scoped_key("orders", &org.project, scopes(&["orders.read"])))
        .await
        .expect("key");
    let (id, token) = (created.key.id, created.token);
    let admin = org.admin.as_str();
    let mut slowest = Duration::ZERO;

    // Each step: B has the key's state cached (it just answered), A changes it, B must follow.
    assert_eq!(b.verify(admin, &token, &["orders.read"]).await, "VALID");
    assert_eq!(
        a.put(&format!("/keys/{id}/scopes"), admin, json!({ "scopes": ["orders.write"] })).await,
        StatusCode::OK
    );
    slowest = slowest.max(settles(&b, admin, &token, &["orders.read"], "INSUFFICIENT_SCOPE").await);

    assert_eq!(b.verify(admin, &token, &[]).await, "VALID");
    assert_eq!(a.post(&format!("/keys/{id}/disable"), admin, json!({})).await.0, StatusCode::OK);
    slowest = slowest.max(settles(&b, admin, &token, &[], "DISABLED").await);
    assert_eq!(a.post(&format!("/keys/{id}/enable"), admin, json!({})).await.0, StatusCode::OK);
    slowest = slowest.max(settles(&b, admin, &token, &[], "VALID").await);

    let (status, rotated) = a.post(&format!("/keys/{id}/rotate"), admin, json!({ "grace": "none" })).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_token = rotated["token"].as_str().expect("new secret").to_owned();
    slowest = slowest.max(settles(&b, admin, &token, &[], "NOT_FOUND").await);
    assert_eq!(b.verify(admin, &new_token, &[]).await, "VALID");

    assert_eq!(a.post(&format!("/keys/{id}/revoke"), admin, json!({})).await.0, StatusCode::OK);
    slowest = slowest.max(settles(&b, admin, &new_token, &[], "REVOKED").await);
    let deleted = a.http.delete(format!("{}/api/v1/keys/{id}", a.base)).header("X-API-Key", admin).send().await;
    assert_eq!(deleted.expect("answered").status(), StatusCode::NO_CONTENT);
    slowest = slowest.max(settles(&b, admin, &new_token, &[], "NOT_FOUND").await);

    eprintln!("slowest propagation between instances: {slowest:?}");
    assert!(slowest < PROPAGATION, "a change took {slowest:?} to reach the other instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn plan_limits_hold_across_instances() {
    let url = fresh_postgres(&required_postgres()).await;
    // Free: 3 keys, of which the admin key is one.
    let org = acme(&url, Plan::Free).await;
    let (a, b) = (Instance::start(&url, &[]).await, Instance::start(&url, &[]).await);
    let attempts = (0..8).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        let (admin, body) = (org.admin.as_str(), json!({ "name": format!("service {i}"), "scopes": [] }));
        async move { instance.post("/keys", admin, body).await.0 }
    });
    let statuses = join_all(attempts).await;
    let created = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert_eq!(created, 2, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || s.is_client_error()), "{statuses:?}");
}

/// 200 verifications at once of a key with 50 credits, half through each instance: exactly 50 are
/// valid (the database's conditional decrement is the one count), and it ends at 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn credits_hold_exactly_across_instances() {
    let url = fresh_postgres(&required_postgres()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let (a, b) = (Instance::start(&url, &[]).await, Instance::start(&url, &[]).await);
    let credits = app::model::Credits { remaining: 50, refill: None };
    let input = app::model::NewKey { credits: Some(credits), ..scoped_key("metered", &org.project, vec![]) };
    let created = keys::create(&org.core, &org.owner, input).await.expect("key");
    let calls = (0..200).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        let (admin, token) = (org.admin.as_str(), created.token.as_str());
        async move { instance.verify(admin, token, &[]).await }
    });
    let codes = join_all(calls).await;
    let valid = codes.iter().filter(|c| *c == "VALID").count();
    let exceeded = codes.iter().filter(|c| *c == "USAGE_EXCEEDED").count();
    assert_eq!((valid, exceeded), (50, 150), "{codes:?}");
    let row = app::ssr::entities::api_key::Entity::find_by_id(created.key.id).one(&org.core.db).await.expect("query");
    assert_eq!(row.and_then(|k| k.credits_remaining), Some(0));
}

/// A key with many credits, verified through two instances at once: each holds a reserve, every
/// verification is valid, and once both stop (giving their reserves back) the database's count is
/// exactly what was spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn credit_reserves_are_given_back_when_instances_stop() {
    let url = fresh_postgres(&required_postgres()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let (a, b) = (Instance::start(&url, &[]).await, Instance::start(&url, &[]).await);
    let credits = app::model::Credits { remaining: 1_000_000, refill: None };
    let input = app::model::NewKey { credits: Some(credits), ..scoped_key("metered", &org.project, vec![]) };
    let created = keys::create(&org.core, &org.owner, input).await.expect("key");
    let remaining = || async {
        let row = app::ssr::entities::api_key::Entity::find_by_id(created.key.id).one(&org.core.db).await;
        row.expect("query").and_then(|k| k.credits_remaining)
    };
    for round in 0..4 {
        let calls = (0..100).map(|i| {
            let instance = if i % 2 == 0 { &a } else { &b };
            let (admin, token) = (org.admin.as_str(), created.token.as_str());
            async move { instance.verify(admin, token, &[]).await }
        });
        let codes = join_all(calls).await;
        assert!(codes.iter().all(|c| c == "VALID"), "round {round}: {codes:?}");
    }
    let held = remaining().await.expect("a count");
    assert!(held < 1_000_000 - 400, "the instances hold reserves ({held} left in the database)");
    assert!(a.stop().success() && b.stop().success());
    assert_eq!(remaining().await, Some(1_000_000 - 400));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis"]
async fn rate_limits_shared_through_redis_hold_across_instances() {
    let (url, redis) = (fresh_postgres(&required_postgres()).await, required_redis());
    let org = acme(&url, Plan::Enterprise).await;
    let settings = [("REDIS_URL", redis.as_str())];
    let (a, b) = (Instance::start(&url, &settings).await, Instance::start(&url, &settings).await);
    let limit = RateLimit { requests: 15, window: RateWindow::Hour };
    let input = app::model::NewKey { rate_limit: Some(limit), ..scoped_key("metered", &org.project, vec![]) };
    let token = keys::create(&org.core, &org.owner, input).await.expect("key").token;

    // 40 verifications at once, half through each instance: exactly the limit passes.
    let calls = (0..40).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        let (admin, token) = (org.admin.as_str(), token.as_str());
        async move { instance.verify(admin, token, &[]).await }
    });
    let codes = join_all(calls).await;
    let valid = codes.iter().filter(|c| *c == "VALID").count();
    let limited = codes.iter().filter(|c| *c == "RATE_LIMITED").count();
    assert_eq!((valid, limited), (15, 25), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_reports_readiness_and_metrics_and_writes_usage_when_stopped() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let created = keys::create(&org.core, &org.owner, scoped_key("orders", &org.project, vec![])).await.expect("key");
    // Usage is written only at shutdown: the flush interval is far longer than the test.
    let settings = [("KEYWARD_USAGE_FLUSH_SECS", "3600"), ("KEYWARD_METRICS_TOKEN", "scrape-token-1")];
    let instance = Instance::start(&url, &settings).await;
    for _ in 0..30 {
        assert_eq!(instance.verify(&org.admin, &created.token, &[]).await, "VALID");
    }
    assert_eq!(instance.verify(&org.admin, "kw_live_not_a_key", &[]).await, "NOT_FOUND");

    let ready = instance.http.get(format!("{}/readyz", instance.base)).send().await.expect("answered");
    assert_eq!(ready.status(), StatusCode::OK);
    let request_id = ready.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(request_id.len(), 36, "a request id in every answer, for matching log lines: {request_id:?}");

    let metrics = format!("{}/metrics", instance.base);
    let refused = instance.http.get(&metrics).send().await.expect("answered");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let scraped = instance.http.get(&metrics).bearer_auth("scrape-token-1").send().await.expect("answered");
    assert_eq!(scraped.status(), StatusCode::OK);
    let text = scraped.text().await.expect("metrics text");
    let sample = |name: &str| -> Option<f64> {
        text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()).and_then(|v| v.parse().ok())
    };
    assert_eq!(sample(r#"keyward_verifications_total{code="VALID"}"#), Some(30.0), "{text}");
    assert_eq!(sample(r#"keyward_verifications_total{code="NOT_FOUND"}"#), Some(1.0), "{text}");
    // The key was read once, then served from the cache (the admin key's own lookups count too).
    assert!(sample(r#"keyward_key_cache_lookups_total{result="hit"}"#).is_some_and(|hits| hits >= 29.0), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("keyward_http_request_duration_seconds_bucket")
            && l.contains(r#"route="/api/v1/keys/verify""#)
            && l.contains(r#"status="200""#)),
        "{text}"
    );
    assert!(sample("keyward_usage_flush_lag_seconds").is_some(), "{text}");

    let status = instance.stop();
    assert!(status.success(), "keyward exits cleanly on SIGTERM: {status}");
    let rows = key_usage::Entity::find()
        .filter(key_usage::Column::KeyId.eq(created.key.id))
        .all(&org.core.db)
        .await
        .expect("usage rows");
    let (valid, denied) = rows.iter().fold((0, 0), |(v, d), r| (v + r.valid, d + r.denied));
    assert_eq!((valid, denied), (30, 0), "every verification counted before the process stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_under_load_lets_the_pages_in_flight_end_without_errors() {
    use app::ssr::services::{Client, auth};
    use app::ssr::test_support::PASSWORD;
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let org = acme(&url, Plan::Enterprise).await;
    for i in 0..200 {
        keys::create(&org.core, &org.owner, scoped_key(&format!("service-{i}"), &org.project, vec![]))
            .await
            .expect("key");
    }
    let session = auth::sign_in(&org.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let log_path = dir.path().join("keyward.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let instance = Instance::start_logging_to(&url, &[], log).await;
    // Renders of the keys page, many at once, which their readers give up on midway: the work
    // they started is still running when the process is told to stop.
    let renders: Vec<_> = (0..64)
        .map(|_| {
            let request = instance
                .http
                .get(format!("{}/keys", instance.base))
                .header("Cookie", format!("kw_session={}", session.token))
                .header("Accept", "text/html");
            tokio::spawn(async move { request.send().await.map(|r| r.status()) })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(30)).await;
    for render in &renders {
        render.abort();
    }
    let status = tokio::task::spawn_blocking(move || instance.stop()).await.expect("stopped");
    assert!(status.success(), "keyward exits cleanly on SIGTERM under load: {status}");
    let log = std::fs::read_to_string(&log_path).expect("log");
    assert!(!log.contains("ERROR"), "no errors while shutting down under load:\n{log}");
}

/// A key's checksum is checked only on the way to the database, a key in use being found among the
/// keys already seen first: beside a real key that is cached, a copy of it with a wrong checksum
/// finds nothing, as the calling key (401) or as the key verified (NOT_FOUND), and costs no lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_a_wrong_checksum_finds_nothing_and_costs_no_database_lookup() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let org = acme(&url, Plan::Free).await;
    let instance = Instance::start(&url, &[("KEYWARD_METRICS_TOKEN", "scrape-token-3")]).await;
    let token =
        keys::create(&org.core, &org.owner, scoped_key("orders", &org.project, vec![])).await.expect("key").token;
    assert_eq!(instance.verify(&org.admin, &token, &[]).await, "VALID");
    let lookups = instance.database_lookups("scrape-token-3").await;
    assert!(lookups >= 2.0, "the two keys were looked up once each: {lookups}");

    // The last character is the checksum's: any other value is wrong.
    let wrong_checksum = |token: &str| {
        let (body, last) = token.split_at(token.len() - 1);
        format!("{body}{}", if last == "0" { "1" } else { "0" })
    };
    assert_eq!(instance.verify(&org.admin, &wrong_checksum(&token), &[]).await, "NOT_FOUND");
    let (status, problem) = instance.post("/keys/verify", &wrong_checksum(&org.admin), json!({ "key": token })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert_eq!(instance.database_lookups("scrape-token-3").await, lookups);
    // The real keys are unharmed, and still cached.
    assert_eq!(instance.verify(&org.admin, &token, &[]).await, "VALID");
    assert_eq!(instance.database_lookups("scrape-token-3").await, lookups);
}
