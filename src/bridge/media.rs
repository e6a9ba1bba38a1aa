//! Media between the two sides: Instagram → Matrix fetches a part's media from the CDN (as
//! the item arrives, since the URLs expire), converts what Matrix clients play badly, uploads
//! it and completes the part; Matrix → Instagram lives in `outgoing/prepare_media.rs`. A file
//! that cannot be fetched or converted becomes a notice with the reason, never silence.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::Bridge;
use super::convert::media::{
    MediaKind, MediaSource, Thumbnail, Uploaded, fill_media, msc1767_waveform, source_of,
};
use super::convert::to_matrix::Part;
use super::user::IgUser;
use crate::instagram::Error as IgError;
use crate::matrix::intent::Intent;
use crate::media::{self, Ffmpeg};

/// The longest side of thumbnails sent to Matrix.
const THUMBNAIL_SIDE: u32 = 800;
/// Points of a Matrix voice waveform.
const MATRIX_WAVEFORM_POINTS: usize = 100;
/// Delays between download attempts (CDN hiccups).
const DOWNLOAD_RETRIES: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(3)];

impl Bridge {
    /// The ffmpeg to use, found once (the configured path, else `PATH`).
    pub async fn ffmpeg(&self) -> Option<&Ffmpeg> {
        self.ffmpeg
            .get_or_init(|| async {
                let cfg = &self.config.media;
                match Ffmpeg::locate(cfg.ffmpeg_path.as_deref()).await {
                    Ok(Some(f)) => {
                        tracing::info!(path = %f.path().display(), version = f.version(), "ffmpeg found");
                        Some(f.with_limits(cfg.timeout(), cfg.max_bytes()))
                    }
                    Ok(None) => {
                        tracing::warn!(
                            "ffmpeg not found: videos and voice messages are bridged without conversion where possible"
                        );
                        None
                    }
                    Err(e) => {
                        tracing::error!("{e}");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }
}

/// Why a media part could not be completed: a sentence for the user.
struct Failed(String);

impl From<media::MediaError> for Failed {
    fn from(e: media::MediaError) -> Self {
        Failed(e.to_string())
    }
}

impl From<crate::matrix::MatrixError> for Failed {
    fn from(e: crate::matrix::MatrixError) -> Self {
        Failed(format!("the homeserver refused the upload ({e})"))
    }
}

impl From<std::io::Error> for Failed {
    fn from(e: std::io::Error) -> Self {
        Failed(format!("a temporary file failed ({e})"))
    }
}

/// Downloads a CDN URL, retrying transient failures.
async fn download(user: &IgUser, url: &str, max: u64) -> Result<bytes::Bytes, Failed> {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut attempt = 0;
    loop {
        match user.client.download_media(url, max).await {
            Ok(bytes) => return Ok(bytes),
            Err(IgError::NotFound { .. }) => {
                return Err(Failed(
                    "Instagram no longer serves the file (the link expired)".into(),
                ));
            }
            Err(e) if e.is_transient() && attempt < DOWNLOAD_RETRIES.len() => {
                tracing::debug!(attempt, "media download failed, retrying: {e}");
                tokio::time::sleep(DOWNLOAD_RETRIES[attempt]).await;
                attempt += 1;
            }
            Err(e) => return Err(Failed(format!("the download failed: {}", e.user_message()))),
        }
    }
}

/// Where a media part goes: the intent that uploads it and the room it is for (encrypted
/// there when the room is).
pub struct Target<'a> {
    pub intent: &'a Intent,
    pub room: &'a ruma::RoomId,
}

impl Target<'_> {
    async fn upload(
        &self,
        data: impl Into<bytes::Bytes>,
        mime: &str,
    ) -> Result<crate::matrix::UploadedMedia, crate::matrix::MatrixError> {
        self.intent.upload_to_room(self.room, data, mime).await
    }
}

/// Completes a media part: fetch, convert, upload, fill. On failure, a notice saying what
/// could not be brought over and why (keeping the reply relation).
pub async fn materialize(bridge: &Arc<Bridge>, user: &IgUser, to: &Target<'_>, part: Part) -> Part {
    let Some(source) = part.media.clone() else {
        return part;
    };
    // A reel shared in the newer format comes with a still: its full video, when Instagram
    // gives it, is what the user wants.
    let source = match full_reel(user, &source).await {
        Some(video) => video,
        None => source,
    };
    match fetch_and_upload(bridge, user, to, &source).await {
        Ok(uploaded) => {
            let mut content = part.content;
            if source.kind == MediaKind::Video && content.get("msgtype").is_some() {
                content["msgtype"] = json!("m.video");
            }
            fill_media(&mut content, source.kind, &uploaded);
            Part {
                event_type: part.event_type,
                content,
                media: None,
            }
        }
        Err(Failed(reason)) => {
            tracing::warn!(what = %source.what, "media not bridged: {reason}");
            let mut content = json!({
                "msgtype": "m.notice",
                "body": format!("Couldn't bring over {} from Instagram: {reason}.", source.what),
                "m.mentions": {},
            });
            if let Some(rel) = part.content.get("m.relates_to") {
                content["m.relates_to"] = rel.clone();
            }
            Part {
                event_type: "m.room.message",
                content,
                media: None,
            }
        }
    }
}

/// The full video of a reel share (`clips/item`), with the share's still as its thumbnail.
async fn full_reel(user: &IgUser, source: &MediaSource) -> Option<MediaSource> {
    let clip = source.clip_id.as_deref()?;
    let media = match user.client.clip_info(clip).await {
        Ok(m) => m,
        Err(e) => {
            tracing::debug!(clip, "reel not found, sending its preview: {e}");
            return None;
        }
    };
    let mut video = source_of(&media, &source.what).filter(|s| s.kind == MediaKind::Video)?;
    if video.thumbnail_url.is_none() {
        video.thumbnail_url = Some(source.url.clone());
    }
    Some(video)
}

async fn fetch_and_upload(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    to: &Target<'_>,
    source: &MediaSource,
) -> Result<Uploaded, Failed> {
    let max = bridge.config.media.max_bytes();
    let bytes = download(user, &source.url, max).await?;
    let sniffed = media::sniff_mime(&bytes);
    match source.kind {
        MediaKind::Voice => voice(bridge, to, source, bytes, sniffed).await,
        MediaKind::Video => video(bridge, user, to, source, bytes, sniffed).await,
        MediaKind::Gif if sniffed.is_some_and(|m| m.starts_with("video/")) => {
            video(bridge, user, to, source, bytes, sniffed).await
        }
        MediaKind::Image | MediaKind::Gif | MediaKind::Sticker => {
            let info = media::image::inspect(&bytes)?;
            let size = bytes.len() as u64;
            let up = to.upload(bytes, info.mime).await?;
            Ok(Uploaded {
                mxc: up.mxc,
                file: up.file,
                mimetype: info.mime.to_string(),
                size,
                width: Some(info.width).filter(|w| *w > 0).or(source.width),
                height: Some(info.height).filter(|h| *h > 0).or(source.height),
                ..Default::default()
            })
        }
    }
}

async fn video(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    to: &Target<'_>,
    source: &MediaSource,
    bytes: bytes::Bytes,
    sniffed: Option<&'static str>,
) -> Result<Uploaded, Failed> {
    let mime = sniffed.unwrap_or("video/mp4");
    let mut up = Uploaded {
        mimetype: mime.to_string(),
        size: bytes.len() as u64,
        width: source.width,
        height: source.height,
        duration_ms: source.duration_ms,
        ..Default::default()
    };
    // Instagram's cover image is the thumbnail; ffmpeg makes one when there is none.
    let mut still = None;
    if let Some(url) = source.thumbnail_url.as_deref() {
        match download(user, url, bridge.config.media.max_bytes()).await {
            Ok(b) => {
                match tokio::task::spawn_blocking(move || {
                    media::image::thumbnail(&b, THUMBNAIL_SIDE)
                })
                .await
                {
                    Ok(Ok(jpeg)) => still = Some(jpeg),
                    Ok(Err(e)) => tracing::debug!("video cover unusable: {e}"),
                    Err(e) => tracing::debug!("video cover not converted: {e}"),
                }
            }
            Err(Failed(e)) => tracing::debug!("video cover not fetched: {e}"),
        }
    }
    if let Some(ffmpeg) = bridge.ffmpeg().await
        && (still.is_none() || up.width.is_none() || up.duration_ms.is_none())
    {
        let (_dir, path) = crate::media::spill(&bytes).await?;
        match ffmpeg.video_thumbnail(&path, THUMBNAIL_SIDE).await {
            Ok(t) => {
                up.width = up.width.or(Some(t.width));
                up.height = up.height.or(Some(t.height));
                up.duration_ms = up.duration_ms.or(t.duration_ms);
                if still.is_none() {
                    still = Some(t.thumbnail);
                }
            }
            Err(e) => tracing::debug!("no video thumbnail: {e}"),
        }
    }
    if let Some(jpeg) = still {
        let (w, h, size) = (jpeg.width, jpeg.height, jpeg.bytes.len() as u64);
        let thumb = to.upload(jpeg.bytes, "image/jpeg").await?;
        up.thumbnail = Some(Thumbnail {
            mxc: thumb.mxc,
            file: thumb.file,
            mimetype: "image/jpeg".into(),
            size,
            width: w,
            height: h,
        });
    }
    let main = to.upload(bytes, mime).await?;
    (up.mxc, up.file) = (main.mxc, main.file);
    Ok(up)
}

async fn voice(
    bridge: &Arc<Bridge>,
    to: &Target<'_>,
    source: &MediaSource,
    bytes: bytes::Bytes,
    sniffed: Option<&'static str>,
) -> Result<Uploaded, Failed> {
    let ig_waveform = || {
        msc1767_waveform(&media::waveform::resample(
            &source.waveform,
            source.waveform.len().min(MATRIX_WAVEFORM_POINTS),
        ))
    };
    if bridge.config.media.voice_as_ogg
        && let Some(ffmpeg) = bridge.ffmpeg().await
    {
        let (dir, path) = crate::media::spill(&bytes).await?;
        match ffmpeg.to_matrix_voice(&path, dir.path()).await {
            Ok(v) => {
                let ogg = tokio::fs::read(&v.path).await?;
                let up = to.upload(ogg, v.mime).await?;
                // Instagram's own waveform is what its app shows; ours is the fallback.
                let waveform = if source.waveform.is_empty() {
                    v.waveform
                } else {
                    ig_waveform()
                };
                return Ok(Uploaded {
                    mxc: up.mxc,
                    file: up.file,
                    mimetype: v.mime.to_string(),
                    size: v.size,
                    duration_ms: Some(v.duration_ms)
                        .filter(|d| *d > 0)
                        .or(source.duration_ms),
                    waveform,
                    ..Default::default()
                });
            }
            Err(e) => tracing::warn!("voice message not converted, sending it as is: {e}"),
        }
    }
    let mime = match sniffed {
        Some(m) if m.starts_with("audio/") => m,
        // Instagram's voice messages are AAC in MP4.
        _ => "audio/mp4",
    };
    let size = bytes.len() as u64;
    let up = to.upload(bytes, mime).await?;
    Ok(Uploaded {
        mxc: up.mxc,
        file: up.file,
        mimetype: mime.to_string(),
        size,
        duration_ms: source.duration_ms,
        waveform: ig_waveform(),
        ..Default::default()
    })
}

/// Sets a group portal's avatar from the thread's `thread_image` when it changed (by its id).
/// Failures are logged: a missing group photo is not worth stopping the thread for.
pub async fn sync_group_avatar(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    portal: &crate::store::portals::PortalRow,
    thread: &crate::instagram::types::Thread,
) -> Option<crate::store::portals::PortalRow> {
    let image = thread.thread_image.as_ref()?;
    let candidate = image.best_image()?;
    let id = image
        .id
        .clone()
        .or_else(|| image.pk.clone())
        .unwrap_or_else(|| candidate.url.clone());
    if !portal.is_group || portal.avatar_id.as_deref() == Some(id.as_str()) {
        return None;
    }
    let room = ruma::RoomId::parse(portal.room_id.as_deref()?).ok()?;
    let bytes = match download(user, &candidate.url, bridge.config.media.max_bytes()).await {
        Ok(b) => b,
        Err(Failed(e)) => {
            tracing::warn!(thread = %portal.thread_id, "group photo not fetched: {e}");
            return None;
        }
    };
    let info = match media::image::inspect(&bytes) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(thread = %portal.thread_id, "group photo unusable: {e}");
            return None;
        }
    };
    let bot = bridge.intents.bot();
    let mxc = match bot.upload(bytes, info.mime).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!("group photo not uploaded: {e}");
            return None;
        }
    };
    let mut content = ruma::events::room::avatar::RoomAvatarEventContent::new();
    content.url = Some(mxc.clone());
    if let Err(e) = bot.send_state(&room, "", &content).await {
        tracing::warn!("group photo not set: {e}");
        return None;
    }
    let mut updated = portal.clone();
    updated.avatar_id = Some(id);
    updated.avatar_mxc = Some(mxc.to_string());
    updated.avatar_set = true;
    if let Err(e) = bridge.store.upsert_portal(&updated).await {
        tracing::warn!("group photo not recorded: {e}");
    }
    Some(updated)
}
