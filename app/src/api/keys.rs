use crate::model::{
    ApiKey, AppError, BulkDisabled, CreatedKey, Environment, KeyDetails, KeyInsight, KeyPage, KeyQuery, KeyStats,
    NeedsAttention, RotatedKey, UsageHistory, VerificationPage,
};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

/// One page of keys: searched, filtered, sorted and paged in the database.
#[server(input = Json, endpoint = "list_keys")]
pub async fn list_keys(query: KeyQuery) -> Result<KeyPage, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::list(&state.core, &member, &query).await?)
}

#[server(endpoint = "get_key_stats")]
pub async fn get_key_stats() -> Result<KeyStats, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::stats(&state.core, &member).await?)
}

#[server(endpoint = "get_key_details")]
pub async fn get_key_details(id: Uuid) -> Result<KeyDetails, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::details(&state.core, &member, id).await?)
}

/// Calls per hour over the last seven days, for the key's usage chart.
#[server(endpoint = "get_key_usage")]
pub async fn get_key_usage(id: Uuid) -> Result<UsageHistory, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::usage(&state.core, &member, id).await?)
}

/// A page of the key's verifications from the log, newest first: all, or one outcome's (its code).
#[server(endpoint = "get_key_verifications")]
pub async fn get_key_verifications(id: Uuid, outcome: Option<String>, page: u32) -> Result<VerificationPage, AppError> {
    let (state, member) = super::context::member().await?;
    let outcome = crate::model::VerifyCode::filter(outcome.as_deref())?;
    let per_page = crate::model::VerificationPage::PER_PAGE;
    Ok(crate::ssr::services::keys::verifications(&state.core, &member, id, outcome, page.max(1), per_page).await?)
}

/// What the verification log says of the key: still presented after it stopped working, and the
/// scopes its verifications asked for.
#[server(endpoint = "get_key_insight")]
pub async fn get_key_insight(id: Uuid) -> Result<KeyInsight, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::insight::key_insight(&state.core, &member, id).await?)
}

/// The keys page's "Needs attention" panel: keys that no longer work and are still presented,
/// and keys that expire within a week.
#[server(endpoint = "get_needs_attention")]
pub async fn get_needs_attention() -> Result<NeedsAttention, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::insight::needs_attention(&state.core, &member).await?)
}

/// Disables the keys ticked in the table, in one transaction. `key_ids` as the table's boxes send
/// them (`key_ids[3]=…`): none ticked sends none.
#[server(endpoint = "disable_keys")]
pub async fn disable_keys(key_ids: Option<Vec<String>>) -> Result<BulkDisabled, AppError> {
    let (state, member) = super::context::member().await?;
    crate::ssr::services::keys::may_edit(&member)?;
    let ids = crate::model::parse_key_ids(key_ids.iter().flatten().map(String::as_str))?;
    Ok(crate::ssr::services::keys::disable_many(&state.core, &member, &ids).await?)
}

/// Creates a key. The answer holds the full token: the only time it leaves the server.
///
/// The form's fields, as a browser posts them: `scopes` space-separated (the checklist), custom
/// scopes space- or comma-separated, the expiry choice and date, and the rate limit.
#[server(endpoint = "create_key")]
#[allow(clippy::too_many_arguments)]
pub async fn create_key(
    name: String,
    description: Option<String>,
    project_id: Uuid,
    environment: Environment,
    scopes: Option<String>,
    custom_scopes: Option<String>,
    expiration: Option<String>,
    expires_on: Option<String>,
    rate_limit_requests: Option<String>,
    rate_limit_window: Option<String>,
    credits: Option<String>,
    refill: Option<String>,
    refill_amount: Option<String>,
    refill_day: Option<String>,
    decoy: Option<bool>,
) -> Result<CreatedKey, AppError> {
    let (state, member) = super::context::member().await?;
    crate::ssr::services::keys::may_create(&member)?;
    let form = CreateKey {
        name,
        description,
        project_id,
        environment,
        scopes,
        custom_scopes,
        expiration,
        expires_on,
        rate_limit_requests,
        rate_limit_window,
        credits,
        refill,
        refill_amount,
        refill_day,
        decoy,
    };
    Ok(crate::ssr::services::keys::create(&state.core, &member, form.into_new_key()?).await?)
}

#[cfg(feature = "ssr")]
impl CreateKey {
    /// The key the create form describes, or the field that is wrong. Also for the same form
    /// posted without JavaScript (`POST /keys/new`).
    pub fn into_new_key(self) -> Result<crate::model::NewKey, AppError> {
        use crate::model::{AllValid, Credits, Expiration, KeyName, NewKey, RateLimit, ScopeSet, key_description};
        let scopes = split_scopes(self.scopes.as_deref(), self.custom_scopes.as_deref());
        // The form's own fields, and the ones the service checks again, all at once: a person
        // sees every field to fix after one attempt.
        let (.., expiration, rate_limit, credits) = (
            KeyName::parse(&self.name),
            key_description(self.description.as_deref()),
            ScopeSet::parse(scopes.iter().map(String::as_str)),
            Expiration::from_form(self.expiration.as_deref().unwrap_or_default(), self.expires_on.as_deref())
                .and_then(|e| e.expires_at(chrono::Utc::now()).map(|_| e)),
            RateLimit::from_form(
                self.rate_limit_requests.as_deref(),
                self.rate_limit_window.as_deref().unwrap_or_default(),
            ),
            Credits::from_form(
                self.credits.as_deref(),
                self.refill.as_deref(),
                self.refill_amount.as_deref(),
                self.refill_day.as_deref(),
            ),
        )
            .all_valid()?;
        Ok(NewKey {
            name: self.name,
            description: self.description,
            project_id: self.project_id,
            environment: self.environment,
            scopes,
            expiration,
            rate_limit,
            credits,
            ip_allowlist: Vec::new(),
            external_id: None,
            meta: None,
            decoy: self.decoy.unwrap_or(false),
        })
    }
}

#[server(endpoint = "revoke_key")]
pub async fn revoke_key(id: Uuid) -> Result<ApiKey, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::revoke(&state.core, &member, id).await?)
}

#[server(endpoint = "disable_key")]
pub async fn disable_key(id: Uuid) -> Result<ApiKey, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::disable(&state.core, &member, id).await?)
}

#[server(endpoint = "enable_key")]
pub async fn enable_key(id: Uuid) -> Result<ApiKey, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::enable(&state.core, &member, id).await?)
}

#[server(endpoint = "delete_key")]
pub async fn delete_key(id: Uuid) -> Result<(), AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::keys::delete(&state.core, &member, id).await?)
}

/// A new secret for the key; the answer holds it, shown once.
#[server(endpoint = "rotate_key")]
pub async fn rotate_key(id: Uuid, grace: String) -> Result<RotatedKey, AppError> {
    use crate::model::RotationGrace;
    let (state, member) = super::context::member().await?;
    let grace = RotationGrace::from_name(&grace)?;
    Ok(crate::ssr::services::keys::rotate(&state.core, &member, id, grace).await?)
}

#[server(endpoint = "update_key_scopes")]
pub async fn update_key_scopes(
    id: Uuid,
    scopes: Option<String>,
    custom_scopes: Option<String>,
) -> Result<ApiKey, AppError> {
    let (state, member) = super::context::member().await?;
    let scopes = split_scopes(scopes.as_deref(), custom_scopes.as_deref());
    Ok(crate::ssr::services::keys::update_scopes(&state.core, &member, id, &scopes).await?)
}

/// The edit form: a name, a description, `expiration` as the create form has it (or `keep`), the
/// external id and the metadata (JSON text).
#[server(endpoint = "edit_key")]
pub async fn edit_key(
    id: Uuid,
    name: String,
    description: Option<String>,
    expiration: Option<String>,
    expires_on: Option<String>,
    external_id: Option<String>,
    meta: Option<String>,
) -> Result<ApiKey, AppError> {
    use crate::model::{AllValid, Expiration, KeyEdit, KeyName, key_description};
    let (state, member) = super::context::member().await?;
    crate::ssr::services::keys::may_edit(&member)?;
    let expiration = match expiration.as_deref().map(str::trim) {
        None | Some("" | "keep") => Ok(None),
        Some(choice) => Expiration::from_form(choice, expires_on.as_deref()).map(Some),
    };
    // Every field at once (the service checks name and description again).
    let (.., expiration) = (KeyName::parse(&name), key_description(description.as_deref()), expiration).all_valid()?;
    // The form sends every field: a blank description clears it.
    // The form sends every field, and a blank one arrives as none: it clears what was there.
    let edit = KeyEdit {
        name: Some(name),
        description: Some(description),
        expiration,
        external_id: Some(external_id),
        meta: Some(meta),
    };
    Ok(crate::ssr::services::keys::edit(&state.core, &member, id, edit).await?)
}

#[server(endpoint = "update_key_rate_limit")]
pub async fn update_key_rate_limit(
    id: Uuid,
    rate_limit_requests: Option<String>,
    rate_limit_window: Option<String>,
) -> Result<ApiKey, AppError> {
    use crate::model::RateLimit;
    let (state, member) = super::context::member().await?;
    let limit = RateLimit::from_form(rate_limit_requests.as_deref(), rate_limit_window.as_deref().unwrap_or_default())?;
    Ok(crate::ssr::services::keys::update_rate_limit(&state.core, &member, id, limit).await?)
}

/// Sets a key's credits and refill anew; blank credits remove the limit.
#[server(endpoint = "update_key_credits")]
pub async fn update_key_credits(
    id: Uuid,
    credits: Option<String>,
    refill: Option<String>,
    refill_amount: Option<String>,
    refill_day: Option<String>,
) -> Result<ApiKey, AppError> {
    use crate::model::Credits;
    let (state, member) = super::context::member().await?;
    crate::ssr::services::keys::may_edit(&member)?;
    let credits =
        Credits::from_form(credits.as_deref(), refill.as_deref(), refill_amount.as_deref(), refill_day.as_deref())?;
    Ok(crate::ssr::services::keys::update_credits(&state.core, &member, id, credits).await?)
}

/// Replaces the networks a key may be used from: addresses or CIDRs, one per line (or separated by
/// spaces or commas); blank: anywhere.
#[server(endpoint = "update_key_ip_allowlist")]
pub async fn update_key_ip_allowlist(id: Uuid, ip_allowlist: Option<String>) -> Result<ApiKey, AppError> {
    let (state, member) = super::context::member().await?;
    crate::ssr::services::keys::may_edit(&member)?;
    let entries: Vec<String> = ip_allowlist
        .as_deref()
        .unwrap_or_default()
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|entry| !entry.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(crate::ssr::services::keys::update_ip_allowlist(&state.core, &member, id, &entries).await?)
}

/// The checklist's scopes and the typed custom ones, as one list.
#[cfg(feature = "ssr")]
fn split_scopes(checked: Option<&str>, custom: Option<&str>) -> Vec<String> {
    checked
        .into_iter()
        .chain(custom)
        .flat_map(|s| s.split(|c: char| c.is_whitespace() || c == ','))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The newest uses of the organization's decoy keys: the keys page's alert.
#[server(endpoint = "get_decoy_alerts")]
pub async fn get_decoy_alerts() -> Result<Vec<crate::model::DecoyUse>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::decoys::recent(&state.core, &member).await?)
}

/// Every recorded use of one decoy key: its page.
#[server(endpoint = "get_decoy_uses")]
pub async fn get_decoy_uses(id: Uuid) -> Result<Vec<crate::model::DecoyUse>, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::decoys::uses_of(&state.core, &member, id).await?)
}
