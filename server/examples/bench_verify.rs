//! The verification hot path under load, against a trivial handler of the same router in the same
//! run: `make bench` (or `cargo run --profile benchmark -p keyward --example bench_verify -- [seconds]`;
//! with `serve` instead of a duration, it only serves, for a profiler to watch).
//!
//! Serves the whole router on a loopback port (SQLite in a temporary folder), then drives it with
//! wrk (peak rate, closed loop) and hey (a fixed rate: half the peak), both from Debian's packages.
//!
//! Two baselines, both trivial handlers in the same router, under the same layers: `GET /healthz` (the cheapest request
//! there is), and a POST that reads the very request verify gets (same headers, same JSON body) and
//! answers a small JSON: hyper hands a request body over through a channel and a task wake-up,
//! which every POST pays, so this one shows what the verification itself costs.

use app::model::token::KeyToken;
use app::model::{
    Credits, Environment, MAX_CREDITS, NewKey, Plan, RateLimit, RateWindow, Refill, RefillPeriod, ScopePreset,
};
use app::ssr::services::{keys, organizations, projects};
use app::ssr::verification_log::VerificationLog;
use app::ssr::{AppState, Core, db};
use std::process::Command;
use std::time::Duration;

use app::ssr::test_support as fixtures;

struct Figures {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// The server's CPU time (user and system, all threads: it runs in this process) per request
    /// answered. The load generator shares the two cores, so throughput also carries its cost;
    /// this does not.
    cpu_us: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let dir = tempfile::tempdir()?;
    let Served { addr, unlogged, caller, tokens, core, flush: _flush } = runtime.block_on(serve(dir.path()))?;
    let base = format!("http://{addr}");
    // `serve`: only the server, with the requests to profile it with (`perf record -p`), until stopped.
    if mode.as_deref() == Some("serve") {
        println!("trivial POST: {base}{TRIVIAL_POST}\nverify:       {base}/api/v1/keys/verify");
        println!("X-API-Key:    {caller}\nbody:         {{\"key\":\"{}\"}}", tokens.valid);
        runtime.block_on(tokio::signal::ctrl_c())?;
        return Ok(());
    }
    let seconds: u64 = mode.and_then(|s| s.parse().ok()).unwrap_or(10);

    let same_request = format!(r#"{{"key":"{}"}}"#, tokens.valid);
    let verify = format!("{base}/api/v1/keys/verify");
    let body = |token: &str| format!(r#"{{"key":"{token}"}}"#);
    // (label, URL, body): the two baselines first.
    let endpoints = [
        ("GET /healthz (trivial handler)".to_owned(), format!("{base}/healthz"), None),
        ("POST trivial handler, same request".to_owned(), format!("{base}{TRIVIAL_POST}"), Some(same_request.clone())),
        ("POST verify: valid key (cached)".to_owned(), verify.clone(), Some(body(&tokens.valid))),
        ("POST verify: unknown key".to_owned(), verify.clone(), Some(body(&tokens.unknown))),
        ("POST verify: rate-limited key".to_owned(), verify.clone(), Some(body(&tokens.limited))),
        ("POST verify: valid key, 16 KB meta".to_owned(), verify.clone(), Some(body(&tokens.owned))),
        ("POST verify: credit-limited key".to_owned(), verify.clone(), Some(body(&tokens.metered))),
        (
            "POST verify: valid key, log off".to_owned(),
            format!("http://{unlogged}/api/v1/keys/verify"),
            Some(body(&tokens.valid)),
        ),
    ];
    // Rows compared with each other in the same round (issue 16's ratios).
    let (valid_row, metered_row, unlogged_row) = (2, 6, 7);
    // What a key's metadata adds to the answer (issue 16 asks that it stay small).
    let sizes = runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut sizes = Vec::new();
        for token in [&tokens.valid, &tokens.owned] {
            let answer = client.post(&verify).header("X-API-Key", &caller).body(body(token)).send().await?;
            sizes.push(answer.bytes().await?.len());
        }
        Ok::<_, reqwest::Error>(sizes)
    })?;
    println!("Verification answer: {} bytes for a key without meta, {} bytes with a 16 KB meta", sizes[0], sizes[1]);
    // The machine is shared, and its speed drifts by tens of percent within a minute: each endpoint
    // runs in short turns, round after round, and each ratio is the median of the rounds' own.
    let rounds = (seconds / 2).max(1);
    let turn = seconds.div_ceil(rounds);
    println!(
        "Verification API under load: wrk -t2 -c32, {rounds} rounds of {turn} s per endpoint, in turn; loopback, same process"
    );
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>12} {:>14}",
        "endpoint (medians)", "req/s", "p50 ms", "p99 ms", "vs /healthz", "vs POST", "server CPU/req"
    );
    let mut runs: Vec<Vec<Figures>> = endpoints.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for ((_, url, body), runs) in endpoints.iter().zip(&mut runs) {
            runs.push(wrk(url, body.as_deref().map(|body| (caller.as_str(), body)), turn)?);
        }
    }
    let ratio = |of: &[Figures], to: &[Figures]| median(of.iter().zip(to).map(|(a, b)| a.rps / b.rps).collect());
    for (index, ((label, _, _), figures)) in endpoints.iter().zip(&runs).enumerate() {
        let against = |baseline: usize| (index > baseline).then(|| ratio(figures, &runs[baseline]));
        print_row(label, &Figures::median(figures), against(0), against(1));
    }
    println!(
        "A credit-limited key (spent from a reserve in memory) at {:.0}% of a plain key's throughput (goal >= 60%)",
        ratio(&runs[metered_row], &runs[valid_row]) * 100.0
    );
    println!(
        "With the verification log on, verify at {:.0}% of its throughput with the log off (goal >= 90%)",
        ratio(&runs[valid_row], &runs[unlogged_row]) * 100.0
    );
    for (label, distinct) in [("one busy key (identical within each second)", false), ("each one different", true)] {
        let written = runtime.block_on(log_write_cost(&core, &caller, distinct))?;
        println!(
            "Verification log, {label}: {:.2} us of server CPU per verification logged ({} verifications, entries: {})",
            written.cpu_us, written.verifications, written.entries
        );
    }
    // After the 100,000 different ones, the log is nearly all of the file.
    let (rows, bytes) = runtime.block_on(log_disk_use(&core, dir.path()))?;
    println!(
        "Verification log on SQLite: {rows} entries in {bytes} bytes of database file: {:.0} bytes per entry",
        bytes as f64 / rows.max(1) as f64
    );
    let peaks: Vec<_> = endpoints
        .iter()
        .zip(&runs)
        .skip(2)
        .filter_map(|((label, _, body), figures)| Some((label.clone(), body.clone()?, Figures::median(figures).rps)))
        .collect();

    println!();
    println!("At half the peak rate: hey -c 8 -z {seconds}s, fixed rate per worker");
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "endpoint", "req/s", "p50 ms", "p99 ms", "p99 < 2 ms", "server CPU/req"
    );
    // The floor: the trivial POST at the valid key's rate, so that the load generator's and the
    // machine's own share of the latency shows beside the verification's.
    let valid_rate = peaks.first().map_or(1.0, |(_, _, peak)| *peak) / 2.0;
    let floor = hey(&format!("{base}{TRIVIAL_POST}"), &caller, &same_request, valid_rate, seconds)?;
    print_fixed_rate("POST trivial handler, same request", &floor);
    for (label, body, peak) in peaks {
        let figures = hey(&verify, &caller, &body, peak / 2.0, seconds)?;
        print_fixed_rate(&label, &figures);
    }
    Ok(())
}

fn print_fixed_rate(label: &str, f: &Figures) {
    let within = if f.p99_ms < 2.0 { "yes" } else { "NO" };
    println!("{label:<34} {:>10.0} {:>10.3} {:>10.3} {within:>12} {:>11.1} us", f.rps, f.p50_ms, f.p99_ms, f.cpu_us);
}

impl Figures {
    fn median(runs: &[Figures]) -> Figures {
        let of = |field: fn(&Figures) -> f64| median(runs.iter().map(field).collect());
        Figures { rps: of(|f| f.rps), p50_ms: of(|f| f.p50_ms), p99_ms: of(|f| f.p99_ms), cpu_us: of(|f| f.cpu_us) }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// `healthz` and `post`: this endpoint's throughput as a share of each baseline's.
fn print_row(label: &str, f: &Figures, healthz: Option<f64>, post: Option<f64>) {
    let ratio = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0));
    println!(
        "{label:<34} {:>10.0} {:>10.3} {:>10.3} {:>12} {:>12} {:>11.1} us",
        f.rps,
        f.p50_ms,
        f.p99_ms,
        ratio(healthz),
        ratio(post),
        f.cpu_us
    );
}

/// The POST baseline's path (only in this benchmark's router). Under `/api/v1/`, as the verification
/// API is: a call made with a key in a header, which the cross-site check lets through (elsewhere,
/// a POST without this site's Origin is refused with 403).
const TRIVIAL_POST: &str = "/api/v1/bench/trivial";

struct Tokens {
    valid: String,
    unknown: String,
    limited: String,
    /// A key with an external id and a 16 KB meta, which every answer carries.
    owned: String,
    /// A key with credits (more than the benchmark spends) and a monthly refill.
    metered: String,
}

/// The router served twice on one database: with the verification log (`addr`), and without it.
struct Served {
    addr: std::net::SocketAddr,
    unlogged: std::net::SocketAddr,
    caller: String,
    tokens: Tokens,
    core: Core,
    flush: tokio::sync::watch::Sender<bool>,
}

/// Writes what the log holds, then how many rows it has and what the database takes on disk
/// (its file and write-ahead log).
async fn log_disk_use(core: &Core, dir: &std::path::Path) -> Result<(u64, u64), Box<dyn std::error::Error>> {
    use sea_orm::{EntityTrait, PaginatorTrait};
    while core.verifications.flush(&core.db).await? > 0 {}
    let rows = app::ssr::entities::key_verification::Entity::find().count(&core.db).await?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(dir)? {
        bytes += entry?.metadata()?.len();
    }
    Ok((rows, bytes))
}

struct LogWrite {
    verifications: usize,
    entries: u64,
    cpu_us: f64,
}

/// What logging costs per verification, appended and then written as the usage flush writes it:
/// 100,000 verifications (5 s of a busy integration), alone, with nothing else running (under
/// load, the writing lands in whichever endpoint's turn the flush falls). `distinct`: each from
/// another address, so that none are grouped (the most the log can cost per verification).
async fn log_write_cost(core: &Core, caller: &str, distinct: bool) -> Result<LogWrite, Box<dyn std::error::Error>> {
    use app::ssr::entities::key_verification;
    use app::ssr::verification_log::LoggedVerification;
    use sea_orm::{EntityTrait, PaginatorTrait};
    const VERIFICATIONS: u32 = 100_000;
    let caller = app::ssr::services::verification::authenticate(core, Some(caller), None, chrono::Utc::now()).await?.0;
    // What the load left waiting is not part of this measure.
    while core.verifications.flush(&core.db).await? > 0 {}
    let entries_before = key_verification::Entity::find().count(&core.db).await?;
    let cpu_before = process_cpu_seconds()?;
    for n in 0..VERIFICATIONS {
        core.verifications.record(LoggedVerification {
            at: chrono::Utc::now(),
            organization_id: caller.key.organization_id,
            key_id: Some(caller.key.id),
            caller_key_id: caller.key.id,
            outcome: app::model::VerifyCode::Valid,
            address: distinct.then(|| std::net::Ipv4Addr::from(0x0a00_0000 + n).into()),
            environment: Some(Environment::Production),
            scopes: None,
            credits_spent: 0,
        });
    }
    let mut verifications = 0;
    while let written @ 1.. = core.verifications.flush(&core.db).await? {
        verifications += written;
    }
    let cpu_us = (process_cpu_seconds()? - cpu_before) * 1e6 / verifications.max(1) as f64;
    let entries = key_verification::Entity::find().count(&core.db).await? - entries_before;
    Ok(LogWrite { verifications, entries, cpu_us })
}

/// Seeds an organization with a verifying key and the presented keys, and serves the router.
async fn serve(dir: &std::path::Path) -> Result<Served, Box<dyn std::error::Error>> {
    let core = Core::new(db::connect_and_migrate(&format!("sqlite://{}/bench.db", dir.display())).await?);
    let owner = fixtures::organization(&core.db, "Bench", "bench@bench.test").await;
    organizations::change_plan(&core, &owner, Plan::Enterprise).await?;
    let project = projects::list(&core.db, &owner).await?.remove(0);
    let key = |name: &str, scopes: Vec<String>, rate_limit| NewKey {
        rate_limit,
        ..fixtures::scoped_key(name, &project, scopes)
    };
    let caller =
        keys::create(&core, &owner, key("verifier", ScopePreset::Workspace.scopes().to_strings(), None)).await?.token;
    let valid = keys::create(&core, &owner, key("customer", vec!["telemetry.write".into()], None)).await?.token;
    let limited =
        keys::create(&core, &owner, key("limited", vec![], Some(RateLimit { requests: 1, window: RateWindow::Hour })))
            .await?
            .token;
    let unknown = KeyToken::generate(Environment::Production).expose_secret().to_owned();
    let meta = format!(r#"{{"plan":"enterprise","notes":"{}"}}"#, "x".repeat(16 * 1024 - 34));
    let owned = NewKey {
        external_id: Some("cus_0123456789".into()),
        meta: Some(meta),
        ..key("owned", vec!["telemetry.write".into()], None)
    };
    let owned = keys::create(&core, &owner, owned).await?.token;
    let refill = Refill { amount: MAX_CREDITS, period: RefillPeriod::Monthly, day: 1 };
    let credits = Credits { remaining: MAX_CREDITS, refill: Some(refill) };
    let metered = NewKey { credits: Some(credits), ..key("metered", vec!["telemetry.write".into()], None) };
    let metered = keys::create(&core, &owner, metered).await?.token;

    // The usage flush runs as in the real server, writing every 5 s.
    let (flush, stopped) = tokio::sync::watch::channel(false);
    keyward::tasks::spawn_usage_flush(core.clone(), Duration::from_secs(5), stopped);
    let leptos_options = leptos::config::LeptosOptions::builder().output_name("keyward").build();
    // Metrics are recorded as in the real server (whose recorder is installed at start).
    keyward::telemetry::install_recorder()?;
    // The baseline gets the layers every route of the app's router has (a route added after `build`
    // would otherwise skip them), so that the two differ by the handler alone.
    let trivial = axum::Router::new().route(
        TRIVIAL_POST,
        axum::routing::post(
            |body: axum::body::Bytes| async move { axum::Json(serde_json::json!({ "bytes": body.len() })) },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let site = keyward::security::Site::new(None, addr, Vec::new(), false)?;
    let trivial = keyward::router::with_edge(trivial, std::sync::Arc::new(site.clone()));
    let app = keyward::router::build(AppState::new(leptos_options.clone(), core.clone(), false), site).merge(trivial);
    // As the binary serves it: with the peer's address.
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    // The same state but for the log: the baseline of what the log costs.
    let unlogged_core = core.clone().with_verification_log(VerificationLog::keeping(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let unlogged = listener.local_addr()?;
    let site = keyward::security::Site::new(None, unlogged, Vec::new(), false)?;
    let app = keyward::router::build(AppState::new(leptos_options, unlogged_core, false), site);
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let tokens = Tokens { valid, unknown, limited, owned, metered };
    Ok(Served { addr, unlogged, caller, tokens, core, flush })
}

fn wrk(url: &str, post: Option<(&str, &str)>, seconds: u64) -> Result<Figures, Box<dyn std::error::Error>> {
    let script = tempfile::NamedTempFile::new()?;
    if let Some((key, body)) = post {
        std::fs::write(
            script.path(),
            format!(
                "wrk.method = \"POST\"\nwrk.body = '{body}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"X-API-Key\"] = \"{key}\"\n"
            ),
        )?;
    }
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c32", &format!("-d{seconds}s"), "--latency"]);
    if post.is_some() {
        command.arg("-s").arg(script.path());
    }
    let cpu_before = process_cpu_seconds()?;
    let output = command.arg(url).output()?;
    let cpu = process_cpu_seconds()? - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout);
    if text.contains("Non-2xx") {
        return Err(format!("wrk saw errors:\n{text}").into());
    }
    let field = |prefix: &str| text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).map(str::trim);
    // "123456 requests in 2.00s, 20.00MB read"
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in ").map(|(n, _)| n.trim().parse().ok()))
        .flatten()
        .filter(|&n: &f64| n > 0.0)
        .ok_or("wrk: no request count")?;
    Ok(Figures {
        rps: field("Requests/sec:").and_then(|v| v.parse().ok()).ok_or("wrk: no Requests/sec")?,
        p50_ms: field("50%").and_then(wrk_duration_ms).ok_or("wrk: no p50")?,
        p99_ms: field("99%").and_then(wrk_duration_ms).ok_or("wrk: no p99")?,
        cpu_us: cpu * 1e6 / requests,
    })
}

/// This process's CPU time so far, all threads, user and system (`/proc/self/stat`, in clock ticks
/// of 10 ms: a 2 s turn uses over a second of it, so the rounding stays under 1 %).
fn process_cpu_seconds() -> Result<f64, Box<dyn std::error::Error>> {
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name (which may hold spaces), from the third: utime is the 14th.
    let fields: Vec<&str> = stat.rsplit_once(')').ok_or("/proc/self/stat")?.1.split_whitespace().collect();
    let ticks = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok()).ok_or("/proc/self/stat: no CPU times");
    Ok((ticks(14)? + ticks(15)?) / TICKS_PER_SECOND)
}

/// "123.45us", "1.20ms", "2.00s".
fn wrk_duration_ms(value: &str) -> Option<f64> {
    let split = value.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(number / 1000.0),
        "ms" => Some(number),
        "s" => Some(number * 1000.0),
        _ => None,
    }
}

fn hey(url: &str, key: &str, body: &str, rate: f64, seconds: u64) -> Result<Figures, Box<dyn std::error::Error>> {
    const WORKERS: f64 = 8.0;
    let per_worker = (rate / WORKERS).max(1.0).round();
    let header = format!("X-API-Key: {key}");
    let mut command = Command::new("hey");
    command.args(["-c", "8", "-q", &per_worker.to_string(), "-z", &format!("{seconds}s"), "-m", "POST"]);
    command.args(["-T", "application/json", "-H", &header, "-d", body, url]);
    let cpu_before = process_cpu_seconds()?;
    let output = command.output()?;
    let cpu = process_cpu_seconds()? - cpu_before;
    let text = String::from_utf8_lossy(&output.stdout);
    let non_200 = text.lines().map(str::trim).any(|l| l.starts_with('[') && !l.starts_with("[200]"));
    if non_200 {
        return Err(format!("hey saw errors:\n{text}").into());
    }
    let field = |prefix: &str| text.lines().map(str::trim).find_map(|l| l.strip_prefix(prefix)).map(str::trim);
    // "[200]\t12345 responses"
    let answered: f64 = field("[200]")
        .and_then(|v| v.strip_suffix(" responses")?.trim().parse().ok())
        .filter(|&n: &f64| n > 0.0)
        .ok_or("hey: no response count")?;
    let seconds_ms = |v: &str| v.strip_suffix(" secs").and_then(|s| s.parse::<f64>().ok()).map(|s| s * 1000.0);
    Ok(Figures {
        rps: field("Requests/sec:").and_then(|v| v.parse().ok()).ok_or("hey: no Requests/sec")?,
        p50_ms: field("50% in").and_then(seconds_ms).ok_or("hey: no p50")?,
        p99_ms: field("99% in").and_then(seconds_ms).ok_or("hey: no p99")?,
        cpu_us: cpu * 1e6 / answered,
    })
}
