//! When something several instances share fails: a Redis that stops answering must not add its
//! timeout to every verification, and a lost PostgreSQL change channel must not leave an instance
//! serving a key that was revoked while it was not listening.

use app::model::{KeyStatus, RateLimit, RateWindow};
use app::ssr::entities::api_key;
use app::ssr::metrics::{SHARED_LIMIT_FALLBACKS, SHARED_LIMIT_SKIPS};
use app::ssr::rate_limit::{RateLimiter, SharedWindows};
use app::ssr::services::keys;
use app::ssr::services::verification::{self, KeyRejection};
use app::ssr::test_support::{default_project, fresh_postgres, new_key, organization, required_postgres};
use app::ssr::{Core, ServiceError, db, invalidation};
use chrono::Utc;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, Set, Statement};
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use uuid::Uuid;

/// A Redis that answers a new connection's handshake and PING, then never answers a script: what a
/// Redis stuck on a slow command, or a network that loses its replies, looks like to a client.
struct HangingRedis {
    url: String,
    /// Scripts sent to it (the rate-limit count is one script per check).
    scripts: Arc<AtomicUsize>,
}

impl HangingRedis {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("redis://{}", listener.local_addr().expect("its address"));
        let scripts = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&scripts);
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                tokio::spawn(answer_all_but_scripts(socket, Arc::clone(&counted)));
            }
        });
        Self { url, scripts }
    }

    fn scripts(&self) -> usize {
        self.scripts.load(Ordering::SeqCst)
    }
}

async fn answer_all_but_scripts(socket: TcpStream, scripts: Arc<AtomicUsize>) -> io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut read = BufReader::new(read);
    while let Some(command) = read_command(&mut read).await? {
        let reply: &[u8] = match command.first().map(|name| name.to_ascii_uppercase()).as_deref() {
            Some("EVAL" | "EVALSHA") => {
                scripts.fetch_add(1, Ordering::SeqCst);
                continue;
            }
            Some("PING") => b"+PONG\r\n",
            // CLIENT SETINFO, which the client sends on every new connection.
            _ => b"+OK\r\n",
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

/// One command as a client sends it, an array of bulk strings (`*1\r\n$4\r\nPING\r\n`); `None` once
/// the client has closed the connection.
async fn read_command(read: &mut BufReader<OwnedReadHalf>) -> io::Result<Option<Vec<String>>> {
    let mut line = String::new();
    if read.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let count = resp_length(&line, '*')?;
    let mut command = Vec::with_capacity(count);
    for _ in 0..count {
        line.clear();
        read.read_line(&mut line).await?;
        // The argument, then its "\r\n".
        let mut argument = vec![0; resp_length(&line, '$')? + 2];
        read.read_exact(&mut argument).await?;
        argument.truncate(argument.len() - 2);
        command.push(String::from_utf8_lossy(&argument).into_owned());
    }
    Ok(Some(command))
}

fn resp_length(line: &str, kind: char) -> io::Result<usize> {
    line.trim_end().strip_prefix(kind).and_then(|n| n.parse().ok()).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidData, format!("expected a RESP {kind} header, read {line:?}"))
    })
}

/// A `metrics` recorder that keeps the shared limiter's two counts (and drops every other metric).
#[derive(Default)]
struct LimiterCounts {
    fallbacks: Arc<AtomicU64>,
    skips: Arc<AtomicU64>,
}

impl LimiterCounts {
    /// Checks that asked Redis and counted locally when it failed; checks that did not ask it.
    fn now(&self) -> (u64, u64) {
        (self.fallbacks.load(Ordering::SeqCst), self.skips.load(Ordering::SeqCst))
    }
}

impl Recorder for LimiterCounts {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        match key.name() {
            SHARED_LIMIT_FALLBACKS => Counter::from_arc(Arc::clone(&self.fallbacks)),
            SHARED_LIMIT_SKIPS => Counter::from_arc(Arc::clone(&self.skips)),
            _ => Counter::noop(),
        }
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

#[test]
fn after_redis_fails_to_answer_it_is_left_alone_for_the_pause_and_each_check_skipping_it_is_counted() {
    let counts = LimiterCounts::default();
    // The limiter counts through the `metrics` facade: a recorder set for this thread sees it all, as
    // a runtime on this thread runs every task of the test here.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    metrics::with_local_recorder(&counts, || {
        runtime.block_on(async {
            let redis = HangingRedis::start().await;
            let shared = SharedWindows::connect(&redis.url).await.expect("the handshake is answered");
            let limiter = RateLimiter::shared(shared);
            let (key, limit) = (Uuid::now_v7(), RateLimit { requests: 5, window: RateWindow::Hour });
            // The limiter reads the clock it is given: every check below falls in one hour's window.
            let start_ms = 500_000 * 3_600_000 + 60_000;

            // The first check asks Redis, gets no answer within the response timeout, counts locally.
            assert!(limiter.check(key, limit, start_ms).await.allowed);
            let asked = redis.scripts();
            assert!(asked >= 1, "Redis was asked");
            assert_eq!(counts.now(), (1, 0));

            // For the pause, checks do not ask Redis at all (so wait on nothing) and each is counted.
            let during_pause = async {
                let mut allowed = 0;
                for i in 1..=100 {
                    allowed += u32::from(limiter.check(key, limit, start_ms + i * 29).await.allowed);
                }
                allowed
            };
            // Only so that a breaker that waits on Redis fails in seconds, not after 100 timeouts.
            let allowed = tokio::time::timeout(Duration::from_secs(5), during_pause).await.expect("no check waited");
            assert_eq!(redis.scripts(), asked, "Redis was asked during the pause");
            assert_eq!(counts.now(), (1, 100));
            // Meanwhile this instance holds the key to its limit alone: 5 in the window, the first included.
            assert_eq!(allowed, 4);

            // Once the pause is over, Redis is asked again (and, still silent, counted as failing again).
            let after = limiter.check(key, limit, start_ms + SharedWindows::PAUSE_MS).await;
            assert!(!after.allowed, "the local count still holds the key to its limit");
            assert!(redis.scripts() > asked, "Redis was not asked after the pause");
            assert_eq!(counts.now(), (2, 100));
        });
    });
}

/// Whether `core` lets `token` call the API now: from its cache, when it holds the key there.
async fn accepts(core: &Core, token: &str) -> bool {
    match verification::authenticate(core, Some(token), None, Utc::now()).await {
        Ok(_) => true,
        Err(ServiceError::KeyRejected(KeyRejection::Invalid)) => false,
        Err(other) => panic!("neither accepted nor refused as revoked: {other:?}"),
    }
}

/// Waits until `core` refuses `token`, ten seconds at most.
async fn until_refused(core: &Core, token: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while accepts(core, token).await {
        assert!(Instant::now() < deadline, "{what}: still accepted after 10 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn a_key_revoked_while_the_change_channel_was_down_is_not_served_from_the_cache() {
    let url = fresh_postgres(&required_postgres()).await;
    // Two instances of one database: `a` listens for changes, `b` makes them. Each has its own pool
    // and cache, so `a` hears of `b`'s changes through PostgreSQL only.
    let a = Core::new(db::connect_and_migrate(&url).await.expect("database with migrations"));
    let b = Core::new(db::connect(&url).await.expect("database"));
    let listener =
        invalidation::spawn_listener(&a.db, a.cache.clone()).await.expect("listening").expect("PostgreSQL listens");
    let owner = organization(&b.db, "Acme", "ada@acme.test").await;
    let project = default_project(&b.db, &owner).await;
    let during = keys::create(&b, &owner, new_key("revoked during the gap", &project)).await.expect("key");
    let after = keys::create(&b, &owner, new_key("revoked after it", &project)).await.expect("key");
    assert!(accepts(&a, &during.token).await, "`a` holds the key in its cache now");

    // The listening connection is cut...
    let cut =
        b.db.query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity \
             WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
        ))
        .await
        .expect("backends listed");
    let cut: Vec<bool> = cut.iter().map(|row| row.try_get("", "cut").expect("a bool")).collect();
    assert_eq!(cut, [true], "one listening connection, cut");

    // ...and the key is revoked meanwhile. Written straight to its row and announced to no one: as a
    // revoke committed while nobody listened, whose announcement PostgreSQL drops. (A revoke through
    // the service could be heard by the new LISTEN, and prove nothing.) Only the clear that follows
    // listening again can tell `a`.
    let mut row = api_key::Entity::find_by_id(during.key.id)
        .one(&b.db)
        .await
        .expect("read")
        .expect("the key")
        .into_active_model();
    row.status = Set(KeyStatus::Revoked);
    row.update(&b.db).await.expect("revoked");
    until_refused(&a, &during.token, "a key revoked while `a` was not listening").await;

    // Listening again, `a` hears what comes next: it caches the other key (after the clear), `b`
    // revokes it through the service (which clears `b`'s cache only), and `a` follows.
    assert!(accepts(&a, &after.token).await);
    keys::revoke(&b, &owner, after.key.id).await.expect("revoked");
    until_refused(&a, &after.token, "a key revoked after `a` listened again").await;
    assert!(!listener.is_finished(), "the listener keeps running");
    listener.abort();
}
