//! What the verification path knows about keys it has seen recently, by digest, so that a key in use
//! costs no database work. Every change to a key forgets its digests before the change is answered.

use crate::model::{Environment, KeyQuery, KeyStats, KeyStatus, RateLimit, Role, ScopeSet};
use crate::ssr::services::Reach;
use chrono::{DateTime, Utc};
use moka::sync::Cache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use uuid::Uuid;

/// SHA-256 of a presented token.
pub type Digest = [u8; 32];

/// A key as the verification path needs it: no secret, nothing a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub project_id: Uuid,
    pub project_name: String,
    pub environment: Environment,
    pub name: String,
    pub status: KeyStatus,
    pub expires_at: Option<DateTime<Utc>>,
    pub scopes: ScopeSet,
    pub rate_limit: Option<RateLimit>,
    /// Its credits' terms (the count is the database's); `None`: unlimited.
    pub credits: Option<crate::ssr::credits::CreditTerms>,
    /// The networks it may be used from; `None`: anywhere.
    pub ip_allowlist: Option<Box<[ipnet::IpNet]>>,
    /// The member who created the key: the person a key acts for when it manages keys.
    pub created_by: Uuid,
    /// The creator's role in the key's organization now; `None` once they are suspended or removed.
    /// A key's management power never exceeds it (changes of membership clear the cache).
    pub creator_role: Option<Role>,
    /// Who the key is for in the team's own system, and their JSON object (as stored): verification
    /// answers with both, so the calling service needs no second lookup.
    pub external_id: Option<String>,
    pub meta: Option<String>,
    /// A decoy: answered as an unknown key, and each use recorded.
    pub decoy: bool,
    /// The key's part of a verification answer, as the REST API writes it: made at the first
    /// verification that finds the record, then copied (a change to the key makes a new record).
    pub answer: OnceLock<Box<[u8]>>,
}

/// What a digest stands for.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// No key has this digest (remembered too, so a flood of unknown keys stays off the database).
    Unknown,
    /// The key's current secret.
    Current(Arc<KeyRecord>),
    /// A secret replaced by a rotation, which works until `until`.
    Replaced { key: Arc<KeyRecord>, until: DateTime<Utc> },
}

/// A bounded, concurrent cache (quick_cache: S3-FIFO, so a flood of one-off digests passes through
/// its probation queue without pushing out the keys in real use). Every verification reads it twice,
/// so a read is kept to a shard's read lock and a table probe. The time-to-live only bounds how long
/// an entry lives if an invalidation were ever missed; correctness comes from [`KeyCache::forget`].
#[derive(Clone)]
pub struct KeyCache {
    entries: Arc<quick_cache::sync::Cache<Digest, Remembered, Weight>>,
    ttl: Duration,
    /// Bumped by every invalidation: a lookup that raced one does not cache what it read.
    generation: Arc<AtomicU64>,
}

/// A lookup, and until when it may be used: on the wall clock, as the request's `now` is, so that
/// a verification reads the clock once rather than once more per cache read. (The time-to-live only
/// bounds a missed invalidation: a clock set back lengthens that bound, and nothing else.)
#[derive(Clone)]
struct Remembered {
    lookup: Lookup,
    until: DateTime<Utc>,
}

/// What an entry costs the cache's capacity: one, plus one per 512 bytes of the key's metadata
/// (kept twice: as stored, and inside its answer). A cache full of keys with 16 KB of metadata then
/// holds about as many bytes as one full of plain keys, not thirty times more.
#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<Digest, Remembered> for Weight {
    fn weight(&self, _: &Digest, remembered: &Remembered) -> u64 {
        let meta = match &remembered.lookup {
            Lookup::Unknown => 0,
            Lookup::Current(key) | Lookup::Replaced { key, .. } => key.meta.as_ref().map_or(0, String::len),
        };
        1 + meta as u64 / 512
    }
}

impl KeyCache {
    pub const DEFAULT_CAPACITY: u64 = 100_000;
    pub const DEFAULT_TTL: Duration = Duration::from_secs(60);

    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        Self {
            entries: Arc::new(quick_cache::sync::Cache::with_weighter(
                capacity,
                u64::try_from(capacity).unwrap_or(u64::MAX),
                Weight,
            )),
            ttl,
            generation: Arc::new(AtomicU64::new(0)),
        }
    }

    /// What `digest` stands for, if remembered and not outlived at `now` (the request's instant).
    pub fn get(&self, digest: &Digest, now: DateTime<Utc>) -> Option<Lookup> {
        let remembered = self.entries.get(digest)?;
        // An outlived entry is simply not used: the lookup that follows replaces it.
        (now < remembered.until).then_some(remembered.lookup)
    }

    /// Until when an entry made now may be used.
    fn expiry(&self) -> DateTime<Utc> {
        Utc::now() + self.ttl
    }

    /// Where a lookup starts: pass it back to [`KeyCache::remember`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches what a lookup read from the database, unless a key changed since it started: what it
    /// read might then be stale, and the next request reads again.
    pub fn remember(&self, digest: Digest, lookup: Lookup, started_at: u64) {
        if self.generation() != started_at {
            return;
        }
        self.entries.insert(digest, Remembered { lookup, until: self.expiry() });
        // An invalidation between the check and the insert: drop what may be stale.
        if self.generation() != started_at {
            self.entries.remove(&digest);
        }
    }

    /// The cached lookup of `digest`, or `load`'s, read once however many verifications of the
    /// digest miss at the same moment: the others wait for it (a new key's first burst is one
    /// database read, and counts once against the caller's address). What a load read is cached,
    /// and handed to those waiting, only if no key changed meanwhile; otherwise the next in line
    /// reads again.
    pub async fn get_or_load<E, F>(&self, digest: Digest, load: impl Fn() -> F) -> Result<(Lookup, bool), E>
    where
        F: Future<Output = Result<Lookup, E>>,
    {
        // Twice at most: an outlived entry is dropped, then loaded.
        for _ in 0..2 {
            let guard = match self.entries.get_value_or_guard_async(&digest).await {
                Ok(remembered) if Utc::now() < remembered.until => return Ok((remembered.lookup, true)),
                Ok(_) => {
                    // Only an outlived entry: another request's placeholder, if it has put one in
                    // the meantime, stays for this one to wait on.
                    self.entries.remove_if(&digest, |r| Utc::now() >= r.until);
                    continue;
                }
                Err(guard) => guard,
            };
            let started = self.generation();
            let loaded = load().await;
            match &loaded {
                Ok(lookup) if self.generation() == started => {
                    let remembered = Remembered { lookup: lookup.clone(), until: self.expiry() };
                    let _ = guard.insert(remembered);
                    // An invalidation between the check and the insert: drop what may be stale.
                    if self.generation() != started {
                        self.entries.remove_if(&digest, |_| true);
                    }
                }
                // A read that failed, or raced a change: those waiting are handed an entry already
                // outlived, which sends them to read again. (Dropping the placeholder instead would
                // hand it to one waiter at a time: in an outage, one timeout after another.)
                _ => {
                    let _ = guard.insert(Remembered { lookup: Lookup::Unknown, until: Utc::now() });
                    self.entries.remove_if(&digest, |r| Utc::now() >= r.until);
                }
            }
            return loaded.map(|lookup| (lookup, false));
        }
        load().await.map(|lookup| (lookup, false))
    }

    /// Forgets the digests (hex, as stored) of a key that just changed. Called after the change is
    /// committed and before it is answered, so the very next request sees it.
    pub fn forget<'a>(&self, digests: impl IntoIterator<Item = &'a str>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for digest in digests {
            if let Some(digest) = from_hex(digest) {
                self.entries.remove(&digest);
            }
        }
    }

    /// Keys and digests held now.
    pub fn entry_count(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.clear();
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY, Self::DEFAULT_TTL)
    }
}

fn from_hex(digest: &str) -> Option<Digest> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digest, &mut bytes).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Arc<KeyRecord> {
        Arc::new(KeyRecord {
            id: Uuid::nil(),
            organization_id: Uuid::nil(),
            project_id: Uuid::nil(),
            project_name: "Default".into(),
            environment: Environment::Production,
            name: "k".into(),
            status: KeyStatus::Active,
            expires_at: None,
            scopes: ScopeSet::default(),
            rate_limit: None,
            credits: None,
            ip_allowlist: None,
            created_by: Uuid::nil(),
            creator_role: Some(Role::Owner),
            external_id: None,
            meta: None,
            decoy: false,
            answer: OnceLock::new(),
        })
    }

    /// Keys with large metadata count for their size: a cache of 1,000 holds 1,000 plain keys, but
    /// only about 30 keys with 16 KB of metadata each.
    #[test]
    fn keys_with_large_metadata_weigh_their_size() {
        let with_meta = || {
            let mut key = Arc::unwrap_or_clone(record());
            key.meta = Some(format!(r#"{{"b":"{}"}}"#, "x".repeat(16 * 1024 - 8)));
            Arc::new(key)
        };
        let cache = KeyCache::new(1_000, Duration::from_secs(60));
        for i in 0..1_000u32 {
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            cache.remember(digest, Lookup::Current(record()), cache.generation());
        }
        assert!(cache.entry_count() > 900, "{} plain keys held", cache.entry_count());
        let heavy = KeyCache::new(1_000, Duration::from_secs(60));
        for i in 0..1_000u32 {
            let mut digest = [0u8; 32];
            digest[..4].copy_from_slice(&i.to_be_bytes());
            heavy.remember(digest, Lookup::Current(with_meta()), heavy.generation());
        }
        assert!(heavy.entry_count() <= 1_000 / 33 + 1, "{} keys with 16 KB of metadata held", heavy.entry_count());
    }

    #[test]
    fn forgetting_a_digest_drops_its_entry() {
        let cache = KeyCache::default();
        let digest = [7u8; 32];
        cache.remember(digest, Lookup::Current(record()), cache.generation());
        assert!(matches!(cache.get(&digest, Utc::now()), Some(Lookup::Current(_))));
        cache.forget([hex::encode(digest).as_str()]);
        assert!(cache.get(&digest, Utc::now()).is_none());
    }

    #[test]
    fn a_lookup_that_raced_a_change_is_not_cached() {
        let cache = KeyCache::default();
        let digest = [9u8; 32];
        let started = cache.generation();
        cache.forget([hex::encode([1u8; 32]).as_str()]);
        cache.remember(digest, Lookup::Unknown, started);
        assert!(cache.get(&digest, Utc::now()).is_none());
        cache.remember(digest, Lookup::Unknown, cache.generation());
        assert!(matches!(cache.get(&digest, Utc::now()), Some(Lookup::Unknown)));
    }

    /// A burst of verifications of a digest nobody has asked for yet: one database read, and the
    /// others are handed what it found. Unless a key changed during the read: then nothing is
    /// cached or handed on, and the next in line reads again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_misses_reads_the_database_once_unless_a_key_changes_meanwhile() {
        let cache = KeyCache::default();
        let reads = AtomicU64::new(0);
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>(Lookup::Current(record()))
        };
        let burst = futures::future::join_all((0..50).map(|_| cache.get_or_load([3u8; 32], read))).await;
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert!(burst.iter().all(|lookup| matches!(lookup, Ok((Lookup::Current(_), _)))));
        assert_eq!(burst.iter().filter(|lookup| matches!(lookup, Ok((_, false)))).count(), 1, "one read, 49 handed on");

        reads.store(0, Ordering::SeqCst);
        let changing = || async {
            // The first read races a change to some key; those after it do not.
            if reads.fetch_add(1, Ordering::SeqCst) == 0 {
                cache.forget([hex::encode([1u8; 32]).as_str()]);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(Lookup::Unknown)
        };
        let burst = futures::future::join_all((0..10).map(|_| cache.get_or_load([4u8; 32], changing))).await;
        assert!(burst.iter().all(|lookup| matches!(lookup, Ok((Lookup::Unknown, _)))));
        assert_eq!(reads.load(Ordering::SeqCst), 2, "what raced the change was read again, once");
        assert!(matches!(cache.get(&[4u8; 32], Utc::now()), Some(Lookup::Unknown)));
    }

    /// The database is down: a burst of misses does not wait for one failed read after another.
    /// Those waiting on a failed read read again, and the last of them all at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_read_sends_those_waiting_to_read_again_together() {
        let cache = KeyCache::default();
        let (reads, reading, most_at_once) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
        let failing = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            let now = reading.fetch_add(1, Ordering::SeqCst) + 1;
            most_at_once.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            reading.fetch_sub(1, Ordering::SeqCst);
            Err::<Lookup, _>("the database is down")
        };
        let burst = futures::future::join_all((0..10).map(|_| cache.get_or_load([5u8; 32], failing))).await;
        assert!(burst.iter().all(Result::is_err));
        assert_eq!(reads.load(Ordering::SeqCst), 10, "each asked once");
        assert!(most_at_once.load(Ordering::SeqCst) > 1, "not one after another");
        assert!(cache.get(&[5u8; 32], Utc::now()).is_none(), "nothing is remembered of a failure");
    }

    #[test]
    fn a_flood_of_unknown_keys_does_not_push_out_the_keys_in_use() {
        let cache = KeyCache::new(10_000, KeyCache::DEFAULT_TTL);
        let digest = |n: u32, kind: u8| {
            let mut digest = [kind; 32];
            digest[..4].copy_from_slice(&n.to_le_bytes());
            digest
        };
        for n in 0..200 {
            cache.remember(digest(n, 1), Lookup::Current(record()), cache.generation());
        }
        // In use: each is read again after it is cached.
        for n in 0..200 {
            assert!(cache.get(&digest(n, 1), Utc::now()).is_some());
        }
        // Five times the capacity in digests of random tokens from an attacker, each presented twice
        // (so that each is seen again once cached), while the keys in use go on being used.
        for n in 0..50_000 {
            let unknown = digest(n, 2);
            assert!(cache.get(&unknown, Utc::now()).is_none());
            cache.remember(unknown, Lookup::Unknown, cache.generation());
            assert!(cache.get(&unknown, Utc::now()).is_some());
            if n % 1_000 == 0 {
                for key in 0..200 {
                    cache.get(&digest(key, 1), Utc::now());
                }
            }
        }
        let kept =
            (0..200).filter(|&n| matches!(cache.get(&digest(n, 1), Utc::now()), Some(Lookup::Current(_)))).count();
        assert_eq!(kept, 200, "keys in use pushed out by one-off digests");
        assert!(cache.entry_count() <= 10_000, "{} entries", cache.entry_count());
    }

    /// Judged at the request's instant, which the caller reads once: the clock is not read again.
    #[test]
    fn an_entry_is_not_used_past_its_time_to_live() {
        let cache = KeyCache::new(100, Duration::from_secs(60));
        let digest = [3u8; 32];
        cache.remember(digest, Lookup::Current(record()), cache.generation());
        let now = Utc::now();
        assert!(cache.get(&digest, now + Duration::from_secs(59)).is_some());
        assert!(cache.get(&digest, now + Duration::from_secs(61)).is_none(), "an entry outlived its time-to-live");
        assert!(cache.get(&digest, now).is_some(), "an outlived entry is not removed by a read, only unused");
        // The next lookup's answer replaces it.
        cache.remember(digest, Lookup::Unknown, cache.generation());
        assert!(matches!(cache.get(&digest, Utc::now()), Some(Lookup::Unknown)));
    }
}

/// The figures above the keys table (counts, calls in the last day, the last call), and how many
/// keys a list's filters match, per organization and reach: at 100,000 keys each costs a count
/// over the table, on every render and every page of the keys list.
///
/// A change made through this instance forgets its organization's figures at once, so they are
/// exact after every change a person makes; a figure read while a change was made is not kept
/// (see [`StatsCache::generation`]). What moves on its own (calls, keys reaching their expiry,
/// changes made through another instance) shows after `TTL` at most; calls already reach the
/// database only every usage flush.
#[derive(Clone)]
pub struct StatsCache {
    entries: Cache<(Uuid, Reach), KeyStats>,
    /// Keyed by the list's filters alone (its sort and page set to their defaults).
    totals: Cache<(Uuid, Reach, KeyQuery), u64>,
    /// Bumped by every change: a figure read before it is stale.
    generation: Arc<AtomicU64>,
}

impl StatsCache {
    pub const TTL: Duration = Duration::from_secs(5);

    /// Read before the database, and handed back to `remember*`.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn get(&self, organization: Uuid, reach: Reach) -> Option<KeyStats> {
        self.entries.get(&(organization, reach))
    }

    pub fn remember(&self, organization: Uuid, reach: Reach, stats: KeyStats, read_at: u64) {
        if read_at == self.generation() {
            self.entries.insert((organization, reach), stats);
        }
    }

    pub fn total(&self, organization: Uuid, reach: Reach, filters: &KeyQuery) -> Option<u64> {
        self.totals.get(&(organization, reach, filters.clone()))
    }

    pub fn remember_total(&self, organization: Uuid, reach: Reach, filters: KeyQuery, total: u64, read_at: u64) {
        if read_at == self.generation() {
            self.totals.insert((organization, reach, filters), total);
        }
    }

    /// After a change to the organization's keys or plan.
    pub fn forget(&self, organization: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Only fails when closures are not enabled, which `default` does.
        let _ = self.entries.invalidate_entries_if(move |(org, _), _| *org == organization);
        let _ = self.totals.invalidate_entries_if(move |(org, _, _), _| *org == organization);
    }
}

impl Default for StatsCache {
    fn default() -> Self {
        Self { entries: figures_cache(), totals: figures_cache(), generation: Arc::default() }
    }
}

fn figures_cache<K: std::hash::Hash + Eq + Send + Sync + 'static, V: Clone + Send + Sync + 'static>() -> Cache<K, V> {
    Cache::builder().max_capacity(10_000).time_to_live(StatsCache::TTL).support_invalidation_closures().build()
}
