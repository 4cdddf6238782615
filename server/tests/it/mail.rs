//! Expiry reminders by email: a real `keyward` process sends them through a local SMTP sink
//! started by the test, once each, to the key's creator; a send that fails is tried again, and of
//! two instances looking at once one sends.

use crate::cluster::{Instance, acme};
use app::model::Plan;
use app::ssr::entities::{api_key, key_expiry_notice};
use app::ssr::services::reminders::{self, Notice, announce_expiries};
use app::ssr::services::{keys, members};
use app::ssr::test_support::{fresh_database_url, member, scoped_key};
use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One message as the sink received it: its envelope's recipients and its text (headers and body).
#[derive(Debug, Clone)]
struct Received {
    recipients: Vec<String>,
    text: String,
}

/// A local SMTP server that accepts every message and keeps it: enough of RFC 5321 for lettre.
struct SmtpSink {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpSink {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(converse(socket, kept.clone()));
            }
        });
        Self { port, received }
    }

    fn url(&self) -> String {
        // Plain SMTP: loopback, in a test.
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("sink").clone()
    }

    /// Waits up to `within` for `count` messages.
    async fn wait_for(&self, count: usize, within: std::time::Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + within;
        while self.received().len() < count && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.received()
    }
}

async fn converse(socket: tokio::net::TcpStream, kept: Arc<Mutex<Vec<Received>>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-sink\r\n250 8BITMIME\r\n",
            "RCPT" => {
                recipients.push(line.split(['<', '>']).nth(1).unwrap_or_default().to_owned());
                b"250 ok\r\n"
            }
            "DATA" => {
                write.write_all(b"354 go on\r\n").await?;
                let mut text = String::new();
                while let Some(line) = lines.next_line().await? {
                    if line == "." {
                        break;
                    }
                    text.push_str(line.strip_prefix('.').unwrap_or(&line));
                    text.push('\n');
                }
                kept.lock().expect("sink").push(Received { recipients: std::mem::take(&mut recipients), text });
                b"250 kept\r\n"
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => b"250 ok\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// A key of Acme's owner expiring in three days, a key of a removed member expiring as soon, and
/// one expiring next month: a `keyward` process with `KEYWARD_SMTP_URL` emails the owner once,
/// about the first only, with a link to it; started again, it sends nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_about_to_expire_is_emailed_to_its_creator_once() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let expires = |days: i64| async move { Utc::now() + Duration::days(days) };
    let soon =
        keys::create(&org.core, &org.owner, scoped_key("Billing sync", &org.project, vec![])).await.expect("key");
    set_expiry(&org.core, soon.key.id, expires(3).await).await;
    let later = keys::create(&org.core, &org.owner, scoped_key("Later", &org.project, vec![])).await.expect("key");
    set_expiry(&org.core, later.key.id, expires(30).await).await;
    // A member who made a key, then left: no one to email about it.
    let leaver = member(&org.core.db, &org.owner, app::model::Role::Developer, "Lee").await;
    let orphan = keys::create(&org.core, &leaver, scoped_key("Orphan", &org.project, vec![])).await.expect("key");
    set_expiry(&org.core, orphan.key.id, expires(2).await).await;
    members::remove(&org.core, &org.owner, leaver.user_id).await.expect("removed");

    let sink = SmtpSink::start().await;
    let settings = [
        ("KEYWARD_SMTP_URL", sink.url()),
        ("KEYWARD_SMTP_FROM", "Keyward <keyward@acme.test>".to_owned()),
        ("KEYWARD_PUBLIC_URL", "https://keys.acme.test".to_owned()),
    ];
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let instance = Instance::start(&url, &settings).await;
    // Emails are looked for every 10 s: the first look may come just before the announcement.
    let received = sink.wait_for(1, std::time::Duration::from_secs(45)).await;
    assert_eq!(received.len(), 1, "{received:?}");
    let mail = &received[0];
    assert_eq!(mail.recipients, ["ada@acme.test"]);
    assert!(mail.text.contains("From: Keyward <keyward@acme.test>"), "{}", mail.text);
    assert!(mail.text.contains("Subject: API key \"Billing sync\" expires in a week"), "{}", mail.text);
    assert!(mail.text.contains(&format!("https://keys.acme.test/keys/{}", soon.key.id)), "{}", mail.text);
    assert!(!mail.text.contains(&soon.token), "the key's secret is never in an email");
    assert!(instance.stop().success());

    let notices = key_expiry_notice::Entity::find().all(&org.core.db).await.expect("notices");
    assert_eq!(notices.len(), 2, "{notices:?}");
    assert!(notices.iter().all(|n| n.emailed_at.is_some()), "sent, or closed with no one to send to: {notices:?}");
    let again = Instance::start(&url, &settings).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(again.stop().success());
    assert_eq!(sink.received().len(), 1, "nothing is emailed twice");
}

/// Two instances looking at once take each email once; an email whose send failed, or whose
/// instance stopped mid-send, is taken again once its claim lapses, and only the latest claim may
/// record it done.
#[tokio::test]
async fn a_reminder_email_is_claimed_once_and_taken_again_when_its_claim_lapses() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let url = fresh_database_url(dir.path()).await;
    let org = acme(&url, Plan::Enterprise).await;
    let now = Utc::now();
    let key = keys::create(&org.core, &org.owner, scoped_key("Billing sync", &org.project, vec![])).await.expect("key");
    set_expiry(&org.core, key.key.id, now + Duration::hours(20)).await;
    assert_eq!(announce_expiries(&org.core, now).await.expect("looked"), 1);

    let origin = "https://keys.acme.test";
    let (a, b) = tokio::join!(
        reminders::claim_emails(&org.core, origin, now, 10),
        reminders::claim_emails(&org.core, origin, now, 10)
    );
    let claimed: Vec<_> = a.expect("claimed").into_iter().chain(b.expect("claimed")).collect();
    assert_eq!(claimed.len(), 1, "{claimed:?}");
    assert_eq!((claimed[0].notice, claimed[0].to_address.as_str()), (Notice::Day, "ada@acme.test"));
    assert!(claimed[0].subject.contains("expires within a day"), "{}", claimed[0].subject);
    assert!(reminders::claim_emails(&org.core, origin, now, 10).await.expect("looked").is_empty(), "held");

    // The send failed for now (or its instance stopped mid-send): the claim holds a while, then
    // lapses, and another look takes the email again.
    let later = now + reminders::EMAIL_CLAIM_LAPSES + Duration::seconds(1);
    assert!(
        reminders::claim_emails(&org.core, origin, now + Duration::minutes(1), 10).await.expect("looked").is_empty()
    );
    let taken_over = reminders::claim_emails(&org.core, origin, later, 10).await.expect("looked");
    assert_eq!(taken_over.len(), 1);
    assert_eq!(taken_over[0], reminders::ReminderEmail { claimed_at: later, ..claimed[0].clone() });
    // The first claim, lapsed, records nothing: the email is the second's now.
    reminders::email_done(&org.core, &claimed[0], later).await.expect("recorded");
    let notice = key_expiry_notice::Entity::find().one(&org.core.db).await.expect("query").expect("notice");
    assert_eq!(notice.emailed_at, None);
    reminders::email_done(&org.core, &taken_over[0], later).await.expect("recorded");
    assert!(
        reminders::claim_emails(&org.core, origin, later + Duration::hours(1), 10).await.expect("looked").is_empty()
    );

    // A suspended member's key: its reminder is announced, and emailed to no one.
    let suspended = member(&org.core.db, &org.owner, app::model::Role::Developer, "Sam").await;
    let theirs = keys::create(&org.core, &suspended, scoped_key("Sam's", &org.project, vec![])).await.expect("key");
    set_expiry(&org.core, theirs.key.id, now + Duration::days(3)).await;
    members::set_suspended(&org.core, &org.owner, suspended.user_id, true).await.expect("suspended");
    assert_eq!(announce_expiries(&org.core, now).await.expect("looked"), 1);
    // Announced after it, a key of the owner's: a look for one email closes Sam's notice unsent and
    // goes on to the owner's, rather than ending at the notice it closed.
    let owners = keys::create(&org.core, &org.owner, scoped_key("Owner's", &org.project, vec![])).await.expect("key");
    set_expiry(&org.core, owners.key.id, now + Duration::days(4)).await;
    let next = now + Duration::seconds(1);
    assert_eq!(announce_expiries(&org.core, next).await.expect("looked"), 1);
    let one = reminders::claim_emails(&org.core, origin, next, 1).await.expect("looked");
    assert_eq!(one.iter().map(|e| e.key_id).collect::<Vec<_>>(), [owners.key.id]);
    reminders::email_done(&org.core, &one[0], next).await.expect("recorded");
    let closed = key_expiry_notice::Entity::find().all(&org.core.db).await.expect("notices");
    assert!(closed.iter().all(|n| n.emailed_at.is_some()), "{closed:?}");
}

async fn set_expiry(core: &app::ssr::Core, id: uuid::Uuid, at: chrono::DateTime<Utc>) {
    let mut key = api_key::Entity::find_by_id(id).one(&core.db).await.expect("query").expect("key").into_active_model();
    key.expires_at = Set(Some(at));
    key.update(&core.db).await.expect("updated");
}
