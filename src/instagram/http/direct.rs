//! Direct endpoints (PROTOCOL C.1, C.2): inbox and thread pages and sends. Send calls take
//! the `client_context` from the caller so a retry reuses it. Thread operations are in
//! [`super::threads`], users and presence in [`super::users`].

use reqwest::Method;

use super::client::{Call, InstagramClient};
use crate::instagram::Error;
use crate::instagram::ids::{ClientContext, ItemId, ThreadId, UserPk};
use crate::instagram::types::{InboxResponse, SendAck, Thread};

/// Which inbox to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxKind {
    /// The main inbox.
    Main,
    /// Message requests.
    Pending,
    /// Hidden/spam requests.
    Spam,
}

impl InboxKind {
    fn path(self) -> &'static str {
        match self {
            InboxKind::Main => "direct_v2/inbox/",
            InboxKind::Pending => "direct_v2/pending_inbox/",
            InboxKind::Spam => "direct_v2/spam_inbox/",
        }
    }
}

/// Page direction of a thread read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Older,
    Newer,
}

/// Where a message goes: an existing thread or a set of users (opens/creates the thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendTarget {
    Thread(ThreadId),
    Users(Vec<UserPk>),
}

impl From<ThreadId> for SendTarget {
    fn from(t: ThreadId) -> Self {
        SendTarget::Thread(t)
    }
}

impl From<&ThreadId> for SendTarget {
    fn from(t: &ThreadId) -> Self {
        SendTarget::Thread(t.clone())
    }
}

/// The message a text replies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTo {
    pub item_id: ItemId,
    /// The replied-to item's `client_context`, when known.
    pub client_context: Option<String>,
}

pub(crate) fn json_list_of_strings<T: ToString>(items: &[T]) -> String {
    serde_json::Value::Array(
        items
            .iter()
            .map(|i| serde_json::Value::String(i.to_string()))
            .collect(),
    )
    .to_string()
}

pub(crate) fn thread_from(v: serde_json::Value) -> Result<Thread, Error> {
    let t = match v.get("thread") {
        Some(t) => t.clone(),
        None => v,
    };
    serde_json::from_value(t).map_err(|e| Error::BadResponse {
        message: format!("bad thread: {e}"),
    })
}

impl InstagramClient {
    pub(crate) fn uuid(&self) -> String {
        self.session_lock().device.uuid.clone()
    }

    /// One page of an inbox. The first page (no cursor) carries `seq_id` and `snapshot_at_ms`,
    /// the realtime resume point; pass `seq_id` back with later pages.
    pub async fn inbox(
        &self,
        kind: InboxKind,
        cursor: Option<&str>,
        seq_id: Option<i64>,
        limit: u32,
    ) -> Result<InboxResponse, Error> {
        let mut call = Call::new(Method::GET, self.api_url(kind.path()))
            .query("visual_message_return_type", "unseen")
            .query("thread_message_limit", "10")
            .query("persistentBadging", "true")
            .query("limit", limit.to_string())
            .query("push_disabled", "true")
            .query("is_prefetching", "false");
        match cursor {
            Some(c) => {
                call = call.query("cursor", c).query("direction", "older");
                if let Some(seq) = seq_id {
                    call = call.query("seq_id", seq.to_string());
                }
            }
            None => call = call.query("fetch_reason", "initial_snapshot"),
        }
        self.call_as(call).await
    }

    /// Walks an inbox from the newest thread until `max_threads` threads or the end. Returns the
    /// threads and the iris resume point (`seq_id`, `snapshot_at_ms`) of the first page.
    pub async fn inbox_threads(
        &self,
        kind: InboxKind,
        max_threads: usize,
    ) -> Result<(Vec<Thread>, Option<i64>, Option<i64>), Error> {
        let first = self.inbox(kind, None, None, 20).await?;
        let (seq_id, snapshot) = (first.seq_id, first.snapshot_at_ms);
        let mut threads = first.inbox.threads;
        let mut cursor = first
            .inbox
            .oldest_cursor
            .filter(|_| first.inbox.has_older == Some(true));
        while threads.len() < max_threads {
            let Some(c) = cursor.take() else { break };
            let page = self.inbox(kind, Some(&c), seq_id, 20).await?;
            threads.extend(page.inbox.threads);
            cursor = page
                .inbox
                .oldest_cursor
                .filter(|_| page.inbox.has_older == Some(true));
        }
        threads.truncate(max_threads);
        Ok((threads, seq_id, snapshot))
    }

    /// One page of a thread (`items` newest first; paginate with `oldest_cursor`).
    pub async fn thread(
        &self,
        thread_id: &ThreadId,
        cursor: Option<&str>,
        direction: Direction,
        limit: u32,
    ) -> Result<Thread, Error> {
        let mut call = Call::new(
            Method::GET,
            self.api_url(&format!("direct_v2/threads/{thread_id}/")),
        )
        .query("visual_message_return_type", "unseen")
        .query(
            "direction",
            match direction {
                Direction::Older => "older",
                Direction::Newer => "newer",
            },
        )
        .query("limit", limit.to_string());
        if let Some(c) = cursor {
            call = call.query("cursor", c);
        }
        thread_from(self.call(call).await?)
    }

    /// The thread with exactly these participants.
    pub async fn thread_by_participants(&self, users: &[UserPk]) -> Result<Thread, Error> {
        let pks: Vec<i64> = users.iter().map(|u| u.get()).collect();
        let call = Call::new(
            Method::GET,
            self.api_url("direct_v2/threads/get_by_participants/"),
        )
        .query("recipient_users", serde_json::json!(pks).to_string());
        thread_from(self.call(call).await?)
    }

    async fn broadcast(
        &self,
        item_type: &str,
        target: &SendTarget,
        ctx: &ClientContext,
        mut extra: Vec<(&str, String)>,
    ) -> Result<SendAck, Error> {
        let s = self.session();
        let mut fields = vec![("action", "send_item".to_owned())];
        match target {
            SendTarget::Thread(t) => fields.push(("thread_ids", format!("[{t}]"))),
            SendTarget::Users(users) => {
                let pks: Vec<i64> = users.iter().map(|u| u.get()).collect();
                fields.push(("recipient_users", serde_json::json!([pks]).to_string()));
            }
        }
        fields.extend([
            ("client_context", ctx.to_string()),
            ("mutation_token", ctx.to_string()),
            ("offline_threading_id", ctx.to_string()),
            ("device_id", s.device.android_id.clone()),
            ("_uuid", s.device.uuid.clone()),
            ("_csrftoken", s.csrftoken()),
            ("send_attribution", "direct_thread".into()),
            ("is_shh_mode", "0".into()),
        ]);
        fields.append(&mut extra);
        let call = Call::new(
            Method::POST,
            self.api_url(&format!("direct_v2/threads/broadcast/{item_type}/")),
        )
        .form(fields);
        self.call_as(call).await
    }

    /// Sends text, optionally as a reply and with mentions.
    pub async fn send_text(
        &self,
        target: &SendTarget,
        text: &str,
        ctx: &ClientContext,
        reply_to: Option<&ReplyTo>,
        mentions: &[UserPk],
    ) -> Result<SendAck, Error> {
        let mut extra = vec![("text", text.to_owned())];
        if let Some(r) = reply_to {
            extra.push(("replied_to_item_id", r.item_id.to_string()));
            if let Some(c) = &r.client_context {
                extra.push(("replied_to_client_context", c.clone()));
            }
            extra.push(("replied_to_action_source", "swipe".into()));
        }
        if !mentions.is_empty() {
            extra.push(("mentioned_user_ids", json_list_of_strings(mentions)));
        }
        self.broadcast("text", target, ctx, extra).await
    }

    /// Sends text containing links.
    pub async fn send_link(
        &self,
        target: &SendTarget,
        text: &str,
        urls: &[String],
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        let extra = vec![
            ("link_text", text.to_owned()),
            ("link_urls", serde_json::json!(urls).to_string()),
        ];
        self.broadcast("link", target, ctx, extra).await
    }

    /// Adds (`Some(emoji)`) or removes (`None`) our reaction on an item.
    pub async fn send_reaction(
        &self,
        thread_id: &ThreadId,
        item_id: &ItemId,
        emoji: Option<&str>,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        let extra = vec![
            ("item_type", "reaction".to_owned()),
            ("item_id", item_id.to_string()),
            ("node_type", "item".into()),
            ("reaction_type", "like".into()),
            (
                "reaction_status",
                if emoji.is_some() {
                    "created"
                } else {
                    "deleted"
                }
                .into(),
            ),
            ("emoji", emoji.unwrap_or_default().to_owned()),
            ("reaction_action_source", "double_tap".into()),
        ];
        self.broadcast(
            "reaction",
            &SendTarget::Thread(thread_id.clone()),
            ctx,
            extra,
        )
        .await
    }

    /// Sends a like (❤️ item).
    pub async fn send_like(
        &self,
        target: &SendTarget,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        self.broadcast("like", target, ctx, vec![]).await
    }

    /// Sends a GIF/sticker by its Giphy id.
    pub async fn send_animated_media(
        &self,
        target: &SendTarget,
        giphy_id: &str,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        self.broadcast(
            "animated_media",
            target,
            ctx,
            vec![("id", giphy_id.to_owned())],
        )
        .await
    }

    /// Shares a feed post.
    pub async fn send_media_share(
        &self,
        target: &SendTarget,
        media_id: &str,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        self.broadcast(
            "media_share",
            target,
            ctx,
            vec![("media_id", media_id.to_owned())],
        )
        .await
    }

    /// Broadcasts an uploaded attachment (`photo_attachment`, `video_attachment`,
    /// `voice_attachment`).
    pub(crate) async fn send_attachment(
        &self,
        item_type: &str,
        target: &SendTarget,
        ctx: &ClientContext,
        extra: Vec<(&str, String)>,
    ) -> Result<SendAck, Error> {
        self.broadcast(item_type, target, ctx, extra).await
    }
}
