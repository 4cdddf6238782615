//! How much a key is used: what its details page charts.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Calls of one key in one hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourlyUsage {
    /// The start of the hour.
    #[serde(with = "chrono::serde::ts_milliseconds")]
    pub hour: DateTime<Utc>,
    pub valid: u64,
    pub denied: u64,
}

impl HourlyUsage {
    pub fn total(&self) -> u64 {
        self.valid + self.denied
    }
}

/// A key's calls per hour, oldest first, every hour of the period present (zero when idle).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageHistory {
    pub hours: Vec<HourlyUsage>,
}

impl UsageHistory {
    /// Seven days.
    pub const HOURS: i64 = 7 * 24;

    pub fn valid(&self) -> u64 {
        self.hours.iter().map(|h| h.valid).sum()
    }

    pub fn denied(&self) -> u64 {
        self.hours.iter().map(|h| h.denied).sum()
    }

    /// The busiest hour's calls: the chart's scale.
    pub fn peak(&self) -> u64 {
        self.hours.iter().map(HourlyUsage::total).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_peak_add_up() {
        let hour = |valid, denied| HourlyUsage { hour: DateTime::<Utc>::UNIX_EPOCH, valid, denied };
        let history = UsageHistory { hours: vec![hour(3, 1), hour(0, 0), hour(7, 2)] };
        assert_eq!((history.valid(), history.denied(), history.peak()), (10, 3, 9));
        assert_eq!(UsageHistory::default().peak(), 0);
    }
}
