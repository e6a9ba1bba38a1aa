//! Refusing to import while either bridge runs against the data, checked rather than assumed:
//!
//! - an appservice port that answers: this bridge's (`appservice.hostname`/`port` of its
//!   config) and mautrix-instagram's (from its config, else its default 29330 on loopback);
//! - a SQLite database with a write-ahead log beside it (`<file>-wal`): both bridges keep
//!   SQLite in WAL mode, and SQLite removes the log when the last connection closes, so it
//!   exists while a bridge has the file open (or after a crash: starting and stopping that
//!   bridge once clears it);
//! - conversation claims that have not expired in this bridge's database: a matrix-instagram
//!   process is working on it (`store::claims`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::ImportError;
use crate::store::Store;

/// How long a port gets to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1500);

/// A listener that might be a running bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub who: &'static str,
    pub host: String,
    pub port: u16,
}

/// Refuses when something accepts connections on one of the listeners.
pub async fn ports_closed(listeners: &[Listener]) -> Result<(), ImportError> {
    for l in listeners {
        let addr = format!("{}:{}", l.host, l.port);
        let connect = tokio::net::TcpStream::connect(addr.as_str());
        if let Ok(Ok(_)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            return Err(ImportError::Running {
                what: format!("{} seems to be running", l.who),
                how: format!("its appservice port {addr} accepts connections"),
            });
        }
    }
    Ok(())
}

/// The write-ahead log of a SQLite database file.
fn wal_of(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Refuses when the SQLite file has a write-ahead log beside it.
pub fn sqlite_closed(who: &'static str, file: &Path) -> Result<(), ImportError> {
    let wal = wal_of(file);
    if wal.exists() {
        return Err(ImportError::Running {
            what: format!("{who} has its database open"),
            how: format!(
                "{} exists (SQLite removes it when the last connection closes; if {who} \
                 crashed, start and stop it once)",
                wal.display()
            ),
        });
    }
    Ok(())
}

/// Refuses when this bridge's database has live conversation claims.
pub async fn no_live_claims(store: &Store) -> Result<(), ImportError> {
    let claims = store.live_claims().await?;
    if let Some((conversation, owner, until)) = claims.first() {
        let left_s = (until - crate::store::now_ms()).max(0) / 1000;
        return Err(ImportError::Running {
            what: "matrix-instagram is working on this database".into(),
            how: format!(
                "`{owner}` holds the claim on conversation {conversation} for {left_s} more \
                 s ({} claim(s) in all, table conversation_claims)",
                claims.len()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answering_port_is_a_running_bridge() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let l = Listener {
            who: "mautrix-instagram",
            host: "127.0.0.1".into(),
            port,
        };
        let err = ports_closed(std::slice::from_ref(&l)).await.unwrap_err();
        assert!(
            err.to_string().contains(&format!("127.0.0.1:{port}")),
            "{err}"
        );
        drop(listener);
        ports_closed(&[l]).await.unwrap();
    }

    #[test]
    fn a_write_ahead_log_is_an_open_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        std::fs::write(&db, b"").unwrap();
        sqlite_closed("mautrix-instagram", &db).unwrap();
        std::fs::write(dir.path().join("m.db-wal"), b"").unwrap();
        let err = sqlite_closed("mautrix-instagram", &db).unwrap_err();
        assert!(err.to_string().contains("m.db-wal"), "{err}");
    }
}
