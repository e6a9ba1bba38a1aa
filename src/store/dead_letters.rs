//! `dead_letters`: inbox rows that failed permanently, kept with the reason instead of being
//! dropped. Moving a row there and putting it back are single transactions, so a row is always
//! in exactly one of the two tables.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::inbox::{InboxRow, NewInboxEntry, insert_entries};
use super::{Result, Store, now_ms};

/// A dead-lettered event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The id it had in the inbox.
    pub id: i64,
    pub source: String,
    pub portal_key: String,
    pub receiver: String,
    pub payload: String,
    pub attempts: i32,
    pub reason: String,
    pub failed_at_ms: i64,
}

fn from_row(row: &AnyRow) -> Result<DeadLetter> {
    Ok(DeadLetter {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        portal_key: row.try_get("portal_key")?,
        receiver: row.try_get("receiver")?,
        payload: row.try_get("payload")?,
        attempts: row.try_get::<i64, _>("attempts")? as i32,
        reason: row.try_get("reason")?,
        failed_at_ms: row.try_get("failed_at_ms")?,
    })
}

impl Store {
    /// Moves an inbox row to the dead letters with the reason, in one transaction (with the
    /// deferred message rows, like any removal from the inbox).
    pub async fn dead_letter(&self, row: &InboxRow, reason: &str) -> Result<()> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        let deferred = self.write_deferred_messages_in(&mut tx).await?;
        sqlx::query(
            "INSERT INTO dead_letters (id, source, portal_key, receiver, payload, attempts, \
             reason, created_at_ms, failed_at_ms) \
             SELECT id, source, portal_key, receiver, payload, attempts + 1, $2, created_at_ms, $3 \
             FROM inbox WHERE id = $1 \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(row.id)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM inbox WHERE id = $1")
            .bind(row.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if let Some(deferred) = deferred {
            deferred.done();
        }
        Ok(())
    }

    /// The dead letters, oldest first.
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, source, portal_key, receiver, payload, attempts, reason, failed_at_ms \
             FROM dead_letters ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// How many events are dead-lettered.
    pub async fn dead_letter_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM dead_letters")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Puts dead letters back into the inbox as new rows (at the end of their conversation's
    /// queue), all of them or the one with `id`. Returns the new inbox ids.
    pub async fn retry_dead_letters(&self, id: Option<i64>) -> Result<Vec<i64>> {
        let mut tx = self.writer.begin().await?;
        let rows = match id {
            Some(id) => {
                sqlx::query(
                    "SELECT id, source, portal_key, receiver, payload, attempts, reason, \
                     failed_at_ms FROM dead_letters WHERE id = $1",
                )
                .bind(id)
                .fetch_all(&mut *tx)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT id, source, portal_key, receiver, payload, attempts, reason, \
                     failed_at_ms FROM dead_letters ORDER BY id",
                )
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let letters = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        let entries: Vec<NewInboxEntry> = letters
            .iter()
            .map(|d| NewInboxEntry {
                source: d.source.clone(),
                portal_key: d.portal_key.clone(),
                receiver: d.receiver.clone(),
                payload: d.payload.clone(),
            })
            .collect();
        let ids = insert_entries(&mut tx, self.backend, &entries, now_ms()).await?;
        for letter in &letters {
            sqlx::query("DELETE FROM dead_letters WHERE id = $1")
                .bind(letter.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids)
    }
}
