//! Sends the webhook outbox. Each instance runs a worker that takes due deliveries (one instance
//! per delivery: see `webhooks::claim_due`), signs them as Standard Webhooks says, and posts them:
//! no redirects followed, 10 seconds at most, at most 64 KB of the answer read, and never to an
//! address that is not public unless the operator allows it, checked when connecting.

use app::ssr::Core;
use app::ssr::services::reminders;
use app::ssr::services::webhooks::{self, Attempt, DueDelivery, is_public};
use chrono::{DateTime, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How long a delivery may take, connection included.
pub const SEND_WITHIN: Duration = Duration::from_secs(10);
/// The most of an answer read: the status is what counts.
pub const ANSWER_BYTES_READ: usize = 64 * 1024;
/// Deliveries taken at once.
const BATCH: u64 = 20;

/// Posts deliveries. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(allow_private: bool) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(SEND_WITHIN)
            .connect_timeout(SEND_WITHIN)
            .user_agent(concat!("Keyward-Webhooks/", env!("CARGO_PKG_VERSION")))
            // A proxy from the environment would connect on our behalf, past the address check.
            .no_proxy()
            .dns_resolver(Arc::new(PublicAddresses { allow_private }))
            .build()?;
        Ok(Self { client, allow_private })
    }

    /// One attempt at one delivery.
    pub async fn send(&self, delivery: &DueDelivery, now: DateTime<Utc>) -> Attempt {
        let failed = |error: String| Attempt::Failed { status: None, error };
        let Ok(url) = reqwest::Url::parse(&delivery.url) else {
            return failed("the endpoint's URL is not valid".into());
        };
        // A name is checked by the resolver below, as it connects; an address in the URL is here.
        if !self.allow_private
            && let Some(ip) = match url.host() {
                Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
                _ => None,
            }
            && !is_public(ip)
        {
            return failed(format!("refused: {ip} is not a public address"));
        }
        let timestamp = now.timestamp();
        let signatures: Vec<String> = delivery
            .secrets
            .iter()
            .map(|secret| secret.sign(&delivery.message_id, timestamp, &delivery.payload))
            .collect();
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &delivery.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signatures.join(" "))
            .body(delivery.payload.clone())
            .send()
            .await;
        match sent {
            Ok(mut response) => {
                let status = response.status();
                let mut read = 0;
                while read < ANSWER_BYTES_READ {
                    match response.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        _ => break,
                    }
                }
                if status.is_success() {
                    Attempt::Delivered { status: status.as_u16() }
                } else {
                    let error = if status.is_redirection() {
                        format!("answered {status}: redirects are not followed")
                    } else {
                        format!("answered {status}")
                    };
                    Attempt::Failed { status: Some(status.as_u16()), error }
                }
            }
            Err(e) if e.is_timeout() => failed(format!("no answer within {} seconds", SEND_WITHIN.as_secs())),
            Err(e) => failed(describe(&e.without_url())),
        }
    }
}

/// The innermost cause in words (the resolver's refusal, "connection refused"...).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    format!("could not deliver: {cause}")
}

/// Resolves a name to its public addresses only (all of them, unless the operator allows private
/// ones), at the moment of connecting: a name that pointed elsewhere when it was registered is
/// judged by where it points now.
struct PublicAddresses {
    allow_private: bool,
}

impl Resolve for PublicAddresses {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> =
                found.iter().copied().filter(|a| allow_private || is_public(a.ip())).collect();
            if usable.is_empty() {
                let reason = if found.is_empty() { "does not resolve" } else { "resolves to no public address" };
                return Err(format!("refused: {host} {reason}").into());
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

/// Takes the deliveries that are due and sends them, a batch at a time, until none is left due
/// (at most ten batches a round). Returns how many were attempted.
pub async fn deliver_due(core: &Core, sender: &Sender) -> usize {
    let mut attempted = 0;
    for _ in 0..10 {
        let due = match webhooks::claim_due(core, Utc::now(), BATCH).await {
            Ok(due) => due,
            Err(e) => {
                tracing::warn!(error = %e, "taking due webhook deliveries failed; will retry");
                return attempted;
            }
        };
        let taken = due.len();
        let mut sends = JoinSet::new();
        for delivery in due {
            let sender = sender.clone();
            sends.spawn(async move {
                let attempt = sender.send(&delivery, Utc::now()).await;
                (delivery, attempt)
            });
        }
        while let Some(done) = sends.join_next().await {
            let Ok((delivery, attempt)) = done else { continue };
            if let Attempt::Failed { error, .. } = &attempt {
                metrics::counter!("keyward_webhook_attempts_failed_total").increment(1);
                tracing::debug!(delivery = %delivery.message_id, error, "webhook delivery attempt failed");
            } else {
                metrics::counter!("keyward_webhook_deliveries_total").increment(1);
            }
            if let Err(e) = webhooks::record_attempt(core, delivery.id, attempt, Utc::now()).await {
                // The claim lapses and the delivery is tried again: a repeat, never a loss.
                tracing::warn!(error = %e, delivery = %delivery.message_id, "recording a webhook attempt failed");
            }
        }
        attempted += taken;
        if (taken as u64) < BATCH {
            break;
        }
    }
    attempted
}

/// How often each instance looks for keys to remind of their expiry.
pub const REMINDERS_EVERY: Duration = Duration::from_secs(60);

/// Sends due deliveries every `every`, and announces keys about to expire (or just expired) every
/// [`REMINDERS_EVERY`], until `stop` turns true; a round under way is finished first, so that
/// nothing is left claimed and unrecorded by a graceful shutdown.
pub fn spawn_delivery(core: Core, sender: Sender, every: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reminded: Option<std::time::Instant> = None;
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if reminded.is_none_or(|at| at.elapsed() >= REMINDERS_EVERY) {
                        reminded = Some(std::time::Instant::now());
                        match reminders::announce_expiries(&core, Utc::now()).await {
                            Ok(0) => {}
                            Ok(announced) => tracing::debug!(announced, "expiry reminders queued"),
                            Err(e) => tracing::warn!(error = %e, "looking for keys about to expire failed; will retry"),
                        }
                    }
                    deliver_due(&core, &sender).await;
                }
                _ = stop.changed() => break,
            }
        }
    })
}
