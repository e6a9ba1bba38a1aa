//! `logins`: one row per Instagram account logged in through the bridge, keyed by its pk (the
//! login id), with the Matrix user it belongs to, its session and its realtime cursor.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, now_ms};
use crate::secret::Secret;

/// One Instagram account of a Matrix user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRow {
    /// The Instagram pk: the login's id.
    pub ig_pk: i64,
    pub mxid: String,
    pub ig_username: Option<String>,
    /// The persisted Instagram session (JSON): cookies and tokens, never printed.
    pub session: Option<Secret>,
    pub seq_id: Option<i64>,
    pub snapshot_at_ms: Option<i64>,
    pub connection_state: String,
}

impl LoginRow {
    /// The login's id as a portal's or an inbox row's receiver.
    pub fn receiver(&self) -> String {
        self.ig_pk.to_string()
    }
}

macro_rules! select_logins {
    ($clause:literal) => {
        concat!(
            "SELECT ig_pk, mxid, ig_username, session, seq_id, snapshot_at_ms, ",
            "connection_state FROM logins ",
            $clause
        )
    };
}

fn from_row(row: &AnyRow) -> Result<LoginRow> {
    Ok(LoginRow {
        ig_pk: row.try_get("ig_pk")?,
        mxid: row.try_get("mxid")?,
        ig_username: row.try_get("ig_username")?,
        session: row
            .try_get::<Option<String>, _>("session")?
            .map(Secret::new),
        seq_id: row.try_get("seq_id")?,
        snapshot_at_ms: row.try_get("snapshot_at_ms")?,
        connection_state: row.try_get("connection_state")?,
    })
}

impl Store {
    pub async fn get_login(&self, ig_pk: i64) -> Result<Option<LoginRow>> {
        const Q: &str = select_logins!("WHERE ig_pk = $1");
        let row = sqlx::query(Q)
            .bind(ig_pk)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The user's logins, oldest first.
    pub async fn logins_of(&self, mxid: &str) -> Result<Vec<LoginRow>> {
        const Q: &str = select_logins!("WHERE mxid = $1 ORDER BY created_at_ms, ig_pk");
        let rows = sqlx::query(Q).bind(mxid).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// Records a successful login of `mxid` as Instagram account `ig_pk` (a new login, or the
    /// same account logging in again: its cursor is forgotten, a first sync follows). A user
    /// without a preferred login gets this one.
    pub async fn set_login(
        &self,
        mxid: &str,
        ig_pk: i64,
        ig_username: &str,
        session: &str,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO logins (ig_pk, mxid, ig_username, session, connection_state, \
             created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, 'logged_in', $5, $5) \
             ON CONFLICT (ig_pk) DO UPDATE SET mxid = $2, ig_username = $3, session = $4, \
             seq_id = NULL, snapshot_at_ms = NULL, connection_state = 'logged_in', \
             updated_at_ms = $5",
        )
        .bind(ig_pk)
        .bind(mxid)
        .bind(ig_username)
        .bind(session)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE users SET preferred_login = $2, updated_at_ms = $3 \
             WHERE mxid = $1 AND preferred_login IS NULL",
        )
        .bind(mxid)
        .bind(ig_pk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the persisted session (cookies and claims change on many responses).
    pub async fn set_session(&self, ig_pk: i64, session: &str) -> Result<()> {
        sqlx::query("UPDATE logins SET session = $2, updated_at_ms = $3 WHERE ig_pk = $1")
            .bind(ig_pk)
            .bind(session)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Forgets a login (session and cursor); its portals stay for when it comes back. A user
    /// whose preferred login it was prefers their oldest remaining login (or none).
    pub async fn delete_login(&self, ig_pk: i64) -> Result<bool> {
        let mut tx = self.writer.begin().await?;
        let done = sqlx::query("DELETE FROM logins WHERE ig_pk = $1")
            .bind(ig_pk)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE users SET updated_at_ms = $2, preferred_login = \
             (SELECT l.ig_pk FROM logins l WHERE l.mxid = users.mxid \
              ORDER BY l.created_at_ms, l.ig_pk LIMIT 1) \
             WHERE preferred_login = $1",
        )
        .bind(ig_pk)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores the realtime resume point.
    pub async fn set_cursor(&self, ig_pk: i64, seq_id: i64, snapshot_at_ms: i64) -> Result<()> {
        sqlx::query(
            "UPDATE logins SET seq_id = $2, snapshot_at_ms = $3, updated_at_ms = $4 \
             WHERE ig_pk = $1",
        )
        .bind(ig_pk)
        .bind(seq_id)
        .bind(snapshot_at_ms)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn set_connection_state(&self, ig_pk: i64, state: &str) -> Result<()> {
        sqlx::query("UPDATE logins SET connection_state = $2, updated_at_ms = $3 WHERE ig_pk = $1")
            .bind(ig_pk)
            .bind(state)
            .bind(now_ms())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Every login with a stored Instagram session, to reconnect at start-up.
    pub async fn logged_in_logins(&self) -> Result<Vec<LoginRow>> {
        const Q: &str = select_logins!("WHERE session IS NOT NULL ORDER BY mxid, created_at_ms");
        let rows = sqlx::query(Q).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }
}
