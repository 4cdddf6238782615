//! Webhooks: the endpoints an organization registers, the outbox that every audited change writes
//! to in its own transaction, and what the delivery worker claims and records. Owners and admins
//! (and keys holding `webhooks.manage` for them) manage endpoints: an endpoint receives the whole
//! organization's events, which is the organization's setting to make.

use super::Actor;
use super::audit::{self, Change};
use crate::model::{
    AllValid, AuditAction, DeliveryPage, DeliveryStatus, EndpointOverview, EndpointWithSecret, FieldError,
    MAX_WEBHOOK_ENDPOINTS, MAX_WEBHOOK_URL_CHARS, ManagementScope, WebhookDelivery, WebhookEndpoint, WebhookEvent,
    page_and_size, webhook_events,
};
use crate::ssr::db::begin_write;
use crate::ssr::entities::{server_secret_fingerprint, webhook_delivery, webhook_endpoint};
use crate::ssr::webhook_signing::{ServerSecret, SigningSecret};
use crate::ssr::{Core, ServiceError};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, LockBehavior, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use std::net::IpAddr;
use uuid::Uuid;

/// How webhooks are signed and where they may go: the operator's settings.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Every endpoint's signing secret is derived from it.
    pub secret: ServerSecret,
    /// Deliver to loopback, private and link-local addresses too (`KEYWARD_WEBHOOK_ALLOW_PRIVATE`):
    /// for tests and for receivers on the operator's own network. Off, such addresses are refused
    /// at registration and again at every delivery.
    pub allow_private: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self { secret: ServerSecret::random(), allow_private: false }
    }
}

/// How long deliveries are tried: after that, a delivery not accepted is marked failed.
pub const DELIVERY_WINDOW: Duration = Duration::hours(24);
/// How long a worker holds the deliveries it took before another may take them (a worker that
/// died mid-send): longer than a batch's sends, which time out after 10 s each, run together.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);
/// After a rotation, deliveries carry the previous secret's signature too for this long, so that
/// receivers can change secrets without dropping events.
pub const PREVIOUS_SECRET_KEPT: Duration = Duration::hours(24);

/// Records the server's secret key's fingerprint on first use, and refuses a key other than the
/// one recorded: an instance with another key would sign with secrets no receiver knows.
pub async fn adopt_server_secret(db: &impl ConnectionTrait, secret: &ServerSecret) -> Result<(), ServiceError> {
    let fingerprint = secret.fingerprint();
    let first = server_secret_fingerprint::ActiveModel {
        id: Set(server_secret_fingerprint::THE_KEY),
        fingerprint: Set(fingerprint.clone()),
        created_at: Set(Utc::now()),
    };
    // Two instances starting at once both try; the first one's row stays.
    server_secret_fingerprint::Entity::insert(first)
        .on_conflict(OnConflict::column(server_secret_fingerprint::Column::Id).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    let stored = server_secret_fingerprint::Entity::find_by_id(server_secret_fingerprint::THE_KEY).one(db).await?;
    match stored {
        Some(row) if row.fingerprint == fingerprint => Ok(()),
        _ => Err(ServiceError::Conflict(
            "This database was first used with another secret key (KEYWARD_SECRET_KEY or its file): every instance \
             must use the same one, or webhook signatures would not match."
                .into(),
        )),
    }
}

/// The organization's endpoints, oldest first.
pub async fn list(core: &Core, actor: &dyn Actor) -> Result<Vec<WebhookEndpoint>, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let rows = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(actor.organization_id()))
        .order_by_asc(webhook_endpoint::Column::CreatedAt)
        .all(&core.db)
        .await?;
    Ok(rows.into_iter().map(view).collect())
}

/// The organization's endpoints, each with its latest deliveries: the webhooks page.
pub async fn overview(core: &Core, actor: &dyn Actor) -> Result<Vec<EndpointOverview>, ServiceError> {
    let endpoints = list(core, actor).await?;
    let mut overview = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let select = webhook_delivery::Entity::find().filter(webhook_delivery::Column::EndpointId.eq(endpoint.id));
        let total_deliveries = select.clone().count(&core.db).await?;
        let recent = select
            .order_by_desc(webhook_delivery::Column::CreatedAt)
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(EndpointOverview::RECENT)
            .all(&core.db)
            .await?;
        overview.push(EndpointOverview {
            endpoint,
            recent: recent.into_iter().map(delivery_view).collect(),
            total_deliveries,
        });
    }
    Ok(overview)
}

pub async fn get(core: &Core, actor: &dyn Actor, id: Uuid) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    Ok(view(find(&core.db, actor, id).await?))
}

/// Registers an endpoint; its signing secret is in the answer, and never again.
pub async fn register(
    core: &Core,
    actor: &dyn Actor,
    url: &str,
    events: &[String],
) -> Result<EndpointWithSecret, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let (url, events) = (endpoint_url(url), webhook_events(events)).all_valid()?;
    check_destination(&url, core.webhooks.allow_private).await?;
    let txn = begin_write(&core.db).await?;
    // Registrations at once must not all read 19 and each add a 20th.
    super::organizations::lock(&txn, actor.organization_id()).await?;
    let registered = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(actor.organization_id()))
        .count(&txn)
        .await?;
    if registered >= MAX_WEBHOOK_ENDPOINTS as u64 {
        return Err(ServiceError::Conflict(format!(
            "An organization can have {MAX_WEBHOOK_ENDPOINTS} webhook endpoints; delete one first."
        )));
    }
    let endpoint = webhook_endpoint::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(actor.organization_id()),
        url: Set(url.to_string()),
        events: Set(stored_events(&events)),
        enabled: Set(true),
        secret_version: Set(1),
        previous_secret_until: Set(None),
        created_by: Set(actor.user_id()),
        created_at: Set(Utc::now()),
    }
    .insert(&txn)
    .await?;
    let change = Change::new(AuditAction::WebhookCreated, "webhook", endpoint.id, endpoint.url.clone())
        .with_after(aspect(&endpoint));
    audit::record(&txn, actor, change).await?;
    txn.commit().await?;
    tracing::info!(endpoint = %endpoint.id, "webhook endpoint registered");
    Ok(with_secret(core, endpoint))
}

/// What an endpoint's owner may change; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

pub async fn change(
    core: &Core,
    actor: &dyn Actor,
    id: Uuid,
    change: EndpointChange,
) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let (url, events) =
        (change.url.as_deref().map(endpoint_url).transpose(), change.events.as_deref().map(webhook_events).transpose())
            .all_valid()?;
    if let Some(url) = &url {
        check_destination(url, core.webhooks.allow_private).await?;
    }
    let txn = begin_write(&core.db).await?;
    let endpoint = find(&txn, actor, id).await?;
    let before = aspect(&endpoint);
    let mut active = endpoint.into_active_model();
    if let Some(url) = url {
        active.url = Set(url.to_string());
    }
    if let Some(events) = events {
        active.events = Set(stored_events(&events));
    }
    if let Some(enabled) = change.enabled {
        active.enabled = Set(enabled);
    }
    let endpoint = active.update(&txn).await?;
    let record = Change::new(AuditAction::WebhookChanged, "webhook", endpoint.id, endpoint.url.clone())
        .from_to(before, aspect(&endpoint));
    audit::record(&txn, actor, record).await?;
    txn.commit().await?;
    Ok(view(endpoint))
}

/// Deletes an endpoint and its deliveries, pending ones included.
pub async fn delete(core: &Core, actor: &dyn Actor, id: Uuid) -> Result<(), ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let txn = begin_write(&core.db).await?;
    let endpoint = find(&txn, actor, id).await?;
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .exec(&txn)
        .await?;
    webhook_endpoint::Entity::delete_by_id(endpoint.id).exec(&txn).await?;
    let record = Change::new(AuditAction::WebhookDeleted, "webhook", endpoint.id, endpoint.url.clone())
        .with_after(json!({ "deleted": true }));
    audit::record(&txn, actor, record).await?;
    txn.commit().await?;
    Ok(())
}

/// A new signing secret, shown in the answer. Deliveries carry the previous secret's signature
/// too for [`PREVIOUS_SECRET_KEPT`], while receivers change over.
pub async fn rotate_secret(core: &Core, actor: &dyn Actor, id: Uuid) -> Result<EndpointWithSecret, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let txn = begin_write(&core.db).await?;
    let endpoint = find(&txn, actor, id).await?;
    let version = endpoint.secret_version.checked_add(1).ok_or_else(|| {
        ServiceError::Conflict("This endpoint's secret cannot be rotated again; register a new endpoint.".into())
    })?;
    let mut active = endpoint.into_active_model();
    active.secret_version = Set(version);
    active.previous_secret_until = Set(Some(Utc::now() + PREVIOUS_SECRET_KEPT));
    let endpoint = active.update(&txn).await?;
    let record = Change::new(AuditAction::WebhookSecretRotated, "webhook", endpoint.id, endpoint.url.clone())
        .with_after(json!({ "secret_version": version }));
    audit::record(&txn, actor, record).await?;
    txn.commit().await?;
    Ok(with_secret(core, endpoint))
}

/// Queues a `webhook.test` event for this endpoint alone; the worker sends it within a second or so.
pub async fn send_test(core: &Core, actor: &dyn Actor, id: Uuid) -> Result<WebhookDelivery, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let endpoint = find(&core.db, actor, id).await?;
    let now = Utc::now();
    let data = json!({ "organization_id": endpoint.organization_id, "endpoint_id": endpoint.id });
    let row = new_delivery(&endpoint, WebhookEvent::WebhookTest, &payload(WebhookEvent::WebhookTest, now, data), now)
        .insert(&core.db)
        .await?;
    Ok(delivery_view(row))
}

/// One page of an endpoint's deliveries, newest first.
pub async fn deliveries(
    core: &Core,
    actor: &dyn Actor,
    id: Uuid,
    page: u32,
    per_page: u32,
) -> Result<DeliveryPage, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let (page, per_page) = page_and_size(page, per_page)?;
    let endpoint = find(&core.db, actor, id).await?;
    let select = webhook_delivery::Entity::find().filter(webhook_delivery::Column::EndpointId.eq(endpoint.id));
    let total = select.clone().count(&core.db).await?;
    let rows = select
        .order_by_desc(webhook_delivery::Column::CreatedAt)
        .order_by_desc(webhook_delivery::Column::Id)
        .offset(u64::from(page - 1) * u64::from(per_page))
        .limit(u64::from(per_page))
        .all(&core.db)
        .await?;
    Ok(DeliveryPage { deliveries: rows.into_iter().map(delivery_view).collect(), total, page, per_page })
}

/// Sends a delivery again (the same `webhook-id` and body), whatever became of it: it is tried at
/// once, and again as any pending delivery while it is within its 24 hours.
pub async fn resend(
    core: &Core,
    actor: &dyn Actor,
    endpoint_id: Uuid,
    delivery_id: Uuid,
) -> Result<WebhookDelivery, ServiceError> {
    actor.require(ManagementScope::WebhooksManage)?;
    let txn = begin_write(&core.db).await?;
    let endpoint = find(&txn, actor, endpoint_id).await?;
    let delivery = webhook_delivery::Entity::find_by_id(delivery_id)
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("delivery"))?;
    let mut active = delivery.into_active_model();
    active.status = Set(DeliveryStatus::Pending.as_str().to_owned());
    active.next_attempt_at = Set(Some(Utc::now()));
    active.locked_until = Set(None);
    let row = active.update(&txn).await?;
    txn.commit().await?;
    Ok(delivery_view(row))
}

/// Writes the event a recorded change raises to the outbox, one delivery per enabled endpoint of
/// the organization that asked for it. Called by [`audit::record`], inside the change's
/// transaction: the change and its deliveries land together, or neither does.
pub(crate) async fn enqueue(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    event: WebhookEvent,
    data: Value,
) -> Result<(), ServiceError> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(db)
        .await?;
    let now = Utc::now();
    let payload = payload(event, now, data);
    let rows: Vec<_> = endpoints
        .iter()
        .filter(|endpoint| subscribed(endpoint, event))
        .map(|endpoint| new_delivery(endpoint, event, &payload, now))
        .collect();
    if !rows.is_empty() {
        webhook_delivery::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// A delivery a worker took, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: Uuid,
    /// The `webhook-id` header.
    pub message_id: String,
    pub url: String,
    pub payload: String,
    /// The current secret, and the previous one while it is kept after a rotation.
    pub secrets: Vec<SigningSecret>,
}

/// Takes up to `limit` pending deliveries that are due, for [`CLAIM_LEASE`]: another worker
/// (another instance) skips them meanwhile. Each row is taken by a conditional update, which only
/// one worker can win; on PostgreSQL the candidates are also read `FOR UPDATE SKIP LOCKED`, so
/// that workers do not queue behind each other's rows.
pub async fn claim_due(core: &Core, now: DateTime<Utc>, limit: u64) -> Result<Vec<DueDelivery>, ServiceError> {
    let due = || {
        webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .filter(unclaimed(now))
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
    };
    // Most rounds find nothing due: they read, and take no lock (SQLite has one writer, which the
    // verification log and credits also need).
    if due()
        .select_only()
        .column(webhook_delivery::Column::Id)
        .limit(1)
        .into_tuple::<Uuid>()
        .one(&core.db)
        .await?
        .is_none()
    {
        return Ok(Vec::new());
    }
    // On SQLite the write lock is taken first: a read that later upgrades would be refused at once
    // when another worker wrote in between.
    let txn = begin_write(&core.db).await?;
    let mut candidates = due().limit(limit);
    if txn.get_database_backend() == DbBackend::Postgres {
        candidates = candidates.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let candidates = candidates.all(&txn).await?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let taken = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::LockedUntil, Expr::value(now + CLAIM_LEASE))
            .filter(webhook_delivery::Column::Id.eq(candidate.id))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending.as_str()))
            .filter(unclaimed(now))
            .exec(&txn)
            .await?;
        if taken.rows_affected == 1 {
            claimed.push(candidate);
        }
    }
    txn.commit().await?;
    let endpoint_ids: Vec<Uuid> = claimed.iter().map(|d| d.endpoint_id).collect();
    let endpoints =
        webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::Id.is_in(endpoint_ids)).all(&core.db).await?;
    let mut due = Vec::with_capacity(claimed.len());
    for delivery in claimed {
        let Some(endpoint) = endpoints.iter().find(|e| e.id == delivery.endpoint_id) else { continue };
        if !endpoint.enabled {
            // Disabled since it was queued: it waits, and is tried again once enabled (or fails
            // when its 24 hours are up).
            record_attempt(core, delivery.id, Attempt::Held, now).await?;
            continue;
        }
        let mut secrets = vec![core.webhooks.secret.endpoint_secret(endpoint.id, endpoint.secret_version)];
        if endpoint.previous_secret_until.is_some_and(|until| until > now) && endpoint.secret_version > 1 {
            secrets.push(core.webhooks.secret.endpoint_secret(endpoint.id, endpoint.secret_version - 1));
        }
        due.push(DueDelivery {
            id: delivery.id,
            message_id: message_id(delivery.id),
            url: endpoint.url.clone(),
            payload: delivery.payload,
            secrets,
        });
    }
    Ok(due)
}

/// No worker holds it: never claimed, or its claim has lapsed.
fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(webhook_delivery::Column::LockedUntil.is_null())
        .add(webhook_delivery::Column::LockedUntil.lte(now))
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered { status: u16 },
    /// Anything else: another status (a redirect included: none is followed), a timeout, a refused
    /// address. `error` is shown on the endpoint's page.
    Failed { status: Option<u16>, error: String },
    /// Not sent: its endpoint is disabled.
    Held,
}

/// Records an attempt and releases the delivery: delivered, or due again after a growing wait
/// with jitter, or failed once [`DELIVERY_WINDOW`] has passed since its event.
pub async fn record_attempt(
    core: &Core,
    delivery: Uuid,
    attempt: Attempt,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let Some(row) = webhook_delivery::Entity::find_by_id(delivery).one(&core.db).await? else {
        return Ok(()); // Its endpoint was deleted meanwhile.
    };
    let attempts = row.attempts.saturating_add(i32::from(attempt != Attempt::Held));
    let created_at = row.created_at;
    let mut active = row.into_active_model();
    active.locked_until = Set(None);
    active.attempts = Set(attempts);
    match attempt {
        Attempt::Delivered { status } => {
            active.status = Set(DeliveryStatus::Delivered.as_str().to_owned());
            active.response_status = Set(Some(i32::from(status)));
            active.last_error = Set(None);
            active.delivered_at = Set(Some(now));
            active.next_attempt_at = Set(None);
        }
        Attempt::Failed { .. } | Attempt::Held => {
            if let Attempt::Failed { status, error } = attempt {
                active.response_status = Set(status.map(i32::from));
                active.last_error = Set(Some(error.chars().take(500).collect()));
            }
            let next = now + retry_wait(u32::try_from(attempts).unwrap_or(u32::MAX), jitter());
            if next > created_at + DELIVERY_WINDOW {
                active.status = Set(DeliveryStatus::Failed.as_str().to_owned());
                active.next_attempt_at = Set(None);
            } else {
                active.next_attempt_at = Set(Some(next));
            }
        }
    }
    active.update(&core.db).await?;
    Ok(())
}

/// The wait after the `attempts`-th failed attempt: 5 s, then four times longer each time, at most
/// 6 hours; `jitter` (0.8 to 1.2) spreads retries so that a recovering receiver is not hit by all
/// of them at once.
pub fn retry_wait(attempts: u32, jitter: f64) -> Duration {
    let base = 5.0 * 4f64.powi(i32::try_from(attempts.saturating_sub(1).min(10)).unwrap_or(10));
    let seconds = base.min(6.0 * 3600.0) * jitter.clamp(0.8, 1.2);
    Duration::milliseconds((seconds * 1000.0) as i64)
}

fn jitter() -> f64 {
    use rand::Rng;
    crate::ssr::crypto::os_random().random_range(0.8..=1.2)
}

/// An endpoint URL: http or https, with a host, no credentials, no fragment.
pub fn endpoint_url(raw: &str) -> Result<url::Url, FieldError> {
    let raw = raw.trim();
    let refuse = |reason: &str| Err(FieldError::new("url", reason));
    if raw.is_empty() {
        return refuse("Enter the URL the events are sent to.");
    }
    if raw.chars().count() > MAX_WEBHOOK_URL_CHARS {
        return refuse("is longer than 2,000 characters");
    }
    let Ok(url) = url::Url::parse(raw) else { return refuse("is not a URL (https://example.com/webhooks)") };
    if !matches!(url.scheme(), "https" | "http") {
        return refuse("must start with https:// (or http://)");
    }
    if url.host().is_none() {
        return refuse("has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("must not hold a user name or password: authenticate the delivery by its signature");
    }
    if url.fragment().is_some() {
        return refuse("must not have a #fragment");
    }
    Ok(url)
}

/// Refuses a URL whose host is, or resolves to, an address that is not public (loopback, private,
/// link-local such as the cloud metadata service, unique-local, unspecified...), unless the
/// operator allows them. The delivery checks again at connect time, so a name that resolves
/// elsewhere later (DNS rebinding) is refused then.
pub async fn check_destination(url: &url::Url, allow_private: bool) -> Result<(), FieldError> {
    if allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => match tokio::net::lookup_host((name, port)).await {
            Ok(found) => found.map(|a| a.ip()).collect(),
            Err(_) => return Err(FieldError::new("url", format!("the host {name} does not resolve"))),
        },
        None => return Err(FieldError::new("url", "has no host")),
    };
    match addresses.iter().find(|ip| !is_public(**ip)) {
        Some(ip) => Err(FieldError::new(
            "url",
            format!(
                "points to {ip}, which is not a public address (loopback, private or link-local addresses are refused)"
            ),
        )),
        None if addresses.is_empty() => Err(FieldError::new("url", "the host does not resolve")),
        None => Ok(()),
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local (the cloud
/// metadata service's 169.254.169.254 among them), shared (carrier NAT), unique-local,
/// unspecified, multicast, broadcast or documentation. An IPv4 address written as IPv6 is judged
/// as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local()
                    || (first == 0x2001 && v6.segments()[1] == 0x0db8)
                    || (first == 0x0064 && v6.segments()[1] == 0xff9b)
                    || first & 0xffc0 == 0xfec0)
            }
        },
    }
}

/// The event's body: Standard Webhooks' `type`, `timestamp` and `data`.
fn payload(event: WebhookEvent, at: DateTime<Utc>, data: Value) -> String {
    json!({ "type": event.as_str(), "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "data": data })
        .to_string()
}

fn new_delivery(
    endpoint: &webhook_endpoint::Model,
    event: WebhookEvent,
    payload: &str,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(endpoint.organization_id),
        endpoint_id: Set(endpoint.id),
        event: Set(event.as_str().to_owned()),
        payload: Set(payload.to_owned()),
        status: Set(DeliveryStatus::Pending.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        locked_until: Set(None),
        response_status: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        delivered_at: Set(None),
    }
}

/// `msg_` and the delivery's id: the `webhook-id` header, and the id the API shows.
pub fn message_id(id: Uuid) -> String {
    format!("msg_{}", id.simple())
}

/// The endpoint, if it is the actor's organization's.
async fn find(db: &impl ConnectionTrait, actor: &dyn Actor, id: Uuid) -> Result<webhook_endpoint::Model, ServiceError> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::OrganizationId.eq(actor.organization_id()))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("webhook endpoint"))
}

fn subscribed(endpoint: &webhook_endpoint::Model, event: WebhookEvent) -> bool {
    endpoint.events.split(' ').any(|name| name == event.as_str())
}

fn stored_events(events: &[WebhookEvent]) -> String {
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(" ")
}

/// What the audit log records of an endpoint (never its secret).
fn aspect(endpoint: &webhook_endpoint::Model) -> Value {
    json!({ "url": endpoint.url, "events": endpoint.events.split(' ').collect::<Vec<_>>(), "enabled": endpoint.enabled })
}

fn with_secret(core: &Core, endpoint: webhook_endpoint::Model) -> EndpointWithSecret {
    let secret = core.webhooks.secret.endpoint_secret(endpoint.id, endpoint.secret_version).to_whsec();
    EndpointWithSecret { endpoint: view(endpoint), secret }
}

fn view(row: webhook_endpoint::Model) -> WebhookEndpoint {
    WebhookEndpoint {
        id: row.id,
        events: row.events.split(' ').filter_map(WebhookEvent::parse).collect(),
        url: row.url,
        enabled: row.enabled,
        created_at: row.created_at,
    }
}

fn delivery_view(row: webhook_delivery::Model) -> WebhookDelivery {
    WebhookDelivery {
        id: message_id(row.id),
        // Written from an event, so always one; a newer version's unknown event reads as a test.
        event: WebhookEvent::parse(&row.event).unwrap_or(WebhookEvent::WebhookTest),
        status: row.status.parse().unwrap_or(DeliveryStatus::Pending),
        attempts: u32::try_from(row.attempts).unwrap_or_default(),
        response_status: row.response_status.and_then(|s| u16::try_from(s).ok()),
        last_error: row.last_error,
        next_attempt_at: row.next_attempt_at,
        created_at: row.created_at,
        delivered_at: row.delivered_at,
    }
}

/// A delivery's id as the API shows it (`msg_…`), back to the row's.
pub fn parse_message_id(raw: &str) -> Option<Uuid> {
    Uuid::try_parse(raw.strip_prefix("msg_").unwrap_or(raw)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(private.parse().expect("address")), "{private} is not public");
        }
        for public in ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().expect("address")), "{public} is public");
        }
    }

    #[test]
    fn endpoint_urls_are_http_with_a_host_and_no_credentials() {
        assert!(endpoint_url("https://hooks.example.com/keyward").is_ok());
        assert!(endpoint_url(" http://203.0.113.7:8080/in ").is_ok());
        for (bad, why) in [
            ("", "Enter"),
            ("hooks.example.com", "not a URL"),
            ("ftp://example.com/", "https://"),
            ("file:///etc/passwd", "https://"),
            ("https://user:pw@example.com/", "password"),
            ("https://example.com/#x", "fragment"),
        ] {
            let error = endpoint_url(bad).expect_err(bad);
            assert_eq!(error.field, "url");
            assert!(error.reason.contains(why), "{bad}: {}", error.reason);
        }
        assert!(endpoint_url(&format!("https://example.com/{}", "a".repeat(2_000))).is_err());
    }

    #[tokio::test]
    async fn private_destinations_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:9/",
            "http://[::1]/",
            "http://169.254.169.254/latest",
            "http://10.0.0.5/",
            "http://localhost:8080/",
        ] {
            let url = endpoint_url(url).expect("a URL");
            let refused = check_destination(&url, false).await.expect_err(url.as_str());
            assert_eq!(refused.field, "url");
            assert!(check_destination(&url, true).await.is_ok());
        }
        let public = endpoint_url("https://203.0.113.7/hooks").expect("a URL");
        assert!(check_destination(&public, false).await.is_err(), "documentation addresses are not public either");
        let public = endpoint_url("https://1.1.1.1/hooks").expect("a URL");
        assert!(check_destination(&public, false).await.is_ok());
    }

    #[test]
    fn retries_wait_longer_each_time_within_bounds() {
        let waits: Vec<i64> = (1..=10).map(|n| retry_wait(n, 1.0).num_seconds()).collect();
        assert_eq!(&waits[..5], &[5, 20, 80, 320, 1280]);
        assert!(waits.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*waits.last().expect("ten"), 6 * 3600, "capped at 6 hours");
        assert_eq!(retry_wait(1, 5.0).num_seconds(), 6, "jitter is bounded");
        // Attempts from a delivery's start: within 24 hours there are about ten.
        let mut at = Duration::zero();
        let mut attempts = 1;
        while at + retry_wait(attempts, 1.0) <= DELIVERY_WINDOW {
            at += retry_wait(attempts, 1.0);
            attempts += 1;
        }
        assert!((8..=12).contains(&attempts), "{attempts} attempts in 24 hours");
    }
}
