//! The bridge's state in PostgreSQL or SQLite, through sqlx's Any driver.
//!
//! One file per table family with plain row structs; nothing here knows Matrix or Instagram
//! types. The same SQL runs on both backends (`$n` placeholders, BIGINT times, SMALLINT flags);
//! only the migrations differ (`migrations/postgres`, `migrations/sqlite`).
//!
//! On SQLite every write goes through one dedicated connection (`writer`): SQLite allows one
//! writer at a time, and two connections competing for the lock would wait in SQLite's busy
//! handler (sleeps of 1 ms and more) instead of queueing in the pool. Reads use the other
//! connections, which WAL lets run beside the writer. On PostgreSQL both are the same pool.
//! The WAL is copied back into the database (checkpointed, with an fsync) by a background task
//! on a reading connection, not by whichever write happens to cross SQLite's threshold.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

mod cache;
pub mod chat_states;
pub mod claims;
pub mod dead_letters;
pub mod double_puppets;
pub mod ghosts;
pub mod import;
pub mod inbox;
pub mod logins;
pub mod members;
pub mod messages;
pub mod open;
pub mod portals;
pub mod stats;
pub mod users;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database uri (use sqlite: or postgres://)")]
    UnsupportedUri,
    #[error("database.uri is not a valid URI: {reason}")]
    BadUri { reason: String },
    /// The database could not be reached or created at start-up.
    #[error("cannot open the database, {target}: {reason}; {hint}")]
    Connect {
        target: String,
        reason: String,
        hint: &'static str,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The database handle: connection pools, the backend they talk to and the row caches. Cheap
/// to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads (and, on PostgreSQL, writes).
    pool: AnyPool,
    /// Writes: one connection on SQLite, `pool` on PostgreSQL.
    writer: AnyPool,
    backend: Backend,
    caches: Arc<Caches>,
}

/// Rows read on every message, cached (see `cache`), and the deferred message rows.
#[derive(Debug, Default)]
struct Caches {
    /// By `portals::portal_key(thread_id, receiver)`.
    portals: cache::RowCache<String, portals::PortalRow>,
    /// By room id (`None`: the room is no portal), cleared by every portal write.
    portals_by_room: cache::RowCache<String, portals::PortalRow>,
    ghosts: cache::RowCache<i64, ghosts::GhostRow>,
    /// Message rows not written yet (see `messages`).
    unwritten: messages::Unwritten,
}

/// Pool bounds.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub min_connections: u32,
    /// How long the first connection may take before start-up gives up.
    pub connect_timeout: std::time::Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 1,
            connect_timeout: std::time::Duration::from_secs(10),
        }
    }
}

/// How often the SQLite WAL is checkpointed in the background.
const WAL_CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Connects to `uri` (`sqlite:<file>`, `sqlite::memory:` or `postgres://…`) and runs the
    /// migrations of its backend.
    pub async fn connect(uri: &str, options: PoolOptions) -> Result<Self> {
        Self::connect_migrated_to(uri, options, None).await
    }

    /// [`Store::connect`], running the migrations up to `target` only (all with `None`): an
    /// older schema, for the tests of an upgrade.
    pub(crate) async fn connect_migrated_to(
        uri: &str,
        options: PoolOptions,
        migrated_to: Option<i64>,
    ) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let target = open::Target::of(uri)?;
        let (backend, uri) = if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            (Backend::Postgres, uri.to_string())
        } else if let Some(rest) = uri.strip_prefix("sqlite:") {
            (Backend::Sqlite, sqlite_uri(rest))
        } else {
            return Err(StoreError::UnsupportedUri);
        };
        let mut max = options.max_connections.max(1);
        let in_memory = backend == Backend::Sqlite && uri.contains(":memory:");
        if in_memory {
            // Every connection to :memory: would be its own empty database.
            max = 1;
        }
        open::check_sqlite_file(&target)?;
        open::probe(backend, &uri, &target, options.connect_timeout).await?;
        let pool = pool_options(backend, max, options.min_connections.min(max))
            .connect(&uri)
            .await?;
        let writer = if backend == Backend::Sqlite && !in_memory {
            // WAL lets readers and the single writer proceed together. The mode is stored in
            // the database file, so it is set once, before the writer connects.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
            let writer = pool_options(backend, 1, 1).connect(&uri).await?;
            // Only a safety net: `checkpoint_in_background` normally keeps the WAL far smaller.
            sqlx::query("PRAGMA wal_autocheckpoint = 20000")
                .execute(&writer)
                .await?;
            writer
        } else {
            pool.clone()
        };
        let store = Self {
            pool,
            writer,
            backend,
            caches: Arc::default(),
        };
        store.migrate(migrated_to).await?;
        if backend == Backend::Sqlite && !in_memory {
            store.checkpoint_in_background();
        }
        Ok(store)
    }

    /// Checkpoints the WAL every so often from a reading connection, so that the writer (and
    /// the message waiting behind it) never pays for copying pages and an fsync. Stops once
    /// every clone of the store is gone or the pool is closed.
    fn checkpoint_in_background(&self) {
        let alive = Arc::downgrade(&self.caches);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(WAL_CHECKPOINT_EVERY).await;
                if alive.strong_count() == 0 || pool.is_closed() {
                    break;
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&pool)
                    .await
                {
                    tracing::debug!("WAL checkpoint failed: {e}");
                }
            }
        });
    }

    async fn migrate(&self, target: Option<i64>) -> Result<()> {
        let migrator = match self.backend {
            Backend::Postgres => &POSTGRES_MIGRATOR,
            Backend::Sqlite => &SQLITE_MIGRATOR,
        };
        match target {
            None => migrator.run(&self.writer).await?,
            Some(target) => migrator.run_to(target, &self.writer).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Writes the deferred message rows, waits for in-flight queries and closes every
    /// connection.
    pub async fn close(&self) {
        if let Err(e) = self.flush_deferred_messages().await {
            tracing::error!("cannot write the last message rows: {e}");
        }
        self.pool.close().await;
        self.writer.close().await;
    }
}

/// Pool options with the per-connection settings of the backend.
fn pool_options(backend: Backend, max: u32, min: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .min_connections(min)
        // A ping before every use is a round trip to the connection's worker thread for
        // nothing on SQLite, where no connection goes stale; PostgreSQL keeps it.
        .test_before_acquire(backend == Backend::Postgres)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA busy_timeout = 5000")
                        .execute(&mut *conn)
                        .await?;
                    // With WAL, NORMAL keeps every commit safe from a crash of the bridge
                    // (only an OS crash or power loss can undo the last commits) and saves
                    // an fsync per commit.
                    sqlx::query("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(())
            })
        })
}

fn sqlite_uri(rest: &str) -> String {
    let rest = rest.trim_start_matches("//");
    if rest.contains("mode=") || rest.contains(":memory:") {
        format!("sqlite:{rest}")
    } else if rest.contains('?') {
        format!("sqlite:{rest}&mode=rwc")
    } else {
        format!("sqlite:{rest}?mode=rwc")
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

pub(crate) fn as_flag(value: bool) -> i16 {
    i16::from(value)
}

#[cfg(test)]
mod inbox_tests;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;
