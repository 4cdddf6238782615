//! The audit log: recording a change (inside the change's own transaction) and reading it back.

use super::Actor;
use crate::model::{
    AuditAction, AuditActor, AuditEntry, AuditPage, AuditQuery, ManagementScope, MemberRef, WebhookEvent,
};
use crate::ssr::ServiceError;
use crate::ssr::entities::{audit_event, membership, user};
use chrono::{Days, NaiveTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};
use uuid::Uuid;

/// A change about to be recorded.
#[derive(Debug, Clone)]
pub struct Change {
    pub action: AuditAction,
    pub target_kind: &'static str,
    pub target_id: Option<Uuid>,
    pub target_name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(
        action: AuditAction,
        target_kind: &'static str,
        target_id: Uuid,
        target_name: impl Into<String>,
    ) -> Self {
        Self {
            action,
            target_kind,
            target_id: Some(target_id),
            target_name: target_name.into(),
            before: None,
            after: None,
        }
    }

    /// What changed: the two states, where they matter.
    pub fn from_to(mut self, before: Value, after: Value) -> Self {
        self.before = Some(before);
        self.after = Some(after);
        self
    }

    pub fn with_after(mut self, after: Value) -> Self {
        self.after = Some(after);
        self
    }
}

/// Appends `change` as done by `actor`, and the webhook event it raises, if any, to the outbox.
/// Pass the change's transaction, so that all of it lands or none does.
pub async fn record(db: &impl ConnectionTrait, actor: &dyn Actor, change: Change) -> Result<(), ServiceError> {
    record_by(db, actor.organization_id(), actor.audit_actor(), actor.client_ip(), change).await
}

/// [`record`] for a change nobody in the organization made: a secret scanner's report, say.
pub async fn record_by(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
    who: AuditActor,
    ip: Option<&str>,
    change: Change,
) -> Result<(), ServiceError> {
    if let Some(event) = WebhookEvent::raised_by(change.action) {
        let data = json!({
            "organization_id": organization_id,
            "target": { "kind": change.target_kind, "id": change.target_id, "name": change.target_name },
            "actor": { "user_id": who.user_id, "key_id": who.key_id, "name": who.name },
            "before": change.before,
            "after": change.after,
            "ip": ip,
        });
        super::webhooks::enqueue(db, organization_id, event, data).await?;
    }
    audit_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        organization_id: Set(organization_id),
        actor_user_id: Set(who.user_id),
        actor_key_id: Set(who.key_id),
        actor_name: Set(truncate(&who.name, 200)),
        action: Set(change.action.as_str().to_owned()),
        target_kind: Set(change.target_kind.to_owned()),
        target_id: Set(change.target_id),
        target_name: Set(truncate(&change.target_name, 200)),
        before: Set(change.before.map(|v| v.to_string())),
        after: Set(change.after.map(|v| v.to_string())),
        ip: Set(ip.map(|ip| truncate(ip, 64))),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// One page of the organization's audit log, newest first.
pub async fn list(db: &impl ConnectionTrait, actor: &dyn Actor, query: AuditQuery) -> Result<AuditPage, ServiceError> {
    actor.require(ManagementScope::AuditRead)?;
    let query = query.validated()?;
    let select = audit_event::Entity::find()
        .filter(filter(actor.organization_id(), &query))
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id);
    let total = select.clone().count(db).await?;
    let rows = select.offset(query.offset()).limit(u64::from(query.per_page)).all(db).await?;
    Ok(AuditPage {
        entries: rows.into_iter().filter_map(entry).collect(),
        total,
        page: query.page,
        per_page: query.per_page,
        members: members(db, actor.organization_id()).await?,
    })
}

/// Everything the filters match (newest first, at most [`AuditQuery::MAX_EXPORT_ROWS`]) as CSV.
pub async fn export_csv(
    db: &impl ConnectionTrait,
    actor: &dyn Actor,
    query: AuditQuery,
) -> Result<String, ServiceError> {
    actor.require(ManagementScope::AuditExport)?;
    let query = query.validated()?;
    let rows = audit_event::Entity::find()
        .filter(filter(actor.organization_id(), &query))
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .limit(AuditQuery::MAX_EXPORT_ROWS)
        .all(db)
        .await?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header =
        ["time", "actor", "actor_user_id", "actor_key_id", "action", "target", "target_id", "before", "after", "ip"];
    let internal = |e: csv::Error| ServiceError::Internal(e.into());
    csv.write_record(header).map_err(internal)?;
    for row in rows {
        let optional = |id: Option<Uuid>| id.map(|id| id.to_string()).unwrap_or_default();
        csv.write_record([
            row.created_at.to_rfc3339(),
            cell(&row.actor_name),
            optional(row.actor_user_id),
            optional(row.actor_key_id),
            row.action,
            cell(&format!("{} {}", row.target_kind, row.target_name)),
            optional(row.target_id),
            cell(row.before.as_deref().unwrap_or_default()),
            cell(row.after.as_deref().unwrap_or_default()),
            row.ip.unwrap_or_default(),
        ])
        .map_err(internal)?;
    }
    let bytes = csv.into_inner().map_err(|e| ServiceError::Internal(e.into_error().into()))?;
    String::from_utf8(bytes).map_err(|e| ServiceError::Internal(e.into()))
}

/// A cell a spreadsheet will not run as a formula (names are chosen by people: "=HYPERLINK(...)").
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

fn filter(organization_id: Uuid, query: &AuditQuery) -> Condition {
    let mut condition = Condition::all().add(audit_event::Column::OrganizationId.eq(organization_id));
    if let Some(actor) = query.actor {
        condition = condition.add(audit_event::Column::ActorUserId.eq(actor));
    }
    if let Some(action) = query.action {
        condition = condition.add(audit_event::Column::Action.eq(action.as_str()));
    }
    if let Some(key) = query.key {
        condition = condition.add(audit_event::Column::TargetId.eq(key));
    }
    if let Some(from) = query.from {
        condition = condition.add(audit_event::Column::CreatedAt.gte(from.and_time(NaiveTime::MIN).and_utc()));
    }
    if let Some(next_day) = query.to.and_then(|to| to.checked_add_days(Days::new(1))) {
        condition = condition.add(audit_event::Column::CreatedAt.lt(next_day.and_time(NaiveTime::MIN).and_utc()));
    }
    condition
}

fn entry(row: audit_event::Model) -> Option<AuditEntry> {
    Some(AuditEntry {
        id: row.id,
        at: row.created_at,
        actor: AuditActor { user_id: row.actor_user_id, key_id: row.actor_key_id, name: row.actor_name },
        // An action this version does not know (written by a newer one) is left out, not guessed.
        action: AuditAction::parse(&row.action)?,
        target_kind: row.target_kind,
        target_id: row.target_id,
        target_name: row.target_name,
        change: describe_change(row.before.as_deref(), row.after.as_deref()),
        before: row.before,
        after: row.after,
        ip: row.ip,
    })
}

/// A change's before and after (JSON objects of the fields that matter) as a line per field that
/// differs, in words: "Status: active → disabled", "Scopes: 3 → 5, added billing.read".
pub fn describe_change(before: Option<&str>, after: Option<&str>) -> Vec<String> {
    let fields = |text: Option<&str>| match text.and_then(|t| serde_json::from_str::<Value>(t).ok()) {
        Some(Value::Object(fields)) => fields,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (fields(before), fields(after));
    let names: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (old, new) = (before.get(name), after.get(name));
            let label = crate::model::capitalize(&name.replace('_', " "));
            match (old, new) {
                (Some(old), Some(new)) if old == new => None,
                (Some(Value::Array(old)), Some(Value::Array(new))) => Some(list_change(&label, old, new)),
                (Some(old), Some(new)) => Some(format!("{label}: {} → {}", in_words(old), in_words(new))),
                (None, Some(new)) => Some(format!("{label}: {}", in_words(new))),
                (Some(old), None) => Some(format!("{label}: {} → none", in_words(old))),
                (None, None) => None,
            }
        })
        .collect()
}

fn in_words(value: &Value) -> String {
    match value {
        Value::Null => "none".into(),
        // A moment, as the log's own times read ("2027-02-25 00:27 UTC"), not as stored.
        Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map_or_else(|_| text.clone(), |at| at.to_utc().format("%Y-%m-%d %H:%M UTC").to_string()),
        Value::Bool(yes) => if *yes { "yes" } else { "no" }.into(),
        Value::Number(number) => number.to_string(),
        Value::Array(items) if items.is_empty() => "none".into(),
        Value::Array(items) => items.iter().map(in_words).collect::<Vec<_>>().join(", "),
        Value::Object(_) => value.to_string(),
    }
}

/// "Scopes: 3 → 4, added billing.read, removed audit.read"
fn list_change(label: &str, old: &[Value], new: &[Value]) -> String {
    let only_in = |these: &[Value], those: &[Value]| -> Vec<String> {
        these.iter().filter(|v| !those.contains(v)).map(in_words).collect()
    };
    let mut line = format!("{label}: {} → {}", old.len(), new.len());
    for (verb, items) in [("added", only_in(new, old)), ("removed", only_in(old, new))] {
        if !items.is_empty() {
            line.push_str(&format!(", {verb} {}", items.join(", ")));
        }
    }
    line
}

async fn members(db: &impl ConnectionTrait, organization_id: Uuid) -> Result<Vec<MemberRef>, ServiceError> {
    let ids: Vec<Uuid> = membership::Entity::find()
        .select_only()
        .column(membership::Column::UserId)
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .into_tuple()
        .all(db)
        .await?;
    let mut users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(db).await?;
    users.sort_by_key(|u| u.name.to_lowercase());
    Ok(users.into_iter().map(|u| MemberRef { user_id: u.id, name: u.name }).collect())
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_reads_as_words_a_line_per_field() {
        let status = describe_change(Some(r#"{"status":"active"}"#), Some(r#"{"status":"disabled"}"#));
        assert_eq!(status, ["Status: active → disabled"]);
        let scopes = describe_change(
            Some(r#"{"scopes":["api_keys.read","audit.read","stats.read"]}"#),
            Some(r#"{"scopes":["api_keys.read","billing.read","stats.read","api_keys.verify"]}"#),
        );
        assert_eq!(scopes, ["Scopes: 3 → 4, added billing.read, api_keys.verify, removed audit.read"]);
        let created = describe_change(None, Some(r#"{"environment":"production","expires_at":null,"name":"CI"}"#));
        assert_eq!(created, ["Environment: production", "Expires at: none", "Name: CI"]);
        let expiring = describe_change(None, Some(r#"{"expires_at":"2027-02-25T00:27:24.778467375Z","name":"2027"}"#));
        assert_eq!(expiring, ["Expires at: 2027-02-25 00:27 UTC", "Name: 2027"]);
        let rotated =
            describe_change(Some(r#"{"prefix":"kw_live_a"}"#), Some(r#"{"grace_until":null,"prefix":"kw_live_b"}"#));
        assert_eq!(rotated, ["Grace until: none", "Prefix: kw_live_a → kw_live_b"]);
        assert!(describe_change(Some("not json"), None).is_empty());
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("billing sync"), "billing sync");
    }
}
