//! Members, projects, the organization and its plan through `/api/v1`, each route also tried as an
//! attack: a key without the scope, a key whose creator's role does not allow it (or no longer
//! does), another organization's key, and no key at all. Each refused with nothing changed.

use crate::api::{Server, start};
use app::model::{Plan, Role};
use app::ssr::services::{Member, keys, members};
use app::ssr::test_support::{member, organization, scoped_key, scopes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Changes to the organization as a whole take a key of the whole organization (`api_keys.manage_all`).
const PEOPLE: &[&str] = &[
    "members.read",
    "members.invite",
    "members.role_change",
    "members.suspend",
    "members.remove",
    "api_keys.manage_all",
];

impl Server {
    async fn put(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, body) = self.call(Method::PUT, path, Some(key), Some(body)).await;
        (status, body)
    }

    async fn patch(&self, path: &str, key: &str, body: Value) -> (StatusCode, Value) {
        let (status, _, body) = self.call(Method::PATCH, path, Some(key), Some(body)).await;
        (status, body)
    }

    async fn delete(&self, path: &str, key: &str) -> StatusCode {
        self.call(Method::DELETE, path, Some(key), None).await.0
    }

    /// A key `creator` made, holding `held`.
    async fn key_of(&self, creator: &Member, name: &str, held: &[&str]) -> String {
        keys::create(&self.core, creator, scoped_key(name, &self.project, scopes(held))).await.expect("key").token
    }

    async fn member_list(&self) -> Value {
        let (status, list) = self.get("/members", &self.admin).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list
    }
}

fn problem_code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

fn names_field(body: &Value, field: &str) -> bool {
    body["errors"].as_array().is_some_and(|errors| errors.iter().any(|e| e["field"] == field))
}

#[tokio::test]
async fn members_are_invited_changed_suspended_and_removed_through_the_api() {
    let s = start().await;
    let people = s.key_of(&s.owner, "people", PEOPLE).await;
    let dev = member(&s.core.db, &s.owner, Role::Developer, "Dev").await;

    let list = s.member_list().await;
    assert_eq!(list["members"].as_array().map(Vec::len), Some(2), "{list}");

    // An invitation, with its one-time link on this server.
    let (status, invited) =
        s.post("/members/invitations", &people, json!({ "email": "Grace@Acme.test", "role": "developer" })).await;
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    let link = invited["link"].as_str().expect("a link");
    let token = link.rsplit('/').next().expect("a token");
    let origin = s.base.trim_end_matches("/api/v1");
    assert!(link.starts_with(&format!("{origin}/invite/")) && token.len() == 64, "{link}");
    let preview = members::preview(&s.core.db, token).await.expect("the link works");
    assert_eq!((preview.email.as_str(), preview.role), ("grace@acme.test", Role::Developer));
    let invitation = invited["invitation"]["id"].as_str().expect("an id").to_owned();

    // Bad input names its field, and creates nothing.
    let (status, refused) =
        s.post("/members/invitations", &people, json!({ "email": "not an email", "role": "developer" })).await;
    assert_eq!((status, names_field(&refused, "email")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    let (status, refused) =
        s.post("/members/invitations", &people, json!({ "email": "x@acme.test", "role": "emperor" })).await;
    assert_eq!((status, names_field(&refused, "role")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    assert_eq!(s.member_list().await["invitations"].as_array().map(Vec::len), Some(1));

    let dev_path = format!("/members/{}", dev.user_id);
    let (status, changed) = s.put(&format!("{dev_path}/role"), &people, json!({ "role": "viewer" })).await;
    assert_eq!((status, &changed["role"]), (StatusCode::OK, &json!("viewer")), "{changed}");
    let (status, suspended) = s.post(&format!("{dev_path}/suspend"), &people, json!({})).await;
    assert_eq!((status, &suspended["suspended"]), (StatusCode::OK, &json!(true)), "{suspended}");
    let (status, back) = s.post(&format!("{dev_path}/reactivate"), &people, json!({})).await;
    assert_eq!((status, &back["suspended"]), (StatusCode::OK, &json!(false)), "{back}");

    // A key cannot suspend or remove the member it acts for, the last owner.
    let (status, _) = s.post(&format!("/members/{}/suspend", s.owner.user_id), &people, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(s.delete(&format!("/members/{}", s.owner.user_id), &people).await, StatusCode::CONFLICT);

    assert_eq!(s.delete(&format!("/members/invitations/{invitation}"), &people).await, StatusCode::NO_CONTENT);
    assert!(members::preview(&s.core.db, token).await.is_err(), "a withdrawn link stops working");
    assert_eq!(s.delete(&dev_path, &people).await, StatusCode::NO_CONTENT);
    assert_eq!(s.delete(&dev_path, &people).await, StatusCode::NOT_FOUND);
    let list = s.member_list().await;
    assert_eq!(
        (list["members"].as_array().map(Vec::len), list["invitations"].as_array().map(Vec::len)),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn member_routes_refuse_keys_beyond_their_scopes_and_their_creators() {
    let s = start().await;
    let target = member(&s.core.db, &s.owner, Role::Developer, "Target").await;
    let admin = member(&s.core.db, &s.owner, Role::Admin, "Admin").await;
    let target_role = format!("/members/{}/role", target.user_id);
    let before = s.member_list().await;

    // No key, and a key that may only read.
    let (status, _, _) = s.call(Method::GET, "/members", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let reader = s.key_of(&s.owner, "reader", &["members.read"]).await;
    let (status, refused) =
        s.post("/members/invitations", &reader, json!({ "email": "eve@evil.test", "role": "owner" })).await;
    assert_eq!((status, problem_code(&refused)), (StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE"), "{refused}");
    assert_eq!(s.put(&target_role, &reader, json!({ "role": "admin" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.delete(&format!("/members/{}", target.user_id), &reader).await, StatusCode::FORBIDDEN);

    // A developer cannot give a key these scopes, so a developer's key never holds them.
    let developer = member(&s.core.db, &s.owner, Role::Developer, "Developer").await;
    let granted = keys::create(&s.core, &developer, scoped_key("people", &s.project, scopes(PEOPLE))).await;
    assert!(granted.is_err(), "a developer handed a key member scopes");

    // An admin's key: no owners made, no owner changed.
    let admins = s.key_of(&admin, "admin people", PEOPLE).await;
    let (status, refused) = s.put(&target_role, &admins, json!({ "role": "owner" })).await;
    assert_eq!((status, names_field(&refused, "role")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    let owner_role = format!("/members/{}/role", s.owner.user_id);
    assert_eq!(s.put(&owner_role, &admins, json!({ "role": "viewer" })).await.0, StatusCode::FORBIDDEN);
    let (status, _) = s.post("/members/invitations", &admins, json!({ "email": "o@acme.test", "role": "owner" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // The admin demoted: their key loses the power at once.
    members::change_role(&s.core, &s.owner, admin.user_id, Role::Viewer).await.expect("demoted");
    assert_eq!(s.put(&target_role, &admins, json!({ "role": "viewer" })).await.0, StatusCode::FORBIDDEN);
    let (status, _) =
        s.post("/members/invitations", &admins, json!({ "email": "v@acme.test", "role": "viewer" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another organization's key finds nobody here.
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let globex_project = app::ssr::services::projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let theirs = keys::create(&s.core, &globex, scoped_key("theirs", &globex_project, scopes(PEOPLE))).await;
    let theirs = theirs.expect("their key").token;
    assert_eq!(s.put(&target_role, &theirs, json!({ "role": "admin" })).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.delete(&format!("/members/{}", target.user_id), &theirs).await, StatusCode::NOT_FOUND);
    let (status, their_list) = s.get("/members", &theirs).await;
    assert_eq!(status, StatusCode::OK, "{their_list}");
    assert!(!their_list.to_string().contains("target@"), "{their_list}");

    // A key bound to its project changes nothing of the whole organization, whatever it holds.
    let bound = s.key_of(&s.owner, "bound people", &PEOPLE[..5]).await;
    let (status, refused) = s.put(&target_role, &bound, json!({ "role": "admin" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(refused["detail"].as_str().is_some_and(|d| d.contains("api_keys.manage_all")), "{refused}");

    // Nothing changed but the demotion the owner made.
    let after = s.member_list().await;
    let role_of = |list: &Value, name: &str| {
        list["members"].as_array().and_then(|m| m.iter().find(|m| m["name"] == name)).map(|m| m["role"].clone())
    };
    assert_eq!(role_of(&after, "Target"), role_of(&before, "Target"));
    assert_eq!(after["invitations"], before["invitations"]);
}

#[tokio::test]
async fn projects_are_created_renamed_archived_and_scoped_through_the_api() {
    let s = start().await;
    let (status, created) = s.post("/projects", &s.admin, json!({ "name": "Billing" })).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    let (status, refused) = s.post("/projects", &s.admin, json!({ "name": "billing" })).await;
    assert_eq!((status, names_field(&refused, "name")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    let (status, refused) = s.post("/projects", &s.admin, json!({ "name": "  " })).await;
    assert_eq!((status, names_field(&refused, "name")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");

    let (status, renamed) = s.patch(&format!("/projects/{id}"), &s.admin, json!({ "name": "Invoicing" })).await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("Invoicing")), "{renamed}");
    let scope = format!("/projects/{id}/scopes/invoices.read");
    let (status, defined) = s.put(&scope, &s.admin, json!({ "description": "Read invoices" })).await;
    assert_eq!((status, &defined["name"]), (StatusCode::OK, &json!("invoices.read")), "{defined}");
    let (status, refused) = s.put(&format!("/projects/{id}/scopes/api_keys.read"), &s.admin, json!({})).await;
    assert_eq!((status, names_field(&refused, "scope")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    let (_, listed) = s.get("/projects", &s.admin).await;
    let shown = listed.as_array().and_then(|p| p.iter().find(|p| p["id"] == id.as_str())).expect("listed").clone();
    assert_eq!(shown["scopes"], json!([{ "name": "invoices.read", "description": "Read invoices" }]));
    assert_eq!(s.delete(&scope, &s.admin).await, StatusCode::NO_CONTENT);
    assert_eq!(s.delete(&scope, &s.admin).await, StatusCode::NOT_FOUND);

    let (status, archived) = s.post(&format!("/projects/{id}/archive"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::OK, "{archived}");
    assert!(archived["archived_at"].is_string(), "{archived}");
    let (status, _) = s.post(&format!("/projects/{id}/archive"), &s.admin, json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, restored) = s.post(&format!("/projects/{id}/restore"), &s.admin, json!({})).await;
    assert_eq!((status, &restored["archived_at"]), (StatusCode::OK, &Value::Null), "{restored}");
}

#[tokio::test]
async fn project_routes_keep_a_key_to_its_own_project_and_its_creators_role() {
    let s = start().await;
    let other = s.add_project("Other").await;
    // projects.manage without api_keys.manage_all: its own project only, and no new ones.
    let bound = s.key_of(&s.owner, "bound", &["projects.read", "projects.manage"]).await;
    let (_, listed) = s.get("/projects", &bound).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], json!(s.project.id));
    let (status, _) = s.patch(&format!("/projects/{}", other.id), &bound, json!({ "name": "Mine now" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.post(&format!("/projects/{}/archive", other.id), &bound, json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let others_scope = format!("/projects/{}/scopes/orders.read", other.id);
    assert_eq!(s.put(&others_scope, &bound, json!({})).await.0, StatusCode::NOT_FOUND);
    assert_eq!(s.delete(&others_scope, &bound).await, StatusCode::NOT_FOUND);
    let (status, refused) = s.post("/projects", &bound, json!({ "name": "Sprawl" })).await;
    assert_eq!((status, problem_code(&refused)), (StatusCode::FORBIDDEN, "INSUFFICIENT_SCOPE"), "{refused}");
    let (status, own) = s.patch(&format!("/projects/{}", s.project.id), &bound, json!({ "name": "Main" })).await;
    assert_eq!(status, StatusCode::OK, "{own}");

    // A key without the scope, and a key whose creator was demoted.
    let reader = s.key_of(&s.owner, "reader", &["projects.read", "api_keys.manage_all"]).await;
    assert_eq!(s.post("/projects", &reader, json!({ "name": "X" })).await.0, StatusCode::FORBIDDEN);
    let admin = member(&s.core.db, &s.owner, Role::Admin, "Admin").await;
    let admins = s.key_of(&admin, "admins", &["projects.manage", "api_keys.manage_all"]).await;
    members::change_role(&s.core, &s.owner, admin.user_id, Role::Developer).await.expect("demoted");
    let (status, _) = s.patch(&format!("/projects/{}", other.id), &admins, json!({ "name": "Taken" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Another organization's key.
    let globex = organization(&s.core.db, "Globex", "gus@globex.test").await;
    let theirs_project = app::ssr::services::projects::list(&s.core.db, &globex).await.expect("projects").remove(0);
    let held = scopes(&["projects.read", "projects.manage", "api_keys.manage_all"]);
    let theirs = keys::create(&s.core, &globex, scoped_key("theirs", &theirs_project, held)).await.expect("key").token;
    let (status, _) = s.patch(&format!("/projects/{}", other.id), &theirs, json!({ "name": "Ours" })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, their_list) = s.get("/projects", &theirs).await;
    assert_eq!(status, StatusCode::OK, "{their_list}");
    assert!(!their_list.to_string().contains("Other"), "{their_list}");

    let (_, listed) = s.get("/projects", &s.admin).await;
    let names: Vec<&str> = listed.as_array().expect("a list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["Main", "Other"], "only the bound key's own rename went through");
}

#[tokio::test]
async fn the_organization_and_its_plan_through_the_api_and_its_ownership_with_an_owners_key_only() {
    let s = start().await;
    let held = [
        "organization.read",
        "organization.settings",
        "organization.transfer",
        "billing.read",
        "billing.manage",
        "api_keys.manage_all",
    ];
    let owners = s.key_of(&s.owner, "owner's", &held).await;
    let (status, org) = s.get("/organization", &owners).await;
    assert_eq!((status, &org["name"], &org["plan"]), (StatusCode::OK, &json!("Acme"), &json!("enterprise")), "{org}");
    let (status, renamed) = s.patch("/organization", &owners, json!({ "name": "Acme Corp" })).await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("Acme Corp")), "{renamed}");
    let (status, refused) = s.patch("/organization", &owners, json!({ "name": "" })).await;
    assert_eq!((status, names_field(&refused, "name")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");

    // The plan: too small for the keys in use is refused, and changes nothing.
    for i in 0..3 {
        s.key(&format!("extra {i}"), &[]).await;
    }
    let (status, refused) = s.put("/plan", &owners, json!({ "plan": "free" })).await;
    assert_eq!((status, names_field(&refused, "plan")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    let (status, plan) = s.get("/plan", &owners).await;
    assert_eq!((status, &plan["plan"], &plan["max_keys"]), (StatusCode::OK, &json!("enterprise"), &Value::Null));
    let (status, plan) = s.put("/plan", &owners, json!({ "plan": "developer" })).await;
    assert_eq!((status, &plan["plan"], &plan["max_keys"]), (StatusCode::OK, &json!("developer"), &json!(10)), "{plan}");
    let (status, refused) = s.put("/plan", &owners, json!({ "plan": "platinum" })).await;
    assert_eq!((status, names_field(&refused, "plan")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");

    // An admin may not hand a key the owner's scopes; the full-access key lacks them.
    let admin = member(&s.core.db, &s.owner, Role::Admin, "Admin").await;
    for owners_own in ["billing.manage", "organization.transfer"] {
        let granted = keys::create(&s.core, &admin, scoped_key("grab", &s.project, scopes(&[owners_own]))).await;
        assert!(granted.is_err(), "an admin handed a key {owners_own}");
    }
    let (status, _) = s.put("/plan", &s.admin, json!({ "plan": "pro" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the full-access key does not hold billing.manage");
    // Nor does a project-bound key of the owner's holding every one of them but api_keys.manage_all.
    let bound = s.key_of(&s.owner, "bound owner's", &held[..5]).await;
    assert_eq!(s.put("/plan", &bound, json!({ "plan": "pro" })).await.0, StatusCode::FORBIDDEN);
    assert_eq!(s.patch("/organization", &bound, json!({ "name": "Bound" })).await.0, StatusCode::FORBIDDEN);
    let transfer = |to: uuid::Uuid| json!({ "user_id": to });
    let (status, refused) = s.post("/organization/transfer", &owners, transfer(s.owner.user_id)).await;
    assert_eq!((status, names_field(&refused, "user_id")), (StatusCode::UNPROCESSABLE_ENTITY, true), "{refused}");
    let (status, _) = s.post("/organization/transfer", &owners, transfer(uuid::Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s.post("/organization/transfer", &s.admin, transfer(admin.user_id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "the full-access key does not hold organization.transfer");

    // Handed over: the admin owns it, and the owner's key keeps only an admin's power.
    let (status, _) = s.post("/organization/transfer", &owners, transfer(admin.user_id)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let list = s.member_list().await;
    let role_of = |name: &str| {
        list["members"].as_array().and_then(|m| m.iter().find(|m| m["name"] == name)).map(|m| m["role"].clone())
    };
    assert_eq!((role_of("Admin"), role_of("Owner of Acme")), (Some(json!("owner")), Some(json!("admin"))), "{list}");
    assert_eq!(s.put("/plan", &owners, json!({ "plan": "pro" })).await.0, StatusCode::FORBIDDEN);
    let (status, _) = s.post("/organization/transfer", &owners, transfer(s.owner.user_id)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(s.patch("/organization", &owners, json!({ "name": "Still mine" })).await.0, StatusCode::OK);
    let (_, plan) = s.get("/plan", &owners).await;
    assert_eq!(plan["plan"], json!("developer"), "refused changes changed nothing");
    assert_eq!(organization_plan(&s).await, Plan::Developer);
}

async fn organization_plan(s: &Server) -> Plan {
    use sea_orm::EntityTrait;
    app::ssr::entities::organization::Entity::find_by_id(s.owner.organization_id)
        .one(&s.core.db)
        .await
        .expect("query")
        .expect("organization")
        .plan
}

/// The dashboard's own way in (server functions, signed-in session): a lower role, another
/// organization's owner, no session and a cross-site form are each refused, and nothing changes.
#[tokio::test]
async fn renaming_and_handing_over_from_the_dashboard_refuse_all_but_the_owner() {
    use crate::api::add_member;
    use crate::attacks::{post_form, root};
    use app::ssr::entities::{membership, user};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let s = start().await;
    let origin = root(&s).to_owned();
    let same_site = [("Origin", origin.as_str())];
    let session = |token: String| format!("kw_session={token}");
    let admin = session(add_member(&s, Role::Admin, "adm@acme.test").await);
    let developer = session(add_member(&s, Role::Developer, "dev@acme.test").await);
    let admin_id = user::Entity::find()
        .filter(user::Column::Email.eq("adm@acme.test"))
        .one(&s.core.db)
        .await
        .expect("query")
        .expect("the admin")
        .id
        .to_string();
    let signed_in = async |email: &str| {
        let client = Default::default();
        let signed = app::ssr::services::auth::sign_in(&s.core, email, app::ssr::test_support::PASSWORD, &client);
        session(signed.await.expect("signed in").token)
    };
    let owner = signed_in("ada@acme.test").await;
    organization(&s.core.db, "Globex", "gus@globex.test").await;
    let stranger = signed_in("gus@globex.test").await;
    let rename = [("name", "Taken Over")];
    let transfer = [("user_id", admin_id.as_str())];

    let refused = [
        ("a developer renames", "rename_organization", Some(developer.as_str()), &same_site[..], &rename[..], 403),
        (
            "a developer hands over",
            "transfer_organization",
            Some(developer.as_str()),
            &same_site[..],
            &transfer[..],
            403,
        ),
        ("an admin hands over", "transfer_organization", Some(admin.as_str()), &same_site[..], &transfer[..], 403),
        (
            "another organization's owner",
            "transfer_organization",
            Some(stranger.as_str()),
            &same_site[..],
            &transfer[..],
            404,
        ),
        ("no session", "rename_organization", None, &same_site[..], &rename[..], 401),
        ("a cross-site form", "rename_organization", Some(owner.as_str()), &[][..], &rename[..], 403),
        (
            "a cross-site hand-over",
            "transfer_organization",
            Some(owner.as_str()),
            &[("Origin", "https://evil.example")][..],
            &transfer[..],
            403,
        ),
    ];
    for (who, function, cookie, headers, form, status) in refused {
        let answer = post_form(&s, function, cookie, headers, form).await;
        assert_eq!(answer.status().as_u16(), status, "{who}");
    }
    let (_, org) = s.get("/organization", &s.admin).await;
    assert_eq!(org["name"], json!("Acme"), "nothing renamed");
    let owners: Vec<_> = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(s.owner.organization_id))
        .filter(membership::Column::Role.eq(Role::Owner))
        .all(&s.core.db)
        .await
        .expect("query");
    assert_eq!(owners.iter().map(|m| m.user_id).collect::<Vec<_>>(), [s.owner.user_id], "nothing handed over");

    // The owner, same-site: both go through.
    let answer = post_form(&s, "rename_organization", Some(&owner), &same_site, &rename).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let answer = post_form(&s, "transfer_organization", Some(&owner), &same_site, &transfer).await;
    assert_eq!(answer.status(), StatusCode::OK);
}
