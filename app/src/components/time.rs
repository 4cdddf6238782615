use chrono::{DateTime, Datelike, Timelike, Utc};

/// A timestamp as the tables show it, the same on the server and in the browser (UTC).
/// Written out by hand: chrono's `format` would ship a strftime interpreter to the browser.
pub fn format_time(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", at.year(), at.month(), at.day(), at.hour(), at.minute())
}

/// A day, for expiry dates.
pub fn format_date(at: DateTime<Utc>) -> String {
    format!("{:04}-{:02}-{:02}", at.year(), at.month(), at.day())
}

/// The machine-readable form for `<time datetime=...>`.
pub fn iso_time(at: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// Runs `f` after `ms` milliseconds in the browser; does nothing while rendering on the server.
pub fn after(ms: u32, f: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    gloo_timers::callback::Timeout::new(ms, f).forget();
    #[cfg(not(feature = "hydrate"))]
    let _ = (ms, f);
}
