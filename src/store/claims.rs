//! `conversation_claims`: which bridge process works on a conversation, until when.
//!
//! A worker claims its conversation before applying rows and renews the claim while it lives;
//! a claim held by another owner is respected until it expires (that process died or stopped).
//! With one process every claim succeeds; the table is what lets several processes share one
//! PostgreSQL database without applying one conversation twice.

use sqlx::Row;

use super::{Result, Store, now_ms};

impl Store {
    /// Claims `conversation` for `owner` for `ttl_ms`, or renews the owner's claim. Returns
    /// whether the owner holds it now.
    pub async fn claim_conversation(
        &self,
        conversation: &str,
        owner: &str,
        ttl_ms: i64,
    ) -> Result<bool> {
        let now = now_ms();
        let row = sqlx::query(
            "INSERT INTO conversation_claims (conversation, owner, expires_at_ms) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (conversation) DO UPDATE SET owner = $2, expires_at_ms = $3 \
             WHERE conversation_claims.owner = $2 OR conversation_claims.expires_at_ms < $4 \
             RETURNING owner",
        )
        .bind(conversation)
        .bind(owner)
        .bind(now + ttl_ms)
        .bind(now)
        .fetch_optional(&self.writer)
        .await?;
        Ok(match row {
            Some(row) => row.try_get::<String, _>("owner")? == owner,
            None => false,
        })
    }

    /// Gives up the owner's claim (a worker that stops).
    pub async fn release_conversation(&self, conversation: &str, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM conversation_claims WHERE conversation = $1 AND owner = $2")
            .bind(conversation)
            .bind(owner)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Gives up every claim of the owner (at start-up and shutdown of a process).
    pub async fn release_all_claims(&self, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM conversation_claims WHERE owner = $1")
            .bind(owner)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
