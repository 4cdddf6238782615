//! Projects: created, renamed, archived and restored by owners and admins, each with the custom
//! scopes its API understands; every change audited; another organization's out of reach.

use app::model::{AuditAction, AuditQuery, NewKey, Plan, Role};
use app::ssr::ServiceError;
use app::ssr::services::{audit, keys, organizations, projects};
use app::ssr::test_support::{default_project, fresh_db, member, new_key, organization};

fn field<T: std::fmt::Debug>(result: Result<T, ServiceError>, name: &str) {
    match result {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, name, "{e:?}"),
        other => panic!("expected a refusal naming {name}, got {other:?}"),
    }
}

#[tokio::test]
async fn projects_are_created_renamed_archived_and_restored_and_each_change_is_audited() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    field(projects::create(&t.db, &owner, "  ").await, "name");
    field(projects::create(&t.db, &owner, "default").await, "name");
    let billing = projects::create(&t.db, &owner, " Billing API ").await.expect("created");
    assert_eq!(billing.name, "Billing API");
    let names = |list: Vec<app::model::Project>| list.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(names(projects::list(&t.db, &owner).await.expect("list")), ["Default", "Billing API"]);

    field(projects::rename(&t.core, &owner, billing.id, "DEFAULT").await, "name");
    projects::rename(&t.core, &owner, billing.id, "Payments API").await.expect("renamed");
    keys::create(&t.core, &owner, new_key("payments", &billing)).await.expect("a key in it");

    projects::set_archived(&t.db, &owner, billing.id, true).await.expect("archived");
    assert_eq!(names(projects::list(&t.db, &owner).await.expect("list")), ["Default"], "pickers leave it out");
    let overview = projects::overview(&t.db, &owner).await.expect("overview");
    let archived = overview.last().expect("archived last");
    assert_eq!((archived.name.as_str(), archived.live_keys), ("Payments API", 1));
    assert!(archived.archived_at.is_some());
    field(keys::create(&t.core, &owner, new_key("another", &billing)).await, "project_id");
    assert!(matches!(projects::set_archived(&t.db, &owner, billing.id, true).await, Err(ServiceError::Conflict(_))));
    // The last active project stays.
    let default = default_project(&t.db, &owner).await;
    let last = projects::set_archived(&t.db, &owner, default.id, true).await;
    assert!(matches!(&last, Err(ServiceError::Conflict(m)) if m.contains("at least one active project")), "{last:?}");

    projects::set_archived(&t.db, &owner, billing.id, false).await.expect("restored");
    keys::create(&t.core, &owner, new_key("again", &billing)).await.expect("keys again");

    let log = audit::list(&t.db, &owner, AuditQuery::default()).await.expect("audit");
    let actions: Vec<AuditAction> =
        log.entries.iter().rev().map(|e| e.action).filter(|a| a.as_str().starts_with("project.")).collect();
    assert_eq!(
        actions,
        [
            AuditAction::ProjectCreated,
            AuditAction::ProjectRenamed,
            AuditAction::ProjectArchived,
            AuditAction::ProjectRestored
        ]
    );
    let renamed = log.entries.iter().find(|e| e.action == AuditAction::ProjectRenamed).expect("rename recorded");
    assert_eq!(renamed.before.as_deref(), Some(r#"{"name":"Billing API"}"#));
    assert_eq!(renamed.after.as_deref(), Some(r#"{"name":"Payments API"}"#));
}

#[tokio::test]
async fn a_project_defines_custom_scopes_and_keys_add_theirs_as_they_use_them() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    field(projects::define_scope(&t.db, &owner, project.id, "telemetry", "").await, "scope");
    field(projects::define_scope(&t.db, &owner, project.id, "api_keys.read", "").await, "scope");
    projects::define_scope(&t.db, &owner, project.id, "telemetry.write", "Send telemetry").await.expect("defined");
    projects::define_scope(&t.db, &owner, project.id, "telemetry.write", "Send readings").await.expect("updated");

    let key = keys::create(
        &t.core,
        &owner,
        NewKey { scopes: vec!["orders.read".into(), "api_keys.read".into()], ..new_key("orders", &project) },
    )
    .await
    .expect("created");
    keys::update_scopes(&t.core, &owner, key.key.id, &["orders.read".into(), "orders.write".into()])
        .await
        .expect("edited");

    let defined = |list: Vec<app::model::Project>| {
        list.into_iter()
            .next()
            .expect("Default")
            .scopes
            .into_iter()
            .map(|s| (s.name, s.description))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        defined(projects::list(&t.db, &owner).await.expect("list")),
        [
            ("orders.read".to_owned(), String::new()),
            ("orders.write".to_owned(), String::new()),
            ("telemetry.write".to_owned(), "Send readings".to_owned()),
        ],
        "Keyward's own scopes are not a project's"
    );
    let details = keys::details(&t.core, &owner, key.key.id).await.expect("details");
    assert_eq!(details.project_scopes.len(), 3, "the key's page offers its project's scopes");

    projects::remove_scope(&t.db, &owner, project.id, "orders.write").await.expect("removed");
    assert!(matches!(
        projects::remove_scope(&t.db, &owner, project.id, "orders.write").await,
        Err(ServiceError::NotFound(_))
    ));
    let key = keys::details(&t.core, &owner, key.key.id).await.expect("details").key;
    assert!(key.scopes.contains("orders.write"), "the key keeps what it was given");
}

#[tokio::test]
async fn only_owners_and_admins_change_projects_and_never_another_organizations() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let admin = member(&t.db, &owner, Role::Admin, "Alan").await;
    let developer = member(&t.db, &owner, Role::Developer, "Grace").await;
    projects::create(&t.db, &admin, "Admin's project").await.expect("an admin may");
    let refusals = [
        projects::create(&t.db, &developer, "Mine").await.err(),
        projects::rename(&t.core, &developer, project.id, "Renamed").await.err(),
        projects::set_archived(&t.db, &developer, project.id, true).await.err(),
        projects::define_scope(&t.db, &developer, project.id, "orders.read", "").await.err(),
        projects::remove_scope(&t.db, &developer, project.id, "orders.read").await.err(),
    ];
    for refusal in refusals {
        assert!(matches!(&refusal, Some(ServiceError::Forbidden(_))), "{refusal:?}");
    }
    // Globex's owner guessing Acme's project id finds nothing.
    let globex = organization(&t.db, "Globex", "gus@globex.test").await;
    let attempts = [
        projects::rename(&t.core, &globex, project.id, "Hijacked").await.err(),
        projects::set_archived(&t.db, &globex, project.id, true).await.err(),
        projects::define_scope(&t.db, &globex, project.id, "orders.read", "").await.err(),
        projects::remove_scope(&t.db, &globex, project.id, "orders.read").await.err(),
    ];
    for attempt in attempts {
        assert!(matches!(&attempt, Some(ServiceError::NotFound("project"))), "{attempt:?}");
    }
    assert!(projects::overview(&t.db, &globex).await.expect("overview").iter().all(|p| p.id != project.id));
    assert_eq!(default_project(&t.db, &owner).await.name, "Default");
}

// PostgreSQL runs the two changes truly at once; SQLite one after the other (its write transactions
// begin IMMEDIATE and queue for the lock, instead of answering "database is locked").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_changes_adding_the_same_new_scope_at_once_both_succeed() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let project = default_project(&t.db, &owner).await;
    let a = keys::create(&t.core, &owner, new_key("a", &project)).await.expect("key").key.id;
    let b = keys::create(&t.core, &owner, new_key("b", &project)).await.expect("key").key.id;
    for round in 0..5 {
        let scope = vec![format!("orders{round}.write")];
        let (first, second) = tokio::join!(
            keys::update_scopes(&t.core, &owner, a, &scope),
            keys::update_scopes(&t.core, &owner, b, &scope)
        );
        assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    }
    let listed = projects::list(&t.db, &owner).await.expect("projects").remove(0).scopes;
    assert_eq!(listed.len(), 5, "{listed:?}");
}

/// Many writers at once, of every kind a busy dashboard and API send: none is refused or lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_all_succeed() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    organizations::change_plan(&t.core, &owner, Plan::Enterprise).await.expect("plan");
    let owner = app::ssr::services::Member { plan: Plan::Enterprise, ..owner };
    let project = default_project(&t.db, &owner).await;
    let existing = keys::create(&t.core, &owner, new_key("existing", &project)).await.expect("key").key.id;
    let creations = (0..24).map(|i| {
        let (core, owner, project) = (t.core.clone(), owner.clone(), project.clone());
        tokio::spawn(
            async move { keys::create(&core, &owner, new_key(&format!("key {i}"), &project)).await.map(|_| ()) },
        )
    });
    let edits = (0..8).map(|i| {
        let (core, owner) = (t.core.clone(), owner.clone());
        let scope = vec![format!("orders{i}.write")];
        tokio::spawn(async move { keys::update_scopes(&core, &owner, existing, &scope).await.map(|_| ()) })
    });
    let tasks: Vec<_> = creations.chain(edits).collect();
    for task in tasks {
        task.await.expect("task").expect("every write succeeds");
    }
    let listed = keys::list(&t.core, &owner, &Default::default()).await.expect("list");
    assert_eq!(listed.total, 25);
}
