//! Connecting to the database and bringing its schema up to date.

use super::migration::{Migrator, POSTGRES_SEARCH_INDEXES};
use sea_orm::SqlxSqliteConnector;
use sea_orm::sqlx::sqlite::{SqlitePoolOptions, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use std::time::Duration;

/// Connects to `url` (SQLite or PostgreSQL), creating a SQLite file and its folder if missing,
/// and runs every pending migration.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    warn_if_search_scans(&db).await?;
    refresh_planner_statistics(&db).await?;
    Ok(db)
}

/// SQLite picks its indexes by the statistics `ANALYZE` keeps, and has none until it runs: without
/// them it reads a search through the organization's whole index instead of the search's own (a
/// hundred times slower at 100,000 keys). `PRAGMA optimize` analyzes the tables whose size changed
/// tenfold since last time, and nothing else (0.2 s at 100,000 keys when it does), so it is cheap
/// to run at start and every few minutes, as SQLite advises for long-lived connections. The other
/// connections see new statistics once renewed (`connect`'s `max_lifetime`).
/// PostgreSQL's autovacuum does this on its own.
pub async fn refresh_planner_statistics(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() == DbBackend::Sqlite {
        // 0x10002: every table, not only those this connection used, each read whole: a sample
        // (analysis_limit) tells the planner an organization has as many keys as the sample, and
        // it then sorts 30,000 keys to show 25.
        db.execute_unprepared("PRAGMA optimize = 0x10002").await?;
    }
    Ok(())
}

/// On PostgreSQL the keys search is indexed only where `pg_trgm` could be installed (see the
/// key-search migration). Without it the search works, more slowly: the indexes are tried again at
/// every start, and the operator is told what is missing.
async fn warn_if_search_scans(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let indexed = || async {
        let check = "SELECT 1 FROM pg_indexes WHERE indexname = 'ix_api_keys_name_trigrams'";
        Ok::<_, DbErr>(db.query_one_raw(Statement::from_string(DbBackend::Postgres, check)).await?.is_some())
    };
    if indexed().await? {
        return Ok(());
    }
    db.execute_unprepared(POSTGRES_SEARCH_INDEXES).await?;
    if !indexed().await? {
        tracing::warn!(
            "PostgreSQL's pg_trgm extension is missing: searching keys scans them. Install PostgreSQL's \
             contrib package, run `CREATE EXTENSION pg_trgm` as a superuser, and restart"
        );
    }
    Ok(())
}

/// Where this process's frequent, small writes go: the verification log's batches and credit
/// spends. On SQLite, a connection of their own, one at a time, in their order of arrival (a pool of
/// one): SQLite lets one writer in at a time, and a writer that finds the lock taken sleeps before
/// it tries again (1, 2, 5, 10… ms), however soon it frees, so these would otherwise wait behind
/// each other far longer than they write. That connection commits with `synchronous = NORMAL`, as
/// SQLite advises for WAL: a commit reaches the log without waiting for the disk, which a credit
/// batch would otherwise do every time (milliseconds). A crash of Keyward loses none of it; a power
/// loss may undo the last moments' spends and log rows (credits given back, never taken twice),
/// never corrupting the file. Everything else (revocations, every change a person makes) commits on
/// the main pool, with the disk. On PostgreSQL, which locks rows, the main pool serves all.
#[derive(Clone, Default)]
pub struct FrequentWrites(Option<DatabaseConnection>);

impl FrequentWrites {
    pub fn for_database(db: &DatabaseConnection) -> Self {
        if db.get_database_backend() != DbBackend::Sqlite {
            return Self(None);
        }
        let options = db.get_sqlite_connection_pool().connect_options();
        // An in-memory database is one per connection: a second connection would be another one.
        if options.get_filename() == std::path::Path::new(":memory:") {
            return Self(None);
        }
        let options = options.as_ref().clone().synchronous(SqliteSynchronous::Normal);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .max_lifetime(Duration::from_secs(30 * 60))
            .connect_lazy_with(options);
        Self(Some(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)))
    }

    /// The connection to write on: the frequent writers' own, or `db`.
    pub fn on<'a>(&'a self, db: &'a DatabaseConnection) -> &'a DatabaseConnection {
        self.0.as_ref().unwrap_or(db)
    }
}

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let url = prepare_sqlite_path(url)?;
    let mut options = ConnectOptions::new(url);
    options
        .max_connections(16)
        .connect_timeout(Duration::from_secs(10))
        // A SQLite connection reads the planner's statistics when it opens, and does not see the
        // ones another connection's `ANALYZE` wrote later: renewed connections do.
        .max_lifetime(Duration::from_secs(30 * 60))
        // SQL statements carry digests and hashes: keep them out of the logs.
        .sqlx_logging(false);
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers proceed while one writer writes (it is a property of the file, so once
        // is enough). sqlx already turns foreign keys on for every SQLite connection.
        db.execute_unprepared("PRAGMA journal_mode = WAL;").await?;
    }
    Ok(db)
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`): a deferred one that reads first and writes later cannot wait for the lock when
/// another writer holds it, and fails with "database is locked" instead. Immediate ones queue
/// (for sqlx's busy timeout). PostgreSQL ignores the mode.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// `sqlite://data/keyward.db` → makes sure `data/` exists and asks SQLite to create the file.
fn prepare_sqlite_path(url: &str) -> Result<String, DbErr> {
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Ok(url.to_owned());
    };
    let file = path.split('?').next().unwrap_or_default();
    if file.is_empty() || file.starts_with(':') {
        return Ok(url.to_owned());
    }
    if let Some(dir) = std::path::Path::new(file).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Waits, `longest` at most, until none of the pool's connections is in use: work a finished
/// request left behind (a page's render whose reader went away) ends before shutdown closes the
/// pool, instead of failing against it.
pub async fn settle(db: &DatabaseConnection, longest: Duration) {
    let in_use = || match db.get_database_backend() {
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size() as usize).saturating_sub(pool.num_idle())
        }
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size() as usize).saturating_sub(pool.num_idle())
        }
        _ => 0,
    };
    let deadline = tokio::time::Instant::now() + longest;
    while in_use() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
