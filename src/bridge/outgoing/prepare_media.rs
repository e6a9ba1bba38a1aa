//! Matrix → Instagram media: fetch the file from the homeserver, convert it to what Instagram
//! takes (JPEG photos; H.264/AAC MP4 videos; AAC voice messages with a waveform), upload it
//! to rupload and broadcast it, retrying Instagram's transient media errors with the same
//! `client_context`. Every failure ends in a notice saying why.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::delivery::SendFailure;
use crate::bridge::Bridge;
use crate::bridge::convert::to_instagram::OutgoingMedia;
use crate::bridge::user::IgUser;
use crate::instagram::Error as IgError;
use crate::instagram::http::{Attachment, MediaKind as IgMediaKind, SendTarget};
use crate::instagram::ids::{ClientContext, ThreadId};
use crate::media::{self, Ffmpeg, MediaError};

/// The longest side of photos sent to Instagram.
const MAX_PHOTO_SIDE: u32 = 1920;
/// Delays between broadcast attempts after a transient media error.
const BROADCAST_RETRIES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// What a Matrix media became on Instagram.
pub struct Sent {
    pub item_id: Option<String>,
}

/// Why a file cannot become something Instagram takes (the sentence for the notice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unsendable(String);

impl From<MediaError> for Unsendable {
    fn from(e: MediaError) -> Self {
        Self(e.to_string())
    }
}

/// Sends a Matrix media message.
pub async fn send(
    bridge: &Arc<Bridge>,
    user: &IgUser,
    thread_id: &str,
    media: &OutgoingMedia,
    client_context: &str,
) -> Result<Sent, SendFailure> {
    let limits = Limits {
        max: bridge.config.media.max_bytes(),
        max_mb: bridge.config.media.max_size_mb,
    };
    if media.size.is_some_and(|s| s > limits.max) {
        return Err(SendFailure::Unsupported(limits.too_big()));
    }
    let declared = media.mimetype.as_deref().unwrap_or("");
    let kind = kind_of(media, declared)?;
    // An encrypted attachment that could never be opened is told before anything is fetched.
    if let Some(file) = &media.file {
        crate::matrix::crypto::check_attachment_info(file).map_err(|e| {
            SendFailure::Unsupported(format!("the encrypted file could not be opened ({e})"))
        })?;
    }
    let mut bytes = fetch(bridge, &media.mxc, &limits).await?;
    if let Some(file) = &media.file {
        bytes = decrypt(bytes, file.clone()).await?;
    }
    let sniffed = media::sniff_mime(&bytes).unwrap_or(declared);
    let ffmpeg = bridge.ffmpeg().await;
    let prepared = match kind {
        "image" => image(ffmpeg, bytes, sniffed).await,
        "video" => video(ffmpeg, bytes, sniffed).await,
        _ => voice(ffmpeg, bytes, sniffed).await,
    };
    let (upload_kind, mime, attachment, data) =
        prepared.map_err(|e| SendFailure::Unsupported(e.to_string()))?;
    let uploaded = user
        .client
        .upload(upload_kind, Bytes::from(data), mime)
        .await
        .map_err(|e| {
            if e.is_transient() {
                SendFailure::Transient(e.user_message())
            } else {
                SendFailure::Refused(format!(
                    "Instagram refused the upload: {}",
                    e.user_message()
                ))
            }
        })?;
    broadcast(user, thread_id, &attachment, &uploaded, client_context).await
}

/// The size limit of media, and the sentence for a file over it.
struct Limits {
    max: u64,
    max_mb: u64,
}

impl Limits {
    fn too_big(&self) -> String {
        format!(
            "the file is larger than the bridge's limit of {} MB",
            self.max_mb
        )
    }
}

/// What the message becomes on Instagram: a photo, a video or a voice message. A file is sent
/// when it is one of those.
fn kind_of(media: &OutgoingMedia, declared: &str) -> Result<&'static str, SendFailure> {
    Ok(match media.msgtype.as_str() {
        "m.image" | "m.sticker" => "image",
        "m.video" => "video",
        "m.audio" => "audio",
        _ => match declared.split('/').next() {
            Some("image") => "image",
            Some("video") => "video",
            Some("audio") => "audio",
            _ => {
                return Err(SendFailure::Unsupported(
                    "Instagram has no file attachments: only photos, videos and voice messages can be sent"
                        .into(),
                ));
            }
        },
    })
}

/// The file from the homeserver; unreachable or busy is a failure to retry, anything else
/// is told.
async fn fetch(bridge: &Bridge, mxc: &str, limits: &Limits) -> Result<Vec<u8>, SendFailure> {
    bridge
        .intents
        .client()
        .download(mxc, limits.max)
        .await
        .map_err(|e| {
            let unavailable = matches!(
                e,
                crate::matrix::MatrixError::Unreachable { .. }
                    | crate::matrix::MatrixError::Api {
                        status: 429 | 500..,
                        ..
                    }
            );
            match e.errcode() {
                Some("M_TOO_LARGE") => SendFailure::Unsupported(limits.too_big()),
                _ if unavailable => SendFailure::HomeserverDown(format!(
                    "the file could not be fetched from the homeserver yet ({e})"
                )),
                _ => SendFailure::Unsupported(format!(
                    "the file could not be fetched from the homeserver ({e})"
                )),
            }
        })
}

/// An encrypted attachment's plaintext: its hash checked, then decrypted with its key. A
/// file that does not match (tampered, truncated, a wrong key) is told, never sent.
async fn decrypt(ciphertext: Vec<u8>, file: serde_json::Value) -> Result<Vec<u8>, SendFailure> {
    let opened = tokio::task::spawn_blocking(move || {
        crate::matrix::crypto::decrypt_attachment(&ciphertext, &file)
    })
    .await
    .map_err(|e| SendFailure::Unsupported(format!("the encrypted file was not decrypted ({e})")))?;
    opened.map_err(|e| {
        tracing::warn!("encrypted attachment refused: {e}");
        SendFailure::Unsupported(format!("the encrypted file could not be opened ({e})"))
    })
}

/// Broadcasts the uploaded media, retrying Instagram's transient media errors with the same
/// `client_context` (the upload is not repeated).
async fn broadcast(
    user: &IgUser,
    thread_id: &str,
    attachment: &Attachment,
    uploaded: &crate::instagram::http::media::UploadedMedia,
    client_context: &str,
) -> Result<Sent, SendFailure> {
    let target = SendTarget::Thread(ThreadId::new(thread_id));
    let ctx = ClientContext::new(client_context);
    let mut attempt = 0;
    loop {
        match user
            .client
            .broadcast_media(attachment, uploaded, &target, &ctx)
            .await
        {
            Ok(ack) => {
                return Ok(Sent {
                    item_id: ack
                        .item()
                        .and_then(|p| p.item_id.as_ref())
                        .map(|i| i.as_str().to_string()),
                });
            }
            Err(e) if retryable(&e) && attempt < BROADCAST_RETRIES.len() => {
                tracing::info!(attempt, "Instagram media send failed, retrying: {e}");
                tokio::time::sleep(BROADCAST_RETRIES[attempt]).await;
                attempt += 1;
            }
            Err(e) if e.is_transient() => return Err(SendFailure::Transient(e.user_message())),
            Err(e) => {
                return Err(SendFailure::Refused(format!(
                    "Instagram refused it: {}",
                    e.user_message()
                )));
            }
        }
    }
}

/// Instagram's transient media errors: 5xx on the broadcast, a video still transcoding.
fn retryable(e: &IgError) -> bool {
    if e.is_transient() {
        return true;
    }
    let text = e.to_string().to_ascii_lowercase();
    text.contains("transcode")
        || matches!(
            e,
            IgError::Api {
                status: 500..=599,
                ..
            }
        )
}

type Prepared = (IgMediaKind, &'static str, Attachment, Vec<u8>);

/// Runs an ffmpeg conversion on `bytes` through a temporary directory (the input is dropped
/// from memory once written); returns the output file's bytes and what else it gave.
async fn through_file<T, F, Fut>(bytes: Vec<u8>, convert: F) -> Result<(Vec<u8>, T), Unsendable>
where
    F: FnOnce(std::path::PathBuf, std::path::PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<(std::path::PathBuf, T), MediaError>>,
{
    let tmp = |e: std::io::Error| Unsendable(format!("a temporary file failed ({e})"));
    let (dir, input) = crate::media::spill(&bytes).await.map_err(tmp)?;
    drop(bytes);
    let (out, extra) = convert(input, dir.path().to_path_buf()).await?;
    let data = tokio::fs::read(&out).await.map_err(tmp)?;
    Ok((data, extra))
}

async fn image(
    ffmpeg: Option<&Ffmpeg>,
    bytes: Vec<u8>,
    mime: &str,
) -> Result<Prepared, Unsendable> {
    // An animated GIF plays on Instagram as a video; without ffmpeg its first frame is sent.
    if mime == "image/gif"
        && let Some(ffmpeg) = ffmpeg
        && media::image::inspect(&bytes).is_ok_and(|i| i.animated)
    {
        return video(Some(ffmpeg), bytes, mime).await;
    }
    let jpeg = tokio::task::spawn_blocking(move || media::image::to_jpeg(&bytes, MAX_PHOTO_SIDE))
        .await
        .map_err(|e| Unsendable(format!("the conversion stopped ({e})")))??;
    Ok((
        IgMediaKind::Image,
        "image/jpeg",
        Attachment::Photo,
        jpeg.bytes,
    ))
}

async fn video(
    ffmpeg: Option<&Ffmpeg>,
    bytes: Vec<u8>,
    mime: &str,
) -> Result<Prepared, Unsendable> {
    let Some(ffmpeg) = ffmpeg else {
        // Without ffmpeg only an MP4 can go, as it is.
        if mime == "video/mp4" {
            return Ok((IgMediaKind::Video, "video/mp4", Attachment::Video, bytes));
        }
        return Err(MediaError::FfmpegMissing { what: "this video" }.into());
    };
    let (data, ()) = through_file(bytes, |input, dir| async move {
        let out = ffmpeg.to_instagram_video(&input, &dir).await?;
        Ok((out.path, ()))
    })
    .await?;
    Ok((IgMediaKind::Video, "video/mp4", Attachment::Video, data))
}

async fn voice(
    ffmpeg: Option<&Ffmpeg>,
    bytes: Vec<u8>,
    _mime: &str,
) -> Result<Prepared, Unsendable> {
    let Some(ffmpeg) = ffmpeg else {
        return Err(MediaError::FfmpegMissing {
            what: "this voice message",
        }
        .into());
    };
    let (data, waveform) = through_file(bytes, |input, dir| async move {
        let out = ffmpeg.to_instagram_voice(&input, &dir).await?;
        Ok((out.path, out.waveform))
    })
    .await?;
    Ok((
        IgMediaKind::Voice,
        "audio/mp4",
        Attachment::Voice(waveform),
        data,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_ffmpeg_only_what_needs_no_conversion_goes() {
        // An MP4 passes as it is; anything else is refused with the reason.
        let mp4 = b"\0\0\0\x18ftypmp42rest".to_vec();
        let (kind, mime, attachment, data) = video(None, mp4.clone(), "video/mp4")
            .await
            .expect("an mp4 passes");
        assert_eq!(
            (kind, mime, attachment),
            (IgMediaKind::Video, "video/mp4", Attachment::Video)
        );
        assert_eq!(data, mp4);
        let err = video(None, b"\x1aE\xdf\xa3webm".to_vec(), "video/webm")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            "ffmpeg is not installed, so this video can't be converted"
        );
        let err = voice(None, b"OggS".to_vec(), "audio/ogg")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("ffmpeg is not installed"), "{err}");
    }

    #[tokio::test]
    async fn photos_become_jpeg_and_garbage_is_refused() {
        let img = ::image::RgbaImage::from_pixel(8, 6, ::image::Rgba([1, 2, 3, 128]));
        let mut png = std::io::Cursor::new(Vec::new());
        img.write_to(&mut png, ::image::ImageFormat::Png)
            .expect("png");
        let (kind, mime, attachment, data) = image(None, png.into_inner(), "image/png")
            .await
            .expect("converted");
        assert_eq!(
            (kind, mime, attachment),
            (IgMediaKind::Image, "image/jpeg", Attachment::Photo)
        );
        assert!(data.starts_with(&[0xff, 0xd8, 0xff]));
        let err = image(None, b"not an image".to_vec(), "image/png")
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!err.is_empty());
    }

    #[test]
    fn transient_media_errors_are_retried() {
        assert!(retryable(&IgError::Transient {
            message: "reset".into()
        }));
        assert!(retryable(&IgError::from_response(
            500,
            r#"{"message":"Transcode not finished yet.","status":"fail"}"#,
            None
        )));
        assert!(!retryable(&IgError::from_response(
            400,
            r#"{"message":"bad photo attachment","status":"fail"}"#,
            None
        )));
    }
}
