//! Serde models of threads, items, users and read markers (PROTOCOL D.1, D.2), generated in
//! one style: every optional field is `Option` (absent fields stay absent on
//! re-serialization), lists default to empty, and each struct keeps the fields it does not
//! model in `extra`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::media::*;
use super::{Micros, opt_lenient_i64, opt_string_or_number};
use crate::instagram::ids::{ItemId, ThreadId, UserPk};

/// An Instagram user as found in threads, search results and `current_user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    #[serde(default)]
    pub pk: UserPk,
    #[serde(default)]
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_pic_url: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub profile_pic_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_verified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interop_messaging_user_fbid: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub friendship_status: Option<serde_json::Value>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A read receipt: `last_seen_at` entries and `has_seen` iris values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeenMarker {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<ItemId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shh_seen_state: Option<serde_json::Value>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One reaction on an item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reaction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub super_react_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_context: Option<String>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `reactions` of an item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reactions {
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub likes_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub likes: Vec<Reaction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emojis: Vec<Reaction>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One message of a thread (PROTOCOL D.2); the payload depends on `item_type` (see [`ThreadItem::kind`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ThreadItem {
    #[serde(default)]
    pub item_id: ItemId,
    /// sender pk
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
    /// the sender's OTID; equals ours for our own sends
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_shh_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_forward_attribution: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replied_to_message: Option<Box<ThreadItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reactions: Option<Reactions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_entities: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentioned_entities: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<Link>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub like: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visual_media: Option<VisualMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_media: Option<VoiceMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub animated_media: Option<AnimatedMedia>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_share: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_media_share: Option<DirectMediaShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<ClipShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub felix_share: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story_share: Option<StoryShare>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reel_share: Option<ReelShare>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xma_media_share: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xma_story_share: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xma_reel_share: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xma_reel_mention: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xma_clip: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generic_xma: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub xma_profile: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub avatar_sticker: Vec<Xma>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashtag: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Placeholder>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_log: Option<ActionLog>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_call_event: Option<VideoCallEvent>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A direct thread (PROTOCOL D.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Thread {
    pub thread_id: ThreadId,
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub thread_v2_id: Option<String>,
    /// participants, without the viewer
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_users: Vec<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inviter: Option<User>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_user_ids: Vec<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer_id: Option<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_group: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canonical: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc_muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentions_muted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pin: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_spam: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_activity_at: Option<Micros>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_non_sender_item_at: Option<Micros>,
    /// user pk → read marker
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<BTreeMap<String, SeenMarker>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_older: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_newer: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<serde_json::Value>,
    /// newest first
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<ThreadItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_permanent_item: Option<Box<ThreadItem>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_image: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_required_for_new_members: Option<bool>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub input_mode: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub read_state: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub folder: Option<i64>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `inbox` of an inbox response.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Inbox {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<Thread>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_older: Option<bool>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub unseen_count: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub unseen_count_ts: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blended_inbox_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_cursor: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<serde_json::Value>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `GET direct_v2/inbox/` (and pending/spam inboxes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InboxResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer: Option<User>,
    /// iris resume point (first page)
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub seq_id: Option<i64>,
    /// iris resume point (first page)
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub snapshot_at_ms: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub pending_requests_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_pending_top_requests: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub most_recent_inviter: Option<serde_json::Value>,
    #[serde(default)]
    pub inbox: Inbox,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
