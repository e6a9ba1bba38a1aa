//! `ghosts`: the Matrix puppets of Instagram accounts.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, as_flag, flag, now_ms};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GhostRow {
    pub ig_pk: i64,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub avatar_id: Option<String>,
    pub avatar_mxc: Option<String>,
    pub name_set: bool,
    pub avatar_set: bool,
}

fn from_row(row: &AnyRow) -> Result<GhostRow> {
    Ok(GhostRow {
        ig_pk: row.try_get("ig_pk")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        avatar_id: row.try_get("avatar_id")?,
        avatar_mxc: row.try_get("avatar_mxc")?,
        name_set: flag(row, "name_set")?,
        avatar_set: flag(row, "avatar_set")?,
    })
}

impl Store {
    /// A ghost by Instagram pk (cached: read on every message).
    pub async fn get_ghost(&self, ig_pk: i64) -> Result<Option<GhostRow>> {
        let ticket = match self.caches.ghosts.get(&ig_pk) {
            Ok(cached) => return Ok(cached),
            Err(ticket) => ticket,
        };
        let row = sqlx::query(
            "SELECT ig_pk, username, display_name, avatar_id, avatar_mxc, name_set, avatar_set \
             FROM ghosts WHERE ig_pk = $1",
        )
        .bind(ig_pk)
        .fetch_optional(&self.pool)
        .await?;
        let ghost = row.as_ref().map(from_row).transpose()?;
        self.caches.ghosts.fill(ticket, ig_pk, ghost.clone());
        Ok(ghost)
    }

    pub async fn upsert_ghost(&self, g: &GhostRow) -> Result<()> {
        self.caches.ghosts.invalidate(&g.ig_pk);
        sqlx::query(
            "INSERT INTO ghosts (ig_pk, username, display_name, avatar_id, avatar_mxc, name_set, \
             avatar_set, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (ig_pk) DO UPDATE SET username = excluded.username, \
             display_name = excluded.display_name, avatar_id = excluded.avatar_id, \
             avatar_mxc = excluded.avatar_mxc, name_set = excluded.name_set, \
             avatar_set = excluded.avatar_set, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(g.ig_pk)
        .bind(&g.username)
        .bind(&g.display_name)
        .bind(&g.avatar_id)
        .bind(&g.avatar_mxc)
        .bind(as_flag(g.name_set))
        .bind(as_flag(g.avatar_set))
        .bind(now_ms())
        .execute(&self.writer)
        .await?;
        self.caches.ghosts.set(g.ig_pk, Some(g.clone()));
        Ok(())
    }
}
