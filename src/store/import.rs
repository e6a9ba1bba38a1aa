//! Rows taken over from another bridge's database (`matrix-instagram import-mautrix`), written
//! in ONE transaction: all or nothing, and a dry run is the same transaction rolled back, so
//! it counts exactly what a real run would write.
//!
//! Re-running is harmless: nothing already here is overwritten. A user who is logged in here
//! keeps this bridge's session; a portal that already has another room here keeps it (and is
//! reported as a conflict); ghosts, messages and reactions already recorded stay as they are.

use sqlx::Row;

use super::ghosts::GhostRow;
use super::members::MemberRow;
use super::messages::{MessageRow, ReactionRow, insert_messages};
use super::portals::PortalRow;
use super::{Result, Store, as_flag, now_ms};
use crate::secret::Secret;

/// A bridge user as another bridge knew them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportedUser {
    pub mxid: String,
    pub ig_pk: Option<i64>,
    pub ig_username: Option<String>,
    /// This bridge's session JSON, when the old one could be carried over.
    pub session: Option<Secret>,
    pub management_room: Option<String>,
    pub seq_id: Option<i64>,
    pub snapshot_at_ms: Option<i64>,
}

/// Everything one import writes.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub users: Vec<ImportedUser>,
    pub ghosts: Vec<GhostRow>,
    pub portals: Vec<PortalRow>,
    pub messages: Vec<MessageRow>,
    pub reactions: Vec<ReactionRow>,
    /// The people of threads (for mentions), per thread id.
    pub members: Vec<(String, Vec<MemberRow>)>,
}

/// New rows and rows that were already there, of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Count {
    pub new: u64,
    pub already: u64,
}

impl Count {
    fn add(&mut self, new: bool) {
        if new {
            self.new += 1;
        } else {
            self.already += 1;
        }
    }
}

/// What an import wrote (or, in a dry run, would write).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub users: Count,
    /// Sessions carried over (`already`: the user was logged in here, their session kept).
    pub sessions: Count,
    pub management_rooms: Count,
    pub ghosts: Count,
    pub portals: Count,
    pub messages: Count,
    pub reactions: Count,
    /// Threads whose people were stored (`already`: this bridge knows them already).
    pub members: Count,
    /// Portals left out because this database maps the thread or the room differently.
    pub portal_conflicts: Vec<String>,
    /// The rooms that are (now) portals as imported.
    pub portal_rooms: Vec<String>,
}

impl Store {
    /// Writes `batch` in one transaction (rolled back when `dry_run`).
    pub async fn import_batch(&self, batch: &ImportBatch, dry_run: bool) -> Result<ImportCounts> {
        let mut counts = ImportCounts::default();
        let mut tx = self.writer.begin().await?;
        for u in &batch.users {
            import_user(&mut tx, u, &mut counts).await?;
        }
        for g in &batch.ghosts {
            let done = sqlx::query(
                "INSERT INTO ghosts (ig_pk, username, display_name, avatar_id, avatar_mxc, \
                 name_set, avatar_set, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(g.ig_pk)
            .bind(&g.username)
            .bind(&g.display_name)
            .bind(&g.avatar_id)
            .bind(&g.avatar_mxc)
            .bind(as_flag(g.name_set))
            .bind(as_flag(g.avatar_set))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            counts.ghosts.add(done.rows_affected() > 0);
        }
        let mut rooms = std::collections::HashSet::new();
        let mut threads = std::collections::HashSet::new();
        for p in &batch.portals {
            if import_portal(&mut tx, p, &mut counts).await? {
                rooms.extend(p.room_id.clone());
                counts.portal_rooms.extend(p.room_id.clone());
                threads.insert(p.thread_id.as_str());
            }
        }
        for (thread, people) in &batch.members {
            if threads.contains(thread.as_str()) {
                let new = import_members(&mut tx, thread, people).await?;
                counts.members.add(new);
            }
        }
        let messages: Vec<MessageRow> = batch
            .messages
            .iter()
            .filter(|m| rooms.contains(&m.room_id))
            .cloned()
            .collect();
        for m in &messages {
            let new = insert_messages(&mut tx, std::slice::from_ref(m)).await? > 0;
            counts.messages.add(new);
        }
        for r in batch
            .reactions
            .iter()
            .filter(|r| rooms.contains(&r.room_id))
        {
            let done = sqlx::query(
                "INSERT INTO reactions (item_id, receiver, sender_pk, room_id, event_id, emoji, \
                 timestamp_us) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            )
            .bind(&r.item_id)
            .bind(&r.receiver)
            .bind(r.sender_pk)
            .bind(&r.room_id)
            .bind(&r.event_id)
            .bind(&r.emoji)
            .bind(r.timestamp_us)
            .execute(&mut *tx)
            .await?;
            counts.reactions.add(done.rows_affected() > 0);
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
            for p in &batch.portals {
                self.caches
                    .portals
                    .invalidate(&super::portals::portal_key(&p.thread_id, &p.receiver));
            }
            for g in &batch.ghosts {
                self.caches.ghosts.invalidate(&g.ig_pk);
            }
        }
        Ok(counts)
    }

    /// Conversation claims that have not expired: a bridge process is working on this
    /// database. `(conversation, owner, expires_at_ms)`.
    pub async fn live_claims(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT conversation, owner, expires_at_ms FROM conversation_claims \
             WHERE expires_at_ms > $1 ORDER BY conversation",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("conversation")?,
                    r.try_get("owner")?,
                    r.try_get("expires_at_ms")?,
                ))
            })
            .collect()
    }
}

/// Stores a thread's people unless this bridge knows them already. Returns whether it did.
async fn import_members(
    tx: &mut sqlx::AnyConnection,
    thread: &str,
    people: &[MemberRow],
) -> Result<bool> {
    let known = sqlx::query("SELECT pk FROM thread_members WHERE thread_id = $1 LIMIT 1")
        .bind(thread)
        .fetch_optional(&mut *tx)
        .await?;
    if known.is_some() {
        return Ok(false);
    }
    super::members::insert_members(tx, thread, people).await?;
    Ok(true)
}

async fn import_user(
    tx: &mut sqlx::AnyConnection,
    u: &ImportedUser,
    counts: &mut ImportCounts,
) -> Result<()> {
    let now = now_ms();
    let created = sqlx::query(
        "INSERT INTO users (mxid, created_at_ms, updated_at_ms) VALUES ($1, $2, $2) \
         ON CONFLICT (mxid) DO NOTHING",
    )
    .bind(&u.mxid)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    counts.users.add(created.rows_affected() > 0);
    if let (Some(session), Some(pk)) = (&u.session, u.ig_pk) {
        // Only where this bridge has no login of its own for that account.
        let done = sqlx::query(
            "INSERT INTO logins (ig_pk, mxid, ig_username, session, seq_id, snapshot_at_ms, \
             connection_state, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, 'logged_in', $7, $7) ON CONFLICT (ig_pk) DO NOTHING",
        )
        .bind(pk)
        .bind(&u.mxid)
        .bind(&u.ig_username)
        .bind(session.expose())
        .bind(u.seq_id)
        .bind(u.snapshot_at_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        counts.sessions.add(done.rows_affected() > 0);
        sqlx::query(
            "UPDATE users SET preferred_login = $2, updated_at_ms = $3 \
             WHERE mxid = $1 AND preferred_login IS NULL \
             AND EXISTS (SELECT 1 FROM logins WHERE ig_pk = $2 AND mxid = $1)",
        )
        .bind(&u.mxid)
        .bind(pk)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(room) = &u.management_room {
        // Only where the user has none here and the room is nobody else's.
        let done = sqlx::query(
            "UPDATE users SET management_room = $2, updated_at_ms = $3 \
             WHERE mxid = $1 AND management_room IS NULL \
             AND NOT EXISTS (SELECT 1 FROM users WHERE management_room = $2)",
        )
        .bind(&u.mxid)
        .bind(room)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        counts.management_rooms.add(done.rows_affected() > 0);
    }
    Ok(())
}

/// Inserts a portal unless its thread or its room is mapped here already. Returns whether the
/// portal (new, or already the same) is this room's, so that its messages are imported.
async fn import_portal(
    tx: &mut sqlx::AnyConnection,
    p: &PortalRow,
    counts: &mut ImportCounts,
) -> Result<bool> {
    let Some(room) = p.room_id.as_deref() else {
        return Ok(false);
    };
    let by_key = sqlx::query("SELECT room_id FROM portals WHERE thread_id = $1 AND receiver = $2")
        .bind(&p.thread_id)
        .bind(&p.receiver)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = by_key {
        let here: Option<String> = row.try_get("room_id")?;
        if here.as_deref() == Some(room) {
            counts.portals.add(false);
            return Ok(true);
        }
        counts.portal_conflicts.push(format!(
            "thread {} ({}) already has room {} here, not {room}; kept",
            p.thread_id,
            receiver_text(&p.receiver),
            here.as_deref().unwrap_or("(none)"),
        ));
        return Ok(false);
    }
    let by_room = sqlx::query("SELECT thread_id, receiver FROM portals WHERE room_id = $1")
        .bind(room)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = by_room {
        let thread: String = row.try_get("thread_id")?;
        counts.portal_conflicts.push(format!(
            "room {room} is already the portal of thread {thread} here, not of {}; kept",
            p.thread_id
        ));
        return Ok(false);
    }
    super::portals::write_portal(tx, p).await?;
    counts.portals.add(true);
    Ok(true)
}

fn receiver_text(receiver: &str) -> &str {
    if receiver.is_empty() {
        "group"
    } else {
        receiver
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_both_backends;

    fn batch() -> ImportBatch {
        ImportBatch {
            users: vec![ImportedUser {
                mxid: "@a:x".into(),
                ig_pk: Some(1),
                ig_username: Some("a".into()),
                session: Some(Secret::new("{\"imported\":true}")),
                management_room: Some("!m:x".into()),
                seq_id: Some(5),
                snapshot_at_ms: Some(6),
            }],
            ghosts: vec![GhostRow {
                ig_pk: 2,
                username: Some("old".into()),
                ..Default::default()
            }],
            portals: vec![
                PortalRow {
                    thread_id: "t1".into(),
                    receiver: "1".into(),
                    room_id: Some("!r1:x".into()),
                    ..Default::default()
                },
                PortalRow {
                    thread_id: "t2".into(),
                    receiver: "1".into(),
                    room_id: Some("!r2:x".into()),
                    ..Default::default()
                },
            ],
            messages: ["!r1:x", "!r2:x"]
                .iter()
                .enumerate()
                .map(|(i, room)| MessageRow {
                    item_id: format!("i{i}"),
                    receiver: "1".into(),
                    thread_id: format!("t{}", i + 1),
                    room_id: (*room).into(),
                    event_id: format!("$e{i}"),
                    content_hash: Some("imported".into()),
                    ..Default::default()
                })
                .collect(),
            reactions: vec![ReactionRow {
                item_id: "i1".into(),
                receiver: "1".into(),
                sender_pk: 2,
                room_id: "!r2:x".into(),
                event_id: "$re".into(),
                emoji: "x".into(),
                timestamp_us: 1,
            }],
            members: ["t1", "t2"]
                .iter()
                .map(|t| {
                    let people = vec![MemberRow {
                        pk: 2,
                        username: "old".into(),
                        display_name: "Old".into(),
                        mxid: "@ig_2:x".into(),
                    }];
                    ((*t).to_string(), people)
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn an_import_keeps_what_is_here_and_a_dry_run_writes_nothing() {
        on_both_backends!(|s| {
            // Here already: a login of this bridge, a fresher ghost, and thread t2 in
            // another room.
            s.ensure_user("@a:x").await.unwrap();
            s.set_login("@a:x", 1, "a", "{\"ours\":true}")
                .await
                .unwrap();
            s.upsert_ghost(&GhostRow {
                ig_pk: 2,
                username: Some("new".into()),
                ..Default::default()
            })
            .await
            .unwrap();
            s.upsert_portal(&PortalRow {
                thread_id: "t2".into(),
                receiver: "1".into(),
                room_id: Some("!other:x".into()),
                ..Default::default()
            })
            .await
            .unwrap();

            let dry = s.import_batch(&batch(), true).await.unwrap();
            assert_eq!(dry.portals, Count { new: 1, already: 0 });
            assert!(s.get_portal("t1", "1").await.unwrap().is_none(), "dry run");

            let counts = s.import_batch(&batch(), false).await.unwrap();
            assert_eq!(counts, dry, "a dry run counts what a run writes");
            assert_eq!(counts.sessions, Count { new: 0, already: 1 });
            assert_eq!(counts.ghosts, Count { new: 0, already: 1 });
            assert_eq!(counts.portal_rooms, ["!r1:x"]);
            assert_eq!(
                counts.portal_conflicts.len(),
                1,
                "{:?}",
                counts.portal_conflicts
            );
            assert!(counts.portal_conflicts[0].contains("!other:x"));
            // Only the messages and reactions of the portal taken over.
            assert_eq!(counts.messages, Count { new: 1, already: 0 });
            assert_eq!(counts.reactions, Count::default());
            assert_eq!(counts.members, Count { new: 1, already: 0 });
            assert_eq!(s.thread_members("t1").await.unwrap()[0].username, "old");
            assert!(s.thread_members("t2").await.unwrap().is_empty());
            let user = s.get_user("@a:x").await.unwrap().unwrap();
            let login = s.get_login(1).await.unwrap().unwrap();
            assert_eq!(login.session.unwrap().expose(), "{\"ours\":true}");
            assert_eq!(user.preferred_login, Some(1));
            assert_eq!(user.management_room.as_deref(), Some("!m:x"));
            assert_eq!(
                s.get_ghost(2).await.unwrap().unwrap().username.as_deref(),
                Some("new")
            );
            let t1 = s.get_portal("t1", "1").await.unwrap().unwrap();
            assert_eq!(t1.room_id.as_deref(), Some("!r1:x"));
            let t2 = s.get_portal("t2", "1").await.unwrap().unwrap();
            assert_eq!(t2.room_id.as_deref(), Some("!other:x"));
            assert_eq!(s.get_message_parts("i0", "1").await.unwrap().len(), 1);
            assert!(s.get_message_parts("i1", "1").await.unwrap().is_empty());

            let again = s.import_batch(&batch(), false).await.unwrap();
            assert_eq!(again.portals, Count { new: 0, already: 1 });
            assert_eq!(again.messages, Count { new: 0, already: 1 });
            assert_eq!(again.members, Count { new: 0, already: 1 });

            assert!(s.live_claims().await.unwrap().is_empty());
            assert!(
                s.claim_conversation("thread:t1", "bridge", 60_000)
                    .await
                    .unwrap()
            );
            assert_eq!(s.live_claims().await.unwrap()[0].1, "bridge");
        });
    }
}
