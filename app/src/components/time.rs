use chrono::{DateTime, Utc};

/// A timestamp as the tables show it, the same on the server and in the browser (UTC).
pub fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Runs `f` after `ms` milliseconds in the browser; does nothing while rendering on the server.
pub fn after(ms: u32, f: impl FnOnce() + 'static) {
    #[cfg(feature = "hydrate")]
    gloo_timers::callback::Timeout::new(ms, f).forget();
    #[cfg(not(feature = "hydrate"))]
    let _ = (ms, f);
}
