//! Every server function, sent what a browser or a script can send: each argument missing or
//! malformed, bodies that are not forms or JSON, and a body over the limit. No answer is a 5xx, an
//! argument refused is named, and nothing is written.

use crate::api::{Server, start};
use app::model::Role;
use app::ssr::entities::{
    api_key, audit_event, invitation, key_rotation, membership, organization, project, project_scope, session, user,
    webhook_delivery, webhook_endpoint,
};
use app::ssr::services::{Client, auth, members, webhooks};
use app::ssr::test_support::{PASSWORD, member};
use reqwest::StatusCode;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use serde_json::Value;

/// One argument of a server function: a value that works, and values that must be refused.
struct Arg {
    name: &'static str,
    valid: String,
    bad: Vec<String>,
    /// Leaving it out must be refused too.
    required: bool,
}

fn required(name: &'static str, valid: impl ToString, bad: &[&str]) -> Arg {
    Arg { name, valid: valid.to_string(), bad: bad.iter().map(|b| b.to_string()).collect(), required: true }
}

fn optional(name: &'static str, valid: impl ToString, bad: &[&str]) -> Arg {
    Arg { required: false, ..required(name, valid, bad) }
}

const NOT_AN_ID: &[&str] = &["not-a-uuid", "", "00000000-0000-0000-0000-00000000000g"];
/// A name with a NUL, one with a right-to-left override, and one that is only spaces.
const BAD_NAMES: &[&str] = &["a\u{0}b", "evil\u{202e}gpj.exe", "   "];

/// Everything stored that a server function could change, as one comparable text.
async fn everything(db: &DatabaseConnection) -> String {
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\naudit {} sessions {}",
        api_key::Entity::find().all(db).await.expect("keys"),
        key_rotation::Entity::find().all(db).await.expect("rotations"),
        project::Entity::find().all(db).await.expect("projects"),
        project_scope::Entity::find().all(db).await.expect("scopes"),
        membership::Entity::find().all(db).await.expect("memberships"),
        invitation::Entity::find().all(db).await.expect("invitations"),
        organization::Entity::find().all(db).await.expect("organizations"),
        user::Entity::find().all(db).await.expect("users"),
        webhook_endpoint::Entity::find().all(db).await.expect("webhook endpoints"),
        webhook_delivery::Entity::find().all(db).await.expect("webhook deliveries"),
        audit_event::Entity::find().count(db).await.expect("audit"),
        session::Entity::find().count(db).await.expect("sessions"),
    )
}

struct Caller<'a> {
    s: &'a Server,
    root: String,
    cookie: String,
}

impl Caller<'_> {
    /// A post to a server function as the dashboard sends it (same origin, with the caller's cookie).
    fn request(&self, function: &str) -> reqwest::RequestBuilder {
        self.s
            .http
            .post(format!("{}/api/{function}", self.root))
            .header("Origin", &self.root)
            .header("Cookie", &self.cookie)
    }

    /// Posts to a server function as the dashboard would: the status and the body.
    async fn send(
        &self,
        function: &str,
        body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> (StatusCode, Value) {
        let response = body(self.request(function)).send().await.expect("answered");
        let status = response.status();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn post(&self, function: &str, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
        self.send(function, |request| request.header("Content-Type", content_type).body(body)).await
    }

    async fn form(&self, function: &str, fields: &[(&str, &str)]) -> (StatusCode, Value) {
        self.send(function, |request| request.form(fields)).await
    }
}

/// A refusal of bad input: a 4xx, and where it is about a value (422), the value's field named.
fn assert_refused(what: &str, status: StatusCode, body: &Value) {
    assert!(status.is_client_error(), "{what}: {status} {body}");
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        let field = body["Invalid"][0]["field"].as_str().unwrap_or_default();
        assert!(!field.is_empty() && field != "request", "{what}: no field named in {body}");
    }
}

#[tokio::test]
async fn every_server_function_refuses_bad_arguments_with_a_4xx_naming_them_and_writes_nothing() {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let session = auth::sign_in(&s.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let caller = Caller { s: &s, root, cookie: format!("kw_session={}", session.token) };
    let (key, _) = s.key("target", &["api_keys.read"]).await;
    let colleague = member(&s.core.db, &s.owner, Role::Developer, "Grace").await;
    let invited = members::invite(&s.core.db, &s.owner, "lin@acme.test", Role::Viewer).await.expect("invited");
    let (project, user) = (s.project.id.to_string(), colleague.user_id.to_string());
    let key = key.to_string();
    let date = (chrono::Utc::now() + chrono::Duration::days(30)).format("%Y-%m-%d").to_string();
    let long_description = "x".repeat(501);
    let big_meta = format!("{{\"b\":\"{}\"}}", "x".repeat(16 * 1024));
    let hook = "https://1.1.1.1/hooks";
    let endpoint = webhooks::register(&s.core, &s.owner, hook, &["key.revoked".to_owned()]).await.expect("endpoint");
    let endpoint_id = endpoint.endpoint.id.to_string();
    let delivery = webhooks::send_test(&s.core, &s.owner, endpoint.endpoint.id).await.expect("a delivery").id;

    let functions: Vec<(&str, Vec<Arg>)> = vec![
        (
            "create_key",
            vec![
                required("name", "fine", BAD_NAMES),
                optional("description", "fine", &["a\u{0}b"]),
                required("project_id", &project, NOT_AN_ID),
                required("environment", "production", &["galaxy", "", "Production "]),
                optional("scopes", "api_keys.read", &["not a scope!", "api_keys.read Bad.Scope!"]),
                optional("custom_scopes", "", &["Bad Scope!"]),
                optional("expiration", "date", &["someday"]),
                optional("expires_on", &date, &["31/12/2027", "2020-01-01", "tomorrow"]),
                optional("rate_limit_requests", "100", &["0", "ten", "-5", "99999999999"]),
                optional("rate_limit_window", "minute", &["fortnight"]),
                optional("credits", "50", &["-1", "lots", "1000000000001"]),
                optional("refill", "monthly", &["weekly"]),
                optional("refill_amount", "50", &["0", "-3", "many"]),
                optional("refill_day", "31", &["0", "32", "last"]),
            ],
        ),
        ("revoke_key", vec![required("id", &key, NOT_AN_ID)]),
        ("disable_key", vec![required("id", &key, NOT_AN_ID)]),
        ("enable_key", vec![required("id", &key, NOT_AN_ID)]),
        ("delete_key", vec![required("id", &key, NOT_AN_ID)]),
        ("get_key_details", vec![required("id", &key, NOT_AN_ID)]),
        ("get_key_usage", vec![required("id", &key, NOT_AN_ID)]),
        (
            "get_key_verifications",
            vec![
                required("id", &key, NOT_AN_ID),
                optional("outcome", "VALID", &["MAYBE", "valid"]),
                required("page", "1", &["-1", "first"]),
            ],
        ),
        ("get_key_insight", vec![required("id", &key, NOT_AN_ID)]),
        ("disable_keys", vec![optional("key_ids[0]", &key, &["not-a-uuid", "", "1234"])]),
        ("rotate_key", vec![required("id", &key, NOT_AN_ID), required("grace", "none", &["forever", ""])]),
        (
            "update_key_scopes",
            vec![
                required("id", &key, NOT_AN_ID),
                optional("scopes", "api_keys.read", &["not a scope!"]),
                optional("custom_scopes", "", &["Bad Scope!"]),
            ],
        ),
        (
            "edit_key",
            vec![
                required("id", &key, NOT_AN_ID),
                required("name", "renamed", BAD_NAMES),
                optional("description", "fine", &["a\u{0}b", "evil\u{202e}", &long_description]),
                optional("expiration", "date", &["someday", "0", "31"]),
                optional("expires_on", &date, &["31/12/2027", "2020-01-01", "2099-01-01"]),
                optional("external_id", "cus_42", &["evil\u{202e}", &"x".repeat(257)]),
                optional("meta", "{\"plan\":\"pro\"}", &["[1]", "\"pro\"", "{not json", &big_meta]),
            ],
        ),
        (
            "update_key_rate_limit",
            vec![
                required("id", &key, NOT_AN_ID),
                optional("rate_limit_requests", "10", &["0", "ten", "-1"]),
                optional("rate_limit_window", "minute", &["fortnight"]),
            ],
        ),
        (
            "update_key_credits",
            vec![
                required("id", &key, NOT_AN_ID),
                optional("credits", "50", &["-1", "lots", "1000000000001"]),
                optional("refill", "daily", &["hourly"]),
                optional("refill_amount", "50", &["0", "1000000000001"]),
                optional("refill_day", "1", &["0", "32"]),
            ],
        ),
        (
            "update_key_ip_allowlist",
            vec![
                required("id", &key, NOT_AN_ID),
                optional("ip_allowlist", "10.0.0.0/8\n2001:db8::/32", &["10.0.0.300", "fe80::/129", "anywhere"]),
            ],
        ),
        (
            "register_webhook",
            vec![
                required("url", hook, &["ftp://1.1.1.1/", "", "http://127.0.0.1:9/", "http://169.254.169.254/"]),
                optional("events[0]", "key.created", &["key.exploded", "webhook.test", ""]),
            ],
        ),
        (
            "change_webhook",
            vec![
                required("endpoint_id", &endpoint_id, NOT_AN_ID),
                required("command", "resend", &["explode", "", "Resend"]),
                optional("delivery_id", &delivery, &["msg_nope", "", "msg_00000000000000000000000000000000"]),
            ],
        ),
        ("switch_organization", vec![required("organization_id", s.owner.organization_id, NOT_AN_ID)]),
        ("create_organization", vec![required("name", "Beta", BAD_NAMES)]),
        ("end_session", vec![required("session_id", session.id, NOT_AN_ID)]),
        (
            "change_password",
            vec![
                required("current_password", PASSWORD, &[]),
                required("new_password", "another long passphrase", &["short"]),
            ],
        ),
        (
            "invite_member",
            vec![
                required("email", "mo@acme.test", &["not an email"]),
                required("role", "viewer", &["galaxy", "owner "]),
            ],
        ),
        ("revoke_invitation", vec![required("id", invited.invitation.id, NOT_AN_ID)]),
        ("change_member_role", vec![required("user_id", &user, NOT_AN_ID), required("role", "viewer", &["galaxy"])]),
        (
            "set_member_suspended",
            vec![required("user_id", &user, NOT_AN_ID), required("suspended", "true", &["maybe", ""])],
        ),
        ("remove_member", vec![required("user_id", &user, NOT_AN_ID)]),
        ("change_plan", vec![required("plan", "free", &["galaxy", ""])]),
        ("rename_organization", vec![required("name", "Acme Corp", BAD_NAMES)]),
        ("transfer_organization", vec![required("user_id", &user, NOT_AN_ID)]),
        ("set_leak_policy", vec![required("policy", "notify", &["galaxy", "", "Disable "])]),
        ("report_leaked_key", vec![required("id", &key, NOT_AN_ID)]),
        ("check_leaked_token", vec![required("token", "kw_live_x", &["", "not a token", "kw_live_short"])]),
        ("create_project", vec![required("name", "Payments", BAD_NAMES)]),
        ("rename_project", vec![required("project_id", &project, NOT_AN_ID), required("name", "Renamed", BAD_NAMES)]),
        (
            "set_project_archived",
            vec![required("project_id", &project, NOT_AN_ID), required("archived", "true", &["maybe", ""])],
        ),
        (
            "define_project_scope",
            vec![
                required("project_id", &project, NOT_AN_ID),
                required("scope", "reports.read", &["Bad Scope!", ""]),
                required("description", "Reads reports", &["a\u{0}b", "evil\u{202e}"]),
            ],
        ),
        (
            "remove_project_scope",
            vec![required("project_id", &project, NOT_AN_ID), required("scope", "reports.read", &["Bad Scope!"])],
        ),
        (
            "accept_invitation",
            vec![
                required("token", &invited.token, &[]),
                required("name", "Lin", BAD_NAMES),
                required("password", "long enough passphrase", &["short"]),
            ],
        ),
        (
            "set_up",
            vec![
                required("organization", "Other", BAD_NAMES),
                required("name", "Eve", &[]),
                required("email", "eve@x.test", &[]),
                required("password", "long enough passphrase", &[]),
            ],
        ),
    ];

    // Settles "last active" (written at most every few minutes), so that only real changes show.
    caller.form("list_projects", &[]).await;
    let before = everything(&s.core.db).await;
    let mut cases = 0;
    for (function, args) in &functions {
        for (i, arg) in args.iter().enumerate() {
            let with = |value: Option<&str>| -> Vec<(&str, String)> {
                args.iter()
                    .enumerate()
                    .filter_map(|(j, other)| match (i == j, value) {
                        (true, Some(value)) => Some((other.name, value.to_owned())),
                        (true, None) => None,
                        (false, _) => Some((other.name, other.valid.clone())),
                    })
                    .collect()
            };
            let mut variants: Vec<(String, Vec<(&str, String)>)> =
                arg.bad.iter().map(|bad| (format!("{}={bad:?}", arg.name), with(Some(bad)))).collect();
            if arg.required {
                variants.push((format!("{} missing", arg.name), with(None)));
            }
            for (what, fields) in variants {
                let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let (status, body) = caller.form(function, &fields).await;
                assert_refused(&format!("{function} with {what}"), status, &body);
                cases += 1;
            }
        }
        // Bodies that are not a form at all, and one over the limit.
        let (status, body) = caller.post(function, "application/x-www-form-urlencoded", b"%zz=%&&=\xff".to_vec()).await;
        assert_refused(&format!("{function} with a broken form"), status, &body);
        let huge = format!("name={}", "a".repeat(app::api::edge::BODY_LIMIT + 1));
        let (status, body) = caller.post(function, "application/x-www-form-urlencoded", huge.into_bytes()).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{function}: {body}");
        cases += 2;
    }

    // The two that take JSON (the keys list and the audit log).
    let not_json: &[&str] = &[r#"{"query":"everything"}"#, "[1]", "per_page=10", "", r#"{"query":{"page":-1}}"#];
    let list_keys: &[&str] = &[
        r#"{"query":{"per_page":"ten"}}"#,
        r#"{"query":{"per_page":100000}}"#,
        r#"{"query":{"sort":"sideways"}}"#,
        r#"{"query":{"status":"haunted"}}"#,
        r#"{"query":{"project":"nope"}}"#,
    ];
    let list_audit: &[&str] = &[
        r#"{"query":{"per_page":"ten"}}"#,
        r#"{"query":{"action":"haunted"}}"#,
        r#"{"query":{"actor":"nope"}}"#,
        r#"{"query":{"from":"yesterday"}}"#,
        r#"{"query":{"from":"2027-02-01","to":"2027-01-01"}}"#,
    ];
    let long_search = format!(r#"{{"query":{{"search":"{}"}}}}"#, "a".repeat(5000));
    for (function, bodies) in [("list_keys", list_keys), ("list_audit", list_audit)] {
        for body in bodies.iter().chain(not_json) {
            let (status, answer) = caller.post(function, "application/json", body.as_bytes().to_vec()).await;
            assert_refused(&format!("{function} with {body}"), status, &answer);
            cases += 1;
        }
    }
    let (status, answer) = caller.post("list_keys", "application/json", long_search.into_bytes()).await;
    assert_refused("list_keys with a 5,000-character search", status, &answer);

    assert!(cases > 150, "only {cases} cases ran");
    assert_eq!(everything(&s.core.db).await, before, "a refused call wrote something");
}

/// The cases the issue names, each with its status and field.
#[tokio::test]
async fn bad_input_names_its_field_with_the_right_status() {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let session = auth::sign_in(&s.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let caller = Caller { s: &s, root, cookie: format!("kw_session={}", session.token) };
    let project = s.project.id.to_string();
    let field = |body: &Value| body["Invalid"][0]["field"].as_str().unwrap_or_default().to_owned();

    let base = [("name", "fine"), ("project_id", project.as_str()), ("environment", "production")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        let mut fields = base.to_vec();
        fields.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        fields.extend_from_slice(extra);
        fields
    };
    for (extra, expected) in [
        (&[("expiration", "date"), ("expires_on", "31/12/2027")][..], "expires_on"),
        (&[("expiration", "date")][..], "expires_on"),
        (&[("expiration", "someday")][..], "expiration"),
        (&[("rate_limit_requests", "0"), ("rate_limit_window", "minute")][..], "rate_limit_requests"),
        (&[("rate_limit_requests", "ten"), ("rate_limit_window", "minute")][..], "rate_limit_requests"),
        (&[("rate_limit_requests", "10"), ("rate_limit_window", "fortnight")][..], "rate_limit_window"),
        (&[("project_id", "nope")][..], "project_id"),
        (&[("environment", "galaxy")][..], "environment"),
    ] {
        let (status, body) = caller.form("create_key", &with(extra)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{extra:?}: {body}");
        assert!(field(&body).starts_with(expected), "{extra:?}: {body}");
    }
    let (status, body) = caller.form("create_key", &[("project_id", &project), ("environment", "production")]).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "name".to_owned()), "{body}");
    let environment = caller.form("create_key", &with(&[("environment", "kw_live_secret")])).await.1;
    assert!(!environment.to_string().contains("kw_live_secret"), "the refused value was echoed: {environment}");

    // Every bad field at once, in the form's order, so that the form can mark them all.
    let (status, body) = caller
        .form(
            "create_key",
            &with(&[
                ("name", " "),
                ("custom_scopes", "Not A Scope"),
                ("expiration", "date"),
                ("expires_on", "2020-01-01"),
                ("rate_limit_requests", "0"),
                ("rate_limit_window", "minute"),
            ]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<_> = body["Invalid"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["name", "scopes", "expires_on", "rate_limit_requests"], "{body}");
    let (key, _) = s.key("target", &[]).await;
    let (status, body) = caller
        .form(
            "edit_key",
            &[("id", &key.to_string()), ("name", ""), ("description", "a\u{0}b"), ("expiration", "someday")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<_> = body["Invalid"].as_array().into_iter().flatten().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["name", "description", "expiration"], "{body}");

    let (status, body) = caller.form("rotate_key", &[("id", &key.to_string()), ("grace", "forever")]).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "grace".to_owned()), "{body}");

    let (status, body) =
        caller.post("list_keys", "application/json", br#"{"query":{"per_page":"ten"}}"#.to_vec()).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "per_page".to_owned()), "{body}");
    let (status, body) =
        caller.post("list_keys", "application/json", br#"{"query":{"sort":"sideways"}}"#.to_vec()).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "sort".to_owned()), "{body}");
    let (status, body) = caller.post("list_keys", "application/json", b"this is not JSON".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let huge = vec![b'a'; 3 * 1024 * 1024];
    let (status, _) = caller.post("list_keys", "application/json", huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A member who may not create or edit keys is refused as such (403), whatever the form holds: bad
/// input does not get the form read, and checked, for them.
#[tokio::test]
async fn a_viewer_is_refused_before_the_form_is_read() {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    member(&s.core.db, &s.owner, Role::Viewer, "Vic").await;
    let (key, _) = s.key("target", &["api_keys.read"]).await;
    let session = auth::sign_in(&s.core, "vic@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let caller = Caller { s: &s, root, cookie: format!("kw_session={}", session.token) };
    let before = everything(&s.core.db).await;
    let project = s.project.id.to_string();
    let bad_create = [
        ("name", " "),
        ("project_id", project.as_str()),
        ("environment", "production"),
        ("custom_scopes", "Not A Scope"),
        ("expiration", "someday"),
    ];
    let good_create = [("name", "fine"), ("project_id", project.as_str()), ("environment", "production")];
    let key = key.to_string();
    let bad_edit = [("id", key.as_str()), ("name", ""), ("expiration", "someday")];
    let good_edit = [("id", key.as_str()), ("name", "renamed")];
    let (bad_credits, good_credits) =
        ([("id", key.as_str()), ("credits", "-1"), ("refill_day", "32")], [("id", key.as_str()), ("credits", "5")]);
    let (bad_networks, good_networks) =
        ([("id", key.as_str()), ("ip_allowlist", "nowhere")], [("id", key.as_str()), ("ip_allowlist", "10.0.0.0/8")]);
    for (function, fields) in [
        ("create_key", &bad_create[..]),
        ("create_key", &good_create),
        ("edit_key", &bad_edit),
        ("edit_key", &good_edit),
        ("update_key_credits", &bad_credits),
        ("update_key_credits", &good_credits),
        ("update_key_ip_allowlist", &bad_networks),
        ("update_key_ip_allowlist", &good_networks),
    ] {
        let (status, body) = caller.form(function, fields).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{function} {fields:?}: {body}");
        assert!(body.get("Forbidden").is_some(), "{function}: {body}");
    }
    assert_eq!(everything(&s.core.db).await, before, "a refused call wrote something");
}

/// The edge rewrites a refusal's status and body, and keeps its headers: too many sign-in attempts
/// is a 429 that says when to come back.
#[tokio::test]
async fn a_refusal_keeps_its_retry_after_through_the_edge() {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let caller = Caller { s: &s, root, cookie: String::new() };
    let mut last = None;
    for _ in 0..12 {
        let guess = [("email", "ada@acme.test"), ("password", "a wrong guess")];
        let response = caller.request("sign_in").form(&guess).send().await.expect("answered");
        last = Some((response.status(), response.headers().get("retry-after").cloned()));
    }
    let (status, retry_after) = last.expect("answers");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let seconds: u64 = retry_after.expect("Retry-After").to_str().expect("text").parse().expect("seconds");
    assert!(seconds > 0);
}

/// Without JavaScript a refused form comes back to its page, the error in the URL for the page to
/// show (server_fn's `__err`), not as a page of JSON; a successful one comes back without it.
#[tokio::test]
async fn a_form_refused_without_javascript_goes_back_to_its_page_with_the_error() {
    let s = start().await;
    let root = s.base.trim_end_matches("/api/v1").to_owned();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::api::ANSWER_WITHIN)
        .build()
        .expect("client");
    let post = |password: &'static str| {
        http.post(format!("{root}/api/sign_in"))
            .header("Origin", &root)
            .header("Accept", "text/html,application/xhtml+xml")
            .header("Referer", format!("{root}/sign-in"))
            .form(&[("email", "ada@acme.test"), ("password", password)])
            .send()
    };
    let refused = post("a wrong guess").await.expect("answered");
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let location = refused.headers().get("location").expect("Location").to_str().expect("text").to_owned();
    assert!(location.starts_with(&format!("{root}/sign-in?")) && location.contains("__err="), "{location}");
    assert!(refused.headers().get("set-cookie").is_none(), "no session for a wrong password");
    assert!(refused.text().await.expect("body").is_empty());

    let page = http.get(&location).header("Accept", "text/html").send().await.expect("answered");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("page");
    assert!(html.contains("Invalid email or password."), "the page shows the refusal: {html}");

    let signed_in = post(PASSWORD).await.expect("answered");
    assert_eq!(signed_in.status(), StatusCode::FOUND);
    assert!(signed_in.headers().get("set-cookie").is_some());
}
