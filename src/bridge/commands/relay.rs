//! `set-relay [user id]` and `unset-relay` in a group portal (relay mode, see
//! `bridge::outgoing::relay`). With `bridge.relay.admin_only`, only admins may set themselves;
//! others may set one of `bridge.relay.default_relays`.

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::config::PermissionLevel;
use crate::store::portals::PortalRow;

/// The group portal of the command's room, or the reason there is none.
async fn group_portal(
    ctx: &CommandContext<'_>,
) -> Result<Result<PortalRow, &'static str>, ApplyError> {
    if !ctx.bridge.config.bridge.relay.enabled {
        return Ok(Err("This bridge does not allow relay mode."));
    }
    let Some(portal) = ctx
        .bridge
        .store
        .get_portal_by_room(ctx.room_id.as_str())
        .await?
    else {
        return Ok(Err("Relay mode is set in a bridged group chat's room."));
    };
    if !portal.is_group {
        return Ok(Err(
            "Private chats are never relayed: an Instagram private chat belongs to one person.",
        ));
    }
    Ok(Ok(portal))
}

pub async fn set(ctx: &CommandContext<'_>, arg: &str) -> Result<(), ApplyError> {
    let mut portal = match group_portal(ctx).await? {
        Ok(p) => p,
        Err(why) => return ctx.reply(why).await,
    };
    let bridge = ctx.bridge;
    let relay_config = &bridge.config.bridge.relay;
    let is_admin = bridge.permission(ctx.sender) >= Some(PermissionLevel::Admin);
    let only_defaults = relay_config.admin_only && !is_admin;
    let logged_in = |mxid: &str| bridge.users.contains_key(mxid);
    let arg = arg.trim();
    let relay = if !arg.is_empty() {
        let allowed = relay_config.default_relays.iter().any(|d| d == arg)
            || (arg == ctx.sender.as_str() && !only_defaults);
        if !allowed {
            return ctx
                .reply("You can set yourself (if allowed) or one of the default relays.")
                .await;
        }
        arg.to_string()
    } else if !only_defaults && logged_in(ctx.sender.as_str()) {
        ctx.sender.to_string()
    } else {
        match relay_config
            .default_relays
            .iter()
            .find(|d| logged_in(d.as_str()))
        {
            Some(d) => d.clone(),
            None if only_defaults => {
                return ctx
                    .reply("Only admins can relay with their own account, and no default relay is logged in.")
                    .await;
            }
            None => {
                return ctx
                    .reply("You're not logged in, and no default relay is logged in either.")
                    .await;
            }
        }
    };
    let Some(account) = bridge.users.get(&relay).map(|u| u.clone()) else {
        return ctx
            .reply(&format!("{relay} is not logged in to Instagram."))
            .await;
    };
    portal.relay_user = Some(relay.clone());
    bridge.store.upsert_portal(&portal).await?;
    ctx.reply(&format!(
        "Messages from people without their own login are now relayed through {relay} \
         (Instagram @{}).",
        account.username
    ))
    .await
}

pub async fn unset(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let mut portal = match group_portal(ctx).await? {
        Ok(p) => p,
        Err(why) => return ctx.reply(why).await,
    };
    let Some(relay) = portal.relay_user.clone() else {
        return ctx.reply("This chat has no relay.").await;
    };
    let is_admin = ctx.bridge.permission(ctx.sender) >= Some(PermissionLevel::Admin);
    if !is_admin && relay != ctx.sender.as_str() && ctx.bridge.config.bridge.relay.admin_only {
        return ctx
            .reply("Only the relay or an admin can stop relaying here.")
            .await;
    }
    portal.relay_user = None;
    ctx.bridge.store.upsert_portal(&portal).await?;
    ctx.reply("Messages from people without their own login are no longer relayed.")
        .await
}
