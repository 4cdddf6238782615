//! The permission matrix: every role against every action of the dashboard's services (the server
//! functions are one-line wrappers around them), on a real database.

use app::model::{AuditQuery, KeyEdit, Plan, Role, RotationGrace};
use app::ssr::ServiceError;
use app::ssr::entities::api_key;
use app::ssr::services::{Member, audit, keys, members, organizations, projects};
use app::ssr::test_support::{TestDb, default_project, fresh_db, member, new_key, organization};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    CreateKey,
    DisableOwnKey,
    RotateOwnKey,
    RevokeAnothersKey,
    GrantManageAll,
    ReadKeys,
    ChangePlan,
    ReadAudit,
    ExportAudit,
    ManageProjects,
    InviteMember,
    EditOwnKey,
}

use Action::*;

const ACTIONS: [Action; 12] = [
    CreateKey,
    DisableOwnKey,
    RotateOwnKey,
    RevokeAnothersKey,
    GrantManageAll,
    ReadKeys,
    ChangePlan,
    ReadAudit,
    ExportAudit,
    ManageProjects,
    InviteMember,
    EditOwnKey,
];

/// The table as the product promises it, written out rather than derived from the code under test.
const MATRIX: [(Role, [bool; 12]); 4] = [
    //                 create  disable rotate  revoke* grant*  read    plan    audit   export  project invite  edit
    (Role::Owner, [true, true, true, true, true, true, true, true, true, true, true, true]),
    (Role::Admin, [true, true, true, true, true, true, false, true, true, true, true, true]),
    (Role::Developer, [true, true, true, false, false, true, false, true, false, false, false, true]),
    (Role::Viewer, [false, false, false, false, false, true, false, true, false, false, false, false]),
];

/// Runs `action` as `actor`: Ok when allowed, the refusal otherwise.
async fn attempt(t: &TestDb, actor: &Member, action: Action, own: Uuid, anothers: Uuid) -> Result<(), ServiceError> {
    let project = default_project(&t.db, actor).await;
    match action {
        CreateKey => keys::create(&t.core, actor, new_key("new", &project)).await.map(drop),
        DisableOwnKey => keys::disable(&t.core, actor, own).await.map(drop),
        RotateOwnKey => keys::rotate(&t.core, actor, own, RotationGrace::None).await.map(drop),
        RevokeAnothersKey => keys::revoke(&t.core, actor, anothers).await.map(drop),
        GrantManageAll => keys::update_scopes(&t.core, actor, own, &["api_keys.manage_all".to_owned()]).await.map(drop),
        ReadKeys => keys::list(&t.core, actor, &Default::default()).await.map(drop),
        ChangePlan => organizations::change_plan(&t.core, actor, Plan::Pro).await.map(drop),
        ReadAudit => audit::list(&t.db, actor, AuditQuery::default()).await.map(drop),
        ExportAudit => audit::export_csv(&t.db, actor, AuditQuery::default()).await.map(drop),
        ManageProjects => projects::create(&t.db, actor, &format!("Project {}", Uuid::now_v7())).await.map(drop),
        InviteMember => members::invite(&t.db, actor, "newcomer@acme.test", Role::Viewer).await.map(drop),
        EditOwnKey => {
            let edit = KeyEdit { name: Some("renamed".to_owned()), ..KeyEdit::default() };
            keys::edit(&t.core, actor, own, edit).await.map(drop)
        }
    }
}

#[tokio::test]
async fn every_role_may_do_what_the_table_says_and_nothing_else() {
    for (role, allowed) in MATRIX {
        let t = fresh_db().await;
        let owner = organization(&t.db, "Acme", "ada@acme.test").await;
        organizations::change_plan(&t.core, &owner, Plan::Enterprise).await.expect("upgraded");
        let actor = match role {
            Role::Owner => owner.clone(),
            _ => member(&t.db, &owner, role, "Grace").await,
        };
        let project = default_project(&t.db, &owner).await;
        // One key the actor created (written as theirs: a viewer cannot create one), one they did not.
        let own = keys::create(&t.core, &owner, new_key("own", &project)).await.expect("created").key.id;
        let mut row =
            api_key::Entity::find_by_id(own).one(&t.db).await.expect("query").expect("row").into_active_model();
        row.created_by = Set(actor.user_id);
        row.update(&t.db).await.expect("owned by the actor");
        let anothers = keys::create(&t.core, &owner, new_key("another's", &project)).await.expect("created").key.id;

        for (action, expected) in ACTIONS.into_iter().zip(allowed) {
            let result = attempt(&t, &actor, action, own, anothers).await;
            match (expected, &result) {
                (true, Ok(())) => {}
                (false, Err(ServiceError::Forbidden(reason))) => {
                    assert!(reason.contains(role.label()), "the refusal names the role: {reason}");
                }
                _ => panic!(
                    "{role:?} {action:?}: expected {}, got {result:?}",
                    if expected { "allowed" } else { "refused" }
                ),
            }
        }
    }
}

#[tokio::test]
async fn a_refused_change_leaves_the_key_as_it_was() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let developer = member(&t.db, &owner, Role::Developer, "Grace").await;
    let project = default_project(&t.db, &owner).await;
    let key = keys::create(&t.core, &owner, new_key("owner's", &project)).await.expect("created").key;
    let before = api_key::Entity::find_by_id(key.id).one(&t.db).await.expect("query");
    for result in [
        keys::revoke(&t.core, &developer, key.id).await.map(drop),
        keys::disable(&t.core, &developer, key.id).await.map(drop),
        keys::rotate(&t.core, &developer, key.id, RotationGrace::None).await.map(drop),
        keys::update_scopes(&t.core, &developer, key.id, &[]).await.map(drop),
        keys::edit(&t.core, &developer, key.id, KeyEdit { name: Some("mine".to_owned()), ..KeyEdit::default() })
            .await
            .map(drop),
    ] {
        assert!(matches!(result, Err(ServiceError::Forbidden(_))), "{result:?}");
    }
    assert_eq!(api_key::Entity::find_by_id(key.id).one(&t.db).await.expect("query"), before);
    // And a developer's own key may not be given what their role lacks.
    let mine = keys::create(&t.core, &developer, new_key("mine", &project)).await.expect("created").key;
    let mut escalating = new_key("escalating", &project);
    escalating.scopes = vec!["audit.export".to_owned()];
    assert!(matches!(keys::create(&t.core, &developer, escalating).await, Err(ServiceError::Forbidden(_))));
    assert!(keys::revoke(&t.core, &developer, mine.id).await.is_ok(), "their own key, they may revoke");
}

/// What a key calling the management API does to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyChange {
    Rescope,
    Rotate,
    Revoke,
}

/// Which key it aims at: itself, another key its creator made, or a key someone else made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Itself,
    CreatorsOther,
    SomeoneElses,
}

const KEY_CHANGES: [KeyChange; 3] = [KeyChange::Rescope, KeyChange::Rotate, KeyChange::Revoke];
const TARGETS: [Target; 3] = [Target::Itself, Target::CreatorsOther, Target::SomeoneElses];

/// The calling key holds every management scope; it is bounded by its creator's role. A viewer's row
/// is a key made while its creator had a larger role (demoted since). Written out by hand.
const KEY_MATRIX: [(Role, [[bool; 3]; 3]); 4] = [
    //                 itself: rescope rotate revoke | creator's other        | someone else's
    (Role::Owner, [[true, true, true], [true, true, true], [true, true, true]]),
    (Role::Admin, [[true, true, true], [true, true, true], [true, true, true]]),
    (Role::Developer, [[true, true, true], [true, true, true], [false, false, false]]),
    (Role::Viewer, [[false, false, false], [false, false, false], [false, false, false]]),
];

/// A key created by `owner`, then recorded as `creator`'s (a viewer cannot create one; an admin's
/// key may hold what a since-demoted developer could not grant).
async fn key_made_by(t: &TestDb, owner: &Member, creator: Uuid, name: &str, scopes: Vec<String>) -> (Uuid, String) {
    let project = default_project(&t.db, owner).await;
    let mut input = new_key(name, &project);
    input.scopes = scopes;
    let created = keys::create(&t.core, owner, input).await.expect("created");
    let mut row =
        api_key::Entity::find_by_id(created.key.id).one(&t.db).await.expect("query").expect("row").into_active_model();
    row.created_by = Set(creator);
    row.update(&t.db).await.expect("recorded as the creator's");
    (created.key.id, created.token)
}

#[tokio::test]
async fn a_key_changes_only_what_its_creator_may_change() {
    use app::model::ScopePreset;
    use app::ssr::services::verification;
    for (role, allowed) in KEY_MATRIX {
        let t = fresh_db().await;
        let owner = organization(&t.db, "Acme", "ada@acme.test").await;
        organizations::change_plan(&t.core, &owner, Plan::Enterprise).await.expect("upgraded");
        let creator = match role {
            Role::Owner => owner.clone(),
            _ => member(&t.db, &owner, role, "Grace").await,
        };
        let someone_else =
            if role == Role::Owner { member(&t.db, &owner, Role::Admin, "Heidi").await.user_id } else { owner.user_id };
        let full = ScopePreset::Organization.scopes().to_strings();
        let (caller_id, token) = key_made_by(&t, &owner, creator.user_id, "caller", full).await;
        let (caller, _) =
            verification::authenticate(&t.core, Some(&token), None, chrono::Utc::now()).await.expect("caller");
        let read = vec!["api_keys.read".to_owned()];
        let creators = key_made_by(&t, &owner, creator.user_id, "creator's other", read.clone()).await.0;
        let someone_elses = key_made_by(&t, &owner, someone_else, "someone else's", read).await.0;

        for (target, allowed) in TARGETS.into_iter().zip(allowed) {
            let id = match target {
                Target::Itself => caller_id,
                Target::CreatorsOther => creators,
                Target::SomeoneElses => someone_elses,
            };
            for (change, expected) in KEY_CHANGES.into_iter().zip(allowed) {
                let before = api_key::Entity::find_by_id(id).one(&t.db).await.expect("query");
                let result = match change {
                    KeyChange::Rescope => {
                        keys::update_scopes(&t.core, &caller, id, &["api_keys.read".to_owned()]).await.map(drop)
                    }
                    KeyChange::Rotate => keys::rotate(&t.core, &caller, id, RotationGrace::None).await.map(drop),
                    KeyChange::Revoke => keys::revoke(&t.core, &caller, id).await.map(drop),
                };
                match (expected, &result) {
                    (true, Ok(())) => {}
                    (false, Err(ServiceError::Forbidden(_) | ServiceError::MissingScope(_))) => {
                        let after = api_key::Entity::find_by_id(id).one(&t.db).await.expect("query");
                        assert_eq!(after, before, "{role:?} {target:?} {change:?}: refused, yet the key changed");
                    }
                    _ => panic!(
                        "a key made by a {role:?}, {change:?} on {target:?}: expected {}, got {result:?}",
                        if expected { "allowed" } else { "refused" }
                    ),
                }
            }
        }
    }
}

/// Names that were custom scopes before the catalogue reserved them are taken from the keys and
/// the projects that held them when the database is upgraded: no key gains Keyward's power by them.
#[tokio::test]
async fn an_upgrade_takes_newly_reserved_names_from_keys_that_held_them_as_custom_scopes() {
    use app::ssr::entities::project_scope;
    use app::ssr::migration::Migrator;
    use sea_orm_migration::MigratorTrait;

    let dir = tempfile::tempdir().expect("temporary folder");
    let url = app::ssr::test_support::fresh_database_url(dir.path()).await;
    let db = app::ssr::db::connect(&url).await.expect("database");
    // The schema as it was before: the migration that reserves the names not yet run.
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == "m20261128_000021_reserved_scopes")
        .expect("the migration that reserves the names");
    Migrator::up(&db, Some(before as u32)).await.expect("the migrations before it");
    let core = app::ssr::Core::new(db.clone());
    let owner = app::ssr::test_support::organization(&db, "Acme", "ada@acme.test").await;
    let project = app::ssr::test_support::default_project(&db, &owner).await;
    let held = app::ssr::test_support::scopes(&["billing.manage", "invoices.read", "members.remove"]);
    let key = keys::create(&core, &owner, app::ssr::test_support::scoped_key("customer", &project, held))
        .await
        .expect("a key of the time");
    project_scope::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        project_id: Set(project.id),
        name: Set("billing.manage".into()),
        description: Set("Our customers' billing".into()),
        created_at: Set(chrono::Utc::now()),
    }
    .insert(&db)
    .await
    .expect("a custom scope of the time");

    Migrator::up(&db, None).await.expect("the upgrade");
    let stored = api_key::Entity::find_by_id(key.key.id).one(&db).await.expect("query").expect("the key");
    assert_eq!(stored.scopes, "invoices.read");
    let defined: Vec<String> =
        project_scope::Entity::find().all(&db).await.expect("query").into_iter().map(|s| s.name).collect();
    assert_eq!(defined, ["invoices.read"], "the project's own scopes stay, the reserved name goes");
}
