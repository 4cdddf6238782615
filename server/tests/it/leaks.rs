//! Leaked keys: a secret scanner's signed report (GitHub's format) over real HTTP, "Report as
//! leaked" and "Check a leaked token" through the dashboard's server functions, and the policy that
//! decides what happens. Every way in is also tried by those who must be refused.

use crate::api::{Server, add_member, code, start, start_taking_leak_reports, unknown_token};
use crate::attacks::{post_form, root};
use app::model::{AuditAction, AuditQuery, LeakPolicy, Role, RotationGrace};
use app::ssr::entities::{api_key, audit_event, webhook_delivery};
use app::ssr::leak_reports::LeakReporters;
use app::ssr::services::{audit, keys, leaks, webhooks};
use app::ssr::test_support::organization;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use uuid::Uuid;

const SCANNER_KEY_ID: &str = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a";
const LEAK_URL: &str = "https://github.com/acme/app/blob/main/.env";

/// A scanner: its signing key, and the public key list an operator would configure for it.
struct Scanner {
    key: SigningKey,
}

impl Scanner {
    fn new(seed: u8) -> Self {
        Self { key: SigningKey::from_slice(&[seed; 32]).expect("a valid scalar") }
    }

    fn published(&self) -> LeakReporters {
        let pem = self.key.verifying_key().to_public_key_pem(LineEnding::LF).expect("PEM");
        let json = json!({ "public_keys": [{ "key_identifier": SCANNER_KEY_ID, "key": pem, "is_current": true }] });
        LeakReporters::from_json(&json.to_string()).expect("reporters")
    }

    fn sign(&self, body: &[u8]) -> String {
        let signature: Signature = self.key.sign(body);
        STANDARD.encode(signature.to_der().as_bytes())
    }
}

/// Posts `body` to the leak endpoint with these signature headers: the status and the answer.
async fn send_report(
    s: &Server,
    body: &[u8],
    identifier: Option<&str>,
    signature: Option<&str>,
) -> (StatusCode, Value) {
    let mut request =
        s.http.post(format!("{}/leaks/github", s.base)).header("Content-Type", "application/json").body(body.to_vec());
    if let Some(identifier) = identifier {
        request = request.header("Github-Public-Key-Identifier", identifier);
    }
    if let Some(signature) = signature {
        request = request.header("Github-Public-Key-Signature", signature);
    }
    let answer = request.send().await.expect("answered");
    let status = answer.status();
    (status, answer.json().await.unwrap_or(Value::Null))
}

/// Reports these tokens as GitHub would, signed by `scanner`.
async fn report(s: &Server, scanner: &Scanner, tokens: &[&str]) -> (StatusCode, Value) {
    let found: Vec<Value> = tokens
        .iter()
        .map(|t| json!({ "token": t, "type": "keyward_api_key", "url": LEAK_URL, "source": "content" }))
        .collect();
    let body = serde_json::to_vec(&found).expect("json");
    send_report(s, &body, Some(SCANNER_KEY_ID), Some(&scanner.sign(&body))).await
}

async fn stored(s: &Server, id: Uuid) -> api_key::Model {
    api_key::Entity::find_by_id(id).one(&s.core.db).await.expect("query").expect("key")
}

async fn leak_entries(s: &Server) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(AuditAction::KeyLeaked.as_str()))
        .all(&s.core.db)
        .await
        .expect("audit")
}

async fn set_policy(s: &Server, policy: LeakPolicy) {
    leaks::set_policy(&s.core, &s.owner, policy).await.expect("policy set");
}

#[tokio::test]
async fn a_signed_report_disables_the_key_labels_every_token_and_is_announced() {
    let scanner = Scanner::new(7);
    let s = start_taking_leak_reports(scanner.published()).await;
    let hook = webhooks::register(&s.core, &s.owner, "https://1.1.1.1/hooks", &["key.leaked".to_owned()])
        .await
        .expect("endpoint");
    let (id, token) = s.key("leaky", &[]).await;
    let (_, other) = s.key("untouched", &[]).await;
    let unknown = unknown_token();

    let (status, labels) = report(&s, &scanner, &[&token, &unknown, "kw_live_notachecksummedtoken"]).await;
    assert_eq!(status, StatusCode::OK, "{labels}");
    assert_eq!(
        labels,
        json!([
            { "token_raw": token, "token_type": "keyward_api_key", "label": "true_positive" },
            { "token_raw": unknown, "token_type": "keyward_api_key", "label": "false_positive" },
            { "token_raw": "kw_live_notachecksummedtoken", "token_type": "keyward_api_key", "label": "false_positive" },
        ])
    );
    // The default policy: disabled at once, on this instance's cache too.
    assert_eq!(code(&s.verify(&token).await), "DISABLED");
    assert_eq!(code(&s.verify(&other).await), "VALID", "another key was touched");
    let key = stored(&s, id).await;
    assert_eq!(key.leak_url.as_deref(), Some(LEAK_URL));
    assert_eq!(key.leak_reported_by.as_deref(), Some("secret scanning (github)"));
    // The API shows it, as the key's page does.
    let (_, shown) = s.get(&format!("/keys/{id}"), &s.admin).await;
    assert_eq!(shown["leaked"]["url"], LEAK_URL, "{shown}");
    assert_eq!(shown["status"], "disabled");
    // Recorded once, by the scanner, with what was done; and sent to the endpoint.
    let entries = leak_entries(&s).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].actor_name, "secret scanning (github)");
    assert_eq!(entries[0].actor_user_id, None);
    let after: Value = serde_json::from_str(entries[0].after.as_deref().unwrap_or("{}")).expect("json");
    assert_eq!((after["action"].as_str(), after["status"].as_str()), (Some("disabled"), Some("disabled")));
    let sent = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(hook.endpoint.id))
        .filter(webhook_delivery::Column::Event.eq("key.leaked"))
        .all(&s.core.db)
        .await
        .expect("deliveries");
    assert_eq!(sent.len(), 1);
    assert!(!sent[0].payload.contains(&token), "the secret went out in the event");
    // Sent again (a scanner's retry, or a replay): nothing new is done or announced.
    let (status, again) = report(&s, &scanner, &[&token]).await;
    assert_eq!((status, again[0]["label"].as_str()), (StatusCode::OK, Some("true_positive")));
    assert_eq!(leak_entries(&s).await.len(), 1, "a repeated report was recorded again");
    // Enabling it again needs a new secret first.
    let refused = keys::enable(&s.core, &s.owner, id).await;
    assert!(matches!(refused, Err(app::ssr::ServiceError::Conflict(_))), "{refused:?}");
    assert_eq!(code(&s.verify(&token).await), "DISABLED");
    let rotated = keys::rotate(&s.core, &s.owner, id, RotationGrace::None).await.expect("rotated");
    keys::enable(&s.core, &s.owner, id).await.expect("enabled after the rotation");
    assert_eq!(code(&s.verify(&rotated.token).await), "VALID");
    assert_eq!(code(&s.verify(&token).await), "NOT_FOUND");
    // The audit page shows it among the key's changes.
    let page = audit::list(&s.core.db, &s.owner, AuditQuery::default()).await.expect("audit");
    assert!(page.entries.iter().any(|e| e.action == AuditAction::KeyLeaked && e.target_id == Some(id)));
}

/// What was tried, the body, and the two signature headers.
type Attempt<'a> = (&'a str, &'a [u8], Option<&'a str>, Option<&'a str>);

#[tokio::test]
async fn a_report_not_signed_by_a_configured_scanner_changes_nothing() {
    let scanner = Scanner::new(7);
    let s = start_taking_leak_reports(scanner.published()).await;
    let (id, token) = s.key("target", &[]).await;
    let body = serde_json::to_vec(&json!([{ "token": token, "type": "t", "url": LEAK_URL }])).expect("json");
    let good = scanner.sign(&body);
    let forged = Scanner::new(8).sign(&body);
    let mut altered = body.clone();
    altered.extend_from_slice(b" ");
    let attempts: [Attempt; 6] = [
        ("no headers", &body, None, None),
        ("no signature", &body, Some(SCANNER_KEY_ID), None),
        ("no identifier", &body, None, Some(&good)),
        ("another scanner's key", &body, Some("someone-else"), Some(&good)),
        ("signed by another key", &body, Some(SCANNER_KEY_ID), Some(&forged)),
        ("body changed after signing", &altered, Some(SCANNER_KEY_ID), Some(&good)),
    ];
    for (what, body, identifier, signature) in attempts {
        let (status, answer) = send_report(&s, body, identifier, signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {answer}");
        assert_eq!(answer["code"], "INVALID_SIGNATURE", "{what}: {answer}");
    }
    let (status, answer) = send_report(&s, &body, Some(SCANNER_KEY_ID), Some("%%% not base64")).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("INVALID_SIGNATURE")));
    assert_eq!(code(&s.verify(&token).await), "VALID");
    assert!(stored(&s, id).await.leaked_at.is_none());
    assert!(leak_entries(&s).await.is_empty());
}

#[tokio::test]
async fn a_signed_report_that_is_not_a_list_of_tokens_is_refused_naming_the_fault() {
    let scanner = Scanner::new(7);
    let s = start_taking_leak_reports(scanner.published()).await;
    let too_many: Vec<Value> = (0..1001).map(|i| json!({ "token": format!("t{i}"), "type": "t" })).collect();
    let too_many = serde_json::to_string(&too_many).expect("json");
    let cases: [(&str, &str); 4] = [
        ("{not json", "body"),
        (r#"{"token": "x"}"#, "body"),
        (r#"[{"type": "t"}]"#, "[0].token"),
        (too_many.as_str(), "body"),
    ];
    for (body, field) in cases {
        let (status, answer) =
            send_report(&s, body.as_bytes(), Some(SCANNER_KEY_ID), Some(&scanner.sign(body.as_bytes()))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body:.40}: {answer}");
        let named = answer["errors"][0]["field"].as_str().unwrap_or_default();
        assert_eq!(named, field, "{body:.40}: {answer}");
    }
}

#[tokio::test]
async fn without_configured_scanners_the_endpoint_takes_nothing() {
    let s = start().await;
    let (id, token) = s.key("target", &[]).await;
    let body = serde_json::to_vec(&json!([{ "token": token, "type": "t" }])).expect("json");
    let signature = Scanner::new(7).sign(&body);
    let (status, answer) = send_report(&s, &body, Some(SCANNER_KEY_ID), Some(&signature)).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::NOT_FOUND, Some("LEAK_REPORTS_OFF")), "{answer}");
    assert_eq!(code(&s.verify(&token).await), "VALID");
    assert!(stored(&s, id).await.leaked_at.is_none());
}

#[tokio::test]
async fn the_organizations_policy_decides_and_a_rotation_ends_the_leak() {
    let scanner = Scanner::new(7);
    let s = start_taking_leak_reports(scanner.published()).await;

    set_policy(&s, LeakPolicy::Revoke).await;
    let (revoked, token) = s.key("revoke me", &[]).await;
    report(&s, &scanner, &[&token]).await;
    assert_eq!(code(&s.verify(&token).await), "REVOKED");
    assert!(stored(&s, revoked).await.revoked_at.is_some());

    set_policy(&s, LeakPolicy::Notify).await;
    let (noted, token) = s.key("only tell me", &[]).await;
    let (status, labels) = report(&s, &scanner, &[&token]).await;
    assert_eq!((status, labels[0]["label"].as_str()), (StatusCode::OK, Some("true_positive")));
    assert_eq!(code(&s.verify(&token).await), "VALID", "notify left the key working");
    assert!(stored(&s, noted).await.leaked_at.is_some(), "the banner's mark");

    // A rotation gives a new secret at once (no grace for a leaked one) and clears the mark.
    let rotated = keys::rotate(&s.core, &s.owner, noted, RotationGrace::OneDay).await.expect("rotated");
    assert_eq!(code(&s.verify(&token).await), "NOT_FOUND", "the leaked secret kept a grace period");
    assert_eq!(code(&s.verify(&rotated.token).await), "VALID");
    assert!(rotated.key.leak.is_none());
    assert_eq!(leak_entries(&s).await.len(), 2);
    // The policy change is in the audit log.
    let changes = audit_event::Entity::find()
        .filter(audit_event::Column::Action.eq(AuditAction::LeakPolicyChanged.as_str()))
        .count(&s.core.db)
        .await
        .expect("audit");
    assert_eq!(changes, 2);
}

#[tokio::test]
async fn a_leaked_replaced_secret_stops_and_the_current_one_keeps_working() {
    let scanner = Scanner::new(7);
    let s = start_taking_leak_reports(scanner.published()).await;
    let (id, old) = s.key("rotating", &[]).await;
    let rotated = keys::rotate(&s.core, &s.owner, id, RotationGrace::OneDay).await.expect("rotated");
    assert_eq!(code(&s.verify(&old).await), "VALID", "in its grace period");
    let (_, labels) = report(&s, &scanner, &[&old]).await;
    assert_eq!(labels[0]["label"], "true_positive");
    assert_eq!(code(&s.verify(&old).await), "NOT_FOUND", "the replaced secret still works");
    assert_eq!(code(&s.verify(&rotated.token).await), "VALID", "the current secret was stopped too");
    let key = stored(&s, id).await;
    assert!(key.leaked_at.is_none() && key.previous_digest.is_none(), "{key:?}");
}

#[tokio::test]
async fn anyone_in_the_organization_can_stop_a_token_they_hold_and_no_one_outside_it() {
    let s = start().await;
    let (id, token) = s.key("found in a ticket", &[]).await;
    let origin = root(&s).to_owned();
    let same_site = [("Origin", origin.as_str())];

    // Another organization's owner, holding the token, learns nothing and changes nothing.
    let outsider = organization(&s.core.db, "Globex", "hank@globex.test").await;
    let refused = leaks::check_token(&s.core, &outsider, &token).await.expect_err("another organization's key");
    assert!(format!("{refused:?}").contains("not a key of this organization"), "{refused:?}");
    assert_eq!(code(&s.verify(&token).await), "VALID");
    // Nor does an anonymous or cross-site caller.
    let form = [("token", token.as_str())];
    let anonymous = post_form(&s, "check_leaked_token", None, &same_site, &form).await;
    assert!(anonymous.status().is_client_error(), "{}", anonymous.status());
    let viewer = add_member(&s, Role::Viewer, "vic@acme.test").await;
    let cookie = format!("kw_session={viewer}");
    let cross_site =
        post_form(&s, "check_leaked_token", Some(&cookie), &[("Origin", "https://evil.example")], &form).await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(code(&s.verify(&token).await), "VALID");
    assert!(leak_entries(&s).await.is_empty());

    // Bad input is named.
    for bad in ["", "not a token", "kw_live_short"] {
        let answer = post_form(&s, "check_leaked_token", Some(&cookie), &same_site, &[("token", bad)]).await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body["Invalid"][0]["field"], "token", "{body}");
    }
    // A viewer of the organization holding the token stops it: holding it is the authority.
    let answer = post_form(&s, "check_leaked_token", Some(&cookie), &same_site, &form).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let handled: Value = answer.json().await.expect("json");
    assert_eq!(
        (handled["key_id"].as_str(), handled["action"].as_str()),
        (Some(id.to_string().as_str()), Some("disabled"))
    );
    assert_eq!(code(&s.verify(&token).await), "DISABLED");
    assert_eq!(stored(&s, id).await.leak_reported_by.as_deref(), Some("Grace"));
}

#[tokio::test]
async fn reporting_a_key_as_leaked_takes_the_right_to_change_it() {
    let s = start().await;
    let origin = root(&s).to_owned();
    let same_site = [("Origin", origin.as_str())];
    let (owners, owners_token) = s.key("owner's", &[]).await;
    let viewer = format!("kw_session={}", add_member(&s, Role::Viewer, "vic@acme.test").await);
    let developer = format!("kw_session={}", add_member(&s, Role::Developer, "dev@acme.test").await);
    let id = owners.to_string();
    for (who, cookie) in [("viewer", &viewer), ("developer, another's key", &developer)] {
        let answer = post_form(&s, "report_leaked_key", Some(cookie), &same_site, &[("id", &id)]).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{who}");
    }
    let anonymous = post_form(&s, "report_leaked_key", None, &same_site, &[("id", &id)]).await;
    assert!(anonymous.status().is_client_error());
    let cross_site =
        post_form(&s, "report_leaked_key", Some(&developer), &[("Origin", "https://evil.example")], &[("id", &id)])
            .await;
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    // Another organization's owner cannot reach the key at all.
    let outsider = organization(&s.core.db, "Globex", "hank@globex.test").await;
    assert!(leaks::report_key(&s.core, &outsider, owners).await.is_err());
    assert_eq!(code(&s.verify(&owners_token).await), "VALID");
    assert!(leak_entries(&s).await.is_empty());

    // The owner may; the policy (disable) is applied.
    let owner = format!(
        "kw_session={}",
        app::ssr::services::auth::sign_in(
            &s.core,
            "ada@acme.test",
            app::ssr::test_support::PASSWORD,
            &Default::default()
        )
        .await
        .expect("signed in")
        .token
    );
    let answer = post_form(&s, "report_leaked_key", Some(&owner), &same_site, &[("id", &id)]).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(code(&s.verify(&owners_token).await), "DISABLED");
    assert_eq!(stored(&s, owners).await.leak_reported_by.as_deref(), Some("Owner of Acme"));
}

#[tokio::test]
async fn only_owners_and_admins_set_the_policy() {
    let s = start().await;
    let origin = root(&s).to_owned();
    let same_site = [("Origin", origin.as_str())];
    for (role, email) in [(Role::Developer, "dev@acme.test"), (Role::Viewer, "vic@acme.test")] {
        let cookie = format!("kw_session={}", add_member(&s, role, email).await);
        let answer = post_form(&s, "set_leak_policy", Some(&cookie), &same_site, &[("policy", "notify")]).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{role:?}");
    }
    let admin = format!("kw_session={}", add_member(&s, Role::Admin, "adm@acme.test").await);
    let bad = post_form(&s, "set_leak_policy", Some(&admin), &same_site, &[("policy", "delete")]).await;
    let status = bad.status();
    let body: Value = bad.json().await.unwrap_or(Value::Null);
    assert_eq!(
        (status, body["Invalid"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("policy")),
        "{body}"
    );
    assert_eq!(leaks::policy(&s.core, &s.owner).await.expect("policy"), LeakPolicy::Disable);
    let answer = post_form(&s, "set_leak_policy", Some(&admin), &same_site, &[("policy", "notify")]).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(leaks::policy(&s.core, &s.owner).await.expect("policy"), LeakPolicy::Notify);
}

#[tokio::test]
async fn a_decoy_found_by_a_scanner_or_pasted_is_an_alert_and_stays_a_decoy() {
    let scanner = Scanner::new(7);
    let s = start_taking_leak_reports(scanner.published()).await;
    let created = keys::create(
        &s.core,
        &s.owner,
        app::model::NewKey { decoy: true, ..app::ssr::test_support::scoped_key("planted", &s.project, vec![]) },
    )
    .await
    .expect("decoy");
    let (status, labels) = report(&s, &scanner, &[&created.token]).await;
    assert_eq!((status, labels[0]["label"].as_str()), (StatusCode::OK, Some("true_positive")));
    let mut recorded = Vec::new();
    for _ in 0..100 {
        recorded = app::ssr::entities::decoy_use::Entity::find().all(&s.core.db).await.expect("uses");
        if !recorded.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].surface, "leak_report");
    let key = stored(&s, created.key.id).await;
    assert_eq!((key.status, key.leaked_at), (app::model::KeyStatus::Active, None), "the decoy was disabled or marked");
    assert!(leak_entries(&s).await.is_empty());
    // Reporting it from its page is refused: its uses are its alerts.
    let refused = leaks::report_key(&s.core, &s.owner, created.key.id).await;
    assert!(matches!(refused, Err(app::ssr::ServiceError::Conflict(_))), "{refused:?}");
}

#[tokio::test]
async fn a_key_reports_a_leak_through_the_api_only_within_its_power() {
    let s = start().await;
    let (target, token) = s.key("target", &[]).await;
    let path = format!("/keys/{target}/report-leak");
    // Without the scope the policy needs, and from another project: refused, nothing changed.
    let (_, reader) = s.key("reader", &["api_keys.read"]).await;
    let (status, answer) = s.post(&path, &reader, json!({})).await;
    assert_eq!((status, answer["code"].as_str()), (StatusCode::FORBIDDEN, Some("INSUFFICIENT_SCOPE")), "{answer}");
    let elsewhere = s.add_project("Elsewhere").await;
    let (_, outsider) =
        s.key_with(app::ssr::test_support::scoped_key("outsider", &elsewhere, vec!["api_keys.update".into()])).await;
    let (status, _) = s.post(&path, &outsider, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&s.verify(&token).await), "VALID");
    assert!(leak_entries(&s).await.is_empty());
    // With it: the policy is applied, and the key comes back as it now is.
    let (_, updater) = s.key("updater", &["api_keys.update"]).await;
    let (status, answer) = s.post(&path, &updater, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["action"].as_str(), answer["key_id"].as_str()),
        (Some("disabled"), Some(target.to_string().as_str()))
    );
    let (_, shown) = s.get(&format!("/keys/{target}"), &s.admin).await;
    assert_eq!(
        (shown["status"].as_str(), shown["leaked"]["reported_by"].as_str()),
        (Some("disabled"), Some("key updater"))
    );
    assert_eq!(code(&s.verify(&token).await), "DISABLED");
}
