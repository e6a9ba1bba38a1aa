//! The login conversation: username, password, then a two-factor or challenge code as
//! Instagram asks; or a session import. Passwords, codes and cookies are redacted from the room
//! at once (by [`super::handle`], see [`super::secrets`]), held as [`Secret`]s and never logged.

use std::sync::Arc;

use super::CommandContext;
use super::two_factor;
use crate::bridge::Bridge;
use crate::bridge::error::ApplyError;
use crate::bridge::login_steps::{self, ChallengeAnswer, Next};
use crate::instagram::http::{
    ChallengeMethod, ChallengeState, InstagramClient, LoginOutcome, TwoFactorState,
};
use crate::instagram::types::User;
use crate::secret::Secret;

/// Where a user's login stands between two messages.
pub enum LoginFlow {
    Username,
    Password {
        username: String,
    },
    TwoFactor {
        client: InstagramClient,
        state: TwoFactorState,
        /// The user asked for a code by SMS: a bare code is then an SMS code.
        sms_requested: bool,
    },
    Challenge {
        client: InstagramClient,
        state: ChallengeState,
    },
    /// A step is being worked on (Instagram is asked): what the user sends meanwhile is taken
    /// for a secret too, since the step may end by asking for one.
    Working,
}

impl LoginFlow {
    /// Whether the user's next message may be a secret (a password or a code): it is redacted
    /// and kept out of the inbox table. A step is recorded before its prompt is sent, so the
    /// answer to a prompt always finds its step here.
    pub fn expects_secret(&self) -> bool {
        match self {
            LoginFlow::Username => false,
            LoginFlow::Password { .. } | LoginFlow::TwoFactor { .. } | LoginFlow::Working => true,
            LoginFlow::Challenge { state, .. } => {
                !state.needs_method() && !state.needs_confirmation()
            }
        }
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
            let password = Secret::new(password.join(" "));
            await_next(ctx, LoginFlow::Working).await;
            let result = password_login(ctx, username, &password).await;
            end_working(ctx).await;
            result
        }
    }
}

/// Forgets the login of a step that ended without asking for anything more.
async fn end_working(ctx: &CommandContext<'_>) {
    let mut logins = ctx.bridge.logins.lock().await;
    if matches!(logins.get(ctx.sender.as_str()), Some(LoginFlow::Working)) {
        logins.remove(ctx.sender.as_str());
    }
}

/// Continues a login flow with the user's message. Returns false when there is no flow.
pub async fn continue_flow(ctx: &CommandContext<'_>, text: &str) -> Result<bool, ApplyError> {
    let flow = {
        let mut logins = ctx.bridge.logins.lock().await;
        match logins.get(ctx.sender.as_str()) {
            None | Some(LoginFlow::Working) => return Ok(false),
            Some(_) => logins.insert(ctx.sender.to_string(), LoginFlow::Working),
        }
    };
    let Some(flow) = flow else {
        return Ok(false);
    };
    let result = step(ctx, flow, text).await;
    end_working(ctx).await;
    result.map(|()| true)
}

/// One step of a login flow with the user's message.
async fn step(ctx: &CommandContext<'_>, flow: LoginFlow, text: &str) -> Result<(), ApplyError> {
    let input = text.trim();
    match flow {
        LoginFlow::Username => {
            if input.is_empty() || input.contains(char::is_whitespace) {
                await_next(ctx, LoginFlow::Username).await;
                return ctx
                    .reply(
                        "That doesn't look like a username. Send your Instagram username, or \
                         `cancel`.",
                    )
                    .await;
            }
            let username = input.trim_start_matches('@').to_string();
            await_next(ctx, LoginFlow::Password { username }).await;
            ctx.reply("Send your Instagram password (the message will be removed at once).")
                .await
        }
        LoginFlow::Password { username } => {
            password_login(ctx, &username, &Secret::new(text)).await
        }
        LoginFlow::TwoFactor {
            client,
            state,
            sms_requested,
        } => two_factor(ctx, client, state, sms_requested, input).await,
        LoginFlow::Challenge { client, state } => challenge(ctx, client, state, input).await,
        // Not handed out by `continue_flow`.
        LoginFlow::Working => Ok(()),
    }
}

async fn password_login(
    ctx: &CommandContext<'_>,
    username: &str,
    password: &Secret,
) -> Result<(), ApplyError> {
    let client = match ctx.bridge.new_instagram_client(ctx.sender.as_str()).await {
        Ok(c) => c,
        Err(e) => {
            return ctx
                .reply(&format!("Login failed: {}", e.user_message()))
                .await;
        }
    };
    // Instagram can take a while to answer: say at once that something is happening.
    ctx.reply(&format!(
        "Logging in to Instagram as @{}…",
        username.trim_start_matches('@')
    ))
    .await?;
    let outcome = client.login(username, password.clone()).await;
    handle_outcome(ctx, client, outcome).await
}

async fn handle_outcome(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    outcome: Result<LoginOutcome, crate::instagram::Error>,
) -> Result<(), ApplyError> {
    handle_next(ctx, client, login_steps::next_step(outcome)).await
}

async fn handle_next(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    next: Next,
) -> Result<(), ApplyError> {
    match next {
        Next::LoggedIn(user) => finish(ctx, client, user).await,
        Next::TwoFactor(state) => {
            let text = two_factor::prompt(&state);
            await_next(
                ctx,
                LoginFlow::TwoFactor {
                    client,
                    state,
                    sms_requested: false,
                },
            )
            .await;
            ctx.reply(&text).await
        }
        Next::Challenge(state) => {
            let text = challenge_prompt(&state);
            await_next(ctx, LoginFlow::Challenge { client, state }).await;
            ctx.reply(&text).await
        }
        Next::Failed(e) => {
            tracing::info!(user = %ctx.sender, "Instagram login failed: {e}");
            ctx.reply(&format!("Login failed: {}", e.user_message()))
                .await
        }
    }
}

fn challenge_prompt(state: &ChallengeState) -> String {
    if state.needs_method() {
        format!(
            "Instagram wants to verify it's you and will send you a security code. Choose \
             where: {}. Or `cancel`.",
            challenge_choices(state)
        )
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

/// The choices of a `select_verify_method` step, as the user types them.
fn challenge_choices(state: &ChallengeState) -> String {
    let data = &state.step_data;
    let phone = data.get("phone_number").and_then(|v| v.as_str());
    let email = data.get("email").and_then(|v| v.as_str());
    let choice = |word: &str, to: Option<&str>| match to {
        Some(to) => format!("`{word}` (to {to})"),
        None => format!("`{word}`"),
    };
    match (phone, email) {
        (Some(p), None) => choice("sms", Some(p)),
        (None, Some(e)) => choice("email", Some(e)),
        (p, e) => format!("{} or {}", choice("sms", p), choice("email", e)),
    }
}

async fn two_factor(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    state: TwoFactorState,
    sms_requested: bool,
    input: &str,
) -> Result<(), ApplyError> {
    let keep = |client, state, sms_requested| LoginFlow::TwoFactor {
        client,
        state,
        sms_requested,
    };
    let (method, code) =
        match two_factor::parse(input, two_factor::default_method(&state, sms_requested)) {
            two_factor::Input::SendSms => {
                return match client.resend_two_factor_sms(&state).await {
                    Ok(new_state) => {
                        let text = two_factor::sms_sent(&new_state);
                        await_next(ctx, keep(client, new_state, true)).await;
                        ctx.reply(&text).await
                    }
                    Err(e) => {
                        await_next(ctx, keep(client, state, sms_requested)).await;
                        ctx.reply(&format!("Could not send the SMS: {}", e.user_message()))
                            .await
                    }
                };
            }
            two_factor::Input::Unclear(answer) => {
                await_next(ctx, keep(client, state, sms_requested)).await;
                return ctx.reply(answer).await;
            }
            two_factor::Input::Code { method, code } => (method, code),
        };
    match login_steps::submit_two_factor(&client, &state, method, code).await {
        Err(e) => {
            await_next(ctx, keep(client, state, sms_requested)).await;
            ctx.reply(&format!(
                "{} Send the code again (as `sms <code>`, `totp <code>` or `backup <code>` \
                 if it is another kind of code), or `cancel`.",
                e.user_message()
            ))
            .await
        }
        Ok(next) => handle_next(ctx, client, next).await,
    }
}

async fn challenge(
    ctx: &CommandContext<'_>,
    client: InstagramClient,
    state: ChallengeState,
    input: &str,
) -> Result<(), ApplyError> {
    let lower = input.to_lowercase();
    let answer = if state.needs_method() {
        match challenge_method(&state, &lower) {
            Ok(method) => ChallengeAnswer::Method(method),
            Err(answer) => {
                await_next(ctx, LoginFlow::Challenge { client, state }).await;
                return ctx.reply(&answer).await;
            }
        }
    } else if state.needs_confirmation() {
        ChallengeAnswer::Confirm
    } else if lower == "resend" {
        ChallengeAnswer::Resend
    } else {
        ChallengeAnswer::Code(Secret::new(input))
    };
    match login_steps::submit_challenge(&client, &state, answer).await {
        Ok(next) => handle_next(ctx, client, next).await,
        Err(e) => {
            await_next(ctx, LoginFlow::Challenge { client, state }).await;
            ctx.reply(&format!(
                "{} Send the code again, or `cancel`.",
                e.user_message()
            ))
            .await
        }
    }
}

/// The method chosen at a `select_verify_method` step, or what to tell the user.
fn challenge_method(state: &ChallengeState, lower: &str) -> Result<ChallengeMethod, String> {
    match lower.trim() {
        "sms" | "phone" | "0" => Ok(ChallengeMethod::Sms),
        "email" | "mail" | "1" => Ok(ChallengeMethod::Email),
        code if code.len() >= 4 && code.bytes().all(|b| b.is_ascii_digit() || b == b' ') => {
            Err(format!(
                "Instagram has not sent you a code yet: first choose where it should go, \
                 {}. Then send the code it sends you. Or `cancel`.",
                challenge_choices(state)
            ))
        }
        _ => Err(format!(
            "Choose where Instagram sends the security code: {}. Or `cancel`.",
            challenge_choices(state)
        )),
    }
}

/// `login-cookies <cookies | Cookie: header | cURL command | Bearer IGT:2:…>`.
pub async fn import(ctx: &CommandContext<'_>, raw_args: &str) -> Result<(), ApplyError> {
    if !ctx.is_management {
        return ctx
            .reply("For your safety, send cookies only in your private chat with me.")
            .await;
    }
    let raw_args = Secret::new(raw_args.trim());
    if raw_args.is_empty() {
        return ctx
            .reply(
                "Usage: `login-cookies <data>` where data is your instagram.com cookies as JSON, \
                 a `Cookie:` header, a copied cURL command, or a `Bearer IGT:2:…` value.",
            )
            .await;
    }
    let client = match ctx.bridge.new_instagram_client(ctx.sender.as_str()).await {
        Ok(c) => c,
        Err(e) => {
            return ctx
                .reply(&format!("Login failed: {}", e.user_message()))
                .await;
        }
    };
    match client.import_session(raw_args).await {
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
    if let Some(refusal) = login_steps::already_logged_in(bridge, mxid, &user).await? {
        return ctx.reply(&refusal).await;
    }
    login_steps::store_login(bridge, mxid, &client, &user).await?;
    ctx.reply(&format!("Successfully logged in as @{}.", user.username))
        .await?;
    if let Err(e) = login_steps::start(bridge, mxid, client, &user).await {
        ctx.reply(&format!(
            "Logged in, but connecting failed: {e}. Try `reconnect`."
        ))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn select_step(step_data: serde_json::Value) -> ChallengeState {
        ChallengeState {
            info: Default::default(),
            step_name: "select_verify_method".into(),
            step_data,
            user_id: None,
            nonce_code: None,
        }
    }

    #[test]
    fn the_challenge_prompt_lists_what_it_accepts() {
        let both = select_step(serde_json::json!({"choice": "1",
            "phone_number": "+1 ***-***-**12", "email": "a***e@example.org"}));
        let p = challenge_prompt(&both);
        assert!(
            p.contains("`sms` (to +1 ***-***-**12) or `email` (to a***e@example.org)"),
            "{p}"
        );
        assert!(p.contains("`cancel`"), "{p}");
        let email_only = select_step(serde_json::json!({"email": "a***e@example.org"}));
        let p = challenge_prompt(&email_only);
        assert!(p.contains("`email`") && !p.contains("`sms`"), "{p}");
        let unknown = select_step(serde_json::json!({}));
        assert!(challenge_prompt(&unknown).contains("`sms` or `email`"));
    }

    #[test]
    fn a_code_before_choosing_is_told_to_choose_first() {
        let st = select_step(serde_json::json!({"phone_number": "+1 **12", "email": "a***e@x"}));
        assert_eq!(challenge_method(&st, "sms"), Ok(ChallengeMethod::Sms));
        assert_eq!(challenge_method(&st, "email"), Ok(ChallengeMethod::Email));
        assert_eq!(challenge_method(&st, "1"), Ok(ChallengeMethod::Email));
        let answer = challenge_method(&st, "424242").unwrap_err();
        assert!(answer.contains("has not sent you a code yet"), "{answer}");
        assert!(answer.contains("first choose"), "{answer}");
        assert!(answer.contains("`sms` (to +1 **12)"), "{answer}");
        let answer = challenge_method(&st, "hello").unwrap_err();
        assert!(answer.contains("`sms` (to +1 **12) or `email`"), "{answer}");
    }
}
