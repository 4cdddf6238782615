use chrono::{DateTime, Datelike, Timelike, Utc};
use leptos::prelude::*;

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

/// How long ago, as a person says it: "just now", "5 min ago", "3 h ago", "2 days ago"; past a
/// month, the day.
pub fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - at).num_minutes();
    match minutes {
        ..1 => "just now".to_owned(),
        1..60 => format!("{minutes} min ago"),
        60..1440 => format!("{} h ago", minutes / 60),
        1440..2880 => "yesterday".to_owned(),
        2880..43200 => format!("{} days ago", minutes / 1440),
        _ => format_date(at),
    }
}

/// The time the signed-in pages' relative times are counted from: moved on every half minute in
/// the browser, so that "just now" becomes "5 min ago" on a page left open. One for the frame.
#[derive(Clone, Copy)]
pub struct Clock(RwSignal<DateTime<Utc>>);

impl Clock {
    pub const TICK_MS: u64 = 30_000;

    pub fn provide() {
        let clock = RwSignal::new(now());
        #[cfg(feature = "hydrate")]
        if let Ok(ticks) =
            set_interval_with_handle(move || clock.set(now()), std::time::Duration::from_millis(Self::TICK_MS))
        {
            on_cleanup(move || ticks.clear());
        }
        provide_context(Self(clock));
    }
}

/// A moment shown relative to now ("5 min ago"), the exact time on hover. The server, and the
/// browser while it hydrates, write the exact time: their "now" differ, and so would the words.
#[component]
pub fn RelativeTime(at: DateTime<Utc>) -> impl IntoView {
    let hydrated = use_hydrated();
    let clock = use_context::<Clock>();
    let exact = format_time(at);
    let title = exact.clone();
    view! {
        <time datetime=iso_time(at) title=title>
            {move || {
                if hydrated.get() { ago(at, clock.map_or_else(now, |Clock(clock)| clock.get())) } else { exact.clone() }
            }}
        </time>
    }
}

/// A moment that may not have come yet (a key never used): relative once it has, `otherwise`
/// ("Never") until then.
#[component]
pub fn RelativeTimeOr(at: Option<DateTime<Utc>>, #[prop(default = "Never")] otherwise: &'static str) -> impl IntoView {
    match at {
        Some(at) => view! { <RelativeTime at /> }.into_any(),
        None => otherwise.into_any(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn moments_read_as_how_long_ago() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let before = |minutes: i64| ago(now - Duration::minutes(minutes), now);
        assert_eq!(before(0), "just now");
        // A clock a little ahead of this one is not "in the future".
        assert_eq!(before(-2), "just now");
        assert_eq!(before(5), "5 min ago");
        assert_eq!(before(59), "59 min ago");
        assert_eq!(before(60 * 3 + 10), "3 h ago");
        assert_eq!(before(60 * 30), "yesterday");
        assert_eq!(before(60 * 24 * 6), "6 days ago");
        assert_eq!(before(60 * 24 * 40), format_date(now - Duration::days(40)));
    }
}
