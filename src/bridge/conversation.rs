//! What a conversation's worker keeps about its thread between rows: the thread's people (the
//! targets of mentions both ways) and the bridge users already invited to its group room.
//!
//! One [`Portal`] value is owned by each conversation worker (see `dispatch::worker`) and
//! passed to what applies the worker's rows, so it needs no lock and goes away with the
//! worker. The people are stored too (`thread_members`): a new worker, or the bridge after a
//! restart, reads them back instead of asking Instagram.

use std::collections::HashSet;
use std::sync::Arc;

use super::Bridge;
use super::convert::to_matrix::KnownUser;
use super::ghost;
use super::user::IgUser;
use crate::instagram::types::Thread;
use crate::store::members::MemberRow;

/// The state of one conversation, owned by its worker.
#[derive(Debug, Default)]
pub struct Portal {
    /// The thread the people below belong to, and them; `None` until first needed.
    members: Option<(String, Arc<Vec<KnownUser>>)>,
    /// Bridge users invited to the group room while this worker lives.
    invited: HashSet<String>,
}

impl Portal {
    pub fn new() -> Self {
        Self::default()
    }

    /// The people of a thread (for mentions): as remembered, else as stored, else none.
    pub async fn members(&mut self, bridge: &Bridge, thread_id: &str) -> Arc<Vec<KnownUser>> {
        if let Some((thread, users)) = &self.members
            && thread == thread_id
        {
            return users.clone();
        }
        match bridge.store.thread_members(thread_id).await {
            Ok(rows) => {
                let users = Arc::new(rows.into_iter().map(known_user).collect::<Vec<_>>());
                self.members = Some((thread_id.to_owned(), users.clone()));
                users
            }
            Err(e) => {
                // Mentions fall back to plain names; the next row tries again.
                tracing::warn!(thread = thread_id, "cannot read the thread's people: {e}");
                Arc::default()
            }
        }
    }

    /// Remembers the people of a freshly read thread (and the account reading it), storing
    /// them when they changed.
    pub async fn remember(&mut self, bridge: &Bridge, thread: &Thread, own: Option<&IgUser>) {
        let thread_id = thread.thread_id.as_str();
        let mut users: Vec<KnownUser> = thread
            .users
            .iter()
            .map(|u| KnownUser {
                pk: u.pk.get(),
                username: u.username.clone(),
                mxid: ghost::ghost_user_id(bridge, u.pk.get()),
                display_name: ghost::display_name(bridge, u),
            })
            .collect();
        if let Some(own) = own {
            users.push(KnownUser {
                pk: own.pk,
                username: own.username.clone(),
                mxid: own.mxid.clone(),
                display_name: own.username.clone(),
            });
        }
        users.sort_by_key(|u| u.pk);
        users.dedup_by_key(|u| u.pk);
        if *self.members(bridge, thread_id).await == users {
            return;
        }
        let rows: Vec<MemberRow> = users.iter().map(member_row).collect();
        if let Err(e) = bridge.store.set_thread_members(thread_id, &rows).await {
            tracing::warn!(thread = thread_id, "cannot store the thread's people: {e}");
        }
        self.members = Some((thread_id.to_owned(), Arc::new(users)));
    }

    /// Whether a user was invited to the group room while this worker lives.
    pub fn invited(&self, mxid: &str) -> bool {
        self.invited.contains(mxid)
    }

    pub fn mark_invited(&mut self, mxid: &str) {
        self.invited.insert(mxid.to_owned());
    }
}

fn known_user(row: MemberRow) -> KnownUser {
    KnownUser {
        pk: row.pk,
        username: row.username,
        mxid: row.mxid,
        display_name: row.display_name,
    }
}

fn member_row(user: &KnownUser) -> MemberRow {
    MemberRow {
        pk: user.pk,
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        mxid: user.mxid.clone(),
    }
}

#[cfg(test)]
#[path = "conversation_tests.rs"]
mod tests;
