//! Two instances on one PostgreSQL under load while keys are rotated and revoked, beside one
//! instance on SQLite under the same load: `make bench-cluster`
//! (or `cargo run --profile benchmark -p keyward --example load_cluster -- [requests] [concurrency]`).
//!
//! Each instance is a whole Keyward server on its own loopback port, with its own database pool,
//! key cache, usage meter, rate limiter and key-change listener, as separate processes would have;
//! they share this process only. The load comes from a client in this process too, bounded in
//! count and in time. The run fails if any request errs, or if the usage written by the two
//! instances does not add up to exactly the verifications they answered.
//!
//! PostgreSQL: KEYWARD_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
//! a fresh database is created for the run.

use app::model::{Plan, RotationGrace, ScopePreset};
use app::ssr::entities::key_usage;
use app::ssr::services::{Member, keys, organizations, projects};
use app::ssr::{AppState, Core, db, invalidation};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use app::ssr::test_support as fixtures;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Keys presented by the load, and how many of them are changed while it runs.
const KEYS: usize = 20;
const ROTATED: usize = 8;
const REVOKED: usize = 4;
/// No run takes longer than this, whatever the machine.
const DEADLINE: Duration = Duration::from_secs(300);

fn main() -> Result<(), Failure> {
    let mut args = std::env::args().skip(1);
    let total: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(32);
    let server = std::env::var("KEYWARD_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(total, concurrency, &server))
}

async fn run(total: usize, concurrency: usize, server: &str) -> Result<(), Failure> {
    println!("Verification load: {total} requests, {concurrency} at a time, client in the same process");
    println!("{:<52} {:>9} {:>8} {:>8} {:>7}", "setup", "req/s", "p50 ms", "p99 ms", "errors");

    let dir = tempfile::tempdir()?;
    let sqlite = Instance::start(&format!("sqlite://{}/load.db", dir.path().display())).await?;
    let seeded = seed(&sqlite.core).await?;
    let single = load(std::slice::from_ref(&sqlite.base), &seeded, total, concurrency).await?;
    single.print("one instance, SQLite (baseline)", None);
    sqlite.stop().await?;

    let url = fixtures::fresh_postgres(server).await;
    let a = Instance::start(&url).await?;
    let b = Instance::start(&url).await?;
    let seeded = Arc::new(seed(&a.core).await?);
    // While the load runs: rotations (with a grace period, so the old secrets still verify) and
    // revocations, made through instance A.
    let (done, finished) = watch::channel(false);
    let changer = tokio::spawn(change_keys(a.core.clone(), Arc::clone(&seeded), finished));
    let cluster = load(&[a.base.clone(), b.base.clone()], &seeded, total, concurrency).await?;
    let _ = done.send(true);
    let changes = changer.await??;
    cluster.print("two instances, PostgreSQL, keys rotated and revoked", Some(single.rps));
    println!("changes made through instance A during the load: {changes}");

    // Each instance writes what it counted when it stops; then the totals must match what was answered.
    let check = a.core.clone();
    a.stop().await?;
    b.stop().await?;
    let rows = key_usage::Entity::find()
        .filter(key_usage::Column::KeyId.is_in(seeded.ids.iter().copied()))
        .all(&check.db)
        .await?;
    let (valid, denied) = rows.iter().fold((0u64, 0u64), |(v, d), r| (v + r.valid as u64, d + r.denied as u64));
    let answered_valid = cluster.codes.get("VALID").copied().unwrap_or(0);
    let answered_other: u64 = cluster.codes.iter().filter(|(c, _)| *c != "VALID").map(|(_, n)| n).sum();
    println!("verdicts answered: {:?}", cluster.codes);
    println!(
        "usage written by both instances: valid {valid} + denied {denied} = {}; answered: {answered_valid} + {answered_other} = {}",
        valid + denied,
        answered_valid + answered_other
    );
    if cluster.errors > 0 || single.errors > 0 {
        return Err(format!("{} requests failed", cluster.errors + single.errors).into());
    }
    if (valid, denied) != (answered_valid, answered_other) {
        return Err("the usage written does not match the verifications answered".into());
    }
    println!("usage totals match the requests answered, across both instances");
    Ok(())
}

/// One Keyward server: its own pool, caches, listener and usage flush (every second).
struct Instance {
    core: Core,
    base: String,
    stop: watch::Sender<bool>,
    flusher: JoinHandle<()>,
    listener: Option<JoinHandle<()>>,
}

impl Instance {
    async fn start(url: &str) -> Result<Self, Failure> {
        let core = Core::new(db::connect_and_migrate(url).await?);
        let listener = invalidation::spawn_listener(&core.db, core.cache.clone()).await?;
        let (stop, stopped) = watch::channel(false);
        let flusher = keyward::tasks::spawn_usage_flush(core.clone(), Duration::from_secs(1), stopped);
        let leptos_options = leptos::config::LeptosOptions::builder().output_name("keyward").build();
        let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let site = keyward::security::Site::new(None, socket.local_addr()?, Vec::new(), false)?;
        let app = keyward::router::build(AppState::new(leptos_options, core.clone(), false), site);
        let base = format!("http://{}", socket.local_addr()?);
        tokio::spawn(async move { axum::serve(socket, app).await });
        Ok(Self { core, base, stop, flusher, listener })
    }

    /// As at a graceful shutdown: the last flush writes everything counted.
    async fn stop(self) -> Result<(), Failure> {
        let _ = self.stop.send(true);
        self.flusher.await?;
        if let Some(listener) = self.listener {
            listener.abort();
        }
        Ok(())
    }
}

struct Seeded {
    owner: Member,
    verifier: String,
    ids: Vec<Uuid>,
    tokens: Vec<String>,
}

async fn seed(core: &Core) -> Result<Seeded, Failure> {
    let owner = fixtures::organization(&core.db, "Load", "load@load.test").await;
    organizations::change_plan(core, &owner, Plan::Enterprise).await?;
    let owner = Member { plan: Plan::Enterprise, ..owner };
    let project = projects::list(&core.db, &owner).await?.remove(0);
    let scopes = ScopePreset::Workspace.scopes().to_strings();
    let verifier = keys::create(core, &owner, fixtures::scoped_key("verifier", &project, scopes)).await?.token;
    let (mut ids, mut tokens) = (Vec::new(), Vec::new());
    for i in 0..KEYS {
        let created =
            keys::create(core, &owner, fixtures::scoped_key(&format!("customer {i}"), &project, vec![])).await?;
        ids.push(created.key.id);
        tokens.push(created.token);
    }
    Ok(Seeded { owner, verifier, ids, tokens })
}

/// Rotates the first keys and revokes the next ones, one change every 50 ms, until the load ends.
async fn change_keys(core: Core, seeded: Arc<Seeded>, mut finished: watch::Receiver<bool>) -> Result<usize, Failure> {
    let mut changes = 0;
    let mut ticks = tokio::time::interval(Duration::from_millis(50));
    let plan = (0..ROTATED).map(|i| (i, false)).chain((ROTATED..ROTATED + REVOKED).map(|i| (i, true)));
    for (index, revoke) in plan {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = finished.changed() => break,
        }
        let id = seeded.ids[index];
        if revoke {
            keys::revoke(&core, &seeded.owner, id).await?;
        } else {
            keys::rotate(&core, &seeded.owner, id, RotationGrace::OneHour).await?;
        }
        changes += 1;
    }
    Ok(changes)
}

struct Report {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    codes: HashMap<String, u64>,
}

impl Report {
    fn print(&self, label: &str, baseline: Option<f64>) {
        let ratio = baseline.map_or_else(String::new, |b| format!("  ({:.0}% of the baseline)", self.rps / b * 100.0));
        println!("{label:<52} {:>9.0} {:>8.3} {:>8.3} {:>7}{ratio}", self.rps, self.p50_ms, self.p99_ms, self.errors);
    }
}

/// Sends `total` verifications, `concurrency` at a time, spread over the instances and the keys.
async fn load(bases: &[String], seeded: &Seeded, total: usize, concurrency: usize) -> Result<Report, Failure> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let urls: Arc<Vec<String>> = Arc::new(bases.iter().map(|b| format!("{b}/api/v1/keys/verify")).collect());
    let bodies: Arc<Vec<String>> =
        Arc::new(seeded.tokens.iter().map(|t| serde_json::json!({ "key": t }).to_string()).collect());
    let started = Instant::now();
    let workers: Vec<JoinHandle<Worker>> = (0..concurrency)
        .map(|worker| {
            let (http, urls, bodies, verifier) = (http.clone(), urls.clone(), bodies.clone(), seeded.verifier.clone());
            tokio::spawn(async move {
                let mut done = Worker::default();
                for n in (worker..total).step_by(concurrency) {
                    if started.elapsed() > DEADLINE {
                        break;
                    }
                    let sent = Instant::now();
                    let answer = http
                        .post(&urls[n % urls.len()])
                        .header("X-API-Key", &verifier)
                        .header("Content-Type", "application/json")
                        .body(bodies[n % bodies.len()].clone())
                        .send()
                        .await;
                    let code = match answer {
                        Ok(response) if response.status().is_success() => response
                            .json::<serde_json::Value>()
                            .await
                            .ok()
                            .and_then(|v| v["code"].as_str().map(str::to_owned)),
                        _ => None,
                    };
                    done.latencies_us.push(sent.elapsed().as_micros() as u64);
                    match code {
                        Some(code) => *done.codes.entry(code).or_default() += 1,
                        None => done.errors += 1,
                    }
                }
                done
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    let mut report = Report { rps: 0.0, p50_ms: 0.0, p99_ms: 0.0, errors: 0, codes: HashMap::new() };
    for worker in workers {
        let done = worker.await?;
        latencies.extend(done.latencies_us);
        report.errors += done.errors;
        for (code, n) in done.codes {
            *report.codes.entry(code).or_default() += n;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)));
    report.rps = latencies.len() as f64 / elapsed;
    report.p50_ms = at(0.50).copied().unwrap_or(0) as f64 / 1000.0;
    report.p99_ms = at(0.99).copied().unwrap_or(0) as f64 / 1000.0;
    if latencies.len() < total {
        return Err(format!("only {} of {total} requests sent within {DEADLINE:?}", latencies.len()).into());
    }
    Ok(report)
}

#[derive(Default)]
struct Worker {
    latencies_us: Vec<u64>,
    errors: u64,
    codes: HashMap<String, u64>,
}
