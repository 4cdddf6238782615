use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::{RwSignal, Set, Signal};

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

/// Now, where the code runs: chrono's clock reads nothing in the browser (without a binding that
/// would add to the bundle), so there it asks the page.
pub fn now() -> DateTime<Utc> {
    #[cfg(feature = "hydrate")]
    return DateTime::from_timestamp_millis(web_sys::js_sys::Date::now() as i64).unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    Utc::now()
}

/// True once the page's code runs in the browser, never while the server renders: what only the
/// code can keep true (a summary of inputs, an answer to a click) waits for it, so the server's
/// HTML and the hydrating browser agree, and the page without code shows nothing stale.
pub fn use_hydrated() -> Signal<bool> {
    let hydrated = RwSignal::new(false);
    leptos::prelude::Effect::new(move |_| hydrated.set(true));
    hydrated.into()
}
