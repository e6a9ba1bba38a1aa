//! The login machinery shared by the bot's login conversation (`commands/login.rs`) and the
//! provisioning API (`provisioning/login.rs`): what an Instagram login answer asks for next,
//! how a two-factor or challenge answer is submitted (and when the same step may simply be
//! tried again), and how a finished login is stored and started. Neither caller talks to
//! Instagram's login endpoints any other way.

use std::sync::Arc;

use crate::bridge::Bridge;
use crate::bridge::account::StartError;
use crate::bridge::error::ApplyError;
use crate::instagram::Error;
use crate::instagram::http::{
    ChallengeMethod, ChallengeState, InstagramClient, LoginOutcome, TwoFactorMethod, TwoFactorState,
};
use crate::instagram::types::User;
use crate::secret::Secret;

/// What a login needs after an answer from Instagram.
pub enum Next {
    /// Logged in: [`complete`] stores and starts it.
    LoggedIn(User),
    TwoFactor(TwoFactorState),
    Challenge(ChallengeState),
    /// The login failed and must start again.
    Failed(Error),
}

/// The next step of a login after Instagram's answer.
pub fn next_step(outcome: Result<LoginOutcome, Error>) -> Next {
    match outcome {
        Ok(LoginOutcome::LoggedIn(user)) => Next::LoggedIn(user),
        Ok(LoginOutcome::TwoFactorRequired(state)) => Next::TwoFactor(state),
        Ok(LoginOutcome::ChallengeRequired(state)) => Next::Challenge(state),
        Err(e) => Next::Failed(e),
    }
}

/// The answer to a challenge step.
pub enum ChallengeAnswer {
    /// Where the code should go (a `select_verify_method` step).
    Method(ChallengeMethod),
    /// "It was me" (a confirmation step).
    Confirm,
    /// Send the code again.
    Resend,
    Code(Secret),
}

/// Submits a two-factor code. `Err` is a wrong code: the same step may be tried again.
pub async fn submit_two_factor(
    client: &InstagramClient,
    state: &TwoFactorState,
    method: TwoFactorMethod,
    code: Secret,
) -> Result<Next, Error> {
    match client.two_factor_login(state, code, method, true).await {
        Err(e) if matches!(e, Error::BadCode { .. }) => Err(e),
        other => Ok(next_step(other)),
    }
}

/// Submits a challenge answer. `Err` is a code refused without ending the challenge: the same
/// step may be tried again.
pub async fn submit_challenge(
    client: &InstagramClient,
    state: &ChallengeState,
    answer: ChallengeAnswer,
) -> Result<Next, Error> {
    let outcome = match answer {
        ChallengeAnswer::Method(method) => client.challenge_select(state, method).await,
        ChallengeAnswer::Confirm => client.challenge_confirm(state).await,
        ChallengeAnswer::Resend => client.challenge_replay(state).await,
        ChallengeAnswer::Code(code) => match client.challenge_submit_code(state, code).await {
            Err(e) if !e.is_session_dead() && !e.needs_user_action() => return Err(e),
            other => other,
        },
    };
    Ok(next_step(outcome))
}

/// Why a finished login is not taken: that Instagram account is logged in here already
/// (`None`: it may be stored). Said to the user as it is.
pub async fn already_logged_in(
    bridge: &Bridge,
    mxid: &str,
    user: &User,
) -> Result<Option<String>, ApplyError> {
    let Some(row) = bridge.store.get_login(user.pk.get()).await? else {
        return Ok(None);
    };
    Ok(Some(if row.mxid == mxid {
        format!("You're already logged in as @{}.", user.username)
    } else {
        format!(
            "@{} is already logged in to this bridge by another Matrix user; log it out \
             there first.",
            user.username
        )
    }))
}

/// Stores a finished login (the account is started by [`start`], once the user was told).
pub async fn store_login(
    bridge: &Bridge,
    mxid: &str,
    client: &InstagramClient,
    user: &User,
) -> Result<(), ApplyError> {
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
    Ok(())
}

/// Starts the account of a stored login. An error leaves the login stored but not connected
/// (the user can `reconnect`).
pub async fn start(
    bridge: &Arc<Bridge>,
    mxid: &str,
    client: InstagramClient,
    user: &User,
) -> Result<(), StartError> {
    crate::bridge::account::start_user(bridge, mxid, client, user.username.clone(), true)
        .await
        .map(|_| ())
}

/// Logs one login (`pk`) of a user out of Instagram and forgets its session; false when the
/// user has no such login. The user's other logins run on.
pub async fn logout(bridge: &Bridge, mxid: &str, pk: i64) -> Result<bool, ApplyError> {
    let running = bridge.accounts.remove_if(&pk, |_, u| u.mxid == mxid);
    if let Some((_, u)) = &running {
        if let Err(e) = u.client.logout().await {
            tracing::info!(user = %mxid, login = pk, "Instagram logout call failed: {e}");
        }
        u.stop().await;
    }
    let stored = match bridge.store.get_login(pk).await? {
        Some(login) if login.mxid == mxid => bridge.store.delete_login(pk).await?,
        _ => false,
    };
    if !bridge.has_login(mxid) {
        super::puppet::stop(bridge, mxid);
    }
    Ok(running.is_some() || stored)
}
