//! Serde models of Instagram's direct JSON (PROTOCOL D.1–D.3), generated in one style:
//! every optional field is `Option` (absent fields stay absent on re-serialization), lists
//! default to empty, and each struct keeps the fields it does not model in `extra`.
//!
//! These types are shared by the HTTP client and the realtime client (iris `value`s).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Micros, opt_lenient_f64, opt_lenient_i64, opt_string_or_number};
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

/// One entry of `image_versions2.candidates`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageCandidate {
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub width: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub height: Option<i64>,
    #[serde(default)]
    pub url: String,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `image_versions2`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageVersions {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<ImageCandidate>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One entry of `video_versions`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoVersion {
    #[serde(
        rename = "type",
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub width: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub height: Option<i64>,
    #[serde(default)]
    pub url: String,
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `voice_media.media.audio`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Audio {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_src: Option<String>,
    /// milliseconds
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waveform_data: Vec<f64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub waveform_sampling_frequency_hz: Option<f64>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// A photo/video/audio/carousel media object (feed media, DM media, clip, story).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Media {
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub pk: Option<String>,
    /// 1 image, 2 video, 8 carousel, 11 audio, ...
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub media_type: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_versions2: Option<ImageVersions>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_versions: Vec<VideoVersion>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub original_width: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub original_height: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub carousel_media: Vec<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Audio>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub video_duration: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub expiring_at: Option<i64>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `visual_media` of a `raven_media` (disappearing) item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VisualMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_mode: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub seen_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_user_ids: Vec<UserPk>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub replay_expiring_at_us: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub url_expire_at_secs: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub playback_duration_secs: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `voice_media` of a voice message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VoiceMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_mode: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub seen_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen_user_ids: Vec<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One rendition of a GIF/sticker.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnimatedImage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mp4: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub width: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub height: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub size: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub mp4_size: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub webp_size: Option<i64>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `animated_media.images`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnimatedImages {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_height: Option<AnimatedImage>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `animated_media` (GIF or sticker).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AnimatedMedia {
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<AnimatedImages>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_random: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_sticker: Option<bool>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `link.link_context`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_image_url: Option<String>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `link` payload; the message text is `text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Link {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_context: Option<LinkContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mutation_token: Option<String>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `clip` payload (reel share, old format); the media is `clip`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClipShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<Media>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `story_share`; `media` is missing and `message` set when the story expired.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoryShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_reel_persisted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reel_type: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub reel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub story_share_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<serde_json::Value>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `reel_share`: story reply, reaction or mention.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReelShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reel_owner_id: Option<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_reel_persisted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reel_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction_info: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mentioned_user_id: Option<UserPk>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `preview_url_info` of an XMA entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PreviewUrlInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub width: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub height: Option<i64>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One entry of an `xma_*` list (the newer share format).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Xma {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xma_layout_type: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_title_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subtitle_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption_body_text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url_mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url_info: Option<PreviewUrlInfo>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub preview_width: Option<i64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub preview_height: Option<i64>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `location` payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Location {
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub lat: Option<f64>,
    #[serde(
        default,
        deserialize_with = "opt_lenient_f64",
        skip_serializing_if = "Option::is_none"
    )]
    pub lng: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub facebook_places_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_source: Option<String>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `placeholder`: unsupported or unavailable content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Placeholder {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_linked: Option<bool>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `action_log`: group events ("X named the group"), reaction logs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionLog {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bold: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_attributes: Option<serde_json::Value>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `video_call_event`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoCallEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fields not modelled above, kept verbatim.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `direct_media_share`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DirectMediaShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_share_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagged_user_id: Option<UserPk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
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
