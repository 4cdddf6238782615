//! `keyward-client` against a real `keyward` process: its tower layer in front of a loopback axum
//! service, and its typed management calls, each also tried as an attack.

use crate::cluster::{Instance, Organization, acme};
use app::model::{Plan, ScopePreset};
use app::ssr::services::keys;
use app::ssr::test_support::{fresh_database_url, organization, scoped_key};
use axum::extract::Extension;
use axum::routing::get;
use axum::{Json, Router};
use keyward_client::{
    Client, Error, Grace, KeyFilter, KeyStatus, NewKey, RateLimit, RateWindow, RequireKey, VerifiedKey, Verify,
    VerifyCode,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

struct Setup {
    _dir: tempfile::TempDir,
    org: Organization,
    keyward: Instance,
    /// The organization's full-access key, as a client.
    admin: Client,
    /// A key holding `api_keys.verify` alone: what a protected service is given.
    verifier: String,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let verifier = scoped_key("orders service", &org.project, ScopePreset::Verifier.scopes().to_strings());
    let verifier = keys::create(&org.core, &org.owner, verifier).await.expect("verifier key").token;
    let keyward = Instance::start(&url, &[]).await;
    let admin = Client::new(&keyward.base, org.admin.clone()).expect("a client");
    Setup { _dir: dir, org, keyward, admin, verifier }
}

/// A service on a loopback port whose `/orders` answers with the key it was let in with; and how
/// many times that handler ran.
async fn protected_service(layer: RequireKey) -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let orders = move |Extension(key): Extension<VerifiedKey>| async move {
        counted.fetch_add(1, Ordering::SeqCst);
        Json(json!({ "key_id": key.key_id, "external_id": key.external_id, "meta": key.meta, "scopes": key.scopes }))
    };
    let app = Router::new().route("/orders", get(orders)).layer(layer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("its address"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    (base, calls)
}

/// GET /orders with `key` in X-API-Key (none if empty): the status, the headers and the JSON body.
async fn call(base: &str, key: &str) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = reqwest::Client::new().get(format!("{base}/orders"));
    if !key.is_empty() {
        request = request.header("X-API-Key", key);
    }
    let response = request.send().await.expect("answered");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.json().await.unwrap_or(Value::Null))
}

fn header<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn create(admin: &Client, name: &str, scopes: &[&str], rate_limit: Option<RateLimit>) -> (uuid::Uuid, String) {
    let new = NewKey {
        name: name.to_owned(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        rate_limit,
        external_id: Some(format!("cust_{name}")),
        meta: Some(json!({ "tier": "gold" })),
        ..NewKey::default()
    };
    let created = admin.create_key(&new).await.expect("created");
    (created.key.id, created.token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_lets_in_valid_keys_only_and_answers_the_rest_as_problems() {
    let s = setup().await;
    let keyward = Client::new(&s.keyward.base, s.verifier.clone()).expect("a client");
    let (base, calls) = protected_service(RequireKey::new(keyward).scopes(["orders.read"])).await;
    let (reader_id, reader) = create(&s.admin, "reader", &["orders.read"], None).await;
    let (_, writer) = create(&s.admin, "writer", &["orders.write"], None).await;
    let two_a_minute = RateLimit { requests: 2, window: RateWindow::Minute };
    let (_, metered) = create(&s.admin, "metered", &["orders.read"], Some(two_a_minute)).await;
    let (revoked_id, revoked) = create(&s.admin, "revoked", &["orders.read"], None).await;
    s.admin.revoke_key(revoked_id).await.expect("revoked");

    // A valid key: the handler runs, with the verdict.
    let (status, headers, body) = call(&base, &reader).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["key_id"], json!(reader_id));
    assert_eq!((&body["external_id"], &body["meta"]), (&json!("cust_reader"), &json!({ "tier": "gold" })));
    assert_eq!(header(&headers, "ratelimit-limit"), "", "no rate limit, no RateLimit headers");
    let bearer = reqwest::Client::new().get(format!("{base}/orders")).bearer_auth(&reader).send().await;
    assert_eq!(bearer.expect("answered").status(), StatusCode::OK, "Authorization: Bearer is read too");

    // Every refusal is a problem, and the handler never runs for one.
    let (status, headers, body) = call(&base, "").await;
    assert_eq!((status, &body["code"]), (StatusCode::UNAUTHORIZED, &json!("MISSING_API_KEY")));
    assert_eq!(header(&headers, "content-type"), "application/problem+json");
    assert_eq!(header(&headers, "www-authenticate"), "Bearer");
    let (status, _, revoked_answer) = call(&base, &revoked).await;
    assert_eq!((status, &revoked_answer["code"]), (StatusCode::UNAUTHORIZED, &json!("INVALID_API_KEY")));
    let (_, _, unknown_answer) = call(&base, "kw_live_0000000000000000000000000000000000").await;
    assert_eq!(unknown_answer, revoked_answer, "a revoked key is answered as an unknown one");
    let (status, _, body) = call(&base, &writer).await;
    assert_eq!((status, &body["code"]), (StatusCode::FORBIDDEN, &json!("INSUFFICIENT_SCOPE")));

    // A rate-limited key: RateLimit headers on the handler's answers, then a 429 with Retry-After.
    for remaining in ["1", "0"] {
        let (status, headers, body) = call(&base, &metered).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!((header(&headers, "ratelimit-limit"), header(&headers, "ratelimit-remaining")), ("2", remaining));
    }
    let (status, headers, body) = call(&base, &metered).await;
    assert_eq!((status, &body["code"]), (StatusCode::TOO_MANY_REQUESTS, &json!("RATE_LIMITED")));
    assert_eq!(header(&headers, "ratelimit-remaining"), "0");
    let retry_after: u64 = header(&headers, "retry-after").parse().expect("Retry-After in seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    assert_eq!(calls.load(Ordering::SeqCst), 4, "the handler ran for the valid keys only");

    // The layer fails closed: a root key Keyward refuses, or no Keyward at all, lets no one in.
    let bogus = Client::new(&s.keyward.base, "kw_live_0000000000000000000000000000000000").expect("a client");
    let (refused_base, refused_calls) = protected_service(RequireKey::new(bogus).scopes(["orders.read"])).await;
    let (status, _, body) = call(&refused_base, &reader).await;
    assert_eq!((status, &body["code"]), (StatusCode::SERVICE_UNAVAILABLE, &json!("VERIFIER_UNAVAILABLE")));
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let nowhere = Client::new(&format!("http://127.0.0.1:{port}"), s.verifier.clone()).expect("a client");
    let (down_base, down_calls) = protected_service(RequireKey::new(nowhere)).await;
    assert_eq!(call(&down_base, &reader).await.0, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused_calls.load(Ordering::SeqCst) + down_calls.load(Ordering::SeqCst), 0);
}

/// The cache's documented price: a revoked key passes until its verdict is the TTL old, never after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_verdict_outlives_a_revocation_by_its_ttl_at_most() {
    let s = setup().await;
    let keyward = Client::new(&s.keyward.base, s.verifier.clone()).expect("a client");
    // Long enough that the revocation and the next call land within it even on a loaded machine.
    let ttl = Duration::from_secs(3);
    let cached = RequireKey::new(keyward).cache_valid_for(ttl);
    let (base, _) = protected_service(cached.clone()).await;
    // A clone asking for more shares the cache, never its verdicts.
    let (stricter, _) = protected_service(cached.scopes(["orders.admin"])).await;
    let (id, token) = create(&s.admin, "cached", &[], None).await;
    assert_eq!(call(&base, &token).await.0, StatusCode::OK);
    assert_eq!(call(&stricter, &token).await.0, StatusCode::FORBIDDEN, "another question, not the cached verdict");
    s.admin.revoke_key(id).await.expect("revoked");
    assert_eq!(call(&base, &token).await.0, StatusCode::OK, "answered from the cache within its TTL");
    tokio::time::sleep(ttl).await;
    assert_eq!(call(&base, &token).await.0, StatusCode::UNAUTHORIZED, "refused once the verdict is the TTL old");

    // A rate-limited key is never cached: its second request within the TTL is still counted.
    let one_a_minute = RateLimit { requests: 1, window: RateWindow::Minute };
    let (_, metered) = create(&s.admin, "metered", &[], Some(one_a_minute)).await;
    assert_eq!(call(&base, &metered).await.0, StatusCode::OK);
    assert_eq!(call(&base, &metered).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_manages_keys_and_is_refused_beyond_its_key() {
    let s = setup().await;
    let (id, token) = create(&s.admin, "billing", &["invoices.read"], None).await;
    let verdict = |key: &str| Verify { key: key.to_owned(), scopes: vec!["invoices.read".into()], ..Verify::default() };
    let verifier = Client::new(&s.keyward.base, s.verifier.clone()).expect("a client");
    assert_eq!(verifier.verify(&verdict(&token)).await.expect("a verdict").code, VerifyCode::Valid);

    let filter = KeyFilter { external_id: Some("cust_billing".into()), ..KeyFilter::default() };
    let listed = s.admin.list_keys(&filter).await.expect("a page");
    assert_eq!((listed.total, listed.keys[0].id), (1, id));
    let key = s.admin.set_scopes(id, &["invoices.read", "invoices.write"]).await.expect("re-scoped");
    assert_eq!(key.scopes, ["invoices.read", "invoices.write"]);

    let rotated = s.admin.rotate_key(id, Grace::None).await.expect("rotated");
    assert_eq!(verifier.verify(&verdict(&token)).await.expect("a verdict").code, VerifyCode::NotFound);
    assert_eq!(verifier.verify(&verdict(&rotated.token)).await.expect("a verdict").code, VerifyCode::Valid);
    assert_eq!(s.admin.disable_key(id).await.expect("disabled").status, KeyStatus::Disabled);
    assert_eq!(verifier.verify(&verdict(&rotated.token)).await.expect("a verdict").code, VerifyCode::Disabled);
    assert_eq!(s.admin.enable_key(id).await.expect("enabled").status, KeyStatus::Active);

    // Bad input names its field.
    let nameless = NewKey { name: String::new(), ..NewKey::default() };
    match s.admin.create_key(&nameless).await {
        Err(Error::Api(problem)) => {
            assert_eq!((problem.status, problem.code.as_str()), (422, "VALIDATION_FAILED"));
            assert!(problem.errors.iter().any(|e| e.field == "name"), "{problem:?}");
        }
        other => panic!("a nameless key was not refused: {other:?}"),
    }

    // A verify-only key cannot manage keys; another organization's key cannot even see them.
    let refused = |result: Result<keyward_client::Key, Error>, status: u16| match result {
        Err(Error::Api(problem)) => assert_eq!(problem.status, status, "{problem:?}"),
        other => panic!("not refused with {status}: {other:?}"),
    };
    refused(verifier.revoke_key(id).await, 403);
    refused(verifier.get_key(id).await, 403);
    let stranger = organization(&s.org.core.db, "Globex", "gus@globex.test").await;
    let project = app::ssr::services::projects::list(&s.org.core.db, &stranger).await.expect("projects").remove(0);
    let full = scoped_key("globex admin", &project, ScopePreset::Organization.scopes().to_strings());
    let globex = keys::create(&s.org.core, &stranger, full).await.expect("their key").token;
    let globex = Client::new(&s.keyward.base, globex).expect("a client");
    refused(globex.get_key(id).await, 404);
    refused(globex.revoke_key(id).await, 404);
    assert_eq!(globex.verify(&verdict(&rotated.token)).await.expect("a verdict").code, VerifyCode::NotFound);
    assert_eq!(s.admin.get_key(id).await.expect("still there").status, KeyStatus::Active, "nothing changed");
}

/// The crate's enums read every value the server writes.
#[test]
fn the_client_reads_every_code_status_and_environment_the_server_writes() {
    use strum::VariantArray;
    for code in app::model::VerifyCode::VARIANTS {
        let read: VerifyCode = serde_json::from_value(json!(code)).expect("a code");
        assert_ne!(read, VerifyCode::Other, "{code:?}");
        assert_eq!(json!(read), json!(code));
    }
    for status in app::model::KeyStatus::VARIANTS {
        let read: KeyStatus = serde_json::from_value(json!(status)).expect("a status");
        assert_ne!(read, KeyStatus::Other, "{status:?}");
    }
    for environment in app::model::Environment::VARIANTS {
        let read: keyward_client::Environment = serde_json::from_value(json!(environment)).expect("an environment");
        assert_eq!(json!(read), json!(environment));
    }
}
