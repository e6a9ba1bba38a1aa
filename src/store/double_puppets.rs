//! `double_puppets`: which Matrix users the bridge acts as, and with which token.

use sqlx::Row;

use super::{Result, Store, now_ms};
use crate::secret::Secret;

/// A user's double puppet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoublePuppetRow {
    pub mxid: String,
    /// The user's own access token; `None`: the appservice token of their server's secret.
    pub access_token: Option<Secret>,
    /// The user's homeserver when it is not the bridge's own.
    pub base_url: Option<String>,
}

impl Store {
    pub async fn get_double_puppet(&self, mxid: &str) -> Result<Option<DoublePuppetRow>> {
        let row =
            sqlx::query("SELECT mxid, access_token, base_url FROM double_puppets WHERE mxid = $1")
                .bind(mxid)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(DoublePuppetRow {
                mxid: r.try_get("mxid")?,
                access_token: r
                    .try_get::<Option<String>, _>("access_token")?
                    .map(Secret::new),
                base_url: r.try_get("base_url")?,
            })
        })
        .transpose()
    }

    pub async fn upsert_double_puppet(&self, row: &DoublePuppetRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO double_puppets (mxid, access_token, base_url, created_at_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (mxid) DO UPDATE SET access_token = excluded.access_token, \
             base_url = excluded.base_url",
        )
        .bind(&row.mxid)
        .bind(row.access_token.as_ref().map(|t| t.expose().to_string()))
        .bind(&row.base_url)
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn delete_double_puppet(&self, mxid: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM double_puppets WHERE mxid = $1")
            .bind(mxid)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_both_backends;

    #[tokio::test]
    async fn double_puppets_round_trip() {
        on_both_backends!(|store| {
            assert_eq!(store.get_double_puppet("@a:x").await.unwrap(), None);
            let row = DoublePuppetRow {
                mxid: "@a:x".into(),
                access_token: Some(Secret::new("syt_token")),
                base_url: None,
            };
            store.upsert_double_puppet(&row).await.unwrap();
            assert_eq!(store.get_double_puppet("@a:x").await.unwrap(), Some(row));
            let auto = DoublePuppetRow {
                mxid: "@a:x".into(),
                access_token: None,
                base_url: Some("https://hs.example".into()),
            };
            store.upsert_double_puppet(&auto).await.unwrap();
            assert_eq!(store.get_double_puppet("@a:x").await.unwrap(), Some(auto));
            assert!(store.delete_double_puppet("@a:x").await.unwrap());
            assert!(!store.delete_double_puppet("@a:x").await.unwrap());
        });
    }
}
