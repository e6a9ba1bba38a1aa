//! Serde models of Instagram's JSON (PROTOCOL D), independent of HTTP: the realtime client
//! decodes iris `value`s into the same [`Thread`] and [`ThreadItem`].
//!
//! Never fails on unknown or missing optional fields; ids accept numbers or strings;
//! timestamps (µs) accept numbers or strings. Use [`parse_lossless`] to parse JSON text whose
//! integers may exceed 64 bits (item ids sometimes arrive as bare numbers).

mod media;
mod models;

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

pub use media::*;
pub use models::*;

use crate::instagram::ids::{ItemId, ThreadId, UserPk};

/// A timestamp in microseconds since the Unix epoch (number or decimal string on the wire).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Micros(pub i64);

impl Micros {
    pub fn as_millis(self) -> i64 {
        self.0 / 1000
    }
}

impl fmt::Debug for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Micros({})", self.0)
    }
}

struct LenientNumber;

impl Visitor<'_> for LenientNumber {
    type Value = Option<f64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number, a numeric string or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.trim().parse::<f64>().ok())
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(if v { 1.0 } else { 0.0 }))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct LenientInt;

impl Visitor<'_> for LenientInt {
    type Value = Option<i64>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer, a numeric string or null")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).ok())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v as i64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        let v = v.trim();
        Ok(v.parse::<i64>()
            .ok()
            .or_else(|| v.parse::<f64>().ok().map(|f| f as i64)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(i64::from(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(LenientInt)? {
            Some(v) => Ok(Micros(v)),
            None => Err(de::Error::custom("invalid timestamp")),
        }
    }
}

pub fn opt_lenient_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    d.deserialize_any(LenientNumber)
}

pub fn opt_lenient_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(LenientInt)
}

pub fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(other) => Some(other.to_string()),
    })
}

/// Rewrites JSON text so that integer literals that do not fit in 64 bits become strings
/// (Instagram ids are up to 39 digits; serde_json would turn them into lossy floats). Only
/// whole number tokens outside strings are touched: fractions and exponents stay numbers.
pub fn quote_big_integers(json: &str) -> String {
    let bytes = json.as_bytes();
    let digits_from = |mut i: usize| {
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut out = String::with_capacity(json.len() + 16);
    let mut i = 0;
    let mut in_string = false;
    let mut last = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 2,
                b'"' => {
                    in_string = false;
                    i += 1;
                }
                _ => i += 1,
            }
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        if b != b'-' && !b.is_ascii_digit() {
            i += 1;
            continue;
        }
        // One number token: -?digits(.digits)?([eE][+-]?digits)?
        let start = i;
        let int_start = if b == b'-' { i + 1 } else { i };
        i = digits_from(int_start);
        let int_end = i;
        let mut integer = true;
        if i < bytes.len() && bytes[i] == b'.' {
            integer = false;
            i = digits_from(i + 1);
        }
        if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
            integer = false;
            i += 1;
            if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
                i += 1;
            }
            i = digits_from(i);
        }
        let int_digits = &json[int_start..int_end];
        let well_formed =
            !int_digits.is_empty() && (int_digits == "0" || !int_digits.starts_with('0'));
        let lit = &json[start..i];
        if integer && well_formed && lit.parse::<i64>().is_err() && lit.parse::<u64>().is_err() {
            out.push_str(&json[last..start]);
            out.push('"');
            out.push_str(lit);
            out.push('"');
            last = i;
        }
    }
    out.push_str(&json[last..]);
    out
}

/// Parses JSON text without losing digits of ids beyond 64 bits.
pub fn parse_lossless<T: DeserializeOwned>(json: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(&quote_big_integers(json))
}

/// As [`parse_lossless`], from bytes (text that is not UTF-8 is refused as serde_json does).
pub fn parse_lossless_slice<T: DeserializeOwned>(json: &[u8]) -> Result<T, serde_json::Error> {
    match std::str::from_utf8(json) {
        Ok(text) => parse_lossless(text),
        Err(_) => serde_json::from_slice(json),
    }
}

/// What a [`ThreadItem`] carries, by `item_type` (PROTOCOL D.3). Unknown types are never an
/// error: they come back as [`ItemKind::Unknown`] with their raw payload.
#[derive(Debug, Clone, Copy)]
pub enum ItemKind<'a> {
    Text(&'a str),
    Link(&'a Link),
    Like(&'a str),
    Media(&'a Media),
    RavenMedia(&'a VisualMedia),
    Voice(&'a VoiceMedia),
    AnimatedMedia(&'a AnimatedMedia),
    MediaShare(&'a Media),
    DirectMediaShare(&'a DirectMediaShare),
    Clip(&'a ClipShare),
    StoryShare(&'a StoryShare),
    ReelShare(&'a ReelShare),
    /// `xma_*`, `generic_xma`, `avatar_sticker`: the list of XMA entries.
    Xma(&'a str, &'a [Xma]),
    Profile(&'a User),
    Location(&'a Location),
    Placeholder(&'a Placeholder),
    ExpiredPlaceholder,
    ActionLog(&'a ActionLog),
    VideoCallEvent(&'a VideoCallEvent),
    /// Any other item type (or a known type whose payload is missing), with the payload of the
    /// same-named field if there is one.
    Unknown {
        item_type: &'a str,
        raw: Option<&'a serde_json::Value>,
    },
}

impl ThreadItem {
    /// The payload of this item according to its `item_type`.
    pub fn kind(&self) -> ItemKind<'_> {
        let t = self.item_type.as_deref().unwrap_or("");
        let known = match t {
            "text" => self.text.as_deref().map(ItemKind::Text),
            "link" => self.link.as_ref().map(ItemKind::Link),
            "like" => Some(ItemKind::Like(self.like.as_deref().unwrap_or("❤️"))),
            "media" => self.media.as_ref().map(ItemKind::Media),
            "raven_media" => self.visual_media.as_ref().map(ItemKind::RavenMedia),
            "voice_media" => self.voice_media.as_ref().map(ItemKind::Voice),
            "animated_media" => self.animated_media.as_ref().map(ItemKind::AnimatedMedia),
            "media_share" => match (&self.media_share, &self.direct_media_share) {
                (Some(m), _) => Some(ItemKind::MediaShare(m)),
                (None, Some(d)) => Some(ItemKind::DirectMediaShare(d)),
                _ => None,
            },
            "clip" => self.clip.as_ref().map(ItemKind::Clip),
            "story_share" => self.story_share.as_ref().map(ItemKind::StoryShare),
            "reel_share" => self.reel_share.as_ref().map(ItemKind::ReelShare),
            "xma_media_share" => Some(ItemKind::Xma(t, &self.xma_media_share)),
            "xma_story_share" => Some(ItemKind::Xma(t, &self.xma_story_share)),
            "xma_reel_share" => Some(ItemKind::Xma(t, &self.xma_reel_share)),
            "xma_reel_mention" => Some(ItemKind::Xma(t, &self.xma_reel_mention)),
            "xma_clip" => Some(ItemKind::Xma(t, &self.xma_clip)),
            "generic_xma" => Some(ItemKind::Xma(t, &self.generic_xma)),
            "xma_profile" => Some(ItemKind::Xma(t, &self.xma_profile)),
            "avatar_sticker" => Some(ItemKind::Xma(t, &self.avatar_sticker)),
            "profile" => self.profile.as_ref().map(ItemKind::Profile),
            "location" => self.location.as_ref().map(ItemKind::Location),
            "placeholder" => self.placeholder.as_ref().map(ItemKind::Placeholder),
            "expired_placeholder" => Some(ItemKind::ExpiredPlaceholder),
            "action_log" => self.action_log.as_ref().map(ItemKind::ActionLog),
            "video_call_event" => self.video_call_event.as_ref().map(ItemKind::VideoCallEvent),
            _ => None,
        };
        known.unwrap_or(ItemKind::Unknown {
            item_type: t,
            raw: self.extra.get(t),
        })
    }

    /// The item timestamp in milliseconds, if present.
    pub fn timestamp_ms(&self) -> Option<i64> {
        self.timestamp.map(Micros::as_millis)
    }
}

impl Thread {
    /// The read marker of a user, if any.
    pub fn seen_by(&self, pk: UserPk) -> Option<&SeenMarker> {
        self.last_seen_at.as_ref()?.get(&pk.to_string())
    }
}

impl Reactions {
    /// All reactions (likes then emojis).
    pub fn all(&self) -> impl Iterator<Item = &Reaction> {
        self.likes.iter().chain(self.emojis.iter())
    }
}

fn best_by<T>(
    list: &[T],
    dims: impl Fn(&T) -> (Option<i64>, Option<i64>),
    original: (Option<i64>, Option<i64>),
) -> Option<&T> {
    if let (Some(w), Some(h)) = original
        && let Some(exact) = list.iter().find(|c| dims(c) == (Some(w), Some(h)))
    {
        return Some(exact);
    }
    list.iter().max_by_key(|c| {
        let (w, h) = dims(c);
        w.unwrap_or(0).saturating_mul(h.unwrap_or(0))
    })
}

impl Media {
    /// The image candidate to download (PROTOCOL C.6): the one matching the original size,
    /// else the largest area.
    pub fn best_image(&self) -> Option<&ImageCandidate> {
        let list = &self.image_versions2.as_ref()?.candidates;
        best_by(
            list,
            |c| (c.width, c.height),
            (self.original_width, self.original_height),
        )
    }

    /// The video version to download, by the same rule as [`Media::best_image`].
    pub fn best_video(&self) -> Option<&VideoVersion> {
        best_by(
            &self.video_versions,
            |c| (c.width, c.height),
            (self.original_width, self.original_height),
        )
    }

    /// The URL to download: video when present, else image, else voice audio.
    pub fn best_url(&self) -> Option<&str> {
        if let Some(v) = self.best_video() {
            return Some(&v.url);
        }
        if let Some(i) = self.best_image() {
            return Some(&i.url);
        }
        self.audio.as_ref()?.audio_src.as_deref()
    }
}

impl AnimatedMedia {
    /// The GIF/sticker URL (M uses `webp`, then `mp4`, then `url`).
    pub fn best_url(&self) -> Option<&str> {
        let fh = self.images.as_ref()?.fixed_height.as_ref()?;
        fh.webp
            .as_deref()
            .or(fh.mp4.as_deref())
            .or(fh.url.as_deref())
    }
}

impl Xma {
    /// The preview image URL of an XMA share.
    pub fn preview(&self) -> Option<&str> {
        self.preview_url.as_deref().or_else(|| {
            self.preview_url_info
                .as_ref()
                .and_then(|i| i.url.as_deref())
        })
    }
}

/// `payload` of a send `item_ack` (PROTOCOL C.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendAckPayload {
    #[serde(default)]
    pub client_context: Option<String>,
    #[serde(default)]
    pub item_id: Option<ItemId>,
    #[serde(default)]
    pub timestamp: Option<Micros>,
    #[serde(default)]
    pub thread_id: Option<ThreadId>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Response of `threads/broadcast/*`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendAck {
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub status_code: Option<String>,
    #[serde(default)]
    pub payload: Option<SendAckPayload>,
    #[serde(default)]
    pub message_metadata: Vec<SendAckPayload>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl SendAck {
    /// The acknowledged item (from `payload`, else the first `message_metadata`).
    pub fn item(&self) -> Option<&SendAckPayload> {
        self.payload.as_ref().or(self.message_metadata.first())
    }
}

#[cfg(test)]
mod tests;
