//! Members: invitations by one-time link, accepting them, roles, suspension, removal, and the rule
//! that an organization always keeps an owner. Against a real database.

use app::model::{AuditAction, AuditQuery, MemberStatus, Role};
use app::ssr::Core;
use app::ssr::ServiceError;
use app::ssr::entities::invitation;
use app::ssr::services::{Client, Member, audit, auth, members};
use app::ssr::test_support::{fresh_db, organization};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, Set};

const PASSWORD: &str = "a long enough password";

/// Invites `email` as `role` and accepts as a new person; the member as they are then signed in.
async fn join(db: &DatabaseConnection, by: &Member, email: &str, role: Role, name: &str) -> Member {
    let invitation = members::invite(db, by, email, role).await.expect("invited");
    let core = Core::new(db.clone());
    let session =
        members::accept(&core, &invitation.token, name, PASSWORD, &Client::default()).await.expect("accepted");
    auth::authenticate(&core, &session.token).await.expect("signed in")
}

fn field<T: std::fmt::Debug>(result: Result<T, ServiceError>, name: &str) {
    match result {
        Err(ServiceError::Invalid(e)) => assert_eq!(e.first().field, name, "{e:?}"),
        other => panic!("expected a refusal naming {name}, got {other:?}"),
    }
}

#[tokio::test]
async fn an_invitation_link_makes_a_member_once() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let invitation = members::invite(&t.db, &owner, " Grace@Acme.test ", Role::Developer).await.expect("invited");
    assert_eq!(invitation.invitation.email, "grace@acme.test");
    assert_eq!(invitation.path(), format!("/invite/{}", invitation.token));
    let stored =
        invitation::Entity::find_by_id(invitation.invitation.id).one(&t.db).await.expect("query").expect("row");
    assert_ne!(stored.token_digest, invitation.token, "only the digest is stored");

    let preview = members::preview(&t.db, &invitation.token).await.expect("preview");
    assert_eq!(
        (preview.organization.as_str(), preview.role, preview.existing_account),
        ("Acme", Role::Developer, false)
    );
    field(members::accept(&t.core, &invitation.token, "Grace", "short", &Client::default()).await, "password");
    field(members::accept(&t.core, &invitation.token, "  ", PASSWORD, &Client::default()).await, "name");

    let session = members::accept(&t.core, &invitation.token, "Grace Hopper", PASSWORD, &Client::default())
        .await
        .expect("accepted");
    let grace = auth::authenticate(&t.core, &session.token).await.expect("signed in");
    assert_eq!((grace.organization_id, grace.role), (owner.organization_id, Role::Developer));
    assert!(matches!(
        members::accept(&t.core, &invitation.token, "Eve", PASSWORD, &Client::default()).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(members::preview(&t.db, &invitation.token).await, Err(ServiceError::NotFound(_))));
    // Signing in later works with the chosen password.
    auth::sign_in(&t.core, "grace@acme.test", PASSWORD, &Client::default()).await.expect("signs in");

    let list = members::list(&t.db, &owner).await.expect("list");
    assert_eq!(list.members.len(), 2);
    assert!(list.invitations.is_empty(), "accepted invitations are no longer open");
    let listed = list.members.iter().find(|m| m.user_id == grace.user_id).expect("listed");
    assert_eq!((listed.role, listed.status), (Role::Developer, MemberStatus::Active));
    assert!(listed.last_active_at.is_some());

    let log = audit::list(&t.db, &owner, AuditQuery::default()).await.expect("audit");
    let actions: Vec<_> = log.entries.iter().map(|e| e.action).collect();
    assert_eq!(actions, [AuditAction::MemberJoined, AuditAction::MemberInvited]);
    assert_eq!(log.entries[0].actor.user_id, Some(grace.user_id));
}

#[tokio::test]
async fn a_person_with_an_account_joins_with_their_password() {
    let t = fresh_db().await;
    let acme = organization(&t.db, "Acme", "ada@acme.test").await;
    let globex = organization(&t.db, "Globex", "hank@globex.test").await;
    let invitation = members::invite(&t.db, &acme, "hank@globex.test", Role::Viewer).await.expect("invited");
    assert!(members::preview(&t.db, &invitation.token).await.expect("preview").existing_account);
    field(members::accept(&t.core, &invitation.token, "", "not the password", &Client::default()).await, "password");
    let session = members::accept(&t.core, &invitation.token, "", "correct horse battery", &Client::default())
        .await
        .expect("joined");
    let hank = auth::authenticate(&t.core, &session.token).await.expect("signed in");
    assert_eq!((hank.user_id, hank.organization_id, hank.role), (globex.user_id, acme.organization_id, Role::Viewer));
    field(members::invite(&t.db, &acme, "hank@globex.test", Role::Admin).await, "email");
}

#[tokio::test]
async fn nobody_invites_or_promotes_beyond_their_role() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let admin = join(&t.db, &owner, "alan@acme.test", Role::Admin, "Alan").await;
    let developer = join(&t.db, &owner, "grace@acme.test", Role::Developer, "Grace").await;
    field(members::invite(&t.db, &admin, "eve@acme.test", Role::Owner).await, "role");
    assert!(members::invite(&t.db, &admin, "eve@acme.test", Role::Admin).await.is_ok());
    assert!(matches!(
        members::invite(&t.db, &developer, "x@acme.test", Role::Viewer).await,
        Err(ServiceError::Forbidden(_))
    ));
    field(members::change_role(&t.core, &admin, developer.user_id, Role::Owner).await, "role");
    assert!(matches!(
        members::change_role(&t.core, &admin, owner.user_id, Role::Viewer).await,
        Err(ServiceError::Forbidden(_))
    ));
    assert!(matches!(members::remove(&t.core, &developer, admin.user_id).await, Err(ServiceError::Forbidden(_))));
    let promoted = members::change_role(&t.core, &admin, developer.user_id, Role::Admin).await.expect("promoted");
    assert_eq!(promoted.role, Role::Admin);
}

#[tokio::test]
async fn the_last_owner_stays_an_owner() {
    let t = fresh_db().await;
    let ada = organization(&t.db, "Acme", "ada@acme.test").await;
    let bob = join(&t.db, &ada, "bob@acme.test", Role::Admin, "Bob").await;
    // The only owner can neither step down nor leave, and an admin cannot touch an owner.
    for result in [
        members::change_role(&t.core, &ada, ada.user_id, Role::Admin).await.map(drop),
        members::remove(&t.core, &ada, ada.user_id).await.map(drop),
    ] {
        match result {
            Err(ServiceError::Conflict(reason)) => assert!(reason.contains("last owner"), "{reason}"),
            other => panic!("expected the last owner kept, got {other:?}"),
        }
    }
    for result in [
        members::change_role(&t.core, &bob, ada.user_id, Role::Admin).await.map(drop),
        members::set_suspended(&t.core, &bob, ada.user_id, true).await.map(drop),
        members::remove(&t.core, &bob, ada.user_id).await.map(drop),
    ] {
        assert!(matches!(result, Err(ServiceError::Forbidden(_))), "an admin cannot change an owner: {result:?}");
    }
    assert!(matches!(members::set_suspended(&t.core, &ada, ada.user_id, true).await, Err(ServiceError::Conflict(_))));

    // With a second owner, one may step down; a suspended owner does not count as one.
    let cy = join(&t.db, &ada, "cy@acme.test", Role::Owner, "Cy").await;
    members::set_suspended(&t.core, &ada, cy.user_id, true).await.expect("suspended");
    assert!(matches!(
        members::change_role(&t.core, &ada, ada.user_id, Role::Admin).await,
        Err(ServiceError::Conflict(_))
    ));
    members::set_suspended(&t.core, &ada, cy.user_id, false).await.expect("reactivated");
    let stepped_down = members::change_role(&t.core, &ada, ada.user_id, Role::Admin).await.expect("stepped down");
    assert_eq!(stepped_down.role, Role::Admin);
    // Ada's session still says Owner; her role is read afresh, so she can no longer change Cy.
    assert!(matches!(members::remove(&t.core, &ada, cy.user_id).await, Err(ServiceError::Forbidden(_))));
}

#[tokio::test]
async fn suspending_or_removing_a_member_ends_their_sessions() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let invitation = members::invite(&t.db, &owner, "grace@acme.test", Role::Developer).await.expect("invited");
    let session =
        members::accept(&t.core, &invitation.token, "Grace", PASSWORD, &Client::default()).await.expect("accepted");
    let grace = auth::authenticate(&t.core, &session.token).await.expect("signed in");

    let suspended = members::set_suspended(&t.core, &owner, grace.user_id, true).await.expect("suspended");
    assert_eq!(suspended.status, MemberStatus::Suspended);
    assert!(matches!(auth::authenticate(&t.core, &session.token).await, Err(ServiceError::Unauthenticated)));
    assert!(matches!(
        auth::sign_in(&t.core, "grace@acme.test", PASSWORD, &Client::default()).await,
        Err(ServiceError::InvalidCredentials)
    ));

    members::set_suspended(&t.core, &owner, grace.user_id, false).await.expect("reactivated");
    let again = auth::sign_in(&t.core, "grace@acme.test", PASSWORD, &Client::default()).await.expect("signs in again");
    members::remove(&t.core, &owner, grace.user_id).await.expect("removed");
    assert!(matches!(auth::authenticate(&t.core, &again.token).await, Err(ServiceError::Unauthenticated)));
    assert_eq!(members::list(&t.db, &owner).await.expect("list").members.len(), 1);
    let log = audit::list(&t.db, &owner, AuditQuery::default()).await.expect("audit");
    let actions: Vec<_> = log.entries.iter().map(|e| e.action).take(3).collect();
    assert_eq!(actions, [AuditAction::MemberRemoved, AuditAction::MemberReactivated, AuditAction::MemberSuspended]);
}

#[tokio::test]
async fn invitations_expire_and_can_be_withdrawn() {
    let t = fresh_db().await;
    let owner = organization(&t.db, "Acme", "ada@acme.test").await;
    let late = members::invite(&t.db, &owner, "late@acme.test", Role::Viewer).await.expect("invited");
    let mut row = invitation::Entity::find_by_id(late.invitation.id)
        .one(&t.db)
        .await
        .expect("q")
        .expect("row")
        .into_active_model();
    row.expires_at = Set(Utc::now() - Duration::minutes(1));
    row.update(&t.db).await.expect("expired");
    assert!(matches!(
        members::accept(&t.core, &late.token, "Late", PASSWORD, &Client::default()).await,
        Err(ServiceError::NotFound(_))
    ));

    let withdrawn = members::invite(&t.db, &owner, "gone@acme.test", Role::Viewer).await.expect("invited");
    assert_eq!(members::list(&t.db, &owner).await.expect("list").invitations.len(), 1, "the expired one is not listed");
    members::revoke_invitation(&t.db, &owner, withdrawn.invitation.id).await.expect("revoked");
    assert!(matches!(
        members::accept(&t.core, &withdrawn.token, "Gone", PASSWORD, &Client::default()).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(members::list(&t.db, &owner).await.expect("list").invitations.is_empty());
}

#[tokio::test]
async fn no_one_reaches_another_organizations_members() {
    let t = fresh_db().await;
    let acme = organization(&t.db, "Acme", "ada@acme.test").await;
    let globex = organization(&t.db, "Globex", "hank@globex.test").await;
    let grace = join(&t.db, &acme, "grace@acme.test", Role::Developer, "Grace").await;
    let invitation = members::invite(&t.db, &acme, "eve@acme.test", Role::Viewer).await.expect("invited");
    assert!(matches!(
        members::change_role(&t.core, &globex, grace.user_id, Role::Viewer).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        members::set_suspended(&t.core, &globex, grace.user_id, true).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(members::remove(&t.core, &globex, grace.user_id).await, Err(ServiceError::NotFound(_))));
    assert!(matches!(
        members::revoke_invitation(&t.db, &globex, invitation.invitation.id).await,
        Err(ServiceError::NotFound(_))
    ));
    let theirs = members::list(&t.db, &globex).await.expect("list");
    assert_eq!(theirs.members.len(), 1);
    assert!(theirs.invitations.is_empty());
}
