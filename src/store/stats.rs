//! What the health probe and the metrics ask of the database: whether it answers, and how
//! full the inbox is.

use sqlx::Row;

use super::{Result, Store};

/// The inbox at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InboxStats {
    pub rows: i64,
    /// When the oldest waiting row was received (ms since the epoch), if any.
    pub oldest_ms: Option<i64>,
}

impl Store {
    /// One round trip to the database.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1 AS one").fetch_one(&self.pool).await?;
        Ok(())
    }

    pub async fn inbox_stats(&self) -> Result<InboxStats> {
        let row = sqlx::query("SELECT COUNT(*) AS n, MIN(created_at_ms) AS oldest FROM inbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(InboxStats {
            rows: row.try_get("n")?,
            oldest_ms: row.try_get("oldest")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::inbox::{NewInboxEntry, SOURCE_MATRIX};
    use crate::store::testing::on_both_backends;

    #[tokio::test]
    async fn inbox_stats_count_rows_and_the_oldest() {
        on_both_backends!(|store| {
            store.ping().await.expect("ping");
            let empty = store.inbox_stats().await.expect("stats");
            assert_eq!((empty.rows, empty.oldest_ms), (0, None));
            let entry = NewInboxEntry {
                source: SOURCE_MATRIX.into(),
                portal_key: "!r:x".into(),
                receiver: "@u:x".into(),
                payload: "{}".into(),
            };
            let before = crate::store::now_ms();
            store
                .enqueue(&[entry.clone(), entry])
                .await
                .expect("enqueue");
            let stats = store.inbox_stats().await.expect("stats");
            assert_eq!(stats.rows, 2);
            let oldest = stats.oldest_ms.expect("an oldest row");
            assert!(oldest >= before && oldest <= crate::store::now_ms());
            let rows = store.inbox_pending(0, 10).await.expect("rows");
            assert_eq!(rows[0].created_at_ms, oldest);
        });
    }
}
