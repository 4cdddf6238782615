//! What the verification log tells about keys: keys still presented after they stopped working,
//! scopes a key holds but nobody asks for, keys nobody uses, and a project's traffic.

use super::{FieldError, KeyStatus, VerifyCode};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How long an active key has gone unused, as the keys page filters on it (`unused=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
pub enum Staleness {
    /// Never verified nor used to call the API.
    #[strum(serialize = "never")]
    #[serde(rename = "never")]
    Never,
    /// Not used in the last 30 days (never-used keys older than that included).
    #[strum(serialize = "30d")]
    #[serde(rename = "30d")]
    Days30,
    #[strum(serialize = "60d")]
    #[serde(rename = "60d")]
    Days60,
    #[strum(serialize = "90d")]
    #[serde(rename = "90d")]
    Days90,
}

impl Staleness {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Never => "Never used",
            Self::Days30 => "Unused for 30 days",
            Self::Days60 => "Unused for 60 days",
            Self::Days90 => "Unused for 90 days",
        }
    }

    /// The moment before which a key's last use (or, never used, its creation) makes it stale;
    /// `None` for "never used", which is about use alone.
    pub fn unused_since(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = match self {
            Self::Never => return None,
            Self::Days30 => 30,
            Self::Days60 => 60,
            Self::Days90 => 90,
        };
        Some(now - Duration::days(days))
    }
}

/// Verifications of a key that was refused because it no longer works (revoked, disabled or
/// expired): an integration that was not updated after a rotation, or a leaked copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefusedUse {
    /// How many, within the log's retention.
    pub count: u64,
    pub last_at: DateTime<Utc>,
    /// The caller's address at the last one, when the verification named it.
    pub last_address: Option<String>,
    pub last_outcome: VerifyCode,
}

/// A key that no longer works and is still presented, as the keys page's "Needs attention" panel
/// lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyStillPresented {
    pub key_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub status: KeyStatus,
    pub refused: RefusedUse,
}

/// An active key that expires within a week, as the keys page's "Needs attention" panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyExpiringSoon {
    pub key_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub expires_at: DateTime<Utc>,
}

/// What the keys page's "Needs attention" panel shows: keys still presented after they stopped
/// working, and keys about to stop.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeedsAttention {
    /// The newest uses of decoy keys over the last 30 days: someone holds a copy.
    pub decoys_used: Vec<super::DecoyUse>,
    pub still_presented: Vec<KeyStillPresented>,
    pub expiring: Vec<KeyExpiringSoon>,
}

impl NeedsAttention {
    /// The days ahead within which an expiry needs attention.
    pub const EXPIRING_WITHIN_DAYS: i64 = 7;

    pub fn is_empty(&self) -> bool {
        self.decoys_used.is_empty() && self.still_presented.is_empty() && self.expiring.is_empty()
    }

    /// The folded panel's line: ": 2 keys that no longer work are still presented; 1 expires within 7 days".
    pub fn summary(&self) -> String {
        let presented = match self.still_presented.len() {
            0 => None,
            1 => Some("1 key that no longer works is still presented".to_owned()),
            n => Some(format!("{n} keys that no longer work are still presented")),
        };
        let days = Self::EXPIRING_WITHIN_DAYS;
        let expiring = match (self.expiring.len(), presented.is_some()) {
            (0, _) => None,
            (1, true) => Some(format!("1 expires within {days} days")),
            (1, false) => Some(format!("1 key expires within {days} days")),
            (n, true) => Some(format!("{n} expire within {days} days")),
            (n, false) => Some(format!("{n} keys expire within {days} days")),
        };
        format!(": {}", presented.into_iter().chain(expiring).collect::<Vec<_>>().join("; "))
    }
}

/// A key's custom scopes beside those its verifications asked for, within the log's retention.
/// Management scopes are left out: they serve the key's own API calls, which the verification log
/// does not record, so their use cannot be told from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ScopeUse {
    /// Verifications of the key that were recorded.
    pub verifications: u64,
    /// Held and asked for at least once.
    pub used: Vec<String>,
    /// Held and never asked for.
    pub unused: Vec<String>,
}

impl ScopeUse {
    /// Whether "Narrow to the scopes used" has something to go on and something to remove.
    pub fn can_narrow(&self) -> bool {
        self.verifications > 0 && !self.unused.is_empty()
    }
}

/// What the log says of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct KeyInsight {
    /// The days the log keeps (0: the log is off, and nothing below is known).
    pub log_days: u32,
    /// Refused because the key no longer works; `None` when that never happened.
    pub refused: Option<RefusedUse>,
    pub scopes: ScopeUse,
}

/// What a bulk disable did: the keys it disabled, and those it left because they were not active.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct BulkDisabled {
    pub disabled: Vec<Uuid>,
    /// Revoked, expired or already disabled: unchanged.
    pub skipped: Vec<Uuid>,
}

impl BulkDisabled {
    /// At most this many keys per request.
    pub const MAX_KEYS: usize = 100;

    /// "Disabled 3 keys." / "Disabled 1 key; 2 were not active and were left as they were."
    pub fn summary(&self) -> String {
        let keys = |n: usize| if n == 1 { "1 key".to_owned() } else { format!("{n} keys") };
        match self.skipped.len() {
            0 => format!("Disabled {}.", keys(self.disabled.len())),
            1 => format!("Disabled {}; 1 was not active and was left as it was.", keys(self.disabled.len())),
            n => format!("Disabled {}; {n} were not active and were left as they were.", keys(self.disabled.len())),
        }
    }
}

/// The keys a bulk action names: at least one, at most `BulkDisabled::MAX_KEYS`, each once.
pub fn key_ids(ids: impl IntoIterator<Item = Uuid>) -> Result<Vec<Uuid>, FieldError> {
    let mut unique = Vec::new();
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    match unique.len() {
        0 => Err(FieldError::new("key_ids", "select at least one key")),
        n if n > BulkDisabled::MAX_KEYS => {
            Err(FieldError::new("key_ids", format!("at most {} keys at once", BulkDisabled::MAX_KEYS)))
        }
        _ => Ok(unique),
    }
}

/// The same, as a form sends them (text, blanks left out): an entry that is not a key id is
/// refused by its position and text.
pub fn parse_key_ids<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Vec<Uuid>, FieldError> {
    let ids = raw
        .into_iter()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .enumerate()
        .map(|(i, id)| {
            id.parse::<Uuid>()
                .map_err(|_| FieldError::new("key_ids", format!("entry {} (\"{id}\") is not a key id", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    key_ids(ids)
}

/// The span a project's chart covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
pub enum ChartWindow {
    #[strum(serialize = "24h")]
    #[serde(rename = "24h")]
    Day,
    #[default]
    #[strum(serialize = "7d")]
    #[serde(rename = "7d")]
    Week,
    #[strum(serialize = "30d")]
    #[serde(rename = "30d")]
    Month,
}

impl ChartWindow {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::Day => "last 24 hours",
            Self::Week => "last 7 days",
            Self::Month => "last 30 days",
        }
    }

    /// The chart's bars: how many, and how long each is.
    pub const fn buckets(self) -> (u32, i64) {
        const HOUR: i64 = 3_600_000;
        match self {
            Self::Day => (24, HOUR),
            Self::Week => (28, 6 * HOUR),
            Self::Month => (30, 24 * HOUR),
        }
    }

    /// A window as a URL names it; blank: the default.
    pub fn parse(raw: Option<&str>) -> Result<Self, FieldError> {
        match raw.map(str::trim).filter(|w| !w.is_empty()) {
            None => Ok(Self::default()),
            Some(w) => w.parse().map_err(|_| FieldError::new("window", "must be 24h, 7d or 30d")),
        }
    }
}

/// One bar of a project's chart: its verifications by verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutcomeBucket {
    pub start: DateTime<Utc>,
    /// The verdicts that occurred, in the order of their codes.
    pub outcomes: Vec<OutcomeCount>,
}

impl OutcomeBucket {
    pub fn total(&self) -> u64 {
        self.outcomes.iter().map(|o| o.count).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OutcomeCount {
    pub outcome: VerifyCode,
    pub count: u64,
}

/// A key among a project's most verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopKey {
    pub key_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub verifications: u64,
}

/// A project's verifications over a window, by verdict, and its ten most verified keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProjectTraffic {
    pub project_id: Uuid,
    pub project_name: String,
    pub window: ChartWindow,
    /// Oldest first, every bucket present.
    pub buckets: Vec<OutcomeBucket>,
    pub top_keys: Vec<TopKey>,
}

impl ProjectTraffic {
    pub const TOP_KEYS: u64 = 10;

    /// The window's verifications by verdict, most frequent first.
    pub fn totals(&self) -> Vec<OutcomeCount> {
        let mut totals: Vec<OutcomeCount> = Vec::new();
        for counted in self.buckets.iter().flat_map(|b| b.outcomes.iter()) {
            match totals.iter_mut().find(|t| t.outcome == counted.outcome) {
                Some(total) => total.count += counted.count,
                None => totals.push(*counted),
            }
        }
        totals.sort_by(|a, b| b.count.cmp(&a.count).then(a.outcome.as_str().cmp(b.outcome.as_str())));
        totals
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_attention_line_counts_both_kinds() {
        use super::{KeyExpiringSoon, NeedsAttention};
        let expiring = |n: usize| {
            (0..n)
                .map(|_| KeyExpiringSoon {
                    key_id: uuid::Uuid::nil(),
                    name: "k".into(),
                    prefix: "kw_live_x".into(),
                    expires_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
                })
                .collect()
        };
        let only_expiring = NeedsAttention { expiring: expiring(1), ..Default::default() };
        assert_eq!(only_expiring.summary(), ": 1 key expires within 7 days");
        assert_eq!(
            NeedsAttention { expiring: expiring(3), ..Default::default() }.summary(),
            ": 3 keys expire within 7 days"
        );
        assert!(NeedsAttention::default().is_empty() && !only_expiring.is_empty());
    }

    use super::*;

    #[test]
    fn key_ids_are_refused_by_position_and_text() {
        let good = Uuid::new_v4();
        assert_eq!(parse_key_ids([good.to_string().as_str(), " ", &good.to_string()]), Ok(vec![good]));
        let bad = parse_key_ids([good.to_string().as_str(), "1234"]).unwrap_err();
        assert_eq!((bad.field.as_str(), bad.reason.as_str()), ("key_ids", "entry 2 (\"1234\") is not a key id"));
        assert_eq!(parse_key_ids(["", " "]).unwrap_err().reason, "select at least one key");
        let many: Vec<Uuid> = (0..=BulkDisabled::MAX_KEYS).map(|_| Uuid::new_v4()).collect();
        assert_eq!(key_ids(many.clone()).unwrap_err().reason, "at most 100 keys at once");
        assert_eq!(key_ids(many[..100].to_vec()).map(|ids| ids.len()), Ok(100));
    }

    #[test]
    fn staleness_and_windows_read_as_the_url_writes_them() {
        for s in <Staleness as strum::VariantArray>::VARIANTS {
            assert_eq!(s.as_str().parse::<Staleness>(), Ok(*s));
        }
        let now = Utc::now();
        assert_eq!(Staleness::Never.unused_since(now), None);
        assert_eq!(Staleness::Days60.unused_since(now), Some(now - Duration::days(60)));
        assert_eq!(ChartWindow::parse(None), Ok(ChartWindow::Week));
        assert_eq!(ChartWindow::parse(Some("24h")), Ok(ChartWindow::Day));
        assert_eq!(ChartWindow::parse(Some("1y")).unwrap_err().field, "window");
    }

    #[test]
    fn a_bulk_disable_says_what_it_left() {
        let one = Uuid::new_v4();
        let done = BulkDisabled { disabled: vec![one, one, one], skipped: vec![] };
        assert_eq!(done.summary(), "Disabled 3 keys.");
        let done = BulkDisabled { disabled: vec![one], skipped: vec![one, one] };
        assert_eq!(done.summary(), "Disabled 1 key; 2 were not active and were left as they were.");
    }

    #[test]
    fn totals_add_up_across_buckets_most_frequent_first() {
        let bucket = |counts: Vec<(VerifyCode, u64)>| OutcomeBucket {
            start: Utc::now(),
            outcomes: counts.into_iter().map(|(outcome, count)| OutcomeCount { outcome, count }).collect(),
        };
        let traffic = ProjectTraffic {
            project_id: Uuid::nil(),
            project_name: "p".into(),
            window: ChartWindow::Day,
            buckets: vec![
                bucket(vec![(VerifyCode::Valid, 2), (VerifyCode::Revoked, 5)]),
                bucket(vec![(VerifyCode::Valid, 4)]),
            ],
            top_keys: vec![],
        };
        let totals: Vec<_> = traffic.totals().into_iter().map(|t| (t.outcome, t.count)).collect();
        assert_eq!(totals, vec![(VerifyCode::Valid, 6), (VerifyCode::Revoked, 5)]);
    }
}
