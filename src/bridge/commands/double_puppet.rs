//! `login-matrix <access token>` and `logout-matrix`: double puppeting with the user's own
//! Matrix access token, for servers without a `double_puppet.secrets` entry. The message
//! holding the token is redacted at once (see [`super::secrets`]).

use super::CommandContext;
use crate::bridge::error::ApplyError;
use crate::bridge::puppet::{self, LoginMatrixError};
use crate::matrix::double_puppet::PuppetError;

pub async fn login(ctx: &CommandContext<'_>, token: &str) -> Result<(), ApplyError> {
    let token = token.trim();
    if token.is_empty() {
        return ctx.reply("Usage: `login-matrix <access token>`").await;
    }
    match puppet::login_with_token(ctx.bridge, ctx.sender, token).await {
        Ok(()) => {
            crate::bridge::chat_state::watch(ctx.bridge, ctx.sender.as_str());
            ctx.reply(
                "Double puppeting is on: what you do on Instagram yourself now appears as you.",
            )
            .await
        }
        Err(LoginMatrixError::Puppet(PuppetError::UnknownToken)) => {
            ctx.reply("The homeserver does not accept that access token.")
                .await
        }
        Err(LoginMatrixError::Store(e)) => Err(e.into()),
        Err(e) => ctx.reply(&format!("Double puppeting failed: {e}")).await,
    }
}

pub async fn logout(ctx: &CommandContext<'_>) -> Result<(), ApplyError> {
    if puppet::logout(ctx.bridge, ctx.sender.as_str()).await? {
        crate::bridge::chat_state::forget(ctx.bridge, ctx.sender.as_str()).await;
        ctx.reply("Double puppeting is off; your access token is forgotten.")
            .await
    } else {
        ctx.reply("Double puppeting was not on.").await
    }
}
