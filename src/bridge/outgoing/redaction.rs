//! A Matrix redaction → removing our reaction, or unsending our message, on Instagram.

use super::Send;
use super::delivery::{self, SendFailure};
use crate::bridge::error::ApplyError;
use crate::instagram::ids::{ItemId, ThreadId};

pub async fn redaction(send: &Send<'_>, redacts: &str) -> Result<(), ApplyError> {
    if redacts.is_empty() {
        return Ok(());
    }
    let (bridge, room, user) = (send.bridge, send.room, send.user);
    let receiver = send.portal.receiver.as_str();
    if let Some(reaction) = bridge
        .store
        .get_reaction_by_event(room.as_str(), redacts)
        .await?
    {
        if reaction.sender_pk != user.pk {
            return Ok(());
        }
        return match user
            .send_reaction(&send.portal.thread_id, &reaction.item_id, None)
            .await
        {
            Ok(()) => {
                bridge
                    .store
                    .delete_reaction(&reaction.item_id, receiver, user.pk)
                    .await?;
                Ok(())
            }
            Err(e) => {
                delivery::failed(bridge, room, None, e.into(), |f| {
                    format!("Removing the reaction on Instagram failed: {f}")
                })
                .await
            }
        };
    }
    let Some(message) = bridge
        .store
        .get_message_by_event(room.as_str(), redacts)
        .await?
    else {
        return Ok(());
    };
    if message.sender_pk != user.pk {
        delivery::notice(
            bridge,
            room,
            "Only your own messages can be unsent on Instagram.",
        )
        .await;
        return Ok(());
    }
    let result = user
        .client
        .unsend(
            &ThreadId::new(&send.portal.thread_id),
            &ItemId::new(&message.item_id),
        )
        .await;
    match result {
        Ok(()) => {
            bridge
                .store
                .delete_message(&message.item_id, receiver)
                .await?;
            Ok(())
        }
        Err(e) => {
            delivery::failed(bridge, room, None, SendFailure::from(e), |f| {
                format!("Unsending on Instagram failed: {f}")
            })
            .await
        }
    }
}
