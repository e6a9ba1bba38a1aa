//! `chat_states`: what the bridge last knew of each side's chat state per (user, room). The
//! two sides are opaque bit sets here; `bridge::chat_state_saved` says what the bits mean.

use sqlx::Row;

use super::{Result, Store, now_ms};

/// One (user, room)'s known chat state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatStateRow {
    pub mxid: String,
    pub room_id: String,
    pub matrix: i16,
    pub instagram: i16,
}

impl Store {
    pub async fn get_chat_state(&self, mxid: &str, room_id: &str) -> Result<Option<ChatStateRow>> {
        let row = sqlx::query(
            "SELECT mxid, room_id, matrix, instagram FROM chat_states \
             WHERE mxid = $1 AND room_id = $2",
        )
        .bind(mxid)
        .bind(room_id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(ChatStateRow {
                mxid: r.try_get("mxid")?,
                room_id: r.try_get("room_id")?,
                matrix: r.try_get("matrix")?,
                instagram: r.try_get("instagram")?,
            })
        })
        .transpose()
    }

    pub async fn put_chat_state(&self, row: &ChatStateRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO chat_states (mxid, room_id, matrix, instagram, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (mxid, room_id) DO UPDATE SET matrix = excluded.matrix, \
             instagram = excluded.instagram, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&row.mxid)
        .bind(&row.room_id)
        .bind(row.matrix)
        .bind(row.instagram)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The rooms the bridge knows a chat state of for this user.
    pub async fn chat_state_rooms(&self, mxid: &str) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT room_id FROM chat_states WHERE mxid = $1 ORDER BY room_id")
            .bind(mxid)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("room_id")?)).collect()
    }

    /// Forgets a user's chat state (their double puppet is gone: nothing more can be seen of
    /// their Matrix side).
    pub async fn delete_chat_states(&self, mxid: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM chat_states WHERE mxid = $1")
            .bind(mxid)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_both_backends;

    #[tokio::test]
    async fn chat_states_round_trip() {
        on_both_backends!(|store| {
            assert_eq!(store.get_chat_state("@a:x", "!r:x").await.unwrap(), None);
            let mut row = ChatStateRow {
                mxid: "@a:x".into(),
                room_id: "!r:x".into(),
                matrix: 1 | 16,
                instagram: 4 | 8 | 16,
            };
            store.put_chat_state(&row).await.unwrap();
            assert_eq!(
                store.get_chat_state("@a:x", "!r:x").await.unwrap(),
                Some(row.clone())
            );
            row.matrix = 2;
            store.put_chat_state(&row).await.unwrap();
            let other = ChatStateRow {
                mxid: "@b:x".into(),
                ..row.clone()
            };
            store.put_chat_state(&other).await.unwrap();
            assert_eq!(
                store.get_chat_state("@a:x", "!r:x").await.unwrap(),
                Some(row)
            );
            assert_eq!(store.chat_state_rooms("@a:x").await.unwrap(), ["!r:x"]);
            assert_eq!(store.delete_chat_states("@a:x").await.unwrap(), 1);
            assert_eq!(store.get_chat_state("@a:x", "!r:x").await.unwrap(), None);
            assert!(
                store
                    .get_chat_state("@b:x", "!r:x")
                    .await
                    .unwrap()
                    .is_some()
            );
        });
    }
}
