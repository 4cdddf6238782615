//! Expiry reminders by email, where the operator has an SMTP server (`KEYWARD_SMTP_URL`). Which
//! reminders are due, who gets them and what they say is the reminders service's; this sends them.

use app::ssr::Core;
use app::ssr::services::reminders::{self, ReminderEmail};
use chrono::Utc;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// At most this many emails per look: a backlog drains over a few looks.
const EMAILS_PER_LOOK: u64 = 50;

/// How often an instance looks for reminder emails to send: soon after the minute's look announces
/// them (a look that finds none is one query on the notices).
pub const EMAILS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// Sends the reminders' emails every [`EMAILS_EVERY`], in a task of its own (a slow SMTP server
/// holds up no webhook), until `stop` turns true; an email under way is finished first.
pub fn spawn_reminder_emails(core: Core, mailer: Mailer, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    crate::tasks::repeat(EMAILS_EVERY, stop, move || {
        let (core, mailer) = (core.clone(), mailer.clone());
        async move {
            let sent = send_reminders(&core, &mailer).await;
            if sent > 0 {
                tracing::debug!(sent, "expiry reminder emails sent");
            }
        }
    })
}

/// An SMTP server to send reminders through, and where the emails say the dashboard is.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    origin: String,
}

impl Mailer {
    /// `url` as lettre reads it: `smtps://user:password@host:465` (TLS),
    /// `smtp://user:password@host:587?tls=required` (STARTTLS), or `smtp://host:25` (plain, for a
    /// relay on the same machine). Refusals name the setting and never repeat the URL, which may
    /// hold a password.
    pub fn new(url: &str, from: &str, origin: &str) -> Result<Self, String> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("KEYWARD_SMTP_URL is not an SMTP URL: {}", without_url(&e.to_string(), url)))?
            .build();
        let from = from.parse().map_err(|e| format!("KEYWARD_SMTP_FROM is not an email address: {e}"))?;
        Ok(Self { transport, from, origin: origin.trim_end_matches('/').to_owned() })
    }

    async fn send(&self, email: &ReminderEmail) -> Sent {
        let Ok(address) = email.to_address.parse() else { return Sent::Refused("the address is not one SMTP takes") };
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(Some(email.to_name.clone()), address))
            .subject(&email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone());
        let Ok(message) = message else { return Sent::Refused("the message could not be built") };
        match tokio::time::timeout(SEND_WITHIN, self.transport.send(message)).await {
            Ok(Ok(_)) => Sent::Yes,
            // 5xx: the server will not take it, however often it is asked.
            Ok(Err(e)) if e.is_permanent() => Sent::Refused("the SMTP server refused it for good"),
            Ok(Err(e)) => Sent::NotYet(e.status().map(|code| code.to_string())),
            Err(_) => Sent::NotYet(Some("no answer in time".to_owned())),
        }
    }
}

/// What became of one email.
enum Sent {
    Yes,
    /// Never to be sent: recorded done, with the reason in the log.
    Refused(&'static str),
    /// Tried again once its claim lapses; the SMTP reply code, if there was one.
    NotYet(Option<String>),
}

/// A send must end well within the claim on its email, or another instance may take the email
/// over and send it too.
const SEND_WITHIN: std::time::Duration = std::time::Duration::from_secs(90);

/// Sends the reminders whose email is due, each claimed just before it is sent, so that of several
/// instances one sends it. Returns how many went.
pub async fn send_reminders(core: &Core, mailer: &Mailer) -> usize {
    let mut sent = 0;
    for _ in 0..EMAILS_PER_LOOK {
        let email = match reminders::claim_emails(core, &mailer.origin, Utc::now(), 1).await {
            Ok(mut emails) => match emails.pop() {
                Some(email) => email,
                None => break,
            },
            Err(e) => {
                tracing::warn!(error = %e, "looking for reminder emails failed; will retry");
                break;
            }
        };
        // Logged by key id and SMTP reply code only: an SMTP error's text often quotes the address.
        match mailer.send(&email).await {
            Sent::NotYet(code) => {
                tracing::warn!(key = %email.key_id, code, "an expiry reminder email was not sent; will retry");
                continue;
            }
            Sent::Refused(why) => tracing::warn!(key = %email.key_id, why, "an expiry reminder email will not be sent"),
            Sent::Yes => sent += 1,
        }
        if let Err(e) = reminders::email_done(core, &email, Utc::now()).await {
            tracing::warn!(key = %email.key_id, error = %e, "recording a reminder email failed");
        }
    }
    sent
}

/// An error's text without the URL it may quote (with its password).
fn without_url(error: &str, url: &str) -> String {
    if url.is_empty() { error.to_owned() } else { error.replace(url, "…") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_setting_is_named_and_its_password_is_not_repeated() {
        let refused = Mailer::new("http://user:s3cret@mail.example", "keyward@example.com", "http://k").err();
        let refused = refused.expect("refused");
        assert!(refused.starts_with("KEYWARD_SMTP_URL") && !refused.contains("s3cret"), "{refused}");
        let refused = Mailer::new("smtp://mail.example:25", "not an address", "http://k").err().expect("refused");
        assert!(refused.starts_with("KEYWARD_SMTP_FROM"), "{refused}");
        assert!(Mailer::new("smtps://user:pw@mail.example", "Keyward <keyward@example.com>", "http://k").is_ok());
    }
}
