//! What the verification log tells, over real HTTP: keys still presented after they stopped
//! working, the scopes a key holds and nobody asks for, stale keys disabled at once, and a
//! project's traffic (JSON for scripts, SVG for the dashboard). Each read and change is tried by
//! callers who must be refused, and a refused change leaves everything as it was.

use crate::api::{Server, code, start, unknown_token};
use app::model::{AuditAction, AuditQuery, NewKey, Role, ScopePreset};
use app::ssr::ServiceError;
use app::ssr::entities::api_key;
use app::ssr::services::{Client, audit, auth, insight, keys, projects};
use app::ssr::test_support::{PASSWORD, member, organization, scoped_key, scopes};
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// Another organization's full-access key: it guesses ids it was never given.
async fn globex_admin(s: &Server) -> String {
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let project = projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    keys::create(&s.core, &globex, scoped_key("admin", &project, ScopePreset::Organization.scopes().to_strings()))
        .await
        .expect("key")
        .token
}

async fn flushed(s: &Server) {
    s.core.verifications.flush(&s.core.db).await.expect("log flushed");
}

/// A project's traffic: its verifications in all buckets, whatever their verdict.
fn verifications_in(traffic: &Value) -> u64 {
    let buckets = traffic["buckets"].as_array().expect("buckets");
    let outcomes = buckets.iter().flat_map(|b| b["outcomes"].as_array().cloned().unwrap_or_default());
    outcomes.map(|o| o["count"].as_u64().unwrap_or_default()).sum()
}

fn key_status(list: &Value, id: Uuid) -> Option<&str> {
    list["keys"].as_array()?.iter().find(|k| k["id"] == json!(id))?["status"].as_str()
}

async fn stored_status(s: &Server, id: Uuid) -> String {
    let key = api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("key");
    key.status.as_str().to_owned()
}

#[tokio::test]
async fn a_key_still_presented_after_it_stopped_working_needs_attention() {
    let s = start().await;
    let (revoked, revoked_token) = s.key("old integration", &[]).await;
    let (disabled, disabled_token) = s.key("paused", &[]).await;
    let (_, working) = s.key("working", &[]).await;
    keys::revoke(&s.core, &s.owner, revoked).await.expect("revoked");
    keys::disable(&s.core, &s.owner, disabled).await.expect("disabled");
    for ip in ["198.51.100.1", "198.51.100.2"] {
        assert_eq!(code(&s.verify_with(json!({ "key": revoked_token, "ip": ip })).await), "REVOKED");
    }
    assert_eq!(code(&s.verify(&disabled_token).await), "DISABLED");
    assert_eq!(code(&s.verify(&working).await), "VALID");
    s.verify(&unknown_token()).await;
    flushed(&s).await;

    let (status, attention) = s.get("/keys/needs-attention", &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{attention}");
    let listed: Vec<(&str, u64)> = attention
        .as_array()
        .expect("list")
        .iter()
        .map(|k| (k["name"].as_str().unwrap_or_default(), k["refused"]["count"].as_u64().unwrap_or_default()))
        .collect();
    assert_eq!(listed.len(), 2, "{attention}");
    assert!(listed.contains(&("old integration", 2)) && listed.contains(&("paused", 1)), "{attention}");
    let old = attention.as_array().expect("list").iter().find(|k| k["key_id"] == json!(revoked)).expect("listed");
    assert_eq!((&old["status"], &old["refused"]["last_address"]), (&json!("revoked"), &json!("198.51.100.2")));
    assert_eq!(old["refused"]["last_outcome"], "REVOKED");

    // The key's own page says it too.
    let (status, insight) = s.get(&format!("/keys/{revoked}/insight"), &s.admin).await;
    assert_eq!((status, &insight["refused"]["count"]), (StatusCode::OK, &json!(2)), "{insight}");
    assert_eq!(insight["log_days"], 30);
    let (_, fine) = s.get(&format!("/keys/{}/insight", s.key("unused", &[]).await.0), &s.admin).await;
    assert_eq!(fine["refused"], Value::Null, "{fine}");

    // Enabled again, it works: its refusals are history.
    keys::enable(&s.core, &s.owner, disabled).await.expect("enabled");
    let (_, attention) = s.get("/keys/needs-attention", &s.admin).await;
    assert_eq!(attention.as_array().map(Vec::len), Some(1), "{attention}");

    // Refused: a key without api_keys.read; another organization sees its own (none), and not
    // this key's insight; a key of another project without manage_all does not see this one's.
    let (_, verifier) = s.key("verifier", &["api_keys.verify"]).await;
    assert_eq!(s.get("/keys/needs-attention", &verifier).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&format!("/keys/{revoked}/insight"), &verifier).await.0, StatusCode::FORBIDDEN);
    let globex = globex_admin(&s).await;
    assert_eq!(s.get("/keys/needs-attention", &globex).await, (StatusCode::OK, json!([])));
    assert_eq!(s.get(&format!("/keys/{revoked}/insight"), &globex).await.0, StatusCode::NOT_FOUND);
    let other = s.add_project("Other").await;
    let outsider = keys::create(&s.core, &s.owner, scoped_key("outsider", &other, scopes(&["api_keys.read"])))
        .await
        .expect("key")
        .token;
    assert_eq!(s.get("/keys/needs-attention", &outsider).await, (StatusCode::OK, json!([])));
    assert_eq!(s.get(&format!("/keys/{revoked}/insight"), &outsider).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/keys/not-a-key/insight", &s.admin).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn keys_that_expire_within_a_week_need_attention_the_soonest_first() {
    let s = start().await;
    let now = Utc::now();
    let mut listed = Vec::new();
    for (name, expires_in_hours, disabled) in [
        ("in three days", 72, false),
        ("tomorrow", 20, false),
        ("next month", 24 * 30, false),
        ("paused", 30, true),
        ("gone", -2, false),
    ] {
        let (id, _) = s.key(name, &[]).await;
        s.set_expires(id, now + Duration::hours(expires_in_hours)).await;
        if disabled {
            keys::disable(&s.core, &s.owner, id).await.expect("disabled");
        }
        listed.push((name, id));
    }
    let decoy = NewKey { decoy: true, ..scoped_key("decoy", &s.project, vec![]) };
    let (decoy, _) = s.key_with(decoy).await;
    s.set_expires(decoy, now + Duration::hours(10)).await;
    let (status, expiring) = s.get("/keys/expiring", &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{expiring}");
    let names: Vec<&str> = expiring.as_array().expect("list").iter().filter_map(|k| k["name"].as_str()).collect();
    assert_eq!(names, ["tomorrow", "in three days"], "active keys within 7 days, soonest first, decoys aside");

    // The dashboard's panel has both lists.
    let attention = insight::needs_attention(&s.core, &s.owner).await.expect("attention");
    assert_eq!(attention.expiring.len(), 2);
    assert!(attention.still_presented.is_empty());
    assert_eq!(attention.summary(), ": 2 keys expire within 7 days");

    // Refused or out of reach: a key without api_keys.read, another organization, another project.
    let (_, verifier) = s.key("verifier", &["api_keys.verify"]).await;
    assert_eq!(s.get("/keys/expiring", &verifier).await.0, StatusCode::FORBIDDEN);
    let globex = globex_admin(&s).await;
    assert_eq!(s.get("/keys/expiring", &globex).await, (StatusCode::OK, json!([])));
    let other = s.add_project("Other").await;
    let outsider = keys::create(&s.core, &s.owner, scoped_key("outsider", &other, scopes(&["api_keys.read"])))
        .await
        .expect("key")
        .token;
    assert_eq!(s.get("/keys/expiring", &outsider).await, (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn a_keys_scopes_are_told_apart_by_whether_verifications_asked_for_them() {
    let s = start().await;
    let held = ["telemetry.write", "telemetry.read", "invoices.read", "api_keys.read"];
    let (id, token) = s.key("scoped", &held).await;
    let path = format!("/keys/{id}/insight");
    let (_, before) = s.get(&path, &s.admin).await;
    assert_eq!(before["scopes"]["verifications"], 0, "nothing to go on yet: {before}");

    for asked in [json!(["telemetry.write"]), json!(["telemetry.write", "reports.read"]), json!([])] {
        s.verify_with(json!({ "key": token, "scopes": asked })).await;
    }
    flushed(&s).await;
    let (status, insight) = s.get(&path, &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{insight}");
    assert_eq!(insight["scopes"]["verifications"], 3);
    assert_eq!(insight["scopes"]["used"], json!(["telemetry.write"]), "{insight}");
    // Management scopes serve the key's own calls, which the log does not hold: never listed.
    assert_eq!(insight["scopes"]["unused"], json!(["invoices.read", "telemetry.read"]), "{insight}");

    // Narrowed (the page's dialog sends a scope edit): the unused ones are gone, and said so.
    let narrowed = json!({ "scopes": ["telemetry.write", "api_keys.read"] });
    let (status, _, body) =
        s.call(reqwest::Method::PUT, &format!("/keys/{id}/scopes"), Some(&s.admin), Some(narrowed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, narrowed) = s.get(&path, &s.admin).await;
    assert_eq!((&narrowed["scopes"]["used"], &narrowed["scopes"]["unused"]), (&json!(["telemetry.write"]), &json!([])));
}

/// Moves a key's creation and last use into the past, as months of use would.
async fn aged(s: &Server, id: Uuid, created_days_ago: i64, used_days_ago: Option<i64>) {
    let mut key =
        api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("key").into_active_model();
    key.created_at = Set(Utc::now() - Duration::days(created_days_ago));
    key.last_used_at = Set(used_days_ago.map(|d| Utc::now() - Duration::days(d)));
    key.update(&s.core.db).await.expect("aged");
}

#[tokio::test]
async fn stale_keys_are_filtered_and_disabled_at_once_in_one_transaction() {
    let s = start().await;
    let (fresh_unused, _) = s.key("fresh, never used", &[]).await;
    let (old_unused, old_token) = s.key("old, never used", &[]).await;
    let (idle, _) = s.key("idle 45 days", &[]).await;
    let (dormant, _) = s.key("idle 100 days", &[]).await;
    let (busy, _) = s.key("used yesterday", &[]).await;
    let (gone, _) = s.key("revoked, never used", &[]).await;
    aged(&s, old_unused, 120, None).await;
    aged(&s, idle, 200, Some(45)).await;
    aged(&s, dormant, 300, Some(100)).await;
    aged(&s, busy, 300, Some(1)).await;
    aged(&s, gone, 300, None).await;
    keys::revoke(&s.core, &s.owner, gone).await.expect("revoked");

    let names = |list: &Value| -> Vec<String> {
        let mut names: Vec<String> = list["keys"]
            .as_array()
            .map(|keys| {
                keys.iter().filter_map(|k| k["name"].as_str().map(str::to_owned)).filter(|n| n != "admin").collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };
    // The admin key's own use is written by the next usage flush: left out of the comparisons.
    let (status, never) = s.get("/keys?unused=never", &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{never}");
    assert_eq!(names(&never), ["fresh, never used", "old, never used"], "{never}");
    let (_, month) = s.get("/keys?unused=30d", &s.admin).await;
    assert_eq!(names(&month), ["idle 100 days", "idle 45 days", "old, never used"], "{month}");
    let (_, quarter) = s.get("/keys?unused=90d", &s.admin).await;
    assert_eq!(names(&quarter), ["idle 100 days", "old, never used"], "{quarter}");
    let (status, problem) = s.get("/keys?unused=2w", &s.admin).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unused")));

    // Refused, and nothing changes: another organization's key among them; a key that may not
    // update keys; no keys; a malformed id; more than 100.
    let globex = globex_admin(&s).await;
    let theirs = api_key::Entity::find().all(&s.core.db).await.expect("keys");
    let theirs = theirs.iter().find(|k| k.organization_id != s.owner.organization_id).expect("globex key").id;
    let (status, _) = s.post("/keys/bulk-disable", &s.admin, json!({ "key_ids": [old_unused, theirs] })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.post("/keys/bulk-disable", &globex, json!({ "key_ids": [old_unused] })).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, reader) = s.key("reader", &["api_keys.read"]).await;
    assert_eq!(
        s.post("/keys/bulk-disable", &reader, json!({ "key_ids": [old_unused] })).await.0,
        StatusCode::FORBIDDEN
    );
    let many: Vec<String> = (0..101).map(|_| Uuid::new_v4().to_string()).collect();
    for (bad, field) in [
        (json!({ "key_ids": [] }), "key_ids"),
        (json!({ "key_ids": [old_unused, "nope"] }), "key_ids[1]"),
        (json!({ "key_ids": many }), "key_ids"),
        (json!({}), "key_ids"),
    ] {
        let (status, problem) = s.post("/keys/bulk-disable", &s.admin, bad).await;
        assert_eq!(
            (status, problem["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{problem}"
        );
    }
    assert_eq!(stored_status(&s, old_unused).await, "active");

    // Disabled together, one audit entry each; the revoked one is left and said so.
    let (status, done) =
        s.post("/keys/bulk-disable", &s.admin, json!({ "key_ids": [old_unused, dormant, gone, idle] })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done, json!({ "disabled": [old_unused, dormant, idle], "skipped": [gone] }));
    let (_, list) = s.get("/keys?per_page=10", &s.admin).await;
    for id in [old_unused, dormant, idle] {
        assert_eq!(key_status(&list, id), Some("disabled"), "{list}");
    }
    assert_eq!((key_status(&list, gone), key_status(&list, fresh_unused)), (Some("revoked"), Some("active")));
    // At once: the very next verification is refused.
    assert_eq!(code(&s.verify(&old_token).await), "DISABLED");
    let query = AuditQuery { action: Some(AuditAction::KeyDisabled), ..AuditQuery::default() };
    let audited = audit::list(&s.core.db, &s.owner, query).await.expect("audit");
    assert_eq!(audited.total, 3, "one entry per key disabled");

    // A developer may disable their own keys only: one of someone else's refuses the lot.
    let developer = member(&s.core.db, &s.owner, Role::Developer, "Grace").await;
    let own = keys::create(&s.core, &developer, scoped_key("grace's", &s.project, vec![])).await.expect("key").key.id;
    let refused = keys::disable_many(&s.core, &developer, &[own, fresh_unused]).await;
    assert!(matches!(refused, Err(ServiceError::Forbidden(_))), "{refused:?}");
    assert_eq!(
        (stored_status(&s, own).await, stored_status(&s, fresh_unused).await),
        ("active".into(), "active".into())
    );
    let done = keys::disable_many(&s.core, &developer, &[own, own]).await.expect("their own, named twice");
    assert_eq!(done.disabled, [own]);
}

#[tokio::test]
async fn a_projects_traffic_is_counted_by_verdict_for_scripts_and_drawn_for_the_dashboard() {
    let s = start().await;
    let (_, busy) = s.key("busy service", &[]).await;
    let (_, quiet) = s.key("quiet service", &[]).await;
    let (revoked, revoked_token) = s.key("old", &[]).await;
    keys::revoke(&s.core, &s.owner, revoked).await.expect("revoked");
    for _ in 0..3 {
        s.verify(&busy).await;
    }
    s.verify(&quiet).await;
    s.verify(&revoked_token).await;
    s.verify(&unknown_token()).await;
    flushed(&s).await;

    let path = format!("/projects/{}/traffic", s.project.id);
    let (status, traffic) = s.get(&format!("{path}?window=24h"), &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{traffic}");
    let buckets = traffic["buckets"].as_array().expect("buckets");
    assert_eq!(buckets.len(), 24, "every hour present");
    let now = buckets.last().expect("this hour");
    let mut counted: Vec<(String, u64)> = now["outcomes"]
        .as_array()
        .expect("outcomes")
        .iter()
        .map(|o| (o["outcome"].as_str().unwrap_or_default().to_owned(), o["count"].as_u64().unwrap_or_default()))
        .collect();
    counted.sort();
    assert_eq!(counted, [("NOT_FOUND".into(), 1), ("REVOKED".into(), 1), ("VALID".into(), 4)], "{traffic}");
    let earlier: u64 = buckets[..23].iter().map(|b| b["outcomes"].as_array().map_or(0, Vec::len) as u64).sum();
    assert_eq!(earlier, 0, "{traffic}");
    let top: Vec<(&str, u64)> = traffic["top_keys"]
        .as_array()
        .expect("top")
        .iter()
        .map(|k| (k["name"].as_str().unwrap_or_default(), k["verifications"].as_u64().unwrap_or_default()))
        .collect();
    assert_eq!(top.first(), Some(&("busy service", 3)), "{traffic}");
    let mut rest = top[1..].to_vec();
    rest.sort();
    assert_eq!(rest, [("old", 1), ("quiet service", 1)], "{traffic}");
    assert_eq!(top.len(), 3, "{traffic}");
    for window in ["7d", "30d"] {
        let (_, t) = s.get(&format!("{path}?window={window}"), &s.admin).await;
        assert_eq!(verifications_in(&t), 6, "{window}: {t}");
    }
    // Another project's traffic is its own: none of this.
    let other = s.add_project("Other").await;
    let (_, elsewhere) = s.get(&format!("/projects/{}/traffic", other.id), &s.admin).await;
    assert_eq!((elsewhere["buckets"].as_array().map(Vec::len), &elsewhere["top_keys"]), (Some(28), &json!([])));

    // Refused: a bad window; a key without stats.read; another organization; a key of another
    // project without manage_all; an id that is not one.
    let (status, problem) = s.get(&format!("{path}?window=1y"), &s.admin).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("window")));
    let (_, verifier) = s.key("verifier", &["api_keys.verify"]).await;
    assert_eq!(s.get(&path, &verifier).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.get(&path, &globex_admin(&s).await).await.0, StatusCode::NOT_FOUND);
    let outsider = keys::create(&s.core, &s.owner, scoped_key("outsider", &other, scopes(&["stats.read"])))
        .await
        .expect("key")
        .token;
    assert_eq!(s.get(&path, &outsider).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.get("/projects/nope/traffic", &s.admin).await.0, StatusCode::NOT_FOUND);

    // The dashboard's image: SVG for a signed-in member, that runs nothing; nobody else gets it.
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let chart = format!("{root}/projects/{}/traffic.svg?window=24h", s.project.id);
    let session = auth::sign_in(&s.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let answer =
        s.http.get(&chart).header("Cookie", format!("kw_session={}", session.token)).send().await.expect("svg");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "image/svg+xml");
    assert!(answer.headers()["content-security-policy"].to_str().unwrap_or_default().starts_with("default-src 'none'"));
    let svg = answer.text().await.expect("body");
    assert!(svg.starts_with("<svg") && svg.contains("VALID 4") && svg.contains("busy service"), "{svg}");
    let anonymous = s.http.get(&chart).send().await.expect("answer");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let bad = s
        .http
        .get(format!("{root}/projects/{}/traffic.svg?window=forever", s.project.id))
        .header("Cookie", format!("kw_session={}", session.token))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

/// A busy integration verifies the same key many times a second. Identical verifications within
/// one second are one log entry, with their count and the first one's moment; everything the log
/// tells still counts each verification.
#[tokio::test]
async fn identical_verifications_within_a_second_are_one_entry_and_each_counts() {
    use app::model::{Environment, VerifyCode};
    use app::ssr::verification_log::LoggedVerification;
    use chrono::SubsecRound;
    let s = start().await;
    let (id, _) = s.key("busy", &[]).await;
    let second = Utc::now().trunc_subsecs(0) - Duration::seconds(10);
    let at = |ms: i64| second + Duration::milliseconds(ms);
    let entry = |at, outcome, address: Option<&str>| LoggedVerification {
        at,
        organization_id: s.owner.organization_id,
        key_id: Some(id),
        caller_key_id: id,
        outcome,
        address: address.map(|a| a.parse().expect("address")),
        environment: Some(Environment::Production),
        scopes: None,
        credits_spent: 0,
    };
    let verifications = [
        entry(at(100), VerifyCode::Valid, None),
        entry(at(200), VerifyCode::Valid, None),
        entry(at(300), VerifyCode::Valid, Some("203.0.113.9")),
        entry(at(900), VerifyCode::Valid, None),
        entry(at(1_100), VerifyCode::Valid, None),
        entry(at(1_999), VerifyCode::Valid, None),
        entry(at(2_500), VerifyCode::Revoked, None),
        entry(at(2_600), VerifyCode::Revoked, None),
    ];
    for verification in verifications {
        s.core.verifications.record(verification);
    }
    assert_eq!(s.core.verifications.flush(&s.core.db).await.expect("flushed"), 8, "verifications written");

    let (status, log) = s.get(&format!("/keys/{id}/verifications"), &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries: Vec<(i64, &str, u64, Option<&str>)> = log["verifications"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|v| {
            let at = v["at"].as_str().and_then(|at| at.parse::<chrono::DateTime<Utc>>().ok()).expect("at");
            (
                (at - second).num_milliseconds(),
                v["outcome"].as_str().unwrap_or_default(),
                v["count"].as_u64().unwrap_or_default(),
                v["address"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (2_500, "REVOKED", 2, None),
            (1_100, "VALID", 2, None),
            (300, "VALID", 1, Some("203.0.113.9")),
            (100, "VALID", 3, None),
        ],
        "newest first, each at its first verification: {log}"
    );
    assert_eq!(log["total"], 4, "entries, for paging");

    let (_, insight) = s.get(&format!("/keys/{id}/insight"), &s.admin).await;
    assert_eq!(
        (&insight["scopes"]["verifications"], &insight["refused"]["count"]),
        (&json!(8), &json!(2)),
        "{insight}"
    );
    let (_, traffic) = s.get(&format!("/projects/{}/traffic?window=7d", s.project.id), &s.admin).await;
    assert_eq!((verifications_in(&traffic), &traffic["top_keys"][0]["verifications"]), (8, &json!(8)), "{traffic}");
    // Revoked, and its refusals make it a key still presented: counted one by one.
    keys::revoke(&s.core, &s.owner, id).await.expect("revoked");
    let (_, attention) = s.get("/keys/needs-attention", &s.admin).await;
    let still = attention.as_array().and_then(|keys| keys.iter().find(|k| k["key_id"] == json!(id)));
    assert_eq!(still.map(|k| &k["refused"]["count"]), Some(&json!(2)), "{attention}");
}
