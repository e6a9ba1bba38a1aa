//! `portals`: Instagram thread ↔ Matrix room. DMs are keyed per receiving user; groups are
//! shared and use an empty receiver.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Result, Store, as_flag, flag};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortalRow {
    pub thread_id: String,
    /// The Matrix user a DM portal belongs to; empty for groups.
    pub receiver: String,
    pub room_id: Option<String>,
    pub is_group: bool,
    pub name: Option<String>,
    pub name_set: bool,
    pub avatar_id: Option<String>,
    pub avatar_mxc: Option<String>,
    pub avatar_set: bool,
    pub topic: Option<String>,
    pub topic_set: bool,
    pub encrypted: bool,
    pub relay_user: Option<String>,
    /// A message request not yet accepted.
    pub pending: bool,
}

macro_rules! select_portals {
    ($clause:literal) => {
        concat!(
            "SELECT thread_id, receiver, room_id, is_group, name, name_set, avatar_id, ",
            "avatar_mxc, avatar_set, topic, topic_set, encrypted, relay_user, pending ",
            "FROM portals ",
            $clause
        )
    };
}

fn from_row(row: &AnyRow) -> Result<PortalRow> {
    Ok(PortalRow {
        thread_id: row.try_get("thread_id")?,
        receiver: row.try_get("receiver")?,
        room_id: row.try_get("room_id")?,
        is_group: flag(row, "is_group")?,
        name: row.try_get("name")?,
        name_set: flag(row, "name_set")?,
        avatar_id: row.try_get("avatar_id")?,
        avatar_mxc: row.try_get("avatar_mxc")?,
        avatar_set: flag(row, "avatar_set")?,
        topic: row.try_get("topic")?,
        topic_set: flag(row, "topic_set")?,
        encrypted: flag(row, "encrypted")?,
        relay_user: row.try_get("relay_user")?,
        pending: flag(row, "pending")?,
    })
}

/// The key of a portal in the cache.
pub(super) fn portal_key(thread_id: &str, receiver: &str) -> String {
    format!("{thread_id}\u{0}{receiver}")
}

/// Inserts or replaces a whole portal row on a connection or in a transaction (the cache is
/// the caller's to keep right).
pub(super) async fn write_portal(conn: &mut sqlx::AnyConnection, p: &PortalRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO portals (thread_id, receiver, room_id, is_group, name, name_set, \
         avatar_id, avatar_mxc, avatar_set, topic, topic_set, encrypted, relay_user, pending) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (thread_id, receiver) DO UPDATE SET room_id = excluded.room_id, \
         is_group = excluded.is_group, name = excluded.name, name_set = excluded.name_set, \
         avatar_id = excluded.avatar_id, avatar_mxc = excluded.avatar_mxc, \
         avatar_set = excluded.avatar_set, topic = excluded.topic, \
         topic_set = excluded.topic_set, encrypted = excluded.encrypted, \
         relay_user = excluded.relay_user, pending = excluded.pending",
    )
    .bind(&p.thread_id)
    .bind(&p.receiver)
    .bind(&p.room_id)
    .bind(as_flag(p.is_group))
    .bind(&p.name)
    .bind(as_flag(p.name_set))
    .bind(&p.avatar_id)
    .bind(&p.avatar_mxc)
    .bind(as_flag(p.avatar_set))
    .bind(&p.topic)
    .bind(as_flag(p.topic_set))
    .bind(as_flag(p.encrypted))
    .bind(&p.relay_user)
    .bind(as_flag(p.pending))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// A portal by thread and receiver (cached: read on every message).
    pub async fn get_portal(&self, thread_id: &str, receiver: &str) -> Result<Option<PortalRow>> {
        let key = portal_key(thread_id, receiver);
        let ticket = match self.caches.portals.get(&key) {
            Ok(cached) => return Ok(cached),
            Err(ticket) => ticket,
        };
        const Q: &str = select_portals!("WHERE thread_id = $1 AND receiver = $2");
        let row = sqlx::query(Q)
            .bind(thread_id)
            .bind(receiver)
            .fetch_optional(&self.pool)
            .await?;
        let portal = row.as_ref().map(from_row).transpose()?;
        self.caches.portals.fill(ticket, key, portal.clone());
        Ok(portal)
    }

    /// The portal of a room (cached: read for every Matrix event).
    pub async fn get_portal_by_room(&self, room_id: &str) -> Result<Option<PortalRow>> {
        let ticket = match self.caches.portals_by_room.get(room_id) {
            Ok(cached) => return Ok(cached),
            Err(ticket) => ticket,
        };
        const Q: &str = select_portals!("WHERE room_id = $1");
        let row = sqlx::query(Q)
            .bind(room_id)
            .fetch_optional(&self.pool)
            .await?;
        let portal = row.as_ref().map(from_row).transpose()?;
        self.caches
            .portals_by_room
            .fill(ticket, room_id.to_string(), portal.clone());
        Ok(portal)
    }

    /// Every portal a user can see: their DMs and the groups (shared rows).
    pub async fn portals_of_receiver(&self, receiver: &str) -> Result<Vec<PortalRow>> {
        const Q: &str = select_portals!("WHERE receiver = $1 ORDER BY thread_id");
        let rows = sqlx::query(Q).bind(receiver).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// Inserts or replaces the whole row.
    pub async fn upsert_portal(&self, p: &PortalRow) -> Result<()> {
        let key = portal_key(&p.thread_id, &p.receiver);
        self.caches.portals.invalidate(&key);
        // The row may have moved from another room: the by-room entries are all forgotten.
        self.caches.portals_by_room.clear();
        let mut conn = self.writer.acquire().await?;
        write_portal(&mut conn, p).await?;
        self.caches.portals.set(key, Some(p.clone()));
        self.caches.portals_by_room.clear();
        Ok(())
    }

    pub async fn delete_portal(&self, thread_id: &str, receiver: &str) -> Result<()> {
        let key = portal_key(thread_id, receiver);
        self.caches.portals.invalidate(&key);
        self.caches.portals_by_room.clear();
        sqlx::query("DELETE FROM portals WHERE thread_id = $1 AND receiver = $2")
            .bind(thread_id)
            .bind(receiver)
            .execute(&self.writer)
            .await?;
        self.caches.portals.set(key, None);
        self.caches.portals_by_room.clear();
        Ok(())
    }
}
