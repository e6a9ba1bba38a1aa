//! A Matrix message: decides what it becomes on Instagram, and sends text (with its reply
//! and mentions).

use serde_json::Value;

use super::delivery::{self, SendFailure};
use super::{Send, edit, media};
use crate::bridge::convert::client_context_for_event;
use crate::bridge::convert::to_instagram::{Outgoing, OutgoingText, message_to_instagram};
use crate::bridge::error::ApplyError;

/// An `m.room.message` (or sticker) from Matrix.
pub async fn message(send: &Send<'_>, content: &Value) -> Result<(), ApplyError> {
    let (bridge, room) = (send.bridge, send.room);
    if bridge
        .store
        .get_message_by_event(room.as_str(), send.event_id)
        .await?
        .is_some()
    {
        return Ok(()); // replayed: already sent
    }
    let users = &send.members;
    let lookup = |mxid: &str| -> Option<(i64, String)> {
        let pk = bridge.ghost_pk(mxid)?;
        let username = users
            .iter()
            .find(|u| u.pk == pk)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| pk.to_string());
        Some((pk, username))
    };
    match message_to_instagram(content, &lookup) {
        Outgoing::Text(text) => self::text(send, &text).await,
        Outgoing::Edit { target_event, text } => edit::edit(send, &target_event, &text).await,
        Outgoing::Media(m) => media::media(send, &m).await,
        Outgoing::Unsupported { msgtype } => {
            let failure = SendFailure::Unsupported("unsupported message type".into());
            delivery::failed(bridge, room, Some(send.event_id), failure, |_| {
                format!("This kind of message ({msgtype}) can't be sent to Instagram yet.")
            })
            .await
        }
    }
}

async fn text(send: &Send<'_>, text: &OutgoingText) -> Result<(), ApplyError> {
    let (bridge, room) = (send.bridge, send.room);
    let client_context = client_context_for_event(send.event_id, send.ts_ms);
    let reply = match &text.reply_to_event {
        Some(ev) => bridge
            .store
            .get_message_by_event(room.as_str(), ev)
            .await?
            .map(|m| (m.item_id, m.client_context)),
        None => None,
    };
    let result = send
        .user
        .send_text(
            &send.portal.thread_id,
            &text.text,
            &client_context,
            reply,
            &text.mentioned_pks,
        )
        .await;
    match result {
        Ok(item_id) => {
            let row = send.row(item_id, send.event_id.to_string(), client_context);
            delivery::delivered(bridge, room, &row, Some(send.event_id)).await
        }
        Err(e) => {
            delivery::failed(bridge, room, Some(send.event_id), e.into(), |f| {
                format!("Your message was not delivered to Instagram: {f}")
            })
            .await
        }
    }
}

/// A caption: Instagram media has none, so it follows the media as a text. Its row (under a
/// derived key, as the Matrix event already maps to the media) keeps the echo from coming
/// back.
pub async fn caption(send: &Send<'_>, caption: &str) -> Result<(), ApplyError> {
    let (bridge, room) = (send.bridge, send.room);
    let caption_key = format!("{}#caption", send.event_id);
    let cc = client_context_for_event(&caption_key, send.ts_ms);
    match send
        .user
        .send_text(&send.portal.thread_id, caption, &cc, None, &[])
        .await
    {
        Ok(item_id) => {
            let row = send.row(item_id, caption_key, cc);
            delivery::delivered(bridge, room, &row, None).await
        }
        Err(e) => {
            // The media went already: a replay would not come back here, so a transient
            // failure is told now rather than retried.
            let failure = match SendFailure::from(e) {
                SendFailure::Transient(reason) => SendFailure::Refused(reason),
                other => other,
            };
            delivery::failed(bridge, room, None, failure, |f| {
                format!("The caption was not delivered to Instagram: {f}")
            })
            .await
        }
    }
}
