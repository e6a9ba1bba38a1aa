//! A Matrix edit (`m.replace`) of one of the user's bridged messages → Instagram's edit.

use super::Send;
use super::delivery::{self, SendFailure};
use crate::bridge::convert::hash::body_hash;
use crate::bridge::error::ApplyError;
use crate::instagram::ids::{ItemId, ThreadId};

pub async fn edit(send: &Send<'_>, target_event: &str, text: &str) -> Result<(), ApplyError> {
    let (bridge, room) = (send.bridge, send.room);
    let target = bridge
        .store
        .get_message_by_event(room.as_str(), target_event)
        .await?;
    let Some(target) = target.filter(|t| t.sender_pk == send.user.pk) else {
        delivery::notice(
            bridge,
            room,
            "That edit can't be bridged: Instagram only lets you edit your own bridged messages.",
        )
        .await;
        return Ok(());
    };
    let result = send
        .user
        .client
        .edit_text(
            &ThreadId::new(&send.portal.thread_id),
            &ItemId::new(&target.item_id),
            target.client_context.as_deref().unwrap_or_default(),
            text,
        )
        .await;
    match result {
        Ok(_) => {
            // Its echo from Instagram carries the same text: not an edit to bridge back.
            let hash = body_hash(text);
            bridge
                .store
                .record_edit(&target.item_id, &send.portal.receiver, Some(&hash))
                .await?;
            delivery::send_status(bridge, room, send.event_id, None);
            Ok(())
        }
        Err(e) => {
            delivery::failed(
                bridge,
                room,
                Some(send.event_id),
                SendFailure::from(e),
                |f| format!("Instagram refused the edit: {f}"),
            )
            .await
        }
    }
}
