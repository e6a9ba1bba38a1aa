//! `thread_members`: the people of each thread as the bridge last read them, so that mentions
//! resolve after a restart without asking Instagram again. A thread's set is replaced whole.

use sqlx::Row;

use super::{Result, Store};

/// Writes people of a thread (replacing what is known of each) within a transaction.
pub(super) async fn insert_members(
    conn: &mut sqlx::AnyConnection,
    thread_id: &str,
    members: &[MemberRow],
) -> Result<()> {
    for m in members {
        sqlx::query(
            "INSERT INTO thread_members (thread_id, pk, username, display_name, mxid) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (thread_id, pk) DO UPDATE SET \
             username = excluded.username, display_name = excluded.display_name, \
             mxid = excluded.mxid",
        )
        .bind(thread_id)
        .bind(m.pk)
        .bind(&m.username)
        .bind(&m.display_name)
        .bind(&m.mxid)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// One person of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub pk: i64,
    pub username: String,
    pub display_name: String,
    /// Their Matrix user: the ghost, or the bridge user themself.
    pub mxid: String,
}

impl Store {
    /// Replaces the members of a thread, in one transaction.
    pub async fn set_thread_members(&self, thread_id: &str, members: &[MemberRow]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM thread_members WHERE thread_id = $1")
            .bind(thread_id)
            .execute(&mut *tx)
            .await?;
        insert_members(&mut tx, thread_id, members).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The members of a thread as last stored (empty when never read).
    pub async fn thread_members(&self, thread_id: &str) -> Result<Vec<MemberRow>> {
        let rows = sqlx::query(
            "SELECT pk, username, display_name, mxid FROM thread_members \
             WHERE thread_id = $1 ORDER BY pk",
        )
        .bind(thread_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(MemberRow {
                    pk: row.try_get("pk")?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                    mxid: row.try_get("mxid")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::MemberRow;
    use crate::store::testing::on_both_backends;

    #[tokio::test]
    async fn thread_members_are_replaced_whole_and_survive_a_reopen() {
        let member = |pk: i64, name: &str| MemberRow {
            pk,
            username: name.into(),
            display_name: name.to_uppercase(),
            mxid: format!("@instagram_{pk}:x"),
        };
        on_both_backends!(|s| {
            assert!(s.thread_members("t1").await.unwrap().is_empty());
            s.set_thread_members("t1", &[member(2, "bob"), member(1, "amy")])
                .await
                .unwrap();
            s.set_thread_members("t2", &[member(3, "cy")])
                .await
                .unwrap();
            assert_eq!(
                s.thread_members("t1").await.unwrap(),
                vec![member(1, "amy"), member(2, "bob")]
            );
            // Bob left, Dan joined: the set is replaced, the other thread untouched.
            s.set_thread_members("t1", &[member(1, "amy"), member(4, "dan")])
                .await
                .unwrap();
            assert_eq!(
                s.thread_members("t1").await.unwrap(),
                vec![member(1, "amy"), member(4, "dan")]
            );
            assert_eq!(s.thread_members("t2").await.unwrap(), vec![member(3, "cy")]);
        });
    }
}
