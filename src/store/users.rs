//! `users`: one row per Matrix user who ever talked to the bridge.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, now_ms};
use crate::secret::Secret;

/// A bridge user: a Matrix user and, once logged in, their Instagram account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub mxid: String,
    pub ig_pk: Option<i64>,
    pub ig_username: Option<String>,
    /// The persisted Instagram session (JSON): cookies and tokens, never printed.
    pub session: Option<Secret>,
    pub management_room: Option<String>,
    pub seq_id: Option<i64>,
    pub snapshot_at_ms: Option<i64>,
    pub connection_state: String,
}

/// A user's choice of proxy for their Instagram traffic (the `proxy` column).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxySetting {
    /// The config's default (`NULL`).
    #[default]
    Default,
    /// No proxy, whatever the default (`''`).
    Direct,
    /// This proxy URL (it may hold a password).
    Url(Secret),
}

/// `SELECT <every column> FROM users` followed by the given clause.
macro_rules! select_users {
    ($clause:literal) => {
        concat!(
            "SELECT mxid, ig_pk, ig_username, session, management_room, seq_id, ",
            "snapshot_at_ms, connection_state FROM users ",
            $clause
        )
    };
}

fn from_row(row: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        mxid: row.try_get("mxid")?,
        ig_pk: row.try_get("ig_pk")?,
        ig_username: row.try_get("ig_username")?,
        session: row
            .try_get::<Option<String>, _>("session")?
            .map(Secret::new),
        management_room: row.try_get("management_room")?,
        seq_id: row.try_get("seq_id")?,
        snapshot_at_ms: row.try_get("snapshot_at_ms")?,
        connection_state: row.try_get("connection_state")?,
    })
}

impl Store {
    pub async fn get_user(&self, mxid: &str) -> Result<Option<UserRow>> {
        const Q: &str = select_users!("WHERE mxid = $1");
        let row = sqlx::query(Q).bind(mxid).fetch_optional(&self.pool).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn get_user_by_management_room(&self, room_id: &str) -> Result<Option<UserRow>> {
        const Q: &str = select_users!("WHERE management_room = $1");
        let row = sqlx::query(Q)
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Returns the user, creating an empty row first if there is none.
    pub async fn ensure_user(&self, mxid: &str) -> Result<UserRow> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO users (mxid, created_at_ms, updated_at_ms) VALUES ($1, $2, $2) \
             ON CONFLICT (mxid) DO NOTHING",
        )
        .bind(mxid)
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.get_user(mxid)
            .await?
            .ok_or(super::StoreError::Db(sqlx::Error::RowNotFound))
    }

    /// Makes `room_id` the user's management room (a room can belong to one user only).
    pub async fn set_management_room(&self, mxid: &str, room_id: &str) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "UPDATE users SET management_room = NULL, updated_at_ms = $2 \
             WHERE management_room = $1",
        )
        .bind(room_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE users SET management_room = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(room_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a successful login.
    pub async fn set_login(
        &self,
        mxid: &str,
        ig_pk: i64,
        ig_username: &str,
        session: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE users SET ig_pk = $2, ig_username = $3, session = $4, \
             connection_state = 'logged_in', updated_at_ms = $5 WHERE mxid = $1",
        )
        .bind(mxid)
        .bind(ig_pk)
        .bind(ig_username)
        .bind(session)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Replaces the persisted session (cookies and claims change on many responses).
    pub async fn set_session(&self, mxid: &str, session: &str) -> Result<()> {
        sqlx::query("UPDATE users SET session = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(session)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Forgets the Instagram session and cursor; the Matrix side (management room) stays.
    pub async fn clear_login(&self, mxid: &str) -> Result<()> {
        sqlx::query(
            "UPDATE users SET ig_pk = NULL, ig_username = NULL, session = NULL, seq_id = NULL, \
             snapshot_at_ms = NULL, connection_state = 'logged_out', updated_at_ms = $2 \
             WHERE mxid = $1",
        )
        .bind(mxid)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Stores the realtime resume point.
    pub async fn set_cursor(&self, mxid: &str, seq_id: i64, snapshot_at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE users SET seq_id = $2, snapshot_at_ms = $3, updated_at_ms = $4 WHERE mxid = $1",
        )
        .bind(mxid)
        .bind(seq_id)
        .bind(snapshot_at_ms)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn set_connection_state(&self, mxid: &str, state: &str) -> Result<()> {
        sqlx::query("UPDATE users SET connection_state = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(state)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The user's proxy choice ([`ProxySetting::Default`] for an unknown user).
    pub async fn get_proxy(&self, mxid: &str) -> Result<ProxySetting> {
        let row = sqlx::query("SELECT proxy FROM users WHERE mxid = $1")
            .bind(mxid)
            .fetch_optional(&self.pool)
            .await?;
        let value: Option<String> = match row {
            Some(row) => row.try_get("proxy")?,
            None => None,
        };
        Ok(match value {
            None => ProxySetting::Default,
            Some(v) if v.is_empty() => ProxySetting::Direct,
            Some(v) => ProxySetting::Url(Secret::new(v)),
        })
    }

    /// Records the user's proxy choice (the user row must exist: [`Store::ensure_user`]).
    pub async fn set_proxy(&self, mxid: &str, setting: &ProxySetting) -> Result<()> {
        let value = match setting {
            ProxySetting::Default => None,
            ProxySetting::Direct => Some(""),
            ProxySetting::Url(url) => Some(url.expose()),
        };
        sqlx::query("UPDATE users SET proxy = $2, updated_at_ms = $3 WHERE mxid = $1")
            .bind(mxid)
            .bind(value)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Every user with a stored Instagram session, to reconnect at start-up.
    pub async fn logged_in_users(&self) -> Result<Vec<UserRow>> {
        const Q: &str = select_users!("WHERE session IS NOT NULL ORDER BY mxid");
        let rows = sqlx::query(Q).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }
}
