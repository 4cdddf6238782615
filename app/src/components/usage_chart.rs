//! A key's calls per hour as stacked bars (valid under denied), drawn as SVG on the server and in
//! the browser alike: no chart library to ship.

use super::format_time;
use crate::model::{UsageHistory, grouped};
use leptos::prelude::*;

const BAR: f64 = 4.0;
const HEIGHT: f64 = 120.0;

#[component]
pub fn UsageChart(history: UsageHistory) -> impl IntoView {
    let (valid, denied) = (history.valid(), history.denied());
    let summary = format!(
        "{} calls in the last 7 days: {} valid, {} denied",
        grouped(valid + denied),
        grouped(valid),
        grouped(denied)
    );
    // Hours with no calls draw nothing.
    let busy: Vec<(usize, crate::model::HourlyUsage)> =
        history.hours.iter().copied().enumerate().filter(|(_, h)| h.total() > 0).collect();
    let scale = HEIGHT / history.peak().max(1) as f64;
    let width = BAR * history.hours.len().max(1) as f64;
    let bars = busy
        .iter()
        .map(|(i, h)| {
            let x = *i as f64 * BAR;
            let valid_height = h.valid as f64 * scale;
            let denied_height = h.denied as f64 * scale;
            let label = format!("{}: {} valid, {} denied", format_time(h.hour), h.valid, h.denied);
            view! {
                <g>
                    <title>{label}</title>
                    <rect class="bar-valid" x=x y=HEIGHT - valid_height width=BAR - 1.0 height=valid_height />
                    <rect class="bar-denied" x=x y=HEIGHT - valid_height - denied_height width=BAR - 1.0 height=denied_height />
                </g>
            }
        })
        .collect_view();
    let rows = busy
        .iter()
        .rev()
        .map(|(_, h)| view! { <tr><td>{format_time(h.hour)}</td><td>{h.valid}</td><td>{h.denied}</td></tr> })
        .collect_view();
    let empty = busy.is_empty();

    view! {
        <figure class="usage-chart">
            <figcaption>{summary.clone()}</figcaption>
            <svg viewBox=format!("0 0 {width} {HEIGHT}") preserveAspectRatio="none" role="img" aria-label=summary>
                <line class="baseline" x1="0" y1=HEIGHT x2=width y2=HEIGHT />
                {bars}
            </svg>
            <div class="chart-axis" aria-hidden="true"><span>"7 days ago"</span><span>"now"</span></div>
            <p class="chart-legend">
                <span class="swatch swatch-valid"></span>"Valid"
                <span class="swatch swatch-denied"></span>"Denied"
            </p>
            {(!empty).then(|| view! {
                <details>
                    <summary>"Hourly figures"</summary>
                    <table class="keys-table">
                        <thead><tr><th scope="col">"Hour"</th><th scope="col">"Valid"</th><th scope="col">"Denied"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </details>
            })}
        </figure>
    }
}
