//! A user's Instagram accounts (logins): `list-logins`, `set-preferred-login`, `logout
//! [username|id]`, `ping` and `reconnect` (every login of the user). `login` adds one.

use std::sync::Arc;

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::bridge::user::{Connection, IgUser};
use crate::store::logins::LoginRow;

/// The user's stored logins and which one is preferred (the stored choice if it is one of
/// them, else the first).
async fn logins(ctx: &CommandContext<'_>) -> Result<(Vec<LoginRow>, Option<i64>), ApplyError> {
    let mxid = ctx.sender.as_str();
    let logins = ctx.bridge.store.logins_of(mxid).await?;
    let stored = ctx
        .bridge
        .store
        .get_user(mxid)
        .await?
        .and_then(|u| u.preferred_login);
    let pks: Vec<i64> = logins.iter().map(|l| l.ig_pk).collect();
    let preferred = crate::bridge::login_choice::choose_preferred(stored, &pks);
    Ok((logins, preferred))
}

/// The login an argument names: its username (with or without `@`, any case) or its id.
fn named<'a>(logins: &'a [LoginRow], arg: &str) -> Option<&'a LoginRow> {
    let arg = arg.trim().trim_start_matches('@');
    logins.iter().find(|l| {
        l.ig_pk.to_string() == arg
            || l.ig_username
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(arg))
    })
}

fn name(login: &LoginRow) -> String {
    match login.ig_username.as_deref() {
        Some(u) if !u.is_empty() => format!("@{u}"),
        _ => login.ig_pk.to_string(),
    }
}

/// One line per login: name, id, connection and whether it is preferred.
fn lines(ctx: &CommandContext<'_>, logins: &[LoginRow], preferred: Option<i64>) -> String {
    logins
        .iter()
        .map(|l| {
            let state = match ctx.bridge.account(l.ig_pk) {
                Some(u) => u.status().realtime.to_string(),
                None => "not running".to_owned(),
            };
            let mark = if preferred == Some(l.ig_pk) {
                " — preferred"
            } else {
                ""
            };
            format!("* {} (id {}): {state}{mark}", name(l), l.ig_pk)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `list-logins`.
pub async fn list(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let (logins, preferred) = logins(ctx).await?;
    if logins.is_empty() {
        return ctx
            .reply("You're not logged in. Use `login` to add an Instagram account.")
            .await;
    }
    ctx.reply(&format!(
        "**Your Instagram accounts**\n\n{}\n\n`login` adds another one.",
        lines(ctx, &logins, preferred)
    ))
    .await
}

/// `set-preferred-login <username|id>`.
pub async fn set_preferred(ctx: &CommandContext<'_>, arg: &str) -> Result<(), ApplyError> {
    let (logins, preferred) = logins(ctx).await?;
    if arg.trim().is_empty() {
        return ctx
            .reply(&format!(
                "Usage: `set-preferred-login <username|id>`. Your accounts:\n\n{}",
                lines(ctx, &logins, preferred)
            ))
            .await;
    }
    let Some(login) = named(&logins, arg) else {
        return ctx
            .reply(&format!(
                "You have no Instagram login {}.",
                arg.trim().trim_start_matches('@')
            ))
            .await;
    };
    let mxid = ctx.sender.as_str();
    ctx.bridge.store.ensure_user(mxid).await?;
    ctx.bridge
        .store
        .set_preferred_login(mxid, Some(login.ig_pk))
        .await?;
    ctx.reply(&format!(
        "Commands now use {} (id {}).",
        name(login),
        login.ig_pk
    ))
    .await
}

/// `logout [username|id]`: with one login the argument may be left out; with several it
/// names the one to log out of.
pub async fn logout(ctx: &CommandContext<'_>, arg: &str) -> Result<(), ApplyError> {
    let (logins, preferred) = logins(ctx).await?;
    let login = match (logins.as_slice(), arg.trim()) {
        ([], _) => return ctx.reply("You're not logged in.").await,
        ([only], "") => only,
        (_, "") => {
            return ctx
                .reply(&format!(
                    "You have several Instagram accounts; which one? Send `logout <username>`:\n\n{}",
                    lines(ctx, &logins, preferred)
                ))
                .await;
        }
        (_, arg) => match named(&logins, arg) {
            Some(login) => login,
            None => {
                return ctx
                    .reply(&format!(
                        "You have no Instagram login {}.",
                        arg.trim_start_matches('@')
                    ))
                    .await;
            }
        },
    };
    let mxid = ctx.sender.as_str();
    if !crate::bridge::login_steps::logout(ctx.bridge, mxid, login.ig_pk).await? {
        return ctx.reply("You're not logged in.").await;
    }
    if logins.len() == 1 {
        return ctx.reply("Logged out of Instagram.").await;
    }
    ctx.reply(&format!("Logged out of Instagram as {}.", name(login)))
        .await
}

/// What `ping` says of one running login.
fn status_text(ctx: &CommandContext<'_>, u: &IgUser) -> String {
    let status = u.status();
    let mut text = format!(
        "You're logged in as @{} (Instagram id {}).\nRealtime connection: {}.",
        u.username, u.pk, status.realtime
    );
    if let Some(state) = ctx.bridge.bridge_states.current(&u.receiver()) {
        text.push_str(&format!("\nBridge state: {}", state.state_event.as_str()));
        if let Some(error) = state.error {
            text.push_str(&format!(" ({error})"));
        }
        text.push('.');
    }
    if let Some(ms) = status.last_event_ms {
        let ago = (crate::store::now_ms() - ms).max(0) / 1000;
        text.push_str(&format!("\nLast event from Instagram: {ago} s ago."));
    }
    if let Some(err) = status.last_error
        && status.realtime != Connection::Connected
    {
        text.push_str(&format!("\nLast problem: {err}"));
    }
    text
}

/// `ping`: every running login of the user.
pub async fn ping(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let logins: Vec<Arc<IgUser>> = ctx.bridge.logins_of(ctx.sender.as_str());
    if logins.is_empty() {
        return ctx.reply("You're not logged in.").await;
    }
    let parts: Vec<String> = logins.iter().map(|u| status_text(ctx, u)).collect();
    ctx.reply(&parts.join("\n\n")).await
}

/// `reconnect`: every running login of the user.
pub async fn reconnect(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    let logins = ctx.bridge.logins_of(ctx.sender.as_str());
    if logins.is_empty() {
        return ctx.reply("You're not logged in.").await;
    }
    let mut failed = Vec::new();
    for u in &logins {
        if let Err(e) = u.reconnect().await {
            failed.push(format!("@{}: {e}", u.username));
        }
    }
    if failed.is_empty() {
        ctx.reply("Reconnecting to Instagram.").await
    } else {
        ctx.reply(&format!("Could not reconnect: {}", failed.join("; ")))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(pk: i64, username: &str) -> LoginRow {
        LoginRow {
            ig_pk: pk,
            mxid: "@a:x".into(),
            ig_username: Some(username.into()),
            session: None,
            seq_id: None,
            snapshot_at_ms: None,
            connection_state: "connected".into(),
        }
    }

    #[test]
    fn a_login_is_named_by_username_or_id() {
        let logins = [login(11, "alice"), login(22, "Alice_Biz")];
        assert_eq!(named(&logins, "alice").map(|l| l.ig_pk), Some(11));
        assert_eq!(named(&logins, "@alice_biz").map(|l| l.ig_pk), Some(22));
        assert_eq!(named(&logins, " 22 ").map(|l| l.ig_pk), Some(22));
        assert!(named(&logins, "bob").is_none());
        assert!(named(&logins, "1").is_none());
    }
}
