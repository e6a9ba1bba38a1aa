//! `backfill_tasks`: per-portal history and catch-up progress, so an interrupted backfill
//! resumes where it stopped.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, as_flag, flag};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillTaskRow {
    pub id: i64,
    pub thread_id: String,
    pub receiver: String,
    /// `initial` (history of a new room) or `catchup` (after downtime).
    pub kind: String,
    /// Instagram's pagination cursor of the next page, if any.
    pub cursor: Option<String>,
    pub messages_done: i32,
    pub messages_wanted: i32,
    pub done: bool,
    pub next_attempt_at_ms: i64,
}

fn from_row(row: &AnyRow) -> Result<BackfillTaskRow> {
    Ok(BackfillTaskRow {
        id: row.try_get("id")?,
        thread_id: row.try_get("thread_id")?,
        receiver: row.try_get("receiver")?,
        kind: row.try_get("kind")?,
        cursor: row.try_get("cursor")?,
        messages_done: row.try_get::<i64, _>("messages_done")? as i32,
        messages_wanted: row.try_get::<i64, _>("messages_wanted")? as i32,
        done: flag(row, "done")?,
        next_attempt_at_ms: row.try_get("next_attempt_at_ms")?,
    })
}

impl Store {
    /// Creates the task, or resets it to not-done when it exists.
    pub async fn upsert_backfill_task(
        &self,
        thread_id: &str,
        receiver: &str,
        kind: &str,
        messages_wanted: i32,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO backfill_tasks (thread_id, receiver, kind, messages_wanted) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (thread_id, receiver, kind) DO UPDATE SET \
             done = 0, messages_wanted = excluded.messages_wanted",
        )
        .bind(thread_id)
        .bind(receiver)
        .bind(kind)
        .bind(messages_wanted)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Unfinished tasks that are due, oldest first.
    pub async fn due_backfill_tasks(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<BackfillTaskRow>> {
        let rows = sqlx::query(
            "SELECT id, thread_id, receiver, kind, cursor, messages_done, messages_wanted, done, \
             next_attempt_at_ms FROM backfill_tasks WHERE done = 0 AND next_attempt_at_ms <= $1 \
             ORDER BY id LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Saves progress of a task.
    pub async fn update_backfill_task(&self, task: &BackfillTaskRow) -> Result<()> {
        sqlx::query(
            "UPDATE backfill_tasks SET cursor = $2, messages_done = $3, done = $4, \
             next_attempt_at_ms = $5 WHERE id = $1",
        )
        .bind(task.id)
        .bind(&task.cursor)
        .bind(task.messages_done)
        .bind(as_flag(task.done))
        .bind(task.next_attempt_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
