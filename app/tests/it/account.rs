//! A person's own account: several organizations and the switch between them, sessions listed and
//! ended, a password change that signs out the other sessions, and sign-in limited per account and
//! per address. Against a real database.

use app::model::{PasswordChange, Role};
use app::ssr::ServiceError;
use app::ssr::services::{Client, Member, account, auth, keys, members};
use app::ssr::test_support::{default_project, fresh_db, new_key, organization, page};
use app::ssr::throttle::{SignInLimits, SignInThrottle, quota};
use std::net::IpAddr;
use std::time::Duration;

const PASSWORD: &str = "correct horse battery";

fn from(ip: [u8; 4], user_agent: &str) -> Client {
    Client { ip: Some(IpAddr::from(ip)), user_agent: Some(user_agent.to_owned()) }
}

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0";
const CHROME_MAC: &str =
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

fn signed_out(result: Result<Member, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::Unauthenticated))
}

#[tokio::test]
async fn a_person_in_two_organizations_switches_and_sees_only_the_current_ones_keys() {
    let t = fresh_db().await;
    let ada = organization(&t.db, "Acme", "ada@acme.test").await;
    let gus = organization(&t.db, "Globex", "gus@globex.test").await;
    let acme_key =
        keys::create(&t.core, &ada, new_key("acme key", &default_project(&t.db, &ada).await)).await.expect("key");
    let globex_key =
        keys::create(&t.core, &gus, new_key("globex key", &default_project(&t.db, &gus).await)).await.expect("key");
    // Ada joins Globex as a developer, with the account she has.
    let invitation = members::invite(&t.db, &gus, "ada@acme.test", Role::Developer).await.expect("invited");
    members::accept(&t.core, &invitation.token, "", PASSWORD, &Client::default()).await.expect("joined");

    let choices = account::organizations(&t.db, &ada).await.expect("organizations");
    let names: Vec<(&str, Role)> = choices.iter().map(|o| (o.name.as_str(), o.role)).collect();
    assert_eq!(names, [("Acme", Role::Owner), ("Globex", Role::Developer)]);

    // Ada's Acme session moves to Globex: the same session now works there, with her role there.
    let session = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("signed in");
    let in_acme = auth::authenticate(&t.core, &session.token).await.expect("member");
    assert_eq!(in_acme.organization_id, ada.organization_id, "sign-in opens the first organization");
    account::switch_organization(&t.db, &in_acme, gus.organization_id).await.expect("switched");
    let in_globex = auth::authenticate(&t.core, &session.token).await.expect("member");
    assert_eq!((in_globex.organization_id, in_globex.role), (gus.organization_id, Role::Developer));
    let listed: Vec<_> = page(&t.core, &in_globex).await.into_iter().map(|k| k.id).collect();
    assert_eq!(listed, [globex_key.key.id], "only Globex's keys");
    assert!(matches!(keys::details(&t.core, &in_globex, acme_key.key.id).await, Err(ServiceError::NotFound(_))));

    // Not a member (or no such organization): not found, and the session stays put.
    let initech = organization(&t.db, "Initech", "bill@initech.test").await;
    for elsewhere in [initech.organization_id, uuid::Uuid::now_v7()] {
        let refused = account::switch_organization(&t.db, &in_globex, elsewhere).await;
        assert!(matches!(refused, Err(ServiceError::NotFound("organization"))), "{refused:?}");
    }
    assert_eq!(auth::authenticate(&t.core, &session.token).await.expect("member").organization_id, gus.organization_id);

    // Suspended in Globex: it is no longer offered, and switching to it is refused.
    members::set_suspended(&t.core, &gus, ada.user_id, true).await.expect("suspended");
    let choices = account::organizations(&t.db, &ada).await.expect("organizations");
    assert_eq!(choices.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["Acme"]);
    assert!(matches!(
        account::switch_organization(&t.db, &ada, gus.organization_id).await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn sessions_are_listed_by_device_and_ended_one_by_one_or_all_at_once() {
    let t = fresh_db().await;
    let ada = organization(&t.db, "Acme", "ada@acme.test").await;
    let laptop = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &from([192, 0, 2, 1], FIREFOX)).await.expect("in");
    let phone = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &from([192, 0, 2, 2], CHROME_MAC)).await.expect("in");
    let here = auth::authenticate(&t.core, &laptop.token).await.expect("member");

    let sessions = account::sessions(&t.db, &here).await.expect("sessions");
    assert_eq!(sessions.len(), 3, "organization setup, laptop, phone: {sessions:?}");
    assert!(sessions.iter().any(|s| s.id == ada.session_id && s.device == "Unknown device"));
    assert!(sessions[0].current && sessions[0].id == laptop.id, "the current session comes first: {sessions:?}");
    assert_eq!((sessions[0].device.as_str(), sessions[0].ip.as_deref()), ("Firefox on Linux", Some("192.0.2.1")));
    assert!(sessions.iter().any(|s| s.id == phone.id && s.device == "Chrome on macOS" && !s.current));

    // Someone else's session cannot be ended from here, whatever its id.
    let gus = organization(&t.db, "Globex", "gus@globex.test").await;
    let refused = account::end_session(&t.db, &here, gus.session_id).await;
    assert!(matches!(refused, Err(ServiceError::NotFound("session"))), "{refused:?}");
    assert!(
        account::sessions(&t.db, &gus).await.expect("sessions").iter().any(|s| s.id == gus.session_id),
        "still there"
    );
    assert!(matches!(account::end_session(&t.db, &here, here.session_id).await, Err(ServiceError::Conflict(_))));

    account::end_session(&t.db, &here, phone.id).await.expect("phone signed out");
    assert!(signed_out(auth::authenticate(&t.core, &phone.token).await), "the next request of the phone is signed out");
    auth::authenticate(&t.core, &laptop.token).await.expect("the laptop stays signed in");

    let ended = account::end_other_sessions(&t.db, &here).await.expect("signed out everywhere else");
    assert_eq!(ended, 1, "the session the organization was set up with");
    let left = account::sessions(&t.db, &here).await.expect("sessions");
    assert_eq!(left.iter().map(|s| s.id).collect::<Vec<_>>(), [laptop.id]);
}

#[tokio::test]
async fn a_new_password_signs_out_every_other_session_and_the_old_one_stops_working() {
    let t = fresh_db().await;
    organization(&t.db, "Acme", "ada@acme.test").await;
    let here = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("in");
    let elsewhere = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("in");
    let member = auth::authenticate(&t.core, &here.token).await.expect("member");
    let change =
        |current: &str, new: &str| PasswordChange { current_password: current.into(), new_password: new.into() };
    let field = |result: Result<account::PasswordChanged, ServiceError>| match result {
        Err(ServiceError::Invalid(e)) => e.first().field.clone(),
        other => panic!("expected a refusal naming a field, got {other:?}"),
    };

    assert_eq!(
        field(
            account::change_password(
                &t.core,
                &member,
                change("not it at all", "a brand new password"),
                &Client::default()
            )
            .await
        ),
        "current_password"
    );
    assert_eq!(
        field(account::change_password(&t.core, &member, change(PASSWORD, "short"), &Client::default()).await),
        "new_password"
    );
    assert_eq!(
        field(account::change_password(&t.core, &member, change(PASSWORD, PASSWORD), &Client::default()).await),
        "new_password"
    );
    auth::authenticate(&t.core, &elsewhere.token).await.expect("a refused change ends nothing");

    let changed =
        account::change_password(&t.core, &member, change(PASSWORD, "a brand new password"), &Client::default())
            .await
            .expect("changed");
    assert_eq!(changed.sessions_ended, 2, "the setup session and the other sign-in");
    assert!(signed_out(auth::authenticate(&t.core, &elsewhere.token).await));
    // This session goes on, under a new token: the old one (which someone may have seen) stops.
    assert!(signed_out(auth::authenticate(&t.core, &here.token).await), "the old token still works");
    let renewed = auth::authenticate(&t.core, &changed.session.token).await.expect("this session stays");
    assert_eq!(renewed.session_id, member.session_id);
    let old = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &Client::default()).await;
    assert!(matches!(old, Err(ServiceError::InvalidCredentials)), "{old:?}");
    auth::sign_in(&t.core, "ada@acme.test", "a brand new password", &Client::default())
        .await
        .expect("the new one works");
}

#[tokio::test]
async fn sign_in_is_limited_per_account_and_per_address() {
    let mut t = fresh_db().await;
    t.core.sign_in = SignInThrottle::new(SignInLimits {
        failures_per_account: 3,
        lockout: Duration::from_secs(600),
        per_address: quota(8, Duration::from_secs(600)),
    });
    organization(&t.db, "Acme", "ada@acme.test").await;
    organization(&t.db, "Globex", "gus@globex.test").await;
    let office = from([198, 51, 100, 7], FIREFOX);

    // Right passwords do not add up: signing in often is not guessing.
    for _ in 0..2 {
        auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &office).await.expect("signed in");
    }
    for _ in 0..3 {
        let wrong = auth::sign_in(&t.core, "ada@acme.test", "a wrong guess", &office).await;
        assert!(matches!(wrong, Err(ServiceError::InvalidCredentials)), "{wrong:?}");
    }
    // The right password now waits too: guessing stops paying off, whoever guesses.
    let home = from([203, 0, 113, 9], FIREFOX);
    match auth::sign_in(&t.core, " ADA@acme.test ", PASSWORD, &home).await {
        Err(ServiceError::TooManyAttempts { retry_after_secs }) => assert!((1..=600).contains(&retry_after_secs)),
        other => panic!("expected TooManyAttempts, got {other:?}"),
    }
    // Another account from the same address still signs in, until the address has had its share.
    auth::sign_in(&t.core, "gus@globex.test", PASSWORD, &office).await.expect("Gus signs in");
    for n in 0..2 {
        let guess = auth::sign_in(&t.core, &format!("nobody{n}@acme.test"), PASSWORD, &office).await;
        assert!(matches!(guess, Err(ServiceError::InvalidCredentials)), "{guess:?}");
    }
    let flooded = auth::sign_in(&t.core, "gus@globex.test", PASSWORD, &office).await;
    assert!(matches!(flooded, Err(ServiceError::TooManyAttempts { .. })), "{flooded:?}");
    auth::sign_in(&t.core, "gus@globex.test", PASSWORD, &home).await.expect("from another address");
}

#[tokio::test]
async fn a_signed_in_person_founds_another_organization_and_works_in_it() {
    let t = fresh_db().await;
    let ada = organization(&t.db, "Acme", "ada@acme.test").await;
    let refused = account::create_organization(&t.db, &ada, "   ").await;
    assert!(matches!(&refused, Err(ServiceError::Invalid(e)) if e.first().field == "name"), "{refused:?}");

    let session = auth::sign_in(&t.core, "ada@acme.test", PASSWORD, &Client::default()).await.expect("in");
    let here = auth::authenticate(&t.core, &session.token).await.expect("member");
    let lab = account::create_organization(&t.db, &here, " Ada's Lab ").await.expect("created");
    assert_eq!((lab.name.as_str(), lab.role), ("Ada's Lab", Role::Owner));
    let now = auth::authenticate(&t.core, &session.token).await.expect("member");
    assert_eq!((now.organization_id, now.role, now.plan), (lab.id, Role::Owner, app::model::Plan::Free));
    assert_eq!(default_project(&t.db, &now).await.name, "Default");
    assert!(page(&t.core, &now).await.is_empty(), "a new organization has no keys");
    let names: Vec<String> =
        account::organizations(&t.db, &now).await.expect("list").into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["Acme", "Ada's Lab"]);
}
