//! Eight management scopes joined the catalogue (members, projects, the organization, the plan).
//! Before, their names were ordinary custom scopes: a key could hold `billing.manage` for a
//! customer's own API, and would now be read as holding Keyward's. Such grants are taken away, from
//! keys and from the projects' lists, so that no key gains a power nobody gave it. A customer's API
//! that checked one of these names sees INSUFFICIENT_SCOPE (it fails closed) until it picks another.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The names this version reserves; written out, as they were then, not read from the catalogue.
pub const NOW_RESERVED: [&str; 8] = [
    "members.invite",
    "members.role_change",
    "members.suspend",
    "members.remove",
    "projects.manage",
    "organization.settings",
    "organization.transfer",
    "billing.manage",
];

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    Scopes,
}

#[derive(DeriveIden)]
enum ProjectScopes {
    Table,
    Name,
}

/// A key's stored scopes (space-separated) without the reserved ones; `None` when none were there.
pub fn without_reserved(stored: &str) -> Option<String> {
    let kept: Vec<&str> = stored.split(' ').filter(|s| !NOW_RESERVED.contains(s)).collect();
    (kept.len() != stored.split(' ').count()).then(|| kept.join(" "))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let mut holding = Condition::any();
        for name in NOW_RESERVED {
            holding = holding.add(Expr::col(ApiKeys::Scopes).like(format!("%{name}%")));
        }
        let select =
            Query::select().columns([ApiKeys::Id, ApiKeys::Scopes]).from(ApiKeys::Table).cond_where(holding).to_owned();
        let rows = db.query_all(&select).await?;
        for row in rows {
            let (id, stored): (uuid::Uuid, String) = (row.try_get("", "id")?, row.try_get("", "scopes")?);
            if let Some(kept) = without_reserved(&stored) {
                let update = Query::update()
                    .table(ApiKeys::Table)
                    .value(ApiKeys::Scopes, kept)
                    .and_where(Expr::col(ApiKeys::Id).eq(id))
                    .to_owned();
                manager.exec_stmt(update).await?;
            }
        }
        let defined = Query::delete()
            .from_table(ProjectScopes::Table)
            .and_where(Expr::col(ProjectScopes::Name).is_in(NOW_RESERVED))
            .to_owned();
        manager.exec_stmt(defined).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // What was taken away is not given back.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_reserved_names_are_taken_away() {
        assert_eq!(without_reserved("billing.manage invoices.read"), Some("invoices.read".to_owned()));
        assert_eq!(without_reserved("members.remove"), Some(String::new()));
        assert_eq!(without_reserved("api_keys.read billing.managed members.read"), None);
        assert_eq!(without_reserved(""), None);
    }
}
