//! Commands about a conversation or a person: `leave` (a group, from its room), `block` and
//! `unblock` (the DM's contact in a DM room, else a username or id).

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::instagram::ids::{ThreadId, UserPk};
use crate::store::portals::PortalRow;

async fn portal_here(ctx: &CommandContext<'_>) -> Result<Option<PortalRow>, ApplyError> {
    Ok(ctx
        .bridge
        .store
        .get_portal_by_room(ctx.room_id.as_str())
        .await?)
}

/// `leave`: leaves the group on Instagram, then its room.
pub async fn leave(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let Some(u) = ctx.ig_user().await else {
        return ctx.reply("You're not logged in.").await;
    };
    let Some(portal) = portal_here(ctx).await? else {
        return ctx
            .reply("Use `leave` in the room of the Instagram group you want to leave.")
            .await;
    };
    if !portal.is_group {
        return ctx
            .reply(
                "Instagram has no leaving a one-to-one chat. You can leave this room; \
                 `block` stops the person from writing to you.",
            )
            .await;
    }
    let members = ctx.bridge.store.thread_members(&portal.thread_id).await?;
    if !members.iter().any(|m| m.pk == u.pk) {
        return ctx
            .reply("You're not a member of this group on Instagram.")
            .await;
    }
    if let Err(e) = u
        .client
        .leave_thread(&ThreadId::new(portal.thread_id.clone()))
        .await
    {
        return ctx
            .reply(&format!("Could not leave the group: {}", e.user_message()))
            .await;
    }
    ctx.reply("You left the group on Instagram.").await?;
    // Out of the room too: as the user (double puppeting), else removed by the bot. Left on
    // Instagram already, so a failure here is only logged (a retry would leave twice).
    let result = match crate::bridge::puppet::intent(ctx.bridge, ctx.sender.as_str()) {
        Some(puppet) => puppet.leave(ctx.room_id).await,
        None => {
            let reason = Some("Left the group on Instagram");
            let bot = ctx.bridge.intents.bot();
            bot.kick(ctx.room_id, ctx.sender, reason).await
        }
    };
    if let Err(e) = result {
        tracing::warn!(user = %ctx.sender, room = %ctx.room_id, "cannot leave the room: {e}");
    }
    Ok(())
}

/// Whom `block`/`unblock` names: the argument (username or id), else the contact of the DM
/// the command is sent in.
async fn target(
    ctx: &CommandContext<'_>,
    client: &crate::instagram::http::InstagramClient,
    me: i64,
    arg: &str,
) -> Result<Result<(i64, String), String>, ApplyError> {
    let arg = arg.trim().trim_start_matches('@');
    if !arg.is_empty() {
        if let Ok(pk) = arg.parse::<i64>() {
            return Ok(Ok((pk, pk.to_string())));
        }
        return Ok(match client.user_by_username(arg).await {
            Ok(user) => Ok((user.pk.get(), format!("@{}", user.username))),
            Err(e) => Err(format!("Could not find @{arg}: {}", e.user_message())),
        });
    }
    let Some(portal) = portal_here(ctx).await?.filter(|p| !p.is_group) else {
        return Ok(Err(
            "Name the person (`block <username or id>`), or use it in your chat with them.".into(),
        ));
    };
    let members = ctx.bridge.store.thread_members(&portal.thread_id).await?;
    Ok(members
        .into_iter()
        .find(|m| m.pk != me)
        .map(|m| (m.pk, format!("@{}", m.username)))
        .ok_or_else(|| "I don't know who this chat is with yet.".to_string()))
}

/// `block` / `unblock` someone on Instagram.
pub async fn block(ctx: &CommandContext<'_>, arg: &str, block: bool) -> Result<(), ApplyError> {
    let Some(u) = ctx.ig_user().await else {
        return ctx.reply("You're not logged in.").await;
    };
    let (pk, who) = match target(ctx, &u.client, u.pk, arg).await? {
        Ok(t) => t,
        Err(message) => return ctx.reply(&message).await,
    };
    if pk == u.pk {
        return ctx.reply("You can't block yourself.").await;
    }
    let verb = if block { "block" } else { "unblock" };
    match u.client.set_blocked(UserPk(pk), block).await {
        Ok(now) if now == block => {
            let done = if block { "blocked" } else { "unblocked" };
            ctx.reply(&format!("You {done} {who} on Instagram.")).await
        }
        Ok(_) => ctx.reply(&format!("Instagram did not {verb} {who}.")).await,
        Err(e) => {
            ctx.reply(&format!("Could not {verb} {who}: {}", e.user_message()))
                .await
        }
    }
}
