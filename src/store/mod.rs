//! The bridge's state in PostgreSQL or SQLite, through sqlx's Any driver.
//!
//! One file per table family with plain row structs; nothing here knows Matrix or Instagram
//! types. The same SQL runs on both backends (`$n` placeholders, BIGINT times, SMALLINT flags);
//! only the migrations differ (`migrations/postgres`, `migrations/sqlite`).

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub mod backfill;
pub mod ghosts;
pub mod inbox;
pub mod messages;
pub mod portals;
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
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The database handle: a connection pool plus the backend it talks to. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Pool bounds.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_connections: u32,
    pub min_connections: u32,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 1,
        }
    }
}

static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl Store {
    /// Connects to `uri` (`sqlite:<file>`, `sqlite::memory:` or `postgres://…`) and runs the
    /// migrations of its backend.
    pub async fn connect(uri: &str, options: PoolOptions) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, uri) = if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            (Backend::Postgres, uri.to_string())
        } else if let Some(rest) = uri.strip_prefix("sqlite:") {
            (Backend::Sqlite, sqlite_uri(rest))
        } else {
            return Err(StoreError::UnsupportedUri);
        };
        let mut max = options.max_connections.max(1);
        if backend == Backend::Sqlite && uri.contains(":memory:") {
            // Every connection to :memory: would be its own empty database.
            max = 1;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(options.min_connections.min(max))
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
            .connect(&uri)
            .await?;
        if backend == Backend::Sqlite {
            // WAL lets readers and the single writer proceed together; harmless for :memory:.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await?;
        }
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Postgres => POSTGRES_MIGRATOR.run(&self.pool).await?,
            Backend::Sqlite => SQLITE_MIGRATOR.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
pub(crate) mod testing;
#[cfg(test)]
mod tests;
