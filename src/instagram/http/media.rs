//! Media: the rupload flow with the reduced header set (PROTOCOL C.5), the attachment
//! broadcasts, and CDN downloads (C.6; pick the URL with `types::Media::best_url`).

use bytes::Bytes;
use rand::Rng;
use reqwest::Method;

use super::client::{Body, Call, Headers, InstagramClient};
use super::direct::SendTarget;
use crate::instagram::Error;
use crate::instagram::ids::ClientContext;
use crate::instagram::types::SendAck;

/// What is uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// JPEG photo.
    Image,
    Gif,
    /// H.264/AAC MP4.
    Video,
    /// AAC in MP4 (`.m4a`) voice message.
    Voice,
    File,
}

impl MediaKind {
    fn segment(self) -> &'static str {
        match self {
            MediaKind::Image => "messenger_image",
            MediaKind::Gif => "messenger_gif",
            MediaKind::Video => "messenger_video",
            MediaKind::Voice => "messenger_audio",
            MediaKind::File => "messenger_file",
        }
    }
    fn type_header(self) -> (&'static str, &'static str) {
        match self {
            MediaKind::Image | MediaKind::Gif => ("image_type", "FILE_ATTACHMENT"),
            MediaKind::Video => ("video_type", "FILE_ATTACHMENT"),
            MediaKind::Voice => ("audio_type", "VOICE_MESSAGE"),
            MediaKind::File => ("file_type", "FILE_ATTACHMENT"),
        }
    }
}

/// What an uploaded media is sent as.
#[derive(Debug, Clone, PartialEq)]
pub enum Attachment {
    /// `photo_attachment` (a JPEG).
    Photo,
    /// `video_attachment` (an H.264/AAC MP4).
    Video,
    /// `voice_attachment` (AAC `.m4a`) with its waveform: values in 0..1 at 10 Hz.
    Voice(Vec<f32>),
}

/// An uploaded media, ready to broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedMedia {
    /// `media_id` from rupload, sent as `attachment_fbid`.
    pub media_id: String,
    pub upload_id: String,
    pub entity_name: String,
}

impl InstagramClient {
    /// Uploads bytes to rupload (`POST {upload_base}messenger_{kind}/{entity}`).
    pub async fn upload(
        &self,
        kind: MediaKind,
        data: Bytes,
        mime: &str,
    ) -> Result<UploadedMedia, Error> {
        let upload_id = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
            .to_string();
        let rand10: u64 = rand::thread_rng().gen_range(1_000_000_000..10_000_000_000);
        let entity_name = format!("{upload_id}_0_{rand10}");
        let (type_name, type_value) = kind.type_header();
        let headers = vec![
            ("x-entity-length".to_owned(), data.len().to_string()),
            ("x-entity-name".to_owned(), entity_name.clone()),
            ("x-entity-type".to_owned(), mime.to_owned()),
            ("offset".to_owned(), "0".to_owned()),
            (
                "content-type".to_owned(),
                "application/octet-stream".to_owned(),
            ),
            (type_name.to_owned(), type_value.to_owned()),
        ];
        let url = format!(
            "{}{}/{}",
            self.config().upload_base,
            kind.segment(),
            entity_name
        );
        let mut call = Call::new(Method::POST, url);
        call.body = Body::Bytes(data);
        call.headers = Headers::Rupload(headers);
        call.check_status = false;
        let v = self.call(call).await?;
        let media_id = match v.get("media_id") {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => {
                return Err(Error::BadResponse {
                    message: "rupload answer without media_id".into(),
                });
            }
        };
        Ok(UploadedMedia {
            media_id,
            upload_id,
            entity_name,
        })
    }

    /// Uploads a JPEG and sends it (`photo_attachment`).
    pub async fn send_photo(
        &self,
        target: &SendTarget,
        jpeg: Bytes,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        let m = self.upload(MediaKind::Image, jpeg, "image/jpeg").await?;
        self.broadcast_media(&Attachment::Photo, &m, target, ctx)
            .await
    }

    /// Uploads an MP4 and sends it (`video_attachment`).
    pub async fn send_video(
        &self,
        target: &SendTarget,
        mp4: Bytes,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        let m = self.upload(MediaKind::Video, mp4, "video/mp4").await?;
        self.broadcast_media(&Attachment::Video, &m, target, ctx)
            .await
    }

    /// Uploads an `.m4a` and sends it as a voice message; `waveform` holds values in 0..1
    /// sampled at 10 Hz.
    pub async fn send_voice(
        &self,
        target: &SendTarget,
        m4a: Bytes,
        waveform: &[f32],
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        let m = self.upload(MediaKind::Voice, m4a, "audio/mp4").await?;
        self.broadcast_media(&Attachment::Voice(waveform.to_vec()), &m, target, ctx)
            .await
    }

    /// Sends uploaded media into a thread (the second step of [`Self::send_photo`] and its
    /// siblings). Callers retry this step alone on Instagram's transient media errors (HTTP
    /// 500/503, "transcode not finished"), with the same `ctx`.
    pub async fn broadcast_media(
        &self,
        attachment: &Attachment,
        m: &UploadedMedia,
        target: &SendTarget,
        ctx: &ClientContext,
    ) -> Result<SendAck, Error> {
        let (item_type, extra) = match attachment {
            Attachment::Photo => (
                "photo_attachment",
                vec![
                    ("attachment_fbid", m.media_id.clone()),
                    ("allow_full_aspect_ratio", "true".into()),
                    ("ae_dual_send", "false".into()),
                    ("btt_dual_send", "false".into()),
                ],
            ),
            Attachment::Video => (
                "video_attachment",
                vec![
                    ("attachment_fbid", m.media_id.clone()),
                    ("video_result", m.media_id.clone()),
                ],
            ),
            Attachment::Voice(waveform) => (
                "voice_attachment",
                vec![
                    ("attachment_fbid", m.media_id.clone()),
                    ("waveform", serde_json::json!(waveform).to_string()),
                    ("waveform_sampling_frequency_hz", "10".into()),
                    ("upload_id", m.upload_id.clone()),
                ],
            ),
        };
        self.send_attachment(item_type, target, ctx, extra).await
    }

    /// Downloads a CDN URL with only `User-Agent` and `Accept-Language`, no credentials.
    /// `max_bytes` bounds the download.
    pub async fn download_media(&self, url: &str, max_bytes: usize) -> Result<Bytes, Error> {
        let (ua, lang) = {
            let s = self.session_lock();
            (
                s.device.user_agent(self.config()),
                self.config().accept_language(),
            )
        };
        let fut = async {
            let sent = self
                .inner
                .http
                .get(url)
                .header("user-agent", ua)
                .header("accept-language", lang)
                .send()
                .await;
            let mut resp = match sent {
                Ok(resp) => resp,
                Err(e) => {
                    let proxy = self.config().proxy.as_ref();
                    let what = "media download failed";
                    return Err(super::net_error::send_error(&e, proxy, url, what).await);
                }
            };
            let status = resp.status().as_u16();
            if let Some(e) = super::net_error::proxy_status(status, self.config().proxy.as_ref()) {
                return Err(e);
            }
            match status {
                200..=299 => {}
                403 | 404 | 410 => {
                    return Err(Error::NotFound {
                        message: format!("media URL answered HTTP {status} (expired?)"),
                    });
                }
                _ => return Err(Error::from_response(status, "", None)),
            }
            let mut buf = bytes::BytesMut::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| Error::Transient {
                message: format!("media download failed: {}", e.without_url()),
            })? {
                if buf.len() + chunk.len() > max_bytes {
                    return Err(Error::InvalidInput(format!(
                        "media is larger than {max_bytes} bytes"
                    )));
                }
                buf.extend_from_slice(&chunk);
            }
            Ok(buf.freeze())
        };
        tokio::time::timeout(self.config().request_timeout * 5, fut)
            .await
            .map_err(|_| Error::Transient {
                message: "media download timed out".into(),
            })?
    }
}
