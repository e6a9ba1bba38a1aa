//! `search <text>`: Instagram users (Instagram's user search) and messages in the user's
//! bridged chats. No public client documents an Instagram endpoint that searches message
//! text, and the bridge stores no message text, so messages are found by the homeserver's
//! search (`POST /search`, as the bot, restricted to the user's portal rooms), each answered
//! with a matrix.to link to its event. Encrypted rooms are not searchable there.

use ruma::OwnedRoomId;

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::matrix::search::Found;

/// Messages shown at most.
const MAX_MESSAGES: u32 = 10;

pub async fn search(ctx: &CommandContext<'_>, query: &str) -> Result<(), ApplyError> {
    let Some(u) = ctx.ig_user().await else {
        return ctx.reply("You're not logged in.").await;
    };
    let query = query.trim();
    if query.is_empty() {
        return ctx.reply("Usage: `search <text>`").await;
    }
    let users = match u.client.search_users(query, 10).await {
        Ok(users) if users.is_empty() => "No Instagram users found.".to_owned(),
        Ok(users) => {
            let lines: Vec<String> = users
                .iter()
                .map(|x| {
                    format!(
                        "* `{}` — {} (id {})",
                        x.username,
                        x.full_name.as_deref().unwrap_or(""),
                        x.pk.get()
                    )
                })
                .collect();
            format!("**Instagram users**\n\n{}", lines.join("\n"))
        }
        Err(e) => format!("User search failed: {}", e.user_message()),
    };
    let messages = match messages(ctx, query).await {
        Ok(found) if found.is_empty() => "No messages found in your chats.".to_owned(),
        Ok(found) => format!("**Messages**\n\n{}", lines(&found).join("\n")),
        Err(e) => format!("Message search failed: {e}"),
    };
    ctx.reply(&format!("{users}\n\n{messages}")).await
}

/// The rooms of the sender's portals: their logins' DMs and the groups they are in.
async fn rooms_of(ctx: &CommandContext<'_>) -> Result<Vec<OwnedRoomId>, ApplyError> {
    let store = &ctx.bridge.store;
    let mxid = ctx.sender.as_str();
    let mut rooms = Vec::new();
    for login in store.logins_of(mxid).await? {
        for portal in store.portals_of_receiver(&login.receiver()).await? {
            rooms.extend(portal.room_id);
        }
    }
    for portal in store.portals_of_receiver("").await? {
        let Some(room) = portal.room_id else { continue };
        let members = store.thread_members(&portal.thread_id).await?;
        if members.iter().any(|m| m.mxid == mxid) {
            rooms.push(room);
        }
    }
    Ok(rooms
        .iter()
        .filter_map(|r| OwnedRoomId::try_from(r.as_str()).ok())
        .collect())
}

async fn messages(
    ctx: &CommandContext<'_>,
    query: &str,
) -> Result<Vec<Found>, crate::matrix::MatrixError> {
    let rooms = match rooms_of(ctx).await {
        Ok(rooms) => rooms,
        Err(e) => {
            tracing::warn!("cannot list the portals to search: {e}");
            return Ok(Vec::new());
        }
    };
    ctx.bridge
        .intents
        .bot()
        .search_messages(query, rooms, MAX_MESSAGES)
        .await
}

/// One line per message: who, what (shortened), and a matrix.to link to the event.
fn lines(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .map(|f| {
            let mut body: String = f.body.replace('\n', " ").chars().take(120).collect();
            if body.chars().count() < f.body.chars().count() {
                body.push('…');
            }
            format!(
                "* {}: {body} — https://matrix.to/#/{}/{}",
                f.sender, f.room_id, f.event_id
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_links_to_the_event_and_shortens_long_text() {
        let found = Found {
            room_id: OwnedRoomId::try_from("!r:x").unwrap(),
            event_id: ruma::OwnedEventId::try_from("$e").unwrap(),
            sender: "@instagram_1:x".into(),
            body: format!("first line\n{}", "a".repeat(200)),
        };
        let line = &lines(&[found])[0];
        assert!(
            line.starts_with("* @instagram_1:x: first line aaa"),
            "{line}"
        );
        assert!(line.contains("…"), "{line}");
        assert!(line.ends_with("— https://matrix.to/#/!r:x/$e"), "{line}");
    }
}
