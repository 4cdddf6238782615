use crate::model::{AppError, AuditPage, AuditQuery};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of the organization's audit log, filtered in the database. (The CSV export is a plain
/// download: `GET /audit/export.csv`, served by the server crate.)
#[server(input = Json, endpoint = "list_audit")]
pub async fn list_audit(query: AuditQuery) -> Result<AuditPage, AppError> {
    let (state, member) = super::context::member().await?;
    Ok(crate::ssr::services::audit::list(&state.core.db, &member, query).await?)
}
