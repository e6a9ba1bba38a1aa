//! `login/start/{flow}`, `login/step/{process}/{step}/{kind}`, `login/cancel/{process}`: the
//! password (→ two-factor → challenge) and cookie logins as bridgev2 login steps, on the
//! bridge's own login machinery ([`crate::bridge::login_steps`]). Passwords, codes and cookies
//! are held as [`Secret`]s and never logged.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::Provisioning;
use super::error::ProvError;
use super::process::Stage;
use super::steps;
use crate::bridge::login_steps::{self, ChallengeAnswer, Next};
use crate::instagram::http::{
    ChallengeMethod, ChallengeState, InstagramClient, TwoFactorMethod, TwoFactorState,
};
use crate::secret::Secret;

/// The fields a step's submission carries (values are secrets: passwords, codes, cookies).
pub type Fields = BTreeMap<String, Secret>;

pub async fn start(prov: &Provisioning, mxid: &str, flow: &str) -> Result<Value, ProvError> {
    let (stage, step_id) = match flow {
        "password" => (Stage::Password, steps::STEP_PASSWORD),
        "cookies" => (Stage::Cookies, steps::STEP_COOKIES),
        _ => return Err(ProvError::NotFound("No such login flow".into())),
    };
    let id = prov.processes.put(None, mxid, stage, step_id);
    Ok(match flow {
        "password" => steps::password(&id),
        _ => steps::cookies(&id),
    })
}

pub async fn step(
    prov: &Arc<Provisioning>,
    mxid: &str,
    (id, step_id, kind): (&str, &str, &str),
    fields: Fields,
) -> Result<Value, ProvError> {
    let process = prov
        .processes
        .take(id, mxid)
        .ok_or_else(|| ProvError::NotFound("Login process not found".into()))?;
    let expected_kind = match process.stage {
        Stage::Cookies => "cookies",
        _ => "user_input",
    };
    if process.step_id != step_id || kind != expected_kind {
        let step = process.step_id;
        prov.processes
            .put(Some(id.into()), mxid, process.stage, step);
        return Err(ProvError::BadState("Step id or type does not match".into()));
    }
    match process.stage {
        Stage::Password => password(prov, mxid, id, &fields).await,
        Stage::Cookies => cookies(prov, mxid, id, &fields).await,
        Stage::TwoFactor { client, state } => {
            two_factor(prov, mxid, id, client, state, &fields).await
        }
        Stage::Challenge { client, state } => {
            challenge(prov, mxid, id, client, state, &fields).await
        }
    }
}

/// A field's value, trimmed ("" when absent).
fn field<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map(|v| v.expose().trim()).unwrap_or("")
}

async fn password(
    prov: &Arc<Provisioning>,
    mxid: &str,
    id: &str,
    fields: &Fields,
) -> Result<Value, ProvError> {
    let username = field(fields, "username")
        .trim_start_matches('@')
        .to_string();
    let password = fields.get("password").cloned().unwrap_or_default();
    if username.is_empty() || password.is_empty() {
        return Err(ProvError::BadJson(
            "username and password are required".into(),
        ));
    }
    let client = new_client(prov, mxid).await?;
    let next = login_steps::next_step(client.login(&username, password).await);
    advance(prov, mxid, id, client, next).await
}

async fn cookies(
    prov: &Arc<Provisioning>,
    mxid: &str,
    id: &str,
    fields: &Fields,
) -> Result<Value, ProvError> {
    let client = new_client(prov, mxid).await?;
    let jar: BTreeMap<&str, &str> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let json = Secret::new(serde_json::to_string(&jar).unwrap_or_default());
    match client.import_session(json).await {
        Ok(user) => advance(prov, mxid, id, client, Next::LoggedIn(user)).await,
        Err(e) => Err(ProvError::LoginFailed(format!(
            "Those cookies didn't work: {}",
            e.user_message()
        ))),
    }
}

async fn two_factor(
    prov: &Arc<Provisioning>,
    mxid: &str,
    id: &str,
    client: InstagramClient,
    state: TwoFactorState,
    fields: &Fields,
) -> Result<Value, ProvError> {
    let method =
        steps::parse_method(field(fields, "method")).unwrap_or(if state.totp_two_factor_on {
            TwoFactorMethod::Totp
        } else {
            TwoFactorMethod::Sms
        });
    let code = field(fields, "code").replace(' ', "");
    let (state, note) = if code.is_empty() && method == TwoFactorMethod::Sms {
        match client.resend_two_factor_sms(&state).await {
            Ok(state) => (state, "A code is on its way by SMS. ".to_string()),
            Err(e) => return Err(ProvError::LoginFailed(e.user_message())),
        }
    } else {
        match login_steps::submit_two_factor(&client, &state, method, Secret::new(code)).await {
            Ok(next) => return advance(prov, mxid, id, client, next).await,
            Err(e) => (state, format!("{} ", e.user_message())),
        }
    };
    let step = steps::two_factor(id, &state, method == TwoFactorMethod::Sms, &note);
    let stage = Stage::TwoFactor { client, state };
    prov.processes
        .put(Some(id.into()), mxid, stage, steps::STEP_TWO_FACTOR);
    Ok(step)
}

async fn challenge(
    prov: &Arc<Provisioning>,
    mxid: &str,
    id: &str,
    client: InstagramClient,
    state: ChallengeState,
    fields: &Fields,
) -> Result<Value, ProvError> {
    let answer = if state.needs_method() {
        match field(fields, "method") {
            "sms" => ChallengeAnswer::Method(ChallengeMethod::Sms),
            "email" => ChallengeAnswer::Method(ChallengeMethod::Email),
            _ => return Err(ProvError::BadJson("method must be sms or email".into())),
        }
    } else if state.needs_confirmation() {
        ChallengeAnswer::Confirm
    } else {
        ChallengeAnswer::Code(Secret::new(field(fields, "code").replace(' ', "")))
    };
    match login_steps::submit_challenge(&client, &state, answer).await {
        Ok(next) => advance(prov, mxid, id, client, next).await,
        Err(e) => {
            let (step, step_id) = steps::challenge(id, &state, &format!("{} ", e.user_message()));
            let stage = Stage::Challenge { client, state };
            prov.processes.put(Some(id.into()), mxid, stage, step_id);
            Ok(step)
        }
    }
}

async fn new_client(prov: &Provisioning, mxid: &str) -> Result<InstagramClient, ProvError> {
    prov.bridge
        .new_instagram_client(mxid)
        .await
        .map_err(|e| ProvError::LoginFailed(e.user_message()))
}

/// The step after Instagram's answer; a finished login is stored and started.
async fn advance(
    prov: &Arc<Provisioning>,
    mxid: &str,
    id: &str,
    client: InstagramClient,
    next: Next,
) -> Result<Value, ProvError> {
    match next {
        Next::LoggedIn(user) => {
            if let Some(refusal) = login_steps::already_logged_in(&prov.bridge, mxid, &user).await?
            {
                return Err(ProvError::BadState(refusal));
            }
            login_steps::store_login(&prov.bridge, mxid, &client, &user).await?;
            let note = match login_steps::start(&prov.bridge, mxid, client, &user).await {
                Ok(()) => String::new(),
                Err(e) => format!(" Connecting failed: {e}. Try `reconnect` with the bot."),
            };
            Ok(steps::complete(id, user.pk.get(), &user.username, &note))
        }
        Next::TwoFactor(state) => {
            let step = steps::two_factor(id, &state, false, "");
            let stage = Stage::TwoFactor { client, state };
            prov.processes
                .put(Some(id.into()), mxid, stage, steps::STEP_TWO_FACTOR);
            Ok(step)
        }
        Next::Challenge(state) => {
            let (step, step_id) = steps::challenge(id, &state, "");
            let stage = Stage::Challenge { client, state };
            prov.processes.put(Some(id.into()), mxid, stage, step_id);
            Ok(step)
        }
        Next::Failed(e) => {
            tracing::info!(user = %mxid, "Instagram login (provisioning) failed: {e}");
            Err(ProvError::LoginFailed(format!(
                "Login failed: {}",
                e.user_message()
            )))
        }
    }
}
