//! A project's traffic drawn on the server as SVG: verifications by verdict over a window, and its
//! most verified keys. An image the page links to, so it costs the browser bundle nothing and
//! shows without JavaScript.

use app::model::{ChartWindow, ProjectTraffic, VerifyCode, grouped};
use chrono::{DateTime, Utc};
use std::fmt::Write;

const WIDTH: i64 = 720;
const LEFT: i64 = 56;
const RIGHT: i64 = 16;
const TOP: i64 = 44;
const PLOT_HEIGHT: i64 = 180;
const ROW: i64 = 22;

/// A verdict's colour: green for valid, warm for a key's own state, cool for the caller's request.
fn colour(code: VerifyCode) -> &'static str {
    match code {
        VerifyCode::Valid => "#1a7f37",
        VerifyCode::NotFound => "#6e7781",
        VerifyCode::Expired => "#bf8700",
        VerifyCode::Disabled => "#9a6700",
        VerifyCode::Revoked => "#cf222e",
        VerifyCode::WrongEnvironment => "#8250df",
        VerifyCode::InsufficientScope => "#0969da",
        VerifyCode::RateLimited => "#bc4c00",
        VerifyCode::UsageExceeded => "#a40e26",
        VerifyCode::IpNotAllowed => "#1b7c83",
    }
}

/// Text as SVG holds it: key and project names are a member's words.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn tick(at: DateTime<Utc>, window: ChartWindow) -> String {
    match window {
        ChartWindow::Day => at.format("%H:%M").to_string(),
        ChartWindow::Week | ChartWindow::Month => at.format("%b %-d").to_string(),
    }
}

/// The chart, as a whole SVG document.
pub fn traffic_svg(traffic: &ProjectTraffic) -> String {
    let totals = traffic.totals();
    let sum: u64 = totals.iter().map(|t| t.count).sum();
    let highest = traffic.buckets.iter().map(|b| b.total()).max().unwrap_or(0).max(1);
    let legend_rows = i64::try_from(totals.len().div_ceil(3)).unwrap_or(1).max(1);
    let legend_top = TOP + PLOT_HEIGHT + 36;
    let keys_top = legend_top + legend_rows * ROW + 28;
    let key_rows = i64::try_from(traffic.top_keys.len()).unwrap_or(0).max(1);
    let height = keys_top + key_rows * ROW + 12;
    let title =
        format!("Verifications of {}, {}: {}", escaped(&traffic.project_name), traffic.window.label(), grouped(sum));

    let mut svg = String::with_capacity(8 * 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" font-family="system-ui, sans-serif" font-size="12"><title>{title}</title><rect width="100%" height="100%" fill="#ffffff"/><text x="{LEFT}" y="22" font-size="15" font-weight="600" fill="#1f2328">{title}</text>"##
    );

    // The plot: the axis, the highest count, then one stacked bar per bucket.
    let bottom = TOP + PLOT_HEIGHT;
    let plot_width = WIDTH - LEFT - RIGHT;
    let count = i64::try_from(traffic.buckets.len()).unwrap_or(1).max(1);
    let slot = plot_width / count;
    let bar = (slot - 2).max(1);
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{bottom}" x2="{}" y2="{bottom}" stroke="#d0d7de"/><line x1="{LEFT}" y1="{TOP}" x2="{}" y2="{TOP}" stroke="#eaeef2"/><text x="{}" y="{}" text-anchor="end" fill="#57606a">{}</text><text x="{}" y="{bottom}" text-anchor="end" fill="#57606a">0</text>"##,
        WIDTH - RIGHT,
        WIDTH - RIGHT,
        LEFT - 6,
        TOP + 4,
        grouped(highest),
        LEFT - 6,
    );
    for (i, bucket) in traffic.buckets.iter().enumerate() {
        let x = LEFT + i64::try_from(i).unwrap_or(0) * slot + 1;
        let mut y = bottom;
        for counted in &bucket.outcomes {
            let h = (i64::try_from(counted.count).unwrap_or(i64::MAX).saturating_mul(PLOT_HEIGHT)
                / i64::try_from(highest).unwrap_or(1))
            .max(1);
            y -= h;
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="{y}" width="{bar}" height="{h}" fill="{}"><title>{} {}: {}</title></rect>"#,
                colour(counted.outcome),
                tick(bucket.start, traffic.window),
                counted.outcome.as_str(),
                grouped(counted.count)
            );
        }
    }
    // Three dates under the axis: the first bucket, the middle one, the last.
    let last = traffic.buckets.len().saturating_sub(1);
    for (i, anchor) in [(0, "start"), (last / 2, "middle"), (last, "end")] {
        if let Some(bucket) = traffic.buckets.get(i) {
            let x = LEFT + i64::try_from(i).unwrap_or(0) * slot + slot / 2;
            let x = match anchor {
                "start" => LEFT,
                "end" => WIDTH - RIGHT,
                _ => x,
            };
            let _ = write!(
                svg,
                r##"<text x="{x}" y="{}" text-anchor="{anchor}" fill="#57606a">{}</text>"##,
                bottom + 16,
                tick(bucket.start, traffic.window)
            );
        }
    }

    // The legend: each verdict that occurred, most frequent first.
    if totals.is_empty() {
        let _ = write!(
            svg,
            r##"<text x="{LEFT}" y="{}" fill="#57606a">No verifications in this window.</text>"##,
            legend_top + 12
        );
    }
    for (i, total) in totals.iter().enumerate() {
        let (row, column) = (i64::try_from(i / 3).unwrap_or(0), i64::try_from(i % 3).unwrap_or(0));
        let (x, y) = (LEFT + column * (plot_width / 3), legend_top + row * ROW);
        let _ = write!(
            svg,
            r##"<rect x="{x}" y="{y}" width="12" height="12" fill="{}"/><text x="{}" y="{}" fill="#1f2328">{} {}</text>"##,
            colour(total.outcome),
            x + 18,
            y + 11,
            total.outcome.as_str(),
            grouped(total.count)
        );
    }

    // The most verified keys, as bars against the first.
    let _ = write!(
        svg,
        r##"<text x="{LEFT}" y="{}" font-size="13" font-weight="600" fill="#1f2328">Most verified keys</text>"##,
        keys_top - 8
    );
    if traffic.top_keys.is_empty() {
        let _ = write!(svg, r##"<text x="{LEFT}" y="{}" fill="#57606a">None yet.</text>"##, keys_top + 14);
    }
    let most = traffic.top_keys.first().map_or(1, |k| k.verifications.max(1));
    let label_width = 260;
    let bar_room = plot_width - label_width - 70;
    for (i, key) in traffic.top_keys.iter().enumerate() {
        let y = keys_top + i64::try_from(i).unwrap_or(0) * ROW;
        let w = (i64::try_from(key.verifications).unwrap_or(i64::MAX).saturating_mul(bar_room)
            / i64::try_from(most).unwrap_or(1))
        .max(1);
        let name: String = key.name.chars().take(28).collect();
        let _ = write!(
            svg,
            r##"<text x="{LEFT}" y="{}" fill="#1f2328">{} <tspan fill="#57606a">{}</tspan></text><rect x="{}" y="{}" width="{w}" height="14" fill="#0969da"/><text x="{}" y="{}" fill="#1f2328">{}</text>"##,
            y + 12,
            escaped(&name),
            escaped(&key.prefix),
            LEFT + label_width,
            y + 1,
            LEFT + label_width + w + 6,
            y + 12,
            grouped(key.verifications)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::{OutcomeBucket, OutcomeCount, TopKey};
    use uuid::Uuid;

    fn traffic(name: &str) -> ProjectTraffic {
        let start = Utc::now();
        ProjectTraffic {
            project_id: Uuid::nil(),
            project_name: "Payments".into(),
            window: ChartWindow::Day,
            buckets: (0..24)
                .map(|i| OutcomeBucket {
                    start,
                    outcomes: if i == 23 {
                        vec![
                            OutcomeCount { outcome: VerifyCode::Valid, count: 40 },
                            OutcomeCount { outcome: VerifyCode::Revoked, count: 10 },
                        ]
                    } else {
                        vec![]
                    },
                })
                .collect(),
            top_keys: vec![TopKey {
                key_id: Uuid::nil(),
                name: name.into(),
                prefix: "kw_live_ab".into(),
                verifications: 50,
            }],
        }
    }

    #[test]
    fn a_chart_draws_every_verdict_and_the_top_keys() {
        let svg = traffic_svg(&traffic("Checkout"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("<title>Verifications of Payments, last 24 hours: 50</title>"), "{svg}");
        assert!(svg.contains(">VALID 40</text>") && svg.contains(">REVOKED 10</text>"), "{svg}");
        assert!(svg.contains("Checkout <tspan"), "{svg}");
        // The busiest bucket fills the plot: its two parts add up to its height.
        assert!(svg.contains(&format!("height=\"{}\" fill=\"#1a7f37\"", PLOT_HEIGHT * 40 / 50)), "{svg}");
    }

    #[test]
    fn names_cannot_write_markup() {
        let svg = traffic_svg(&traffic("<script>alert(1)</script>\"&"));
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&amp;"), "{svg}");
    }
}
