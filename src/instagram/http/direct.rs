//! Direct endpoints (PROTOCOL C.1–C.3): inbox and thread pages, sends, and thread operations.
//! Send calls take the `client_context` from the caller so a retry reuses it.

use std::collections::BTreeMap;

use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::{Call, InstagramClient};
use crate::instagram::Error;
use crate::instagram::ids::{ClientContext, ItemId, ThreadId, UserPk};
use crate::instagram::types::{InboxResponse, Media, SendAck, Thread, User};

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

/// A user's presence (`get_presence`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserPresence {
    #[serde(default)]
    pub is_active: bool,
    #[serde(default, deserialize_with = "crate::instagram::types::opt_lenient_i64")]
    pub last_activity_at_ms: Option<i64>,
}

fn json_list_of_strings<T: ToString>(items: &[T]) -> String {
    serde_json::Value::Array(
        items
            .iter()
            .map(|i| serde_json::Value::String(i.to_string()))
            .collect(),
    )
    .to_string()
}

fn thread_from(v: serde_json::Value) -> Result<Thread, Error> {
    let t = match v.get("thread") {
        Some(t) => t.clone(),
        None => v,
    };
    serde_json::from_value(t).map_err(|e| Error::BadResponse {
        message: format!("bad thread: {e}"),
    })
}

impl InstagramClient {
    fn uuid(&self) -> String {
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

    async fn thread_post(
        &self,
        thread_id: &ThreadId,
        suffix: &str,
        signed: bool,
        fields: Vec<(&str, String)>,
    ) -> Result<serde_json::Value, Error> {
        let call = Call::new(
            Method::POST,
            self.api_url(&format!("direct_v2/threads/{thread_id}/{suffix}")),
        );
        let call = if signed {
            call.signed(fields)
        } else {
            call.form(fields)
        };
        self.call(call).await
    }

    /// Marks an item as seen.
    pub async fn mark_seen(
        &self,
        thread_id: &ThreadId,
        item_id: &ItemId,
        ctx: &ClientContext,
    ) -> Result<(), Error> {
        let fields = vec![
            ("action", "mark_seen".to_owned()),
            ("thread_id", thread_id.to_string()),
            ("item_id", item_id.to_string()),
            ("client_context", ctx.to_string()),
            ("offline_threading_id", ctx.to_string()),
            ("_uuid", self.uuid()),
            ("use_unified_inbox", "true".into()),
        ];
        self.thread_post(thread_id, &format!("items/{item_id}/seen/"), false, fields)
            .await
            .map(drop)
    }

    /// Typing on/off. [uncertain] M types over MQTT; this is the HTTP `indicate_activity`
    /// broadcast used by older clients.
    pub async fn set_typing(
        &self,
        thread_id: &ThreadId,
        typing: bool,
        ctx: &ClientContext,
    ) -> Result<(), Error> {
        let fields = vec![
            ("action", "indicate_activity".to_owned()),
            ("thread_ids", format!("[{thread_id}]")),
            ("client_context", ctx.to_string()),
            ("activity_status", if typing { "1" } else { "0" }.into()),
            ("_uuid", self.uuid()),
        ];
        let call = Call::new(
            Method::POST,
            self.api_url("direct_v2/threads/broadcast/indicate_activity/"),
        )
        .form(fields);
        self.call(call).await.map(drop)
    }

    /// Unsends one of our own items.
    pub async fn unsend(&self, thread_id: &ThreadId, item_id: &ItemId) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
        ];
        self.thread_post(thread_id, &format!("items/{item_id}/delete/"), true, fields)
            .await
            .map(drop)
    }

    /// Edits one of our own text items. **[uncertain]**: only seen in decompiled app code;
    /// sent as a raw form with `original_message_client_context` and `body`.
    pub async fn edit_text(
        &self,
        thread_id: &ThreadId,
        item_id: &ItemId,
        original_client_context: &str,
        new_text: &str,
    ) -> Result<serde_json::Value, Error> {
        let fields = vec![
            (
                "original_message_client_context",
                original_client_context.to_owned(),
            ),
            ("body", new_text.to_owned()),
            ("_uuid", self.uuid()),
        ];
        self.thread_post(thread_id, &format!("items/{item_id}/edit/"), false, fields)
            .await
    }

    /// Creates a group thread.
    pub async fn create_group(
        &self,
        users: &[UserPk],
        title: Option<&str>,
        ctx: &ClientContext,
    ) -> Result<Thread, Error> {
        let s = self.session();
        let mut fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
            (
                "_uid",
                s.user_pk().map(|p| p.to_string()).unwrap_or_default(),
            ),
            ("recipient_users", json_list_of_strings(users)),
            ("client_context", ctx.to_string()),
        ];
        if let Some(t) = title {
            fields.push(("thread_title", t.to_owned()));
        }
        let call =
            Call::new(Method::POST, self.api_url("direct_v2/create_group_thread/")).signed(fields);
        thread_from(self.call(call).await?)
    }

    /// Renames a group.
    pub async fn rename_thread(&self, thread_id: &ThreadId, title: &str) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_uuid", s.device.uuid.clone()),
            ("_csrftoken", s.csrftoken()),
            ("title", title.to_owned()),
        ];
        self.thread_post(thread_id, "update_title/", false, fields)
            .await
            .map(drop)
    }

    /// Adds users to a group.
    pub async fn add_users(&self, thread_id: &ThreadId, users: &[UserPk]) -> Result<(), Error> {
        let fields = vec![
            ("_uuid", self.uuid()),
            ("user_ids", json_list_of_strings(users)),
        ];
        self.thread_post(thread_id, "add_user/", false, fields)
            .await
            .map(drop)
    }

    /// Removes users from a group. [uncertain] endpoint seen in app code only.
    pub async fn remove_users(&self, thread_id: &ThreadId, users: &[UserPk]) -> Result<(), Error> {
        let fields = vec![
            ("_uuid", self.uuid()),
            ("user_ids", json_list_of_strings(users)),
        ];
        self.thread_post(thread_id, "remove_users/", false, fields)
            .await
            .map(drop)
    }

    /// Leaves a group.
    pub async fn leave_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
        ];
        self.thread_post(thread_id, "leave/", false, fields)
            .await
            .map(drop)
    }

    /// Accepts a message request.
    pub async fn approve_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let fields = vec![("filter", "DEFAULT".to_owned()), ("_uuid", self.uuid())];
        self.thread_post(thread_id, "approve/", false, fields)
            .await
            .map(drop)
    }

    /// Accepts several message requests.
    pub async fn approve_threads(&self, thread_ids: &[ThreadId]) -> Result<(), Error> {
        let fields = vec![
            ("thread_ids", json_list_of_strings(thread_ids)),
            ("folder", String::new()),
            ("_uuid", self.uuid()),
        ];
        let call = Call::new(
            Method::POST,
            self.api_url("direct_v2/threads/approve_multiple/"),
        )
        .signed(fields);
        self.call(call).await.map(drop)
    }

    /// Declines a message request.
    pub async fn decline_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let s = self.session();
        let fields = vec![
            ("_csrftoken", s.csrftoken()),
            ("_uuid", s.device.uuid.clone()),
        ];
        self.thread_post(thread_id, "decline/", false, fields)
            .await
            .map(drop)
    }

    /// Hides (deletes) a thread from the inbox.
    pub async fn hide_thread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        let fields = vec![("_uuid", self.uuid()), ("use_unified_inbox", "true".into())];
        self.thread_post(thread_id, "hide/", false, fields)
            .await
            .map(drop)
    }

    /// Mutes or unmutes a thread.
    pub async fn set_muted(&self, thread_id: &ThreadId, muted: bool) -> Result<(), Error> {
        let suffix = if muted { "mute/" } else { "unmute/" };
        self.thread_post(thread_id, suffix, false, vec![("_uuid", self.uuid())])
            .await
            .map(drop)
    }

    /// Marks a thread unread.
    pub async fn mark_unread(&self, thread_id: &ThreadId) -> Result<(), Error> {
        self.thread_post(
            thread_id,
            "mark_unread/",
            true,
            vec![("_uuid", self.uuid())],
        )
        .await
        .map(drop)
    }

    /// Presence of the people we talk to, by user pk.
    pub async fn presence(&self) -> Result<BTreeMap<String, UserPresence>, Error> {
        #[derive(Deserialize)]
        struct Resp {
            #[serde(default)]
            user_presence: BTreeMap<String, UserPresence>,
        }
        let call = Call::new(Method::GET, self.api_url("direct_v2/get_presence/"));
        Ok(self.call_as::<Resp>(call).await?.user_presence)
    }

    /// A reel by its clip id (for `xma_clip`/reel shares: the `id=<clip>_<owner>` of
    /// `target_url`).
    pub async fn clip_info(&self, clips_media_id: &str) -> Result<Media, Error> {
        #[derive(Deserialize)]
        struct Resp {
            media: Media,
        }
        let call = Call::new(Method::GET, self.api_url("clips/item/"))
            .query("clips_media_id", clips_media_id);
        Ok(self.call_as::<Resp>(call).await?.media)
    }

    /// Searches users by name.
    pub async fn search_users(&self, query: &str, count: u32) -> Result<Vec<User>, Error> {
        #[derive(Deserialize)]
        struct Resp {
            #[serde(default)]
            users: Vec<User>,
        }
        let call = Call::new(Method::GET, self.api_url("users/search/"))
            .query("q", query)
            .query("count", count.to_string())
            .query("timezone_offset", self.config().timezone_offset.to_string());
        Ok(self.call_as::<Resp>(call).await?.users)
    }

    /// A user's profile by pk.
    pub async fn user_info(&self, pk: UserPk) -> Result<User, Error> {
        self.user_at(&format!("users/{pk}/info/")).await
    }

    /// A user's profile by username.
    pub async fn user_by_username(&self, username: &str) -> Result<User, Error> {
        self.user_at(&format!("users/{username}/usernameinfo/"))
            .await
    }

    async fn user_at(&self, path: &str) -> Result<User, Error> {
        #[derive(Deserialize)]
        struct Resp {
            user: User,
        }
        let call = Call::new(Method::GET, self.api_url(path));
        Ok(self.call_as::<Resp>(call).await?.user)
    }
}
