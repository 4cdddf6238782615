//! Expiry reminders by email, where the operator has an SMTP server (`KEYWARD_SMTP_URL`). Which
//! reminders are due, who gets them and what they say is the reminders service's; this sends them.

use app::ssr::Core;
use app::ssr::services::reminders::{self, ReminderEmail};
use chrono::Utc;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// At most this many emails per look (every minute): a backlog drains over a few looks rather than
/// holding the webhook worker that shares the task.
const EMAILS_PER_LOOK: u64 = 50;

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

    async fn send(&self, email: &ReminderEmail) -> Result<(), String> {
        let to = Mailbox::new(Some(email.to_name.clone()), email.to_address.parse().map_err(|e| format!("{e}"))?);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| e.to_string())?;
        self.transport.send(message).await.map(drop).map_err(|e| e.to_string())
    }
}

/// Sends the reminders whose email is due, each claimed first so that of several instances one
/// sends it. Returns how many went.
pub async fn send_reminders(core: &Core, mailer: &Mailer) -> usize {
    let emails = match reminders::claim_emails(core, &mailer.origin, Utc::now(), EMAILS_PER_LOOK).await {
        Ok(emails) => emails,
        Err(e) => {
            tracing::warn!(error = %e, "looking for reminder emails failed; will retry");
            return 0;
        }
    };
    let mut sent = 0;
    for email in emails {
        let outcome = mailer.send(&email).await;
        if let Err(e) = &outcome {
            // The address is the creator's; the key is named by id only.
            tracing::warn!(key = %email.key_id, error = %e, "an expiry reminder email was not sent; will retry");
        }
        sent += usize::from(outcome.is_ok());
        if let Err(e) = reminders::email_settled(core, &email, outcome.is_ok(), Utc::now()).await {
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
