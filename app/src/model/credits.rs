//! Credits: how many successful verifications a key has left, and how they come back. A refill
//! *sets* the credits to its amount at the first verification after its moment (no job to miss).

use super::{FieldError, grouped};
use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeZone, Utc};
#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;
use serde::{Deserialize, Serialize};

/// The most credits a key can hold, and the most a refill can give.
pub const MAX_CREDITS: u64 = 1_000_000_000_000;
/// The most one verification may cost.
pub const MAX_COST: u32 = 1_000;

/// How often a key's credits are refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RefillPeriod {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "daily"))]
    Daily,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "monthly"))]
    Monthly,
}

impl RefillPeriod {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A refill: every day at midnight UTC, or every month on `day` (31: the month's last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refill {
    pub amount: u64,
    pub period: RefillPeriod,
    /// The day of the month, 1 to 31, for a monthly refill; 1 for a daily one (unused).
    pub day: u8,
}

impl Refill {
    /// The latest refill moment at or before `now`.
    pub fn last_at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.date_naive();
        let day = match self.period {
            RefillPeriod::Daily => today,
            RefillPeriod::Monthly => {
                let this_month = self.day_in(today.year(), today.month());
                if this_month <= today { this_month } else { self.day_in_month_before(today) }
            }
        };
        midnight(day)
    }

    /// The first refill moment after `now`.
    pub fn next_at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let today = now.date_naive();
        let day = match self.period {
            RefillPeriod::Daily => today + Days::new(1),
            RefillPeriod::Monthly => {
                let this_month = self.day_in(today.year(), today.month());
                if this_month > today {
                    this_month
                } else {
                    let next = today.with_day(1).and_then(|d| d.checked_add_months(Months::new(1))).unwrap_or(today);
                    self.day_in(next.year(), next.month())
                }
            }
        };
        midnight(day)
    }

    fn day_in_month_before(self, today: NaiveDate) -> NaiveDate {
        let before = today.with_day(1).and_then(|d| d.checked_sub_months(Months::new(1))).unwrap_or(today);
        self.day_in(before.year(), before.month())
    }

    /// This refill's day in a month: `day`, or the month's last day if it is shorter.
    fn day_in(self, year: i32, month: u32) -> NaiveDate {
        let first = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
        let last = first.checked_add_months(Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(first);
        first.with_day(u32::from(self.day).min(last.day())).unwrap_or(last)
    }

    /// "refills daily", "refills on the 1st", "refills on the last day".
    pub fn summary(self) -> String {
        match self.period {
            RefillPeriod::Daily => "refills daily".to_owned(),
            RefillPeriod::Monthly if self.day >= 31 => "refills on the month's last day".to_owned(),
            RefillPeriod::Monthly => format!("refills on the {}", ordinal(self.day)),
        }
    }
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// "1st", "2nd", "3rd", "4th", "11th", "21st".
fn ordinal(n: u8) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A key's credits as set: how many it has now, and its refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credits {
    pub remaining: u64,
    pub refill: Option<Refill>,
}

impl Credits {
    /// Reads the dashboard's form: a blank `credits` means unlimited; `refill` is `none`, `daily`
    /// or `monthly`, with its amount (default: the credits given) and day (default: the 1st).
    pub fn from_form(
        credits: Option<&str>,
        refill: Option<&str>,
        amount: Option<&str>,
        day: Option<&str>,
    ) -> Result<Option<Self>, super::FieldErrors> {
        use super::AllValid;
        let Some(credits) = blank(credits) else {
            return Ok(None);
        };
        let whole = |raw: &str| raw.replace([',', '_', ' '], "").parse::<i64>().ok();
        let remaining = whole(credits).ok_or_else(|| count_error("credits")).and_then(|n| credit_count("credits", n));
        let period = match blank(refill).unwrap_or("none") {
            "none" => Ok(None),
            name => name
                .parse::<RefillPeriod>()
                .map(Some)
                .map_err(|_| FieldError::new("refill", "must be none, daily or monthly")),
        };
        let amount = match blank(amount) {
            None => Ok(None),
            Some(raw) => whole(raw)
                .ok_or_else(|| refill_amount_error("refill_amount"))
                .and_then(|n| refill_amount("refill_amount", n).map(Some)),
        };
        let day = match blank(day) {
            None => Ok(1),
            Some(raw) => {
                raw.parse::<i64>().map_err(|_| day_error("refill_day")).and_then(|d| refill_day("refill_day", d))
            }
        };
        let (remaining, period, amount, day) = (remaining, period, amount, day).all_valid()?;
        let refill = period.map(|period| Refill { amount: amount.unwrap_or(remaining.max(1)), period, day });
        Ok(Some(Self { remaining, refill }))
    }

    /// What is left at `now`: a refill due since `refilled_at` counts as done.
    pub fn left_at(self, refilled_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> u64 {
        match self.refill {
            Some(refill) if refilled_at.is_none_or(|at| at < refill.last_at(now)) => refill.amount,
            _ => self.remaining,
        }
    }

    /// "37 of 50 left, refills on the 1st", or "1,200 left" without a refill.
    pub fn summary(self) -> String {
        match self.refill {
            Some(refill) => {
                format!("{} of {} left, {}", grouped(self.remaining), grouped(refill.amount), refill.summary())
            }
            None => format!("{} left", grouped(self.remaining)),
        }
    }
}

/// A form's field: trimmed, `None` if blank.
fn blank(raw: Option<&str>) -> Option<&str> {
    raw.map(str::trim).filter(|s| !s.is_empty())
}

/// A number of credits: 0 to [`MAX_CREDITS`].
pub fn credit_count(field: &str, n: i64) -> Result<u64, FieldError> {
    u64::try_from(n).ok().filter(|n| *n <= MAX_CREDITS).ok_or_else(|| count_error(field))
}

fn count_error(field: &str) -> FieldError {
    FieldError::new(field, format!("must be a whole number from 0 to {}", grouped(MAX_CREDITS)))
}

/// A refill's amount: 1 to [`MAX_CREDITS`] (a refill of nothing is no refill).
pub fn refill_amount(field: &str, n: i64) -> Result<u64, FieldError> {
    u64::try_from(n).ok().filter(|n| (1..=MAX_CREDITS).contains(n)).ok_or_else(|| refill_amount_error(field))
}

fn refill_amount_error(field: &str) -> FieldError {
    FieldError::new(field, format!("must be a whole number from 1 to {}", grouped(MAX_CREDITS)))
}

/// A monthly refill's day: 1 to 31, where 31 means the month's last day.
pub fn refill_day(field: &str, n: i64) -> Result<u8, FieldError> {
    u8::try_from(n).ok().filter(|d| (1..=31).contains(d)).ok_or_else(|| day_error(field))
}

fn day_error(field: &str) -> FieldError {
    FieldError::new(field, "must be a day of the month from 1 to 31 (31: the last day)")
}

/// What one verification spends: 0 to [`MAX_COST`], 1 when not given.
pub fn verification_cost(n: Option<i64>) -> Result<u32, FieldError> {
    match n {
        None => Ok(1),
        Some(n) => u32::try_from(n).ok().filter(|n| *n <= MAX_COST).ok_or_else(|| {
            FieldError::new("cost", format!("must be a whole number from 0 to {}", grouped(MAX_COST.into())))
        }),
    }
}

/// A key's credits as a page shows them at a moment: what is left then, and when they refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCredits {
    pub remaining: u64,
    pub refill: Option<Refill>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    pub refills_at: Option<DateTime<Utc>>,
}

impl KeyCredits {
    pub fn at(credits: Credits, refilled_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        Self {
            remaining: credits.left_at(refilled_at, now),
            refill: credits.refill,
            refills_at: credits.refill.map(|r| r.next_at(now)),
        }
    }

    pub fn summary(self) -> String {
        Credits { remaining: self.remaining, refill: self.refill }.summary()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).expect("a moment")
    }

    fn monthly(day: u8) -> Refill {
        Refill { amount: 50, period: RefillPeriod::Monthly, day }
    }

    #[test]
    fn a_monthly_refill_falls_on_its_day_or_the_months_last() {
        let now = at("2027-02-15T10:00:00Z");
        assert_eq!(monthly(1).last_at(now), at("2027-02-01T00:00:00Z"));
        assert_eq!(monthly(1).next_at(now), at("2027-03-01T00:00:00Z"));
        // Not yet this month: the last one was in January.
        assert_eq!(monthly(20).last_at(now), at("2027-01-20T00:00:00Z"));
        assert_eq!(monthly(20).next_at(now), at("2027-02-20T00:00:00Z"));
        // 31 (or 30) in February is its last day.
        assert_eq!(monthly(31).next_at(now), at("2027-02-28T00:00:00Z"));
        assert_eq!(monthly(30).last_at(now), at("2027-01-30T00:00:00Z"));
        assert_eq!(monthly(31).last_at(at("2028-02-29T00:00:00Z")), at("2028-02-29T00:00:00Z"));
        // The moment itself counts as passed; the year turns.
        assert_eq!(monthly(15).last_at(at("2027-12-15T00:00:00Z")), at("2027-12-15T00:00:00Z"));
        assert_eq!(monthly(15).next_at(at("2027-12-15T00:00:00Z")), at("2028-01-15T00:00:00Z"));
        assert_eq!(monthly(20).last_at(at("2027-01-05T00:00:00Z")), at("2026-12-20T00:00:00Z"));
    }

    #[test]
    fn a_daily_refill_falls_at_midnight_utc() {
        let daily = Refill { amount: 5, period: RefillPeriod::Daily, day: 1 };
        assert_eq!(daily.last_at(at("2027-03-31T23:59:59Z")), at("2027-03-31T00:00:00Z"));
        assert_eq!(daily.next_at(at("2027-03-31T23:59:59Z")), at("2027-04-01T00:00:00Z"));
    }

    #[test]
    fn credits_left_count_a_refill_that_is_due() {
        let credits = Credits { remaining: 3, refill: Some(monthly(1)) };
        let now = at("2027-02-15T10:00:00Z");
        assert_eq!(credits.left_at(Some(at("2027-02-01T00:00:00Z")), now), 3);
        assert_eq!(credits.left_at(Some(at("2027-01-31T23:59:59Z")), now), 50);
        assert_eq!(Credits { refill: None, ..credits }.left_at(None, now), 3);
    }

    #[test]
    fn summaries_read_as_a_person_says_them() {
        assert_eq!(Credits { remaining: 37, refill: Some(monthly(1)) }.summary(), "37 of 50 left, refills on the 1st");
        assert_eq!(monthly(22).summary(), "refills on the 22nd");
        assert_eq!(monthly(13).summary(), "refills on the 13th");
        assert_eq!(monthly(31).summary(), "refills on the month's last day");
        assert_eq!(Credits { remaining: 1_200, refill: None }.summary(), "1,200 left");
    }

    #[test]
    fn the_form_names_each_bad_field() {
        let errors = |c, r, a, d| {
            Credits::from_form(c, r, a, d).unwrap_err().iter().map(|e| e.field.clone()).collect::<Vec<_>>()
        };
        assert_eq!(Credits::from_form(None, Some("monthly"), None, None), Ok(None));
        assert_eq!(
            Credits::from_form(Some("50"), Some("monthly"), None, Some("31")),
            Ok(Some(Credits { remaining: 50, refill: Some(monthly(31)) }))
        );
        assert_eq!(Credits::from_form(Some("1,000"), None, None, None).map(|c| c.map(|c| c.remaining)), Ok(Some(1000)));
        assert_eq!(errors(Some("-1"), None, None, None), ["credits"]);
        assert_eq!(
            errors(Some("1000000000001"), Some("weekly"), Some("0"), Some("32")),
            ["credits", "refill", "refill_amount", "refill_day"]
        );
        assert_eq!(errors(Some("5"), Some("monthly"), None, Some("0")), ["refill_day"]);
    }

    #[test]
    fn a_cost_is_from_0_to_1000() {
        assert_eq!(verification_cost(None), Ok(1));
        assert_eq!(verification_cost(Some(0)), Ok(0));
        assert_eq!(verification_cost(Some(1000)), Ok(1000));
        assert_eq!(verification_cost(Some(1001)).unwrap_err().field, "cost");
        assert_eq!(verification_cost(Some(-1)).unwrap_err().field, "cost");
    }
}
