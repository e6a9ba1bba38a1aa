//! Serde models of item payloads (PROTOCOL D.3): media with candidates, voice, GIFs, links,
//! shares, XMA, location, placeholders, action logs. Same style as [`super::models`].

use serde::{Deserialize, Serialize};

use super::models::User;
use super::{opt_lenient_f64, opt_lenient_i64, opt_string_or_number};
use crate::instagram::ids::UserPk;

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
