//! The login conversation: username, password, then a two-factor or challenge code as
//! Instagram asks; or a session import. Passwords and cookies are redacted from the room at
//! once and never logged.

use std::sync::Arc;

use super::CommandContext;
use crate::bridge::Bridge;
use crate::bridge::dispatch::ApplyError;
use crate::bridge::user;
use crate::instagram::http::{
    ChallengeMethod, ChallengeState, InstagramClient, LoginOutcome, TwoFactorMethod, TwoFactorState,
};
use crate::instagram::types::User;

/// Where a user's login stands between two messages.
pub enum LoginFlow {
    Username,
    Password {
        username: String,
    },
    TwoFactor {
        client: InstagramClient,
        state: TwoFactorState,
    },
    Challenge {
        client: InstagramClient,
        state: ChallengeState,
    },
}

impl LoginFlow {
    /// Whether the next input is a secret to redact.
    pub fn expects_secret(&self) -> bool {
        matches!(self, LoginFlow::Password { .. })
    }
}

/// Keeps the user's login at `flow` until their next message.
async fn await_next(ctx: &CommandContext<'_>, flow: LoginFlow) {
    ctx.bridge
        .logins
        .lock()
        .await
        .insert(ctx.sender.to_string(), flow);
}

/// `login [username [password]]`.
pub async fn start(ctx: &CommandContext<'_>, args: &[&str]) -> Result<(), ApplyError> {
    if !ctx.is_management {
        return ctx
            .reply("For your safety, log in only in your private chat with me.")
            .await;
    }
    if let Some(u) = ctx.bridge.users.get(ctx.sender.as_str()) {
        return ctx
            .reply(&format!(
                "You're already logged in as @{}. Use `logout` first to switch accounts.",
                u.username
            ))
            .await;
    }
    match args {
        [] => {
            await_next(ctx, LoginFlow::Username).await;
            ctx.reply("Send your Instagram username (or `cancel`).")
                .await
        }
        [username] => {
            await_next(
                ctx,
                LoginFlow::Password {
                    username: username.to_string(),
                },
            )
            .await;
            ctx.reply("Send your Instagram password (the message will be removed at once).")
                .await
        }
        [username, password @ ..] => {
            ctx.redact_command("contains a password").await;
            let password = password.join(" ");
            password_login(ctx, username, &password).await
        }
    }
}

/// Continues a login flow with the user's message. Returns false when there is no flow.
pub async fn continue_flow(ctx: &CommandContext<'_>, text: &str) -> Result<bool, ApplyError> {
    let flow = ctx.bridge.logins.lock().await.remove(ctx.sender.as_str());
    let Some(flow) = flow else {
        return Ok(false);
    };
    let input = text.trim();
    match flow {
        LoginFlow::Username => {
            if input.is_empty() || input.contains(char::is_whitespace) {
                await_next(ctx, LoginFlow::Username).await;
                ctx.reply(
                    "That doesn't look like a username. Send your Instagram username, or `cancel`.",
                )
                .await?;
                return Ok(true);
            }
            let username = input.trim_start_matches('@').to_string();
            await_next(ctx, LoginFlow::Password { username }).await;
            ctx.reply("Send your Instagram password (the message will be removed at once).")
                .await?;
        }
        LoginFlow::Password { username } => {
            ctx.redact_command("contains a password").await;
            password_login(ctx, &username, text).await?;
        }
        LoginFlow::TwoFactor { client, state } => two_factor(ctx, client, state, input).await?,
        LoginFlow::Challenge { client, state } => challenge(ctx, client, state, input).await?,
    }
    Ok(true)
}

async fn password_login(
    ctx: &CommandContext<'_>,
    username: &str,
    password: &str,
) -> Result<(), ApplyError> {
    let client = match ctx.bridge.new_instagram_client(ctx.sender.as_str()) {
        Ok(c) => c,
        Err(e) => return ctx.reply(&format!("Login failed: {e}")).await,
    };
    let outcome = client.login(username, password).await;
    handle_outcome(ctx, client, outcome).await
}

async fn handle_outcome(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    outcome: Result<LoginOutcome, crate::instagram::Error>,
) -> Result<(), ApplyError> {
    match outcome {
        Ok(LoginOutcome::LoggedIn(user)) => finish(ctx, client, user).await,
        Ok(LoginOutcome::TwoFactorRequired(state)) => {
            let how = match (state.totp_two_factor_on, state.sms_two_factor_on) {
                (true, _) => "the code from your authenticator app".to_string(),
                (false, true) => format!(
                    "the code Instagram sent by SMS{}",
                    state
                        .obfuscated_phone_number
                        .as_deref()
                        .map(|p| format!(" to {p}"))
                        .unwrap_or_default()
                ),
                _ => "your two-factor code".to_string(),
            };
            await_next(ctx, LoginFlow::TwoFactor { client, state }).await;
            ctx.reply(&format!(
                "Two-factor authentication is on. Send {how}. You can also send \
                 `backup <code>` for a backup code, `resend-sms`, or `cancel`."
            ))
            .await
        }
        Ok(LoginOutcome::ChallengeRequired(state)) => {
            let text = challenge_prompt(&state);
            await_next(ctx, LoginFlow::Challenge { client, state }).await;
            ctx.reply(&text).await
        }
        Err(e) => {
            tracing::info!(user = %ctx.sender, "Instagram login failed: {e}");
            ctx.reply(&format!("Login failed: {}", e.user_message()))
                .await
        }
    }
}

fn challenge_prompt(state: &ChallengeState) -> String {
    if state.needs_method() {
        "Instagram wants to verify it's you. Reply `sms` or `email` to choose where the \
         security code is sent, or `cancel`."
            .to_string()
    } else {
        format!(
            "Instagram sent a security code{}. Send it here, `resend` for a new one, or `cancel`.",
            state
                .contact_point()
                .map(|c| format!(" to {c}"))
                .unwrap_or_default()
        )
    }
}

async fn two_factor(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    state: TwoFactorState,
    input: &str,
) -> Result<(), ApplyError> {
    let lower = input.to_lowercase();
    if lower == "resend-sms" || lower == "resend" {
        return match client.resend_two_factor_sms(&state).await {
            Ok(new_state) => {
                await_next(
                    ctx,
                    LoginFlow::TwoFactor {
                        client,
                        state: new_state,
                    },
                )
                .await;
                ctx.reply("A new code is on its way by SMS. Send it here.")
                    .await
            }
            Err(e) => {
                await_next(ctx, LoginFlow::TwoFactor { client, state }).await;
                ctx.reply(&format!("Could not resend the SMS: {}", e.user_message()))
                    .await
            }
        };
    }
    let (method, code) = match lower.strip_prefix("backup") {
        Some(rest) => (TwoFactorMethod::BackupCode, rest.trim().to_string()),
        None if state.totp_two_factor_on => (TwoFactorMethod::Totp, input.to_string()),
        None => (TwoFactorMethod::Sms, input.to_string()),
    };
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.is_empty() || !code.chars().all(|c| c.is_ascii_digit()) {
        await_next(ctx, LoginFlow::TwoFactor { client, state }).await;
        return ctx
            .reply("The code should be digits. Send it again, or `cancel`.")
            .await;
    }
    match client.two_factor_login(&state, &code, method, true).await {
        Err(e) if matches!(e, crate::instagram::Error::BadCode { .. }) => {
            await_next(ctx, LoginFlow::TwoFactor { client, state }).await;
            ctx.reply(&format!(
                "{} Send the code again, or `cancel`.",
                e.user_message()
            ))
            .await
        }
        other => handle_outcome(ctx, client, other).await,
    }
}

async fn challenge(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    state: ChallengeState,
    input: &str,
) -> Result<(), ApplyError> {
    let lower = input.to_lowercase();
    let outcome = if state.needs_method() {
        let method = match lower.as_str() {
            "sms" | "phone" | "0" => ChallengeMethod::Sms,
            "email" | "mail" | "1" => ChallengeMethod::Email,
            _ => {
                await_next(ctx, LoginFlow::Challenge { client, state }).await;
                return ctx.reply("Reply `sms` or `email`, or `cancel`.").await;
            }
        };
        client.challenge_select(&state, method).await
    } else if state.needs_confirmation() {
        client.challenge_confirm(&state).await
    } else if lower == "resend" {
        client.challenge_replay(&state).await
    } else {
        match client.challenge_submit_code(&state, input).await {
            Err(e) if !e.is_session_dead() && !e.needs_user_action() => {
                await_next(ctx, LoginFlow::Challenge { client, state }).await;
                return ctx
                    .reply(&format!(
                        "{} Send the code again, or `cancel`.",
                        e.user_message()
                    ))
                    .await;
            }
            other => other,
        }
    };
    handle_outcome(ctx, client, outcome).await
}

/// `login-cookies <cookies | Cookie: header | cURL command | Bearer IGT:2:…>`.
pub async fn import(ctx: &CommandContext<'_>, raw_args: &str) -> Result<(), ApplyError> {
    if !ctx.is_management {
        ctx.redact_command("contains session cookies").await;
        return ctx
            .reply("For your safety, send cookies only in your private chat with me.")
            .await;
    }
    ctx.redact_command("contains session cookies").await;
    if raw_args.trim().is_empty() {
        return ctx
            .reply(
                "Usage: `login-cookies <data>` where data is your instagram.com cookies as JSON, \
                 a `Cookie:` header, a copied cURL command, or a `Bearer IGT:2:…` value.",
            )
            .await;
    }
    let client = match ctx.bridge.new_instagram_client(ctx.sender.as_str()) {
        Ok(c) => c,
        Err(e) => return ctx.reply(&format!("Login failed: {e}")).await,
    };
    match client.import_session(raw_args.trim()).await {
        Ok(user) => finish(ctx, client, user).await,
        Err(e) => {
            ctx.reply(&format!("Those cookies didn't work: {}", e.user_message()))
                .await
        }
    }
}

async fn finish(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    user: User,
) -> Result<(), ApplyError> {
    let bridge: &Arc<Bridge> = ctx.bridge;
    let mxid = ctx.sender.as_str();
    bridge.store.ensure_user(mxid).await?;
    bridge
        .store
        .set_login(
            mxid,
            user.pk.get(),
            &user.username,
            &client.session_json().to_string(),
        )
        .await?;
    ctx.reply(&format!(
        "Successfully logged in as @{}. Your recent conversations will appear shortly.",
        user.username
    ))
    .await?;
    if let Err(e) = user::start_user(bridge, mxid, client, user.username.clone(), true).await {
        ctx.reply(&format!(
            "Logged in, but connecting failed: {e}. Try `reconnect`."
        ))
        .await?;
    }
    Ok(())
}
