//! `messages` (Instagram item ↔ Matrix event) and `reactions`.
//!
//! Both are unique on the Instagram side and on the Matrix side, so replaying an event is
//! harmless: a second insert of the same mapping does nothing.
//!
//! Message rows of the relay's hot path may be recorded *deferred*
//! ([`Store::insert_message_deferred`]): kept in memory and written in the same transaction as
//! the next inbox removal, so a burst of messages costs one commit instead of one each. Until
//! then [`Store::get_message_parts`] sees them, and every other query of `messages` writes them
//! first. A crash can lose them only together with the inbox rows that were not removed yet,
//! and replaying those rows is harmless (Matrix sends reuse their transaction ids).

use std::sync::Mutex;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};

/// Message rows recorded but not written yet (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Unwritten {
    /// In insertion order. Rows leave only once written and committed.
    rows: Mutex<Vec<MessageRow>>,
    /// Held while rows are written, so that concurrent writers do not write them twice and a
    /// query waiting for the write sees them committed.
    writing: tokio::sync::Mutex<()>,
}

impl Unwritten {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<MessageRow>> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// Rows per multi-row `INSERT` (a few fixed shapes, so prepared statements are reused).
const INSERT_CHUNKS: [usize; 3] = [16, 4, 1];

fn insert_messages_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO messages (item_id, receiver, part_index, thread_id, room_id, event_id, \
         sender_pk, timestamp_us, client_context, edit_count, content_hash) VALUES ",
    );
    for r in 0..rows {
        let b = r * 11;
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 1..=11 {
            if c > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", b + c));
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT DO NOTHING");
    sql
}

/// Inserts rows (ignoring ones already recorded) on a connection or in a transaction;
/// returns how many were new.
pub(super) async fn insert_messages(
    conn: &mut sqlx::AnyConnection,
    mut rows: &[MessageRow],
) -> Result<u64> {
    let mut inserted = 0;
    while !rows.is_empty() {
        let n = INSERT_CHUNKS
            .into_iter()
            .find(|n| *n <= rows.len())
            .unwrap_or(1);
        let (chunk, rest) = rows.split_at(n);
        let sql = insert_messages_sql(n);
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for m in chunk {
            query = query
                .bind(&m.item_id)
                .bind(&m.receiver)
                .bind(m.part_index)
                .bind(&m.thread_id)
                .bind(&m.room_id)
                .bind(&m.event_id)
                .bind(m.sender_pk)
                .bind(m.timestamp_us)
                .bind(&m.client_context)
                .bind(m.edit_count)
                .bind(&m.content_hash);
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
        rows = rest;
    }
    Ok(inserted)
}

/// The content hash of message rows taken over from another bridge (`import-mautrix`). It
/// counts as bridged from Instagram (a catch-up stops there), but the content it stands for is
/// unknown: the first update of such an item only records its real hash, like the first sight
/// of a message sent from Matrix (`bridge::items`).
pub const IMPORTED_CONTENT_HASH: &str = "imported:mautrix-instagram";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageRow {
    pub item_id: String,
    pub receiver: String,
    /// 0 for the main event; media items bridged as several events number the others.
    pub part_index: i32,
    pub thread_id: String,
    pub room_id: String,
    pub event_id: String,
    pub sender_pk: i64,
    pub timestamp_us: i64,
    pub client_context: Option<String>,
    pub edit_count: i32,
    /// A hash of the bridged content, to tell a real edit from a re-sent snapshot.
    pub content_hash: Option<String>,
}

macro_rules! select_messages {
    ($clause:literal) => {
        concat!(
            "SELECT item_id, receiver, part_index, thread_id, room_id, event_id, sender_pk, ",
            "timestamp_us, client_context, edit_count, content_hash FROM messages ",
            $clause
        )
    };
}

fn message_from_row(row: &AnyRow) -> Result<MessageRow> {
    Ok(MessageRow {
        item_id: row.try_get("item_id")?,
        receiver: row.try_get("receiver")?,
        part_index: row.try_get::<i64, _>("part_index")? as i32,
        thread_id: row.try_get("thread_id")?,
        room_id: row.try_get("room_id")?,
        event_id: row.try_get("event_id")?,
        sender_pk: row.try_get("sender_pk")?,
        timestamp_us: row.try_get("timestamp_us")?,
        client_context: row.try_get("client_context")?,
        edit_count: row.try_get::<i64, _>("edit_count")? as i32,
        content_hash: row.try_get("content_hash")?,
    })
}

/// Deferred message rows written in a transaction not committed yet.
pub(crate) struct DeferredWrite<'a> {
    store: &'a Store,
    written: usize,
    _guard: tokio::sync::MutexGuard<'a, ()>,
}

impl DeferredWrite<'_> {
    /// The transaction committed: the rows are in the database now.
    pub(crate) fn done(self) {
        self.store.caches.unwritten.lock().drain(..self.written);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReactionRow {
    pub item_id: String,
    pub receiver: String,
    pub sender_pk: i64,
    pub room_id: String,
    pub event_id: String,
    pub emoji: String,
    pub timestamp_us: i64,
}

fn reaction_from_row(row: &AnyRow) -> Result<ReactionRow> {
    Ok(ReactionRow {
        item_id: row.try_get("item_id")?,
        receiver: row.try_get("receiver")?,
        sender_pk: row.try_get("sender_pk")?,
        room_id: row.try_get("room_id")?,
        event_id: row.try_get("event_id")?,
        emoji: row.try_get("emoji")?,
        timestamp_us: row.try_get("timestamp_us")?,
    })
}

impl Store {
    /// Records a mapping to be written with the next inbox removal (see the module
    /// documentation). For the apply path of an inbox row only: the removal of that row is
    /// what makes it durable.
    pub async fn insert_message_deferred(&self, m: &MessageRow) -> Result<()> {
        let text = [
            &m.item_id,
            &m.receiver,
            &m.thread_id,
            &m.room_id,
            &m.event_id,
        ];
        let optional = [&m.client_context, &m.content_hash];
        if text.iter().any(|t| t.contains('\0'))
            || optional
                .iter()
                .any(|t| t.as_ref().is_some_and(|t| t.contains('\0')))
        {
            // PostgreSQL refuses NUL in text: such a row must fail here, alone, and not in
            // the write of every deferred row.
            return self.insert_message(m).await.map(|_| ());
        }
        self.caches.unwritten.lock().push(m.clone());
        Ok(())
    }

    /// Writes the deferred message rows, if any, in `tx` (committed by the caller); `done`
    /// must be called once that committed. Holds the write lock in the returned guard.
    pub(crate) async fn write_deferred_messages_in(
        &self,
        tx: &mut sqlx::AnyConnection,
    ) -> Result<Option<DeferredWrite<'_>>> {
        if self.caches.unwritten.is_empty() {
            return Ok(None);
        }
        let guard = self.caches.unwritten.writing.lock().await;
        let rows = self.caches.unwritten.lock().clone();
        insert_messages(tx, &rows).await?;
        Ok(Some(DeferredWrite {
            store: self,
            written: rows.len(),
            _guard: guard,
        }))
    }

    /// Writes the deferred message rows now.
    pub async fn flush_deferred_messages(&self) -> Result<()> {
        if self.caches.unwritten.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await?;
        let write = self.write_deferred_messages_in(&mut tx).await?;
        tx.commit().await?;
        if let Some(write) = write {
            write.done();
        }
        Ok(())
    }

    /// Records a mapping; returns false when it (or its event) was already recorded.
    pub async fn insert_message(&self, m: &MessageRow) -> Result<bool> {
        self.flush_deferred_messages().await?;
        let mut conn = self.writer.acquire().await?;
        Ok(insert_messages(&mut conn, std::slice::from_ref(m)).await? > 0)
    }

    /// Every part of an item, main event first.
    pub async fn get_message_parts(
        &self,
        item_id: &str,
        receiver: &str,
    ) -> Result<Vec<MessageRow>> {
        // Deferred rows first: one written meanwhile is then found in the database.
        let mut parts: Vec<MessageRow> = self
            .caches
            .unwritten
            .lock()
            .iter()
            .filter(|m| m.item_id == item_id && m.receiver == receiver)
            .cloned()
            .collect();
        const Q: &str =
            select_messages!("WHERE item_id = $1 AND receiver = $2 ORDER BY part_index");
        let rows = sqlx::query(Q)
            .bind(item_id)
            .bind(receiver)
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            let row = message_from_row(row)?;
            if !parts.iter().any(|p| p.part_index == row.part_index) {
                parts.push(row);
            }
        }
        parts.sort_by_key(|p| p.part_index);
        Ok(parts)
    }

    /// The first message row of a query with two text parameters (deferred rows written
    /// first, so they are seen).
    async fn message_where(
        &self,
        query: &'static str,
        a: &str,
        b: &str,
    ) -> Result<Option<MessageRow>> {
        self.flush_deferred_messages().await?;
        let row = sqlx::query(query)
            .bind(a)
            .bind(b)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    pub async fn get_message_by_event(
        &self,
        room_id: &str,
        event_id: &str,
    ) -> Result<Option<MessageRow>> {
        const Q: &str = select_messages!("WHERE room_id = $1 AND event_id = $2");
        self.message_where(Q, room_id, event_id).await
    }

    pub async fn get_message_by_client_context(
        &self,
        client_context: &str,
        receiver: &str,
    ) -> Result<Option<MessageRow>> {
        const Q: &str = select_messages!(
            "WHERE client_context = $1 AND receiver = $2 ORDER BY part_index LIMIT 1"
        );
        self.message_where(Q, client_context, receiver).await
    }

    /// The newest bridged message of a thread (for catch-up).
    pub async fn last_message_in_thread(
        &self,
        thread_id: &str,
        receiver: &str,
    ) -> Result<Option<MessageRow>> {
        const Q: &str = select_messages!(
            "WHERE thread_id = $1 AND receiver = $2 ORDER BY timestamp_us DESC, part_index LIMIT 1"
        );
        self.message_where(Q, thread_id, receiver).await
    }

    /// Gives a message recorded under a provisional id its real Instagram item id.
    pub async fn set_message_item_id(
        &self,
        old_item_id: &str,
        new_item_id: &str,
        receiver: &str,
    ) -> Result<()> {
        self.flush_deferred_messages().await?;
        sqlx::query("UPDATE messages SET item_id = $2 WHERE item_id = $1 AND receiver = $3")
            .bind(old_item_id)
            .bind(new_item_id)
            .bind(receiver)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn delete_message(&self, item_id: &str, receiver: &str) -> Result<()> {
        self.flush_deferred_messages().await?;
        sqlx::query("DELETE FROM messages WHERE item_id = $1 AND receiver = $2")
            .bind(item_id)
            .bind(receiver)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Counts an edit of the main part and records the new content hash.
    pub async fn record_edit(
        &self,
        item_id: &str,
        receiver: &str,
        content_hash: Option<&str>,
    ) -> Result<()> {
        self.flush_deferred_messages().await?;
        sqlx::query(
            "UPDATE messages SET edit_count = edit_count + 1, content_hash = $3 \
             WHERE item_id = $1 AND receiver = $2 AND part_index = 0",
        )
        .bind(item_id)
        .bind(receiver)
        .bind(content_hash)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Sets the reaction of one sender on one item (there is one per sender).
    pub async fn upsert_reaction(&self, r: &ReactionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO reactions (item_id, receiver, sender_pk, room_id, event_id, emoji, \
             timestamp_us) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (item_id, receiver, sender_pk) DO UPDATE SET room_id = excluded.room_id, \
             event_id = excluded.event_id, emoji = excluded.emoji, \
             timestamp_us = excluded.timestamp_us",
        )
        .bind(&r.item_id)
        .bind(&r.receiver)
        .bind(r.sender_pk)
        .bind(&r.room_id)
        .bind(&r.event_id)
        .bind(&r.emoji)
        .bind(r.timestamp_us)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn get_reaction(
        &self,
        item_id: &str,
        receiver: &str,
        sender_pk: i64,
    ) -> Result<Option<ReactionRow>> {
        let row = sqlx::query(
            "SELECT item_id, receiver, sender_pk, room_id, event_id, emoji, timestamp_us \
             FROM reactions WHERE item_id = $1 AND receiver = $2 AND sender_pk = $3",
        )
        .bind(item_id)
        .bind(receiver)
        .bind(sender_pk)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(reaction_from_row).transpose()
    }

    pub async fn get_reaction_by_event(
        &self,
        room_id: &str,
        event_id: &str,
    ) -> Result<Option<ReactionRow>> {
        let row = sqlx::query(
            "SELECT item_id, receiver, sender_pk, room_id, event_id, emoji, timestamp_us \
             FROM reactions WHERE room_id = $1 AND event_id = $2",
        )
        .bind(room_id)
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(reaction_from_row).transpose()
    }

    pub async fn delete_reaction(
        &self,
        item_id: &str,
        receiver: &str,
        sender_pk: i64,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM reactions WHERE item_id = $1 AND receiver = $2 AND sender_pk = $3",
        )
        .bind(item_id)
        .bind(receiver)
        .bind(sender_pk)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
