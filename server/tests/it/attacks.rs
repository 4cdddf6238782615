//! Attacks, each tried the way a member of the organization (or a stranger) would, through the real
//! HTTP surface. Each one is refused, and nothing it aimed at changes.

use crate::api::{Server, code, start, start_behind, start_with};
use app::model::{AuditAction, AuditQuery, Plan, Role, ScopePreset};
use app::ssr::entities::{api_key, invitation};
use app::ssr::services::{Client, Member, audit, auth, keys, members};
use app::ssr::test_support::{PASSWORD, member, scoped_key, scopes};
use reqwest::{Method, StatusCode};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

/// A colleague of the owner with `role`, and a key they created in the dashboard: (member, id, token).
async fn colleague_with_key(s: &Server, role: Role, name: &str, key_scopes: &[&str]) -> (Member, Uuid, String) {
    let colleague = member(&s.core.db, &s.owner, role, name).await;
    let created =
        keys::create(&s.core, &colleague, scoped_key(&format!("{name}'s tool"), &s.project, scopes(key_scopes)))
            .await
            .expect("key created");
    (colleague, created.key.id, created.token)
}

async fn stored(s: &Server, id: Uuid) -> Option<api_key::Model> {
    api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query")
}

/// Every call that changes a key, aimed at `id`.
fn changes(id: Uuid) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::POST, format!("/keys/{id}/rotate"), Some(json!({ "grace": "7d" }))),
        (Method::PATCH, format!("/keys/{id}"), Some(json!({ "name": "mine now", "never_expires": true }))),
        // Another customer's key made to answer as the attacker's (who it is for, and their data).
        (Method::PATCH, format!("/keys/{id}"), Some(json!({ "external_id": "attacker", "meta": { "tier": "free" } }))),
        (Method::PUT, format!("/keys/{id}/scopes"), Some(json!({ "scopes": ["api_keys.read"] }))),
        (
            Method::PUT,
            format!("/keys/{id}/rate-limit"),
            Some(json!({ "rate_limit": { "requests": 1, "window": "hour" } })),
        ),
        // Unlimited use of someone else's key made metered, or a metered one made unlimited.
        (Method::PUT, format!("/keys/{id}/credits"), Some(json!({ "credits": { "remaining": 0, "refill": null } }))),
        (Method::PUT, format!("/keys/{id}/credits"), Some(json!({ "credits": null }))),
        // Someone else's key opened to any address, or shut to the attacker's own.
        (Method::PUT, format!("/keys/{id}/ip-allowlist"), Some(json!({ "ip_allowlist": [] }))),
        (Method::PUT, format!("/keys/{id}/ip-allowlist"), Some(json!({ "ip_allowlist": ["203.0.113.0/24"] }))),
        (Method::POST, format!("/keys/{id}/disable"), Some(json!({}))),
        // Slipped in among keys to disable at once.
        (Method::POST, "/keys/bulk-disable".to_owned(), Some(json!({ "key_ids": [id] }))),
        (Method::POST, format!("/keys/{id}/revoke"), Some(json!({}))),
        (Method::DELETE, format!("/keys/{id}"), None),
    ]
}

/// Tries every change to `target` with `attacker`: each must answer 403 with no secret in it, and
/// the key must be exactly as it was, its secret still good.
async fn every_change_is_refused(s: &Server, attacker: &str, target: Uuid, target_token: &str) {
    let before = stored(s, target).await;
    for (method, path, body) in changes(target) {
        let (status, _, answer) = s.call(method.clone(), &path, Some(attacker), body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert!(answer.get("token").is_none(), "{method} {path} handed out a secret: {answer}");
    }
    assert_eq!(stored(s, target).await, before, "the key changed");
    assert_eq!(code(&s.verify(target_token).await), "VALID", "the key's secret stopped working");
}

#[tokio::test]
async fn a_developers_key_cannot_rotate_revoke_or_rescope_the_owners_key() {
    let s = start().await;
    let every_key_scope = ["api_keys.read", "api_keys.update", "api_keys.rotate", "api_keys.revoke", "api_keys.delete"];
    let (developer, _, mallory) = colleague_with_key(&s, Role::Developer, "Mallory", &every_key_scope).await;
    let (target, token) = s.key("payments", &["api_keys.read", "api_keys.verify"]).await;
    every_change_is_refused(&s, &mallory, target, &token).await;
    // Nor another developer's key.
    let (_, theirs, their_token) = colleague_with_key(&s, Role::Developer, "Trent", &["api_keys.read"]).await;
    every_change_is_refused(&s, &mallory, theirs, &their_token).await;
    // The developer's own keys, the key may change, as the developer may in the dashboard.
    let own = scoped_key("mallory's other", &s.project, scopes(&["api_keys.read"]));
    let mine = keys::create(&s.core, &developer, own).await.expect("key").key.id;
    let (status, rotated) = s.post(&format!("/keys/{mine}/rotate"), &mallory, json!({ "grace": "none" })).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
}

#[tokio::test]
async fn a_key_cannot_rotate_or_rescope_a_key_that_holds_more_than_itself() {
    let s = start().await;
    // Both keys are the owner's, so the owner's key may change the other; but the other holds far more.
    let (_, rotator) = s.key("rotator", &["api_keys.read", "api_keys.rotate", "api_keys.update"]).await;
    let full = ScopePreset::Organization.scopes().to_strings();
    let (target, token) = s.key_with(scoped_key("full access", &s.project, full)).await;
    let before = stored(&s, target).await;
    for (method, path, body) in [
        (Method::POST, format!("/keys/{target}/rotate"), json!({ "grace": "none" })),
        // Keeping a stronger key alive longer is taking it over too.
        (Method::PATCH, format!("/keys/{target}"), json!({ "expires_in_days": 365 })),
        (Method::PUT, format!("/keys/{target}/scopes"), json!({ "scopes": ["api_keys.read"] })),
    ] {
        let (status, _, answer) = s.call(method.clone(), &path, Some(&rotator), Some(body)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert!(answer["detail"].as_str().unwrap_or_default().contains("more than"), "{answer}");
    }
    assert_eq!(stored(&s, target).await, before);
    assert_eq!(code(&s.verify(&token).await), "VALID");
    // A key holding no more than the rotator: allowed.
    let (smaller, _) = s.key("smaller", &["api_keys.read", "telemetry.write"]).await;
    let (status, rotated) = s.post(&format!("/keys/{smaller}/rotate"), &rotator, json!({ "grace": "none" })).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
}

#[tokio::test]
async fn a_suspended_creators_key_loses_its_management_power_at_once_but_keeps_verifying() {
    let s = start().await;
    let both = ["api_keys.read", "api_keys.revoke", "api_keys.verify"];
    let (admin, _, key) = colleague_with_key(&s, Role::Admin, "Carol", &both).await;
    let (customer, customer_token) = s.key("customer", &["orders.read"]).await;
    // Used once, so that the key's state is cached: the suspension must reach the cache too.
    assert_eq!(s.get("/keys", &key).await.0, StatusCode::OK);
    members::set_suspended(&s.core, &s.owner, admin.user_id, true).await.expect("suspended");

    let (status, answer) = s.get("/keys", &key).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(s.post(&format!("/keys/{customer}/revoke"), &key, json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(code(&s.verify(&customer_token).await), "VALID", "the customer's key was not revoked");
    // Verification still works: a customer's integration does not break because a staff member left.
    let (status, verdict) = s.post("/keys/verify", &key, json!({ "key": customer_token })).await;
    assert_eq!((status, code(&verdict)), (StatusCode::OK, "VALID"), "{verdict}");

    // Reactivated, the key's power comes back with the creator's.
    members::set_suspended(&s.core, &s.owner, admin.user_id, false).await.expect("reactivated");
    assert_eq!(s.get("/keys", &key).await.0, StatusCode::OK);
    // Removed, it goes again.
    members::remove(&s.core, &s.owner, admin.user_id).await.expect("removed");
    assert_eq!(s.get("/keys", &key).await.0, StatusCode::FORBIDDEN);
    let (status, verdict) = s.post("/keys/verify", &key, json!({ "key": customer_token })).await;
    assert_eq!((status, code(&verdict)), (StatusCode::OK, "VALID"), "{verdict}");
}

#[tokio::test]
async fn a_demoted_creators_key_loses_what_the_new_role_cannot_grant() {
    let s = start().await;
    let full = ScopePreset::Organization.scopes().to_strings();
    let admin = member(&s.core.db, &s.owner, Role::Admin, "Dave").await;
    let key = keys::create(&s.core, &admin, scoped_key("dave's automation", &s.project, full)).await.expect("key");
    let (owners, owners_token) = s.key("owner's", &["api_keys.read"]).await;
    assert_eq!(s.get("/audit", &key.token).await.0, StatusCode::OK);

    members::change_role(&s.core, &s.owner, admin.user_id, Role::Developer).await.expect("demoted");
    // A developer exports no audit log and changes no one else's keys; nor does their key.
    let (status, answer) = s.get("/audit", &key.token).await;
    assert_eq!(status, StatusCode::OK, "a developer reads the audit log: {answer}");
    every_change_is_refused(&s, &key.token, owners, &owners_token).await;
    // What a developer may still do, the key still does: its own creator's keys.
    let (status, answer) = s.post(&format!("/keys/{}/disable", key.key.id), &key.token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn a_suspended_or_removed_members_invitations_stop_working() {
    let s = start().await;
    let admin = member(&s.core.db, &s.owner, Role::Admin, "Erin").await;
    let first = members::invite(&s.core.db, &admin, "friend@acme.test", Role::Admin).await.expect("invited");
    members::set_suspended(&s.core, &s.owner, admin.user_id, true).await.expect("suspended");
    assert!(members::preview(&s.core.db, &first.token).await.is_err(), "the link still works");
    members::set_suspended(&s.core, &s.owner, admin.user_id, false).await.expect("reactivated");
    let second = members::invite(&s.core.db, &admin, "other@acme.test", Role::Viewer).await.expect("invited");
    members::remove(&s.core, &s.owner, admin.user_id).await.expect("removed");
    assert!(members::preview(&s.core.db, &second.token).await.is_err(), "the link still works");
    let open = invitation::Entity::find()
        .filter(invitation::Column::InvitedBy.eq(admin.user_id))
        .filter(invitation::Column::RevokedAt.is_null())
        .all(&s.core.db)
        .await
        .expect("query");
    assert!(open.is_empty(), "{open:?}");
}

#[test]
fn keyward_help_never_prints_the_database_or_redis_password() {
    for command in [vec!["--help"], vec!["serve", "--help"], vec!["migrate", "--help"]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(&command)
            .env("DATABASE_URL", "postgres://keyward:db-password-123@db.internal/keyward")
            .env("REDIS_URL", "redis://:redis-password-456@cache.internal:6379/0")
            .env("KEYWARD_METRICS_TOKEN", "metrics-token-789")
            .output()
            .expect("keyward runs");
        let printed = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
        assert!(printed.contains("DATABASE_URL"), "{command:?}: the setting is still documented: {printed}");
        for secret in ["db-password-123", "redis-password-456", "metrics-token-789"] {
            assert!(!printed.contains(secret), "{command:?} printed {secret}: {printed}");
        }
    }
}

/// The site's root (`http://127.0.0.1:<port>`).
pub(crate) fn root(s: &Server) -> &str {
    s.base.trim_end_matches("/api/v1")
}

/// A signed-in session of the owner: its cookie.
async fn owners_session(s: &Server) -> String {
    let session = auth::sign_in(&s.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    format!("kw_session={}", session.token)
}

/// Posts a form to a server function as a browser on `origin` would (`None`: a browser that sends
/// no Origin, or a script).
pub(crate) async fn post_form(
    s: &Server,
    function: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = s.http.post(format!("{}/api/{function}", root(s))).form(form);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("answered")
}

#[tokio::test]
async fn a_cross_site_request_changes_nothing_and_signs_no_one_in_or_out() {
    let s = start().await;
    let cookie = owners_session(&s).await;
    let (id, token) = s.key("target", &[]).await;
    let id = id.to_string();
    let cross_site: [&[(&str, &str)]; 4] = [
        &[],
        &[("Origin", "https://evil.example")],
        // A sibling subdomain, which SameSite=Lax lets through.
        &[("Origin", "http://sub.127.0.0.1.example"), ("Sec-Fetch-Site", "same-site")],
        &[("Sec-Fetch-Site", "cross-site")],
    ];
    for headers in cross_site {
        let revoke = post_form(&s, "revoke_key", Some(&cookie), headers, &[("id", &id)]).await;
        assert_eq!(revoke.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let rename = [("id", id.as_str()), ("name", "renamed cross-site"), ("expiration", "never")];
        let edit = post_form(&s, "edit_key", Some(&cookie), headers, &rename).await;
        assert_eq!(edit.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let bulk = post_form(&s, "disable_keys", Some(&cookie), headers, &[("key_ids[0]", &id)]).await;
        assert_eq!(bulk.status(), StatusCode::FORBIDDEN, "{headers:?}");
        // An endpoint registered cross-site would receive every event of the organization.
        let hook = [("url", "https://1.1.1.1/exfiltrate"), ("events[0]", "key.created")];
        let webhook = post_form(&s, "register_webhook", Some(&cookie), headers, &hook).await;
        assert_eq!(webhook.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let sign_out = post_form(&s, "sign_out", Some(&cookie), headers, &[]).await;
        assert_eq!(sign_out.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let credentials = [("email", "ada@acme.test"), ("password", PASSWORD)];
        let sign_in = post_form(&s, "sign_in", None, headers, &credentials).await;
        assert_eq!(sign_in.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(sign_in.headers().get("set-cookie").is_none(), "a forced sign-in set a cookie");
    }
    assert_eq!(code(&s.verify(&token).await), "VALID", "the key was revoked or disabled");
    let (_, endpoints) = s.get("/webhooks", &s.admin).await;
    assert_eq!(endpoints, serde_json::json!([]), "an endpoint was registered cross-site");
    let stored_name = stored(&s, id.parse().expect("id")).await.map(|k| k.name);
    assert_eq!(stored_name.as_deref(), Some("target"), "the key was renamed");
    let session_token = cookie.trim_start_matches("kw_session=");
    assert!(auth::authenticate(&s.core, session_token).await.is_ok(), "the session was ended");

    // From the site itself (a form post, or a script on the page), the same requests work.
    let own_origin = [("Origin", root(&s))];
    let revoke = post_form(&s, "revoke_key", Some(&cookie), &own_origin, &[("id", &id)]).await;
    assert_eq!(revoke.status(), StatusCode::OK);
    assert_eq!(code(&s.verify(&token).await), "REVOKED");
    let sign_out = post_form(&s, "sign_out", Some(&cookie), &[("Sec-Fetch-Site", "same-origin")], &[]).await;
    assert!(sign_out.status().is_success() || sign_out.status().is_redirection(), "{}", sign_out.status());
    assert!(auth::authenticate(&s.core, session_token).await.is_err(), "the session was not ended");
}

#[tokio::test]
async fn pages_carry_a_nonce_policy_and_refuse_framing_sniffing_referrers_and_caching() {
    let s = start().await;
    let page = s.http.get(format!("{}/sign-in", root(&s))).send().await.expect("answered");
    let headers = page.headers().clone();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let html = page.text().await.expect("body");
    let csp = header("content-security-policy");
    let nonce = csp
        .split(['\'', ' '])
        .find_map(|part| part.strip_prefix("nonce-"))
        .unwrap_or_else(|| panic!("no nonce in {csp:?}"))
        .to_owned();
    assert!(nonce.len() >= 16, "a nonce of {} characters", nonce.len());
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // Every inline script Leptos wrote carries this response's nonce.
    let scripts = html.matches("<script").count();
    assert!(scripts > 0, "no script on the page");
    assert!(html.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts, "{html}");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-content-type-options"), "nosniff");
    // No other site sees where a person came from (an invitation link's token); this one does, so
    // that a form posted without JavaScript comes back to its page.
    assert_eq!(header("referrer-policy"), "same-origin");
    assert_eq!(header("cache-control"), "no-store");
    // A second page gets a new nonce.
    let again = s.http.get(format!("{}/sign-in", root(&s))).send().await.expect("answered");
    let csp_again = again.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert_ne!(csp, csp_again);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_unknown_keys_from_one_address_cost_a_bounded_number_of_lookups() {
    use crate::cluster::Instance;
    use app::model::Environment;
    use app::model::token::KeyToken;
    use app::ssr::throttle::KeyFailureLimit;
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = app::ssr::test_support::fresh_database_url(dir.path()).await;
    let instance = Instance::start(&url, &[("KEYWARD_METRICS_TOKEN", "scrape-token-2")]).await;
    // Well-formed tokens with good checksums (the checksum is public), each one new.
    let tokens: Vec<String> =
        (0..10_000).map(|_| KeyToken::generate(Environment::Production).expose_secret().to_owned()).collect();
    let mut answers = std::collections::BTreeMap::<u16, usize>::new();
    for batch in tokens.chunks(32) {
        let calls = batch.iter().map(|token| {
            let request = instance.http.get(format!("{}/api/v1/keys", instance.base)).header("X-API-Key", token);
            async move { request.send().await.expect("answered").status().as_u16() }
        });
        for status in futures::future::join_all(calls).await {
            *answers.entry(status).or_default() += 1;
        }
    }
    let lookups = instance.database_lookups("scrape-token-2").await;
    // A run may straddle a minute boundary: two minutes' share at most.
    let bound = f64::from(2 * KeyFailureLimit::DEFAULT_PER_MINUTE);
    eprintln!("10,000 unknown keys: {answers:?}, {lookups} database lookups (bound {bound})");
    assert!(lookups > 0.0 && lookups <= bound, "{lookups} lookups for 10,000 unknown keys: {answers:?}");
    assert_eq!(answers.values().sum::<usize>(), 10_000);
    assert!(answers.get(&429).copied().unwrap_or(0) >= 10_000 - bound as usize, "{answers:?}");
    assert!(answers.keys().all(|status| [401, 429].contains(status)), "{answers:?}");
}

#[tokio::test]
async fn the_audit_log_outlives_what_it_records() {
    use app::model::{AuditAction, AuditQuery};
    use app::ssr::services::audit;
    let s = start().await;
    let developer = member(&s.core.db, &s.owner, Role::Developer, "Oscar").await;
    let key = keys::create(&s.core, &developer, scoped_key("temporary", &s.project, scopes(&["api_keys.read"])))
        .await
        .expect("key");
    keys::revoke(&s.core, &developer, key.key.id).await.expect("revoked");
    keys::delete(&s.core, &s.owner, key.key.id).await.expect("deleted");
    members::remove(&s.core, &s.owner, developer.user_id).await.expect("removed");

    let about_the_key = AuditQuery { key: Some(key.key.id), ..AuditQuery::default() };
    let entries = audit::list(&s.core.db, &s.owner, about_the_key).await.expect("log").entries;
    let actions: Vec<AuditAction> = entries.iter().map(|e| e.action).collect();
    assert_eq!(actions, [AuditAction::KeyDeleted, AuditAction::KeyRevoked, AuditAction::KeyCreated]);
    // Who did it is still named, though they are no longer a member.
    let by_them = AuditQuery { actor: Some(developer.user_id), ..AuditQuery::default() };
    let theirs = audit::list(&s.core.db, &s.owner, by_them).await.expect("log").entries;
    assert_eq!(theirs.len(), 2, "{theirs:?}");
    assert!(theirs.iter().all(|e| e.actor.name.contains("Oscar")), "{theirs:?}");
}

/// A client cannot choose the address that the audit log and the per-address limits see:
/// `X-Forwarded-For` counts only when the peer is a trusted proxy (`KEYWARD_TRUSTED_PROXIES`).
#[tokio::test]
async fn a_forwarded_address_counts_only_from_a_trusted_proxy() {
    for (trusted, recorded) in [("", "127.0.0.1"), ("10.0.0.0/8", "127.0.0.1"), ("127.0.0.1/32", "203.0.113.9")] {
        let s = start_behind(Plan::Enterprise, trusted).await;
        let (id, _) = s.key("target", &[]).await;
        let disabled = s
            .http
            .post(format!("{}/keys/{id}/disable", s.base))
            .header("X-API-Key", &s.admin)
            .header("X-Forwarded-For", "203.0.113.9")
            .send()
            .await
            .expect("answered");
        assert_eq!(disabled.status(), StatusCode::OK);
        let query = AuditQuery { action: Some(AuditAction::KeyDisabled), ..AuditQuery::default() };
        let page = audit::list(&s.core.db, &s.owner, query).await.expect("audit");
        let entry = page.entries.first().expect("the disable is recorded");
        assert_eq!(entry.ip.as_deref(), Some(recorded), "trusting {trusted:?}");
    }
}

/// Behind TLS the session cookie is `__Host-` prefixed (Secure, the whole site, this host only), so
/// a sibling subdomain cannot plant one: a cookie without the prefix signs no one in. HSTS is sent.
#[tokio::test]
async fn over_https_a_session_cookie_cannot_be_planted_and_hsts_is_sent() {
    let s = start_with(Plan::Enterprise, "", true).await;
    let own_origin = [("Origin", root(&s))];
    let credentials = [("email", "ada@acme.test"), ("password", PASSWORD)];
    let signed_in = post_form(&s, "sign_in", None, &own_origin, &credentials).await;
    assert_eq!(signed_in.status(), StatusCode::OK);
    assert!(signed_in.headers().contains_key("strict-transport-security"), "{:?}", signed_in.headers());
    let cookie = signed_in.headers().get("set-cookie").expect("a session cookie").to_str().expect("text").to_owned();
    assert!(cookie.starts_with("__Host-kw_session="), "{cookie}");
    for attribute in ["Secure", "Path=/", "HttpOnly"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    let token = cookie.split(';').next().unwrap_or_default().trim_start_matches("__Host-kw_session=").to_owned();

    let session_with = |cookie: String| {
        let s = &s;
        async move {
            let answer = post_form(s, "current_session", Some(&cookie), &[("Origin", root(s))], &[]).await;
            answer.json::<Value>().await.expect("JSON")
        }
    };
    assert!(session_with(format!("__Host-kw_session={token}")).await.is_object(), "the real cookie works");
    assert_eq!(session_with(format!("kw_session={token}")).await, Value::Null, "a planted cookie signed in");
}
