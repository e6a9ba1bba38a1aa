//! Bringing this bridge's bot into the imported rooms. mautrix-instagram made DM rooms with
//! the contact's ghost and left its bot out; this bridge's bot sends delivery statuses and
//! receipts there and redacts what is unsent on Instagram, so it joins, invited by the
//! contact's ghost (the room's creator), which also gives it the power level of the rooms this
//! bridge creates (100). Nobody else is invited and no room is created. Needs the homeserver
//! to accept this bridge's registration; what fails is reported, and a re-run tries again.

use std::collections::HashMap;

use ruma::api::client::state::{get_state_event_for_key, send_state_event};
use ruma::events::StateEventType;
use ruma::{RoomId, UserId};
use serde_json::Value;

use crate::config::Config;
use crate::matrix::client::RetryPolicy;
use crate::matrix::{HomeserverClient, Intents, MatrixError};

/// Why the bot is not in a room.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    #[error("{0} is not a valid Matrix id")]
    BadId(String),
    #[error("cannot give the bot its power level: {0}")]
    Levels(String),
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
    let ghost = match contact {
        Some(pk) => {
            let id = config.ghosts().user_id(pk);
            Some(UserId::parse(&id).map_err(|_| RoomError::BadId(id))?)
        }
        None => None,
    };
    match (bot.ensure_joined(&room_id).await, &ghost) {
        (Ok(()), _) => {}
        (Err(e), Some(ghost)) if e.errcode() == Some("M_FORBIDDEN") => {
            intents
                .user(ghost.clone())
                .invite(&room_id, bot.user_id())
                .await?;
            bot.ensure_joined(&room_id).await?;
        }
        (Err(e), _) => return Err(e.into()),
    }
    if let Some(ghost) = &ghost {
        raise_bot(intents, &room_id, ghost, bot.user_id()).await?;
    }
    Ok(())
}

/// The power level this bridge gives its bot in the rooms it creates.
const BOT_LEVEL: i64 = 100;

/// Gives the bot `BOT_LEVEL` in the room, as `ghost` (its creator), unless it has it.
async fn raise_bot(
    intents: &Intents,
    room_id: &RoomId,
    ghost: &UserId,
    bot: &UserId,
) -> Result<(), RoomError> {
    let get = get_state_event_for_key::v3::Request::new(
        room_id.to_owned(),
        StateEventType::RoomPowerLevels,
        String::new(),
    );
    let current = intents.client().send(get, Some(ghost)).await?;
    let mut content: Value = serde_json::from_str(current.event_or_content.get())
        .map_err(|e| RoomError::Levels(e.to_string()))?;
    if content["users"][bot.as_str()].as_i64() >= Some(BOT_LEVEL) {
        return Ok(());
    }
    let Some(users) = content
        .as_object_mut()
        .map(|c| {
            c.entry("users")
                .or_insert_with(|| Value::Object(Default::default()))
        })
        .and_then(Value::as_object_mut)
    else {
        return Err(RoomError::Levels("power levels are not an object".into()));
    };
    users.insert(bot.to_string(), BOT_LEVEL.into());
    let raw =
        serde_json::value::to_raw_value(&content).map_err(|e| RoomError::Levels(e.to_string()))?;
    let put = send_state_event::v3::Request::new_raw(
        room_id.to_owned(),
        StateEventType::RoomPowerLevels,
        String::new(),
        ruma::serde::Raw::from_json(raw),
    );
    intents.client().send(put, Some(ghost)).await?;
    Ok(())
}
