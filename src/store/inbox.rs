//! `txns` and `inbox`: the durable queue between intake and work.
//!
//! An appservice transaction is acknowledged only after its events and its id are committed
//! together; a realtime batch is committed together with the user's new `seq_id`. Rows leave
//! the inbox once applied; at start-up whatever is left is replayed.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Backend, Result, Store, now_ms};

/// Where an inbox entry came from.
pub const SOURCE_MATRIX: &str = "matrix";
pub const SOURCE_INSTAGRAM: &str = "instagram";

/// An entry to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboxEntry {
    pub source: String,
    /// What orders the entry: a room id for Matrix events, a thread id for Instagram events.
    pub portal_key: String,
    /// The Matrix user the entry belongs to, if any.
    pub receiver: String,
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: i64,
    pub source: String,
    pub portal_key: String,
    pub receiver: String,
    pub payload: String,
    pub attempts: i32,
    /// When the bridge received it (ms since the epoch).
    pub created_at_ms: i64,
}

fn from_row(row: &AnyRow) -> Result<InboxRow> {
    Ok(InboxRow {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        portal_key: row.try_get("portal_key")?,
        receiver: row.try_get("receiver")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get::<i64, _>("attempts")? as i32,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

/// The advisory lock that orders inbox writers on PostgreSQL (any constant unique to it).
const INBOX_LOCK: i64 = 0x6d69_6e62_6f78;

/// Inserts inbox rows in the caller's transaction. The dispatcher reads rows by increasing
/// id, so ids must become visible in order: on PostgreSQL two writers could otherwise commit
/// out of id order and the dispatcher would pass over the lower id. A transaction-scoped
/// advisory lock serialises the writers until they commit (SQLite has a single writer).
pub(super) async fn insert_entries(
    conn: &mut sqlx::AnyConnection,
    backend: Backend,
    entries: &[NewInboxEntry],
    now: i64,
) -> Result<Vec<i64>> {
    if backend == Backend::Postgres && !entries.is_empty() {
        sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock($1)) AS l")
            .bind(INBOX_LOCK)
            .fetch_one(&mut *conn)
            .await?;
    }
    let mut ids = Vec::with_capacity(entries.len());
    for e in entries {
        let row = sqlx::query(
            "INSERT INTO inbox (source, portal_key, receiver, payload, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&e.source)
        .bind(&e.portal_key)
        .bind(&e.receiver)
        .bind(&e.payload)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        ids.push(row.try_get("id")?);
    }
    Ok(ids)
}

impl Store {
    /// Records an appservice transaction and its events atomically. Returns `None` when the
    /// transaction id was already recorded (nothing is enqueued again), else the new row ids.
    pub async fn record_transaction(
        &self,
        txn_id: &str,
        entries: &[NewInboxEntry],
    ) -> Result<Option<Vec<i64>>> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        let fresh = sqlx::query(
            "INSERT INTO txns (txn_id, processed_at_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(txn_id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            > 0;
        if !fresh {
            tx.rollback().await?;
            return Ok(None);
        }
        let ids = insert_entries(&mut tx, self.backend, entries, now).await?;
        tx.commit().await?;
        Ok(Some(ids))
    }

    /// Whether a transaction id was already recorded.
    pub async fn transaction_seen(&self, txn_id: &str) -> Result<bool> {
        let row = sqlx::query("SELECT txn_id FROM txns WHERE txn_id = $1")
            .bind(txn_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Enqueues entries and moves a login's realtime cursor forward (never back) in one
    /// database transaction: the realtime pump's write.
    pub async fn enqueue_with_cursor(
        &self,
        login: i64,
        seq_id: i64,
        snapshot_at_ms: i64,
        entries: &[NewInboxEntry],
    ) -> Result<Vec<i64>> {
        self.enqueue_and_set_cursor(login, (seq_id, snapshot_at_ms), entries, true)
            .await
    }

    /// Enqueues entries and replaces a login's realtime cursor with a fresh inbox snapshot in
    /// one database transaction: the write of a first sync or a resync, whose snapshot stands
    /// for everything before it whatever the old cursor said.
    pub async fn enqueue_with_fresh_cursor(
        &self,
        login: i64,
        seq_id: i64,
        snapshot_at_ms: i64,
        entries: &[NewInboxEntry],
    ) -> Result<Vec<i64>> {
        self.enqueue_and_set_cursor(login, (seq_id, snapshot_at_ms), entries, false)
            .await
    }

    async fn enqueue_and_set_cursor(
        &self,
        login: i64,
        (seq_id, snapshot_at_ms): (i64, i64),
        entries: &[NewInboxEntry],
        forward_only: bool,
    ) -> Result<Vec<i64>> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        let ids = insert_entries(&mut tx, self.backend, entries, now).await?;
        let sql = if forward_only {
            "UPDATE logins SET seq_id = $2, snapshot_at_ms = $3, updated_at_ms = $4 \
             WHERE ig_pk = $1 AND (seq_id IS NULL OR seq_id < $2)"
        } else {
            "UPDATE logins SET seq_id = $2, snapshot_at_ms = $3, updated_at_ms = $4 \
             WHERE ig_pk = $1"
        };
        sqlx::query(sql)
            .bind(login)
            .bind(seq_id)
            .bind(snapshot_at_ms)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Enqueues entries.
    pub async fn enqueue(&self, entries: &[NewInboxEntry]) -> Result<Vec<i64>> {
        let mut tx = self.writer.begin().await?;
        let ids = insert_entries(&mut tx, self.backend, entries, now_ms()).await?;
        tx.commit().await?;
        Ok(ids)
    }

    /// Pending entries in arrival order, starting after `after_id`.
    pub async fn inbox_pending(&self, after_id: i64, limit: i64) -> Result<Vec<InboxRow>> {
        let rows = sqlx::query(
            "SELECT id, source, portal_key, receiver, payload, attempts, created_at_ms FROM inbox \
             WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The entries with these ids that are still in the inbox, in id order.
    pub async fn inbox_rows(&self, ids: &[i64]) -> Result<Vec<InboxRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // Only integers go into the statement.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT id, source, portal_key, receiver, payload, attempts, created_at_ms FROM inbox \
             WHERE id IN ({list}) ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Removes an applied entry (writing the deferred message rows first, in the same
    /// transaction).
    pub async fn inbox_remove(&self, id: i64) -> Result<()> {
        self.inbox_remove_many(&[id]).await
    }

    /// Removes applied entries in one statement, in one transaction with the deferred message
    /// rows (see `messages`): what was applied is recorded before its inbox row goes.
    pub async fn inbox_remove_many(&self, ids: &[i64]) -> Result<()> {
        if ids.is_empty() {
            return self.flush_deferred_messages().await;
        }
        // Only integers go into the statement.
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!("DELETE FROM inbox WHERE id IN ({list})");
        let mut tx = self.writer.begin().await?;
        let deferred = self.write_deferred_messages_in(&mut tx).await?;
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let Some(deferred) = deferred {
            deferred.done();
        }
        Ok(())
    }

    /// Counts a failed attempt to apply an entry; returns the new count.
    pub async fn inbox_bump_attempts(&self, id: i64) -> Result<i32> {
        let row = sqlx::query(
            "UPDATE inbox SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts",
        )
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        Ok(match row {
            Some(row) => row.try_get::<i64, _>("attempts")? as i32,
            None => 0,
        })
    }
}
