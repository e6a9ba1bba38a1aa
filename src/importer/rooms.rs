//! Bringing this bridge's bot into the imported rooms. mautrix-instagram made DM rooms with
//! the contact's ghost and left its bot out; this bridge's bot sends delivery statuses and
//! receipts there, so it joins, invited by the contact's ghost when the room is invite-only.
//! Nobody else is invited and no room is created. Needs the homeserver to accept this
//! bridge's registration; what fails is reported, and a re-run tries again.

use std::collections::HashMap;

use ruma::{RoomId, UserId};

use crate::config::Config;
use crate::matrix::client::RetryPolicy;
use crate::matrix::{HomeserverClient, Intents, MatrixError};

/// Why the bot is not in a room.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("{0} is not a valid Matrix id")]
    BadId(String),
    #[error(transparent)]
    Matrix(#[from] MatrixError),
}

/// What became of the bot in the imported rooms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotRooms {
    /// Rooms the bot is in now.
    pub joined: usize,
    /// Rooms it could not join, with the reason.
    pub failed: Vec<String>,
}

/// Makes the bot join each room (`contacts`: the DM contact's pk of a room, when known).
pub async fn add_bot(
    config: &Config,
    rooms: &[String],
    contacts: &HashMap<String, i64>,
) -> BotRooms {
    let mut out = BotRooms::default();
    let intents = match intents(config) {
        Ok(i) => i,
        Err(e) => {
            out.failed.push(format!("cannot reach the homeserver: {e}"));
            return out;
        }
    };
    for (i, room) in rooms.iter().enumerate() {
        match join(config, &intents, room, contacts.get(room).copied()).await {
            Ok(()) => out.joined += 1,
            // The homeserver is down or does not know this bridge: no room will do better.
            Err(RoomError::Matrix(e)) if gives_up(&e) => {
                out.failed.push(format!("{} room(s): {e}", rooms.len() - i));
                break;
            }
            Err(e) => out.failed.push(format!("{room}: {e}")),
        }
    }
    out
}

/// Errors that every other room would meet too.
fn gives_up(e: &MatrixError) -> bool {
    matches!(e, MatrixError::Unreachable { .. })
        || matches!(e.errcode(), Some("M_UNKNOWN_TOKEN" | "M_MISSING_TOKEN"))
}

fn intents(config: &Config) -> Result<Intents, RoomError> {
    let bot_id = config.bot_user_id();
    let bot = UserId::parse(&bot_id).map_err(|_| RoomError::BadId(bot_id))?;
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let client = HomeserverClient::new(
        config.homeserver.address.as_str(),
        config.appservice.as_token.expose(),
        bot,
        retry,
    )?;
    Ok(Intents::new(client))
}

async fn join(
    config: &Config,
    intents: &Intents,
    room: &str,
    contact: Option<i64>,
) -> Result<(), RoomError> {
    let room_id = RoomId::parse(room).map_err(|_| RoomError::BadId(room.to_string()))?;
    let bot = intents.bot();
    match bot.ensure_joined(&room_id).await {
        Ok(()) => Ok(()),
        Err(e) if e.errcode() == Some("M_FORBIDDEN") => {
            let Some(pk) = contact else {
                return Err(e.into());
            };
            let ghost_id = config.ghosts().user_id(pk);
            let ghost = UserId::parse(&ghost_id).map_err(|_| RoomError::BadId(ghost_id))?;
            intents.user(ghost).invite(&room_id, bot.user_id()).await?;
            Ok(bot.ensure_joined(&room_id).await?)
        }
        Err(e) => Err(e.into()),
    }
}
