//! `messages` (Instagram item ↔ Matrix event) and `reactions`.
//!
//! Both are unique on the Instagram side and on the Matrix side, so replaying an event is
//! harmless: a second insert of the same mapping does nothing.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store};

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
    /// Records a mapping; returns false when it (or its event) was already recorded.
    pub async fn insert_message(&self, m: &MessageRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO messages (item_id, receiver, part_index, thread_id, room_id, event_id, \
             sender_pk, timestamp_us, client_context, edit_count, content_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        )
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
        .bind(&m.content_hash)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every part of an item, main event first.
    pub async fn get_message_parts(
        &self,
        item_id: &str,
        receiver: &str,
    ) -> Result<Vec<MessageRow>> {
        const Q: &str =
            select_messages!("WHERE item_id = $1 AND receiver = $2 ORDER BY part_index");
        let rows = sqlx::query(Q)
            .bind(item_id)
            .bind(receiver)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(message_from_row).collect()
    }

    pub async fn get_message_by_event(
        &self,
        room_id: &str,
        event_id: &str,
    ) -> Result<Option<MessageRow>> {
        const Q: &str = select_messages!("WHERE room_id = $1 AND event_id = $2");
        let row = sqlx::query(Q)
            .bind(room_id)
            .bind(event_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    pub async fn get_message_by_client_context(
        &self,
        client_context: &str,
        receiver: &str,
    ) -> Result<Option<MessageRow>> {
        const Q: &str = select_messages!(
            "WHERE client_context = $1 AND receiver = $2 ORDER BY part_index LIMIT 1"
        );
        let row = sqlx::query(Q)
            .bind(client_context)
            .bind(receiver)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
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
        let row = sqlx::query(Q)
            .bind(thread_id)
            .bind(receiver)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(message_from_row).transpose()
    }

    /// Gives a message recorded under a provisional id its real Instagram item id.
    pub async fn set_message_item_id(
        &self,
        old_item_id: &str,
        new_item_id: &str,
        receiver: &str,
    ) -> Result<()> {
        sqlx::query("UPDATE messages SET item_id = $2 WHERE item_id = $1 AND receiver = $3")
            .bind(old_item_id)
            .bind(new_item_id)
            .bind(receiver)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn delete_message(&self, item_id: &str, receiver: &str) -> Result<()> {
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
