//! Reaching the database at start-up, with errors that say what to fix: which PostgreSQL
//! host and port did not answer (never the password), which SQLite file could not be created
//! and why. A PostgreSQL server that does not answer is given up on after a bounded time
//! instead of the pool's silent retries.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::{AnyConnection, Connection};

use super::{Backend, StoreError};

/// Where the database is, for messages: host, port, database and user for PostgreSQL; the
/// file for SQLite. Never holds a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Postgres {
        host: String,
        port: u16,
        database: String,
        user: String,
    },
    SqliteFile(PathBuf),
    SqliteMemory,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Postgres {
                host,
                port,
                database,
                user,
            } => write!(
                f,
                "PostgreSQL at {host}:{port} (database `{database}`, user `{user}`)"
            ),
            Self::SqliteFile(path) => write!(f, "SQLite file {}", path.display()),
            Self::SqliteMemory => write!(f, "in-memory SQLite"),
        }
    }
}

impl Target {
    /// Reads the target out of a database URI (as given in `database.uri`).
    pub fn of(uri: &str) -> Result<Self, StoreError> {
        if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            let url = url::Url::parse(uri).map_err(|e| StoreError::BadUri {
                reason: e.to_string(),
            })?;
            let user = match url.username() {
                "" => "(default)".to_string(),
                u => u.to_string(),
            };
            let database = url.path().trim_start_matches('/');
            return Ok(Self::Postgres {
                host: url.host_str().unwrap_or("localhost").to_string(),
                port: url.port().unwrap_or(5432),
                database: if database.is_empty() {
                    "(default)".into()
                } else {
                    database.into()
                },
                user,
            });
        }
        let Some(rest) = uri.strip_prefix("sqlite:") else {
            return Err(StoreError::UnsupportedUri);
        };
        let path = rest.trim_start_matches("//");
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        if path.is_empty() || path.contains(":memory:") {
            return Ok(Self::SqliteMemory);
        }
        Ok(Self::SqliteFile(PathBuf::from(path)))
    }
}

/// What to check, per backend.
fn hint(target: &Target) -> &'static str {
    match target {
        Target::Postgres { .. } => {
            "check that PostgreSQL is running and accepts TCP connections on that host and \
             port (listen_addresses, pg_hba.conf, a firewall or container network in between), \
             and the user, password and database in database.uri"
        }
        Target::SqliteFile(_) => {
            "check that the folder exists and the bridge's user may write there, or change \
             database.uri"
        }
        Target::SqliteMemory => "check database.uri",
    }
}

fn connect_error(target: &Target, reason: impl Into<String>) -> StoreError {
    StoreError::Connect {
        target: target.to_string(),
        reason: reason.into(),
        hint: hint(target),
    }
}

/// Makes sure the SQLite file can be created (or opened) before SQLite tries, because
/// SQLite's own error ("unable to open database file") names neither the file nor the reason.
pub(super) fn check_sqlite_file(target: &Target) -> Result<(), StoreError> {
    let Target::SqliteFile(path) = target else {
        return Ok(());
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !folder.is_dir() {
        let reason = if folder.exists() {
            format!("{} is not a folder", folder.display())
        } else {
            format!("the folder {} does not exist", folder.display())
        };
        return Err(connect_error(target, reason));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| connect_error(target, format!("cannot create or open it: {e}")))?;
    Ok(())
}

/// One connection attempt, bounded by `timeout`, so that an unreachable server is reported
/// with its real reason ("connection refused") or as silence, instead of a pool timeout.
pub(super) async fn probe(
    backend: Backend,
    uri: &str,
    target: &Target,
    timeout: Duration,
) -> Result<(), StoreError> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    match tokio::time::timeout(timeout, AnyConnection::connect(uri)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(connect_error(target, scrub(&e.to_string(), uri))),
        Err(_) => Err(connect_error(
            target,
            format!("no answer within {} s", timeout.as_secs()),
        )),
    }
}

/// Removes the URI's password from a driver message, should a driver ever echo it.
fn scrub(message: &str, uri: &str) -> String {
    match url::Url::parse(uri)
        .ok()
        .and_then(|u| u.password().map(str::to_owned))
    {
        Some(password) if !password.is_empty() => message.replace(&password, "[redacted]"),
        _ => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_never_hold_the_password() {
        let t =
            Target::of("postgres://bridge:hunter2@db.internal:6543/ig?sslmode=disable").unwrap();
        let text = t.to_string();
        assert_eq!(
            text,
            "PostgreSQL at db.internal:6543 (database `ig`, user `bridge`)"
        );
        assert_eq!(
            Target::of("sqlite:/data/bridge.db?mode=rwc").unwrap(),
            Target::SqliteFile("/data/bridge.db".into())
        );
        assert_eq!(Target::of("sqlite::memory:").unwrap(), Target::SqliteMemory);
        assert_eq!(
            scrub("auth failed for hunter2", "postgres://u:hunter2@h/d"),
            "auth failed for [redacted]"
        );
    }
}
