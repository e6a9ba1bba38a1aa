//! Reading a mautrix-instagram 0.3.x database, read-only: a SQLite file opened with
//! `mode=ro` and `immutable` (nothing is created beside it), or a PostgreSQL database read in one `READ ONLY` transaction (one consistent
//! snapshot) that is rolled back. Nothing in the source changes.

use std::path::PathBuf;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection, Row};

use super::ImportError;
use crate::store::open::Target;

/// The schema revisions of mautrix-instagram this reader knows: v8 added the last column it
/// reads (`user.seq_id`); 0.3.1 is at v14.
pub const KNOWN_VERSIONS: std::ops::RangeInclusive<i64> = 8..=14;

/// Where the source database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads mautrix's database URI (`sqlite:///abs/path.db`, `sqlite:relative.db`,
    /// `postgres://…`) or this bridge's `sqlite:<file>`.
    pub fn parse(uri: &str) -> Result<Self, ImportError> {
        let uri = uri.trim();
        if uri.starts_with("postgres://") || uri.starts_with("postgresql://") {
            return Ok(Self::Postgres(uri.to_string()));
        }
        let rest = uri
            .strip_prefix("sqlite3:")
            .or_else(|| uri.strip_prefix("sqlite:"))
            .ok_or(ImportError::SourceUri)?;
        // mautrix keeps what follows the scheme as a path: `///x` is `/x`, `x` is relative.
        let path = rest.split_once('?').map_or(rest, |(p, _)| p);
        let path = match path.strip_prefix("//") {
            Some(p) => p,
            None => path,
        };
        if path.is_empty() || path.contains(":memory:") {
            return Err(ImportError::SourceUri);
        }
        Ok(Self::Sqlite(PathBuf::from(path)))
    }

    /// For messages: never a password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("SQLite file {}", p.display()),
            Self::Postgres(uri) => match Target::of(uri) {
                Ok(t) => t.to_string(),
                Err(_) => "PostgreSQL".into(),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub mxid: String,
    pub igpk: Option<i64>,
    /// The `AndroidState` JSON: credentials.
    pub state: Option<crate::secret::Secret>,
    pub notice_room: Option<String>,
    pub seq_id: Option<i64>,
    pub snapshot_at_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Puppet {
    pub pk: i64,
    pub name: Option<String>,
    pub username: Option<String>,
    pub photo_id: Option<String>,
    pub photo_mxc: Option<String>,
    pub name_set: bool,
    pub avatar_set: bool,
    /// A double-puppeting login (not carried over).
    pub custom_mxid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Portal {
    pub thread_id: String,
    /// The receiving account's pk for DMs; 0 for groups.
    pub receiver: i64,
    pub other_user_pk: Option<i64>,
    pub mxid: Option<String>,
    pub name: Option<String>,
    pub avatar_url: Option<String>,
    pub name_set: bool,
    pub avatar_set: bool,
    pub encrypted: bool,
    pub relay_user_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub mxid: String,
    pub mx_room: String,
    pub item_id: String,
    pub receiver: i64,
    pub sender: i64,
    pub client_context: Option<String>,
    /// Microseconds.
    pub ig_timestamp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub mxid: String,
    pub mx_room: String,
    pub ig_item_id: String,
    pub ig_receiver: i64,
    pub ig_sender: i64,
    pub reaction: String,
    /// Milliseconds.
    pub mx_timestamp: Option<i64>,
}

/// Everything read from the source.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub version: i64,
    pub users: Vec<User>,
    pub puppets: Vec<Puppet>,
    pub portals: Vec<Portal>,
    pub messages: Vec<Message>,
    pub reactions: Vec<Reaction>,
    /// Backfill tasks not completed (not carried over: this bridge backfills by itself).
    pub backfill_pending: i64,
}

/// Opens the source read-only and reads it.
pub async fn read(location: &Location) -> Result<Source, ImportError> {
    sqlx::any::install_default_drivers();
    let read_error = |e: sqlx::Error| ImportError::SourceRead {
        source_db: location.describe(),
        reason: e.to_string(),
    };
    let mut conn = match location {
        Location::Sqlite(path) => {
            if !path.is_file() {
                return Err(ImportError::SourceMissing(path.display().to_string()));
            }
            // `immutable`: no lock, no shared-memory file, no write-ahead log beside the file
            // (a read-only connection could not remove them again). Safe because `guard` saw
            // no write-ahead log, so nobody has the database open and the file is whole.
            let uri = format!("sqlite:{}?mode=ro&immutable=true", path.display());
            AnyConnection::connect(&uri).await.map_err(read_error)?
        }
        Location::Postgres(uri) => {
            AnyConnection::connect(uri)
                .await
                .map_err(|e| ImportError::SourceRead {
                    source_db: location.describe(),
                    reason: scrub(&e.to_string(), uri),
                })?
        }
    };
    if let Location::Postgres(_) = location {
        sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut conn)
            .await
            .map_err(read_error)?;
    }
    let result = read_tables(&mut conn, location).await;
    if let Location::Postgres(_) = location {
        let _ = sqlx::query("ROLLBACK").execute(&mut conn).await;
    }
    let _ = conn.close().await;
    result
}

async fn read_tables(conn: &mut AnyConnection, location: &Location) -> Result<Source, ImportError> {
    let read_error = |e: sqlx::Error| ImportError::SourceRead {
        source_db: location.describe(),
        reason: e.to_string(),
    };
    let version = sqlx::query("SELECT CAST(version AS BIGINT) AS version FROM version")
        .fetch_optional(&mut *conn)
        .await
        .map_err(|_| ImportError::NotMautrix(location.describe()))?
        .map(|r| r.try_get::<i64, _>("version"))
        .transpose()
        .map_err(read_error)?
        .unwrap_or(0);
    if !KNOWN_VERSIONS.contains(&version) {
        return Err(ImportError::UnknownVersion(version));
    }
    let all = |q: &'static str| sqlx::query(q);
    let users = all(
        "SELECT mxid, igpk, CAST(state AS TEXT) AS state, notice_room, seq_id, snapshot_at_ms \
         FROM \"user\" ORDER BY mxid",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    let puppets = all(
        "SELECT pk, name, username, photo_id, photo_mxc, CAST(name_set AS INTEGER) AS name_set, \
         CAST(avatar_set AS INTEGER) AS avatar_set, \
         CASE WHEN custom_mxid IS NULL THEN 0 ELSE 1 END AS custom \
         FROM puppet ORDER BY pk",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    let portals = all(
        "SELECT thread_id, receiver, other_user_pk, mxid, name, avatar_url, \
         CAST(name_set AS INTEGER) AS name_set, CAST(avatar_set AS INTEGER) AS avatar_set, \
         CAST(encrypted AS INTEGER) AS encrypted, relay_user_id \
         FROM portal ORDER BY thread_id, receiver",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    let messages = all(
        "SELECT mxid, mx_room, item_id, receiver, sender, client_context, ig_timestamp \
         FROM message WHERE mxid IS NOT NULL AND item_id IS NOT NULL AND receiver IS NOT NULL \
         ORDER BY mx_room, ig_timestamp, item_id",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    let reactions = all(
        "SELECT mxid, mx_room, ig_item_id, ig_receiver, ig_sender, reaction, mx_timestamp \
         FROM reaction WHERE ig_item_id IS NOT NULL AND ig_receiver IS NOT NULL \
         AND ig_sender IS NOT NULL ORDER BY mx_room, ig_item_id, ig_sender",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(read_error)?;
    let backfill_pending: i64 =
        all("SELECT COUNT(*) AS n FROM backfill_queue WHERE completed_at IS NULL")
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get("n"))
            .map_err(read_error)?;
    let rows = || -> Result<Source, sqlx::Error> {
        Ok(Source {
            version,
            users: users.iter().map(user).collect::<Result<_, _>>()?,
            puppets: puppets.iter().map(puppet).collect::<Result<_, _>>()?,
            portals: portals.iter().map(portal).collect::<Result<_, _>>()?,
            messages: messages.iter().map(message).collect::<Result<_, _>>()?,
            reactions: reactions.iter().map(reaction).collect::<Result<_, _>>()?,
            backfill_pending,
        })
    };
    rows().map_err(read_error)
}

fn flag(row: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    Ok(row.try_get::<i64, _>(column)? != 0)
}

fn user(r: &AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        mxid: r.try_get("mxid")?,
        igpk: r.try_get("igpk")?,
        state: r
            .try_get::<Option<String>, _>("state")?
            .map(crate::secret::Secret::new),
        notice_room: r.try_get("notice_room")?,
        seq_id: r.try_get("seq_id")?,
        snapshot_at_ms: r.try_get("snapshot_at_ms")?,
    })
}

fn puppet(r: &AnyRow) -> Result<Puppet, sqlx::Error> {
    Ok(Puppet {
        pk: r.try_get("pk")?,
        name: r.try_get("name")?,
        username: r.try_get("username")?,
        photo_id: r.try_get("photo_id")?,
        photo_mxc: r.try_get("photo_mxc")?,
        name_set: flag(r, "name_set")?,
        avatar_set: flag(r, "avatar_set")?,
        custom_mxid: flag(r, "custom")?,
    })
}

fn portal(r: &AnyRow) -> Result<Portal, sqlx::Error> {
    Ok(Portal {
        thread_id: r.try_get("thread_id")?,
        receiver: r.try_get::<Option<i64>, _>("receiver")?.unwrap_or(0),
        other_user_pk: r.try_get("other_user_pk")?,
        mxid: r.try_get("mxid")?,
        name: r.try_get("name")?,
        avatar_url: r.try_get("avatar_url")?,
        name_set: flag(r, "name_set")?,
        avatar_set: flag(r, "avatar_set")?,
        encrypted: flag(r, "encrypted")?,
        relay_user_id: r.try_get("relay_user_id")?,
    })
}

fn message(r: &AnyRow) -> Result<Message, sqlx::Error> {
    Ok(Message {
        mxid: r.try_get("mxid")?,
        mx_room: r.try_get("mx_room")?,
        item_id: r.try_get("item_id")?,
        receiver: r.try_get("receiver")?,
        sender: r.try_get("sender")?,
        client_context: r.try_get("client_context")?,
        ig_timestamp: r.try_get("ig_timestamp")?,
    })
}

fn reaction(r: &AnyRow) -> Result<Reaction, sqlx::Error> {
    Ok(Reaction {
        mxid: r.try_get("mxid")?,
        mx_room: r.try_get("mx_room")?,
        ig_item_id: r.try_get("ig_item_id")?,
        ig_receiver: r.try_get("ig_receiver")?,
        ig_sender: r.try_get("ig_sender")?,
        reaction: r.try_get("reaction")?,
        mx_timestamp: r.try_get("mx_timestamp")?,
    })
}

/// Removes the URI's password from a driver message.
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
    fn mautrix_and_our_uris_are_understood() {
        assert_eq!(
            Location::parse("sqlite:///var/lib/mautrix/ig.db").unwrap(),
            Location::Sqlite("/var/lib/mautrix/ig.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:mautrix-instagram.db").unwrap(),
            Location::Sqlite("mautrix-instagram.db".into())
        );
        assert_eq!(
            Location::parse("sqlite3:///x.db?mode=rwc").unwrap(),
            Location::Sqlite("/x.db".into())
        );
        assert!(matches!(
            Location::parse("postgres://u:pw@h/db").unwrap(),
            Location::Postgres(_)
        ));
        assert!(
            !Location::parse("postgres://u:pw@h/db")
                .unwrap()
                .describe()
                .contains("pw")
        );
        assert!(Location::parse("mysql://x").is_err());
        assert!(Location::parse("sqlite::memory:").is_err());
    }
}
