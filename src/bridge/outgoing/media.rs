//! A Matrix photo, video, voice message, sticker or file → fetched, converted and sent
//! ([`prepare_media`](super::prepare_media)), then its caption as a text.

use super::delivery;
use super::{Send, prepare_media, text};
use crate::bridge::convert::client_context_for_event;
use crate::bridge::convert::to_instagram::OutgoingMedia;
use crate::bridge::error::ApplyError;

/// What the notice calls this media.
fn what(media: &OutgoingMedia) -> &'static str {
    match media.msgtype.as_str() {
        "m.image" => "photo",
        "m.video" => "video",
        "m.audio" if media.voice => "voice message",
        "m.audio" => "audio",
        "m.sticker" => "sticker",
        _ => "file",
    }
}

pub async fn media(send: &Send<'_>, media: &OutgoingMedia) -> Result<(), ApplyError> {
    let (bridge, room) = (send.bridge, send.room);
    let client_context = client_context_for_event(send.event_id, send.ts_ms);
    let sent = prepare_media::send(
        bridge,
        send.user,
        &send.portal.thread_id,
        media,
        &client_context,
    )
    .await;
    match sent {
        Ok(sent) => {
            let row = send.row(sent.item_id, send.event_id.to_string(), client_context);
            delivery::delivered(bridge, room, &row, Some(send.event_id)).await?;
            match media.caption.as_deref() {
                Some(caption) => text::caption(send, caption).await,
                None => Ok(()),
            }
        }
        Err(failure) => {
            let what = what(media);
            delivery::failed(bridge, room, Some(send.event_id), failure, |f| {
                format!("Your {what} was not delivered to Instagram: {f}.")
            })
            .await
        }
    }
}
