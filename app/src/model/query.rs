//! What the keys table asks for (search, filters, sort, page) and what it gets back.
//! The query round-trips through the URL so that a reload or a shared link shows the same view.

use super::{ApiKey, Environment, KeyStatus, Staleness};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const PAGE_SIZES: [u32; 4] = [10, 25, 50, 100];
/// The last page any list serves: far past any real list (100 million rows at 100 a page), and a
/// bound the API's schema can state, so that a page number out of range is refused by name rather
/// than read as an empty page.
pub const MAX_PAGE: u32 = 1_000_000;

/// Page 1 to [`MAX_PAGE`], or the field's refusal.
pub fn page_in_range(page: u32) -> Result<u32, super::FieldError> {
    (1..=MAX_PAGE)
        .contains(&page)
        .then_some(page)
        .ok_or_else(|| super::FieldError::new("page", format!("must be 1 to {MAX_PAGE}")))
}

/// A page number and size as a list's URL or API gives them: page 1 or more, a size offered.
/// Both are checked, so that a caller sees every refusal at once.
pub fn page_and_size(page: u32, per_page: u32) -> Result<(u32, u32), super::FieldErrors> {
    use super::{AllValid, FieldError};
    (
        page_in_range(page),
        PAGE_SIZES
            .contains(&per_page)
            .then_some(per_page)
            .ok_or_else(|| FieldError::new("per_page", "must be 10, 25, 50 or 100")),
    )
        .all_valid()
}
const DEFAULT_PAGE_SIZE: u32 = 25;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum KeySort {
    /// Newest first.
    #[default]
    Created,
    /// Most recently used first; never-used keys last.
    LastUsed,
    /// A to Z.
    Name,
}

impl KeySort {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Created => "Newest",
            Self::LastUsed => "Last used",
            Self::Name => "Name",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KeyQuery {
    /// Matches names (anywhere) and prefixes (from the start), case-insensitively.
    pub search: String,
    pub project: Option<Uuid>,
    pub environment: Option<Environment>,
    pub status: Option<KeyStatus>,
    pub hide_revoked: bool,
    /// Only the keys for this customer or tenant (their `external_id`, exactly).
    pub external_id: Option<String>,
    /// Only active keys unused for that long (or never used).
    pub unused: Option<Staleness>,
    pub sort: KeySort,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for KeyQuery {
    fn default() -> Self {
        Self {
            search: String::new(),
            project: None,
            environment: None,
            status: None,
            hide_revoked: false,
            external_id: None,
            unused: None,
            sort: KeySort::Created,
            page: 1,
            per_page: DEFAULT_PAGE_SIZE,
        }
    }
}

impl KeyQuery {
    pub const MAX_SEARCH_CHARS: usize = 64;

    /// Reads the URL's query parameters; anything unknown or malformed falls back to the default.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let default = Self::default();
        Self {
            // Trimmed again after the cut: a cut that ends on a space would otherwise read back
            // shorter from the URL this query writes, and a reload would show another search.
            search: get("q")
                .map(|q| q.trim().chars().take(Self::MAX_SEARCH_CHARS).collect::<String>().trim_end().to_owned())
                .unwrap_or_default(),
            project: get("project").and_then(|p| p.parse().ok()),
            environment: get("env").and_then(|e| e.parse().ok()),
            status: get("status").and_then(|s| KeyStatus::from_name(&s)),
            hide_revoked: get("hide_revoked").is_some_and(|v| v == "1" || v == "true"),
            external_id: get("external_id").map(|id| id.trim().to_owned()).filter(|id| !id.is_empty()),
            unused: get("unused").and_then(|u| u.parse().ok()),
            sort: get("sort").and_then(|s| KeySort::from_name(&s)).unwrap_or_default(),
            page: get("page")
                .and_then(|p| p.parse().ok())
                .filter(|p| page_in_range(*p).is_ok())
                .unwrap_or(default.page),
            per_page: get("per_page")
                .and_then(|p| p.parse().ok())
                .filter(|p| PAGE_SIZES.contains(p))
                .unwrap_or(default.per_page),
        }
    }

    /// The parameters that differ from the default, for the URL.
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let default = Self::default();
        let mut params = Vec::new();
        if !self.search.is_empty() {
            params.push(("q", self.search.clone()));
        }
        if let Some(project) = self.project {
            params.push(("project", project.to_string()));
        }
        if let Some(env) = self.environment {
            params.push(("env", env.as_str().to_owned()));
        }
        if let Some(status) = self.status {
            params.push(("status", status.as_str().to_owned()));
        }
        if self.hide_revoked {
            params.push(("hide_revoked", "1".to_owned()));
        }
        if let Some(external_id) = &self.external_id {
            params.push(("external_id", external_id.clone()));
        }
        if let Some(unused) = self.unused {
            params.push(("unused", unused.as_str().to_owned()));
        }
        if self.sort != default.sort {
            params.push(("sort", self.sort.as_str().to_owned()));
        }
        if self.page != default.page {
            params.push(("page", self.page.to_string()));
        }
        if self.per_page != default.per_page {
            params.push(("per_page", self.per_page.to_string()));
        }
        params
    }

    /// Refuses a query no page would send, naming the field: a page size not offered, page 0, a
    /// search longer than the box takes or holding control characters. The key service checks it,
    /// so the server function and the REST API refuse alike.
    pub fn validated(&self) -> Result<(), super::FieldError> {
        use super::FieldError;
        page_in_range(self.page)?;
        if !PAGE_SIZES.contains(&self.per_page) {
            return Err(FieldError::new("per_page", "must be 10, 25, 50 or 100"));
        }
        if self.search.chars().count() > Self::MAX_SEARCH_CHARS {
            return Err(FieldError::new("q", format!("must be at most {} characters", Self::MAX_SEARCH_CHARS)));
        }
        super::plain_text("q", &self.search)?;
        match &self.external_id {
            Some(id) => super::external_id(Some(id)).map(drop),
            None => Ok(()),
        }
    }

    /// Rows to skip in the database.
    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

/// One page of keys and the total that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyPage {
    pub keys: Vec<ApiKey>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

impl KeyPage {
    pub fn pages(&self) -> u32 {
        u32::try_from(self.total.div_ceil(u64::from(self.per_page.max(1)))).unwrap_or(u32::MAX).max(1)
    }

    pub fn has_previous(&self) -> bool {
        self.page > 1
    }

    pub fn has_next(&self) -> bool {
        self.page < self.pages()
    }

    /// "26–50 of 130".
    pub fn range_label(&self) -> String {
        if self.keys.is_empty() {
            return format!("0 of {}", super::grouped(self.total));
        }
        let first = u64::from(self.page - 1) * u64::from(self.per_page) + 1;
        let last = first + self.keys.len() as u64 - 1;
        format!("{}–{} of {}", super::grouped(first), super::grouped(last), super::grouped(self.total))
    }
}

/// The figures above the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStats {
    /// Every key ever created in the organization, deleted ones included.
    pub total_created: u64,
    pub active: u64,
    pub live: u64,
    pub max_keys: Option<u32>,
    pub calls_24h: u64,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub last_call: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse(pairs: &[(&str, &str)]) -> KeyQuery {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        KeyQuery::from_params(|k| map.get(k).cloned())
    }

    #[test]
    fn a_query_round_trips_through_url_parameters() {
        let query = KeyQuery {
            search: "ci deploy".into(),
            project: Some(Uuid::nil()),
            environment: Some(Environment::Staging),
            status: Some(KeyStatus::Disabled),
            hide_revoked: true,
            external_id: Some("cus_42 & co".into()),
            unused: Some(crate::model::Staleness::Days90),
            sort: KeySort::Name,
            page: 3,
            per_page: 50,
        };
        let params = query.to_params();
        let map: HashMap<String, String> = params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        assert_eq!(KeyQuery::from_params(|k| map.get(k).cloned()), query);
        assert!(KeyQuery::default().to_params().is_empty());
    }

    #[test]
    fn bad_parameters_fall_back_to_defaults() {
        let query = parse(&[("page", "0"), ("per_page", "7"), ("sort", "random"), ("env", "prod"), ("status", "x")]);
        assert_eq!(query, KeyQuery::default());
        assert_eq!(parse(&[("q", &"x".repeat(100))]).search.len(), KeyQuery::MAX_SEARCH_CHARS);
    }

    #[test]
    fn a_search_cut_at_a_space_reads_back_the_same() {
        // Found writing the URL round-trip property (`model::props`): cut after 64 characters, this
        // search ended in a space, which the next reading of its URL trimmed off.
        let typed = format!("{} deploy", "x".repeat(KeyQuery::MAX_SEARCH_CHARS - 1));
        let read = parse(&[("q", &typed)]);
        assert_eq!(read.search, "x".repeat(KeyQuery::MAX_SEARCH_CHARS - 1));
        let params = read.to_params();
        let written: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(parse(&written), read);
    }

    #[test]
    fn pages_are_counted_and_labelled() {
        let page = KeyPage { keys: Vec::new(), total: 0, page: 1, per_page: 25 };
        assert_eq!((page.pages(), page.has_next(), page.range_label()), (1, false, "0 of 0".to_owned()));
        let query = KeyQuery { page: 3, per_page: 10, ..KeyQuery::default() };
        assert_eq!(query.offset(), 20);
    }
}
