//! Expiry, rate limits and rotation grace: the choices a person makes about a key's life.

use super::FieldError;
use chrono::{DateTime, Duration, NaiveDate, Utc};
#[cfg(feature = "ssr")]
use sea_orm::entity::prelude::StringLen;
use serde::{Deserialize, Serialize};

/// When a new key (or a rotated expired one) stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expiration {
    Never,
    Days(u16),
    /// The end of that day, UTC.
    On(NaiveDate),
}

impl Expiration {
    /// The periods the dialog offers, in days.
    pub const PRESET_DAYS: [u16; 5] = [30, 60, 90, 180, 365];
    /// What the dialog starts on: a key nobody remembers stops working on its own.
    pub const SUGGESTED_DAYS: u16 = 90;
    /// No key may be made to live longer than this from now.
    pub const MAX_DAYS: i64 = 5 * 366;

    /// Reads the form's `expiration` choice (`never`, `30`, … `365`, or `date`) and its `expires_on` date.
    pub fn from_form(choice: &str, date: Option<&str>) -> Result<Self, FieldError> {
        match choice.trim() {
            "" | "never" => Ok(Self::Never),
            "date" => {
                let raw = date
                    .map(str::trim)
                    .filter(|d| !d.is_empty())
                    .ok_or_else(|| FieldError::new("expires_on", "is required when the key expires on a date"))?;
                NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map(Self::On)
                    .map_err(|_| FieldError::new("expires_on", "must be a date like 2027-01-31"))
            }
            days => {
                days.parse::<u16>().ok().filter(|d| Self::PRESET_DAYS.contains(d)).map(Self::Days).ok_or_else(|| {
                    FieldError::new("expiration", "must be never, 30, 60, 90, 180 or 365 days, or a date")
                })
            }
        }
    }

    /// The moment the key expires, checked against `now`: a date must be in the future and within five years.
    pub fn expires_at(self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, FieldError> {
        let at = match self {
            Self::Never => return Ok(None),
            Self::Days(days) => now + Duration::days(i64::from(days)),
            Self::On(date) => date
                .and_hms_opt(23, 59, 59)
                .map(|t| t.and_utc())
                .ok_or_else(|| FieldError::new("expires_on", "is not a valid date"))?,
        };
        if at <= now {
            return Err(FieldError::new("expires_on", "must be in the future"));
        }
        if at > now + Duration::days(Self::MAX_DAYS) {
            return Err(FieldError::new("expires_on", "must be within five years"));
        }
        Ok(Some(at))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))"))]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum RateWindow {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "second"))]
    Second,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "minute"))]
    Minute,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "hour"))]
    Hour,
}

impl RateWindow {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn seconds(self) -> u32 {
        match self {
            Self::Second => 1,
            Self::Minute => 60,
            Self::Hour => 3600,
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        name.parse().ok()
    }
}

/// At most `requests` per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    pub requests: u32,
    pub window: RateWindow,
}

impl RateLimit {
    pub const MAX_REQUESTS: u32 = 1_000_000;

    /// Reads the form: an empty or `none` window means no limit.
    pub fn from_form(requests: Option<&str>, window: &str) -> Result<Option<Self>, FieldError> {
        let window = match window.trim() {
            "" | "none" => return Ok(None),
            name => RateWindow::from_name(name)
                .ok_or_else(|| FieldError::new("rate_limit_window", "must be none, second, minute or hour"))?,
        };
        let requests = requests
            .map(str::trim)
            .and_then(|r| r.parse::<u32>().ok())
            .filter(|r| (1..=Self::MAX_REQUESTS).contains(r))
            .ok_or_else(|| {
                FieldError::new(
                    "rate_limit_requests",
                    format!("must be a whole number from 1 to {}", Self::MAX_REQUESTS),
                )
            })?;
        Ok(Some(Self { requests, window }))
    }

    /// "100 / minute".
    pub fn summary(self) -> String {
        format!("{} / {}", self.requests, self.window.as_str())
    }
}

/// How long the old secret keeps working after a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[derive(strum::VariantArray, strum::IntoStaticStr, strum::EnumString)]
pub enum RotationGrace {
    #[strum(serialize = "none")]
    None,
    #[strum(serialize = "1h")]
    OneHour,
    #[strum(serialize = "24h")]
    OneDay,
    #[strum(serialize = "7d")]
    SevenDays,
}

impl RotationGrace {
    /// What the rotate dialog starts on: a day for every integration to take the new secret.
    pub const SUGGESTED: Self = Self::OneDay;

    pub fn duration(self) -> Option<Duration> {
        match self {
            Self::None => None,
            Self::OneHour => Some(Duration::hours(1)),
            Self::OneDay => Some(Duration::hours(24)),
            Self::SevenDays => Some(Duration::days(7)),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub const fn label(self) -> &'static str {
        match self {
            Self::None => "None: the old key stops working now",
            Self::OneHour => "1 hour",
            Self::OneDay => "24 hours",
            Self::SevenDays => "7 days",
        }
    }

    pub fn from_name(name: &str) -> Result<Self, FieldError> {
        name.trim().parse().map_err(|_| FieldError::new("grace", "must be none, 1h, 24h or 7d"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    fn now() -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 11, 22).and_then(|d| d.and_hms_opt(12, 0, 0)).map(|t| t.and_utc()).expect("date")
    }

    #[test]
    fn expiration_choices_become_moments() {
        assert_eq!(Expiration::from_form("never", None).and_then(|e| e.expires_at(now())), Ok(None));
        assert_eq!(
            Expiration::from_form("30", None).and_then(|e| e.expires_at(now())),
            Ok(Some(now() + Duration::days(30)))
        );
        let on = Expiration::from_form("date", Some("2027-01-31")).and_then(|e| e.expires_at(now())).expect("valid");
        assert_eq!(on.map(|t| t.to_rfc3339()), Some("2027-01-31T23:59:59+00:00".to_owned()));
    }

    #[test]
    fn bad_expirations_name_their_field() {
        assert_eq!(Expiration::from_form("45", None).unwrap_err().field, "expiration");
        assert_eq!(Expiration::from_form("date", None).unwrap_err().field, "expires_on");
        assert_eq!(Expiration::from_form("date", Some("31/01/2027")).unwrap_err().field, "expires_on");
        let past = Expiration::from_form("date", Some("2026-11-21")).and_then(|e| e.expires_at(now()));
        assert_eq!(past.unwrap_err().reason, "must be in the future");
        let far = Expiration::from_form("date", Some("2040-01-01")).and_then(|e| e.expires_at(now()));
        assert_eq!(far.unwrap_err().reason, "must be within five years");
    }

    #[test]
    fn rate_limits_are_optional_and_bounded() {
        assert_eq!(RateLimit::from_form(Some("100"), "none"), Ok(None));
        assert_eq!(
            RateLimit::from_form(Some("100"), "minute"),
            Ok(Some(RateLimit { requests: 100, window: RateWindow::Minute }))
        );
        assert_eq!(RateLimit::from_form(Some("0"), "second").unwrap_err().field, "rate_limit_requests");
        assert_eq!(RateLimit::from_form(Some("x"), "hour").unwrap_err().field, "rate_limit_requests");
        assert_eq!(RateLimit::from_form(Some("5"), "day").unwrap_err().field, "rate_limit_window");
        assert_eq!(RateLimit { requests: 5, window: RateWindow::Hour }.summary(), "5 / hour");
    }

    #[test]
    fn grace_periods_parse_from_their_names() {
        for &grace in RotationGrace::VARIANTS {
            assert_eq!(RotationGrace::from_name(grace.as_str()), Ok(grace));
        }
        assert_eq!(RotationGrace::OneDay.duration(), Some(Duration::hours(24)));
        assert_eq!(RotationGrace::None.duration(), None);
        assert_eq!(RotationGrace::from_name("2d").unwrap_err().field, "grace");
    }
}
