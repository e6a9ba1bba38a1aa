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
    let is_admin = bridge.permission(ctx.sender) >= Some(PermissionLevel::Admin);
    let logged_in = |mxid: &str| bridge.has_login(mxid);
    let relay = match choose_relay(
        &bridge.config.bridge.relay,
        ctx.sender.as_str(),
        is_admin,
        arg.trim(),
        &logged_in,
    ) {
        Ok(relay) => relay,
        Err(why) => return ctx.reply(why).await,
    };
    let Some(account) = bridge.login_for_portal(&relay, &portal).await else {
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

/// Who relays for `set-relay [arg]` by `sender`, or why nobody: with `admin_only`, a
/// non-admin may only pick one of `default_relays`; without an argument the sender relays
/// (when allowed and logged in), else the first default relay that is logged in.
fn choose_relay(
    relay: &crate::config::RelayConfig,
    sender: &str,
    is_admin: bool,
    arg: &str,
    logged_in: &dyn Fn(&str) -> bool,
) -> Result<String, &'static str> {
    let only_defaults = relay.admin_only && !is_admin;
    let is_default = |who: &str| relay.default_relays.iter().any(|d| d == who);
    if !arg.is_empty() {
        return if is_default(arg) || (arg == sender && !only_defaults) {
            Ok(arg.to_string())
        } else {
            Err("You can set yourself (if allowed) or one of the default relays.")
        };
    }
    if !only_defaults && logged_in(sender) {
        return Ok(sender.to_string());
    }
    match relay.default_relays.iter().find(|d| logged_in(d.as_str())) {
        Some(d) => Ok(d.clone()),
        None if only_defaults => {
            Err("Only admins can relay with their own account, and no default relay is logged in.")
        }
        None => Err("You're not logged in, and no default relay is logged in either."),
    }
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

#[cfg(test)]
mod tests {
    use super::choose_relay;
    use crate::config::RelayConfig;

    fn config(admin_only: bool) -> RelayConfig {
        RelayConfig {
            enabled: true,
            admin_only,
            default_relays: vec!["@relaybot:x".into()],
            ..RelayConfig::default()
        }
    }

    #[test]
    fn admin_only_limits_non_admins_to_default_relays() {
        let everyone = |_: &str| true;
        let c = config(true);
        assert_eq!(
            choose_relay(&c, "@alice:x", false, "", &everyone),
            Ok("@relaybot:x".into())
        );
        assert!(choose_relay(&c, "@alice:x", false, "@alice:x", &everyone).is_err());
        assert_eq!(
            choose_relay(&c, "@admin:x", true, "", &everyone),
            Ok("@admin:x".into())
        );
        assert_eq!(
            choose_relay(&c, "@alice:x", false, "@relaybot:x", &everyone),
            Ok("@relaybot:x".into())
        );
        let nobody = |_: &str| false;
        assert!(
            choose_relay(&c, "@alice:x", false, "", &nobody)
                .unwrap_err()
                .starts_with("Only admins")
        );
    }

    #[test]
    fn without_admin_only_users_relay_themselves() {
        let c = config(false);
        let only_alice = |who: &str| who == "@alice:x";
        assert_eq!(
            choose_relay(&c, "@alice:x", false, "", &only_alice),
            Ok("@alice:x".into())
        );
        assert!(choose_relay(&c, "@bob:x", false, "@alice:x", &only_alice).is_err());
        let nobody = |_: &str| false;
        assert!(
            choose_relay(&c, "@bob:x", false, "", &nobody)
                .unwrap_err()
                .starts_with("You're not logged in")
        );
    }
}
