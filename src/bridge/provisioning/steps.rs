//! The JSON shapes of the API: login flows and login steps (`user_input`, `cookies`,
//! `complete`) as bridgev2 clients read them, and the step ids of this bridge.

use serde_json::{Value, json};

use crate::instagram::http::{ChallengeState, TwoFactorMethod, TwoFactorState};

pub const STEP_PASSWORD: &str = "net.matrix_instagram.password";
pub const STEP_COOKIES: &str = "net.matrix_instagram.cookies";
pub const STEP_TWO_FACTOR: &str = "net.matrix_instagram.two_factor";
pub const STEP_CHALLENGE_METHOD: &str = "net.matrix_instagram.challenge.method";
pub const STEP_CHALLENGE_CONFIRM: &str = "net.matrix_instagram.challenge.confirm";
pub const STEP_CHALLENGE_CODE: &str = "net.matrix_instagram.challenge.code";
pub const STEP_COMPLETE: &str = "net.matrix_instagram.complete";

/// The cookies a session import needs (and may use).
pub const COOKIES: [&str; 5] = ["sessionid", "ds_user_id", "csrftoken", "mid", "ig_did"];

/// The two-factor methods as the `method` field names them.
pub const METHOD_APP: &str = "app";
pub const METHOD_SMS: &str = "sms";
pub const METHOD_BACKUP: &str = "backup_code";

pub fn flows() -> Value {
    json!([
        {"id": "password", "name": "Password",
         "description": "Log in with your Instagram username and password"},
        {"id": "cookies", "name": "Cookies",
         "description": "Log in with the cookies of a logged-in instagram.com browser session"},
    ])
}

fn field(kind: &str, id: &str, name: &str) -> Value {
    json!({"type": kind, "id": id, "name": name})
}

fn user_input(process: &str, step_id: &str, instructions: &str, fields: Vec<Value>) -> Value {
    json!({
        "login_id": process,
        "type": "user_input",
        "step_id": step_id,
        "instructions": instructions,
        "user_input": {"fields": fields},
    })
}

pub fn password(process: &str) -> Value {
    user_input(
        process,
        STEP_PASSWORD,
        "Enter your Instagram username and password.",
        vec![
            field("username", "username", "Username"),
            field("password", "password", "Password"),
        ],
    )
}

pub fn cookies(process: &str) -> Value {
    let fields: Vec<Value> = COOKIES
        .iter()
        .map(|name| {
            json!({
                // The fields in both the older (type/name) and newer (id/sources) shapes.
                "type": "cookie", "name": name, "cookie_domain": "instagram.com",
                "id": name, "required": *name == "sessionid",
                "sources": [{"type": "cookie", "name": name, "cookie_domain": "instagram.com"}],
            })
        })
        .collect();
    json!({
        "login_id": process,
        "type": "cookies",
        "step_id": STEP_COOKIES,
        "instructions": "Log in to instagram.com in the browser, then send its cookies.",
        "cookies": {
            "url": "https://www.instagram.com/accounts/login/",
            "wait_for_url_pattern": "^https://www\\.instagram\\.com/(?:direct/.*)?$",
            "fields": fields,
        },
    })
}

/// The method field's default: what Instagram sent, else the account's app.
pub fn default_method(state: &TwoFactorState, sms_requested: bool) -> &'static str {
    if sms_requested || !state.totp_two_factor_on {
        METHOD_SMS
    } else {
        METHOD_APP
    }
}

/// The `method` field's value, as the client sent it.
pub fn parse_method(value: &str) -> Option<TwoFactorMethod> {
    match value {
        METHOD_APP | "totp" => Some(TwoFactorMethod::Totp),
        METHOD_SMS => Some(TwoFactorMethod::Sms),
        METHOD_BACKUP | "backup" => Some(TwoFactorMethod::BackupCode),
        _ => None,
    }
}

/// The two-factor step. `note` goes before the instructions (a wrong code, an SMS sent).
pub fn two_factor(process: &str, state: &TwoFactorState, sms: bool, note: &str) -> Value {
    let mut options = vec![METHOD_SMS, METHOD_BACKUP];
    if state.totp_two_factor_on {
        options.insert(0, METHOD_APP);
    }
    let mut method = field("select", "method", "Kind of code");
    method["options"] = json!(options);
    method["default_value"] = json!(default_method(state, sms));
    let mut code = field("2fa_code", "code", "Code");
    code["description"] = json!("Leave empty with the kind sms to get a new code by SMS");
    let to = state
        .obfuscated_phone_number
        .as_deref()
        .map(|p| format!(" (an SMS goes to {p})"))
        .unwrap_or_default();
    let text =
        format!("{note}Enter the code from your authenticator app, an SMS{to}, or a backup code.");
    user_input(
        process,
        STEP_TWO_FACTOR,
        text.trim_start(),
        vec![method, code],
    )
}

/// The challenge step for `state`.
pub fn challenge(process: &str, state: &ChallengeState, note: &str) -> (Value, &'static str) {
    if state.needs_method() {
        let mut options = Vec::new();
        let data = &state.step_data;
        if data.get("phone_number").is_some() || data.get("email").is_none() {
            options.push("sms");
        }
        if data.get("email").is_some() || data.get("phone_number").is_none() {
            options.push("email");
        }
        let mut method = field("select", "method", "Send the code by");
        method["options"] = json!(options);
        let text =
            format!("{note}Instagram wants to verify it's you and will send you a security code.");
        let step = user_input(
            process,
            STEP_CHALLENGE_METHOD,
            text.trim_start(),
            vec![method],
        );
        (step, STEP_CHALLENGE_METHOD)
    } else if state.needs_confirmation() {
        let text = format!("{note}Instagram asks you to confirm that this login is yours.");
        let step = user_input(process, STEP_CHALLENGE_CONFIRM, text.trim_start(), vec![]);
        (step, STEP_CHALLENGE_CONFIRM)
    } else {
        let to = state
            .contact_point()
            .map(|c| format!(" to {c}"))
            .unwrap_or_default();
        let text = format!("{note}Instagram sent a security code{to}. Enter it.");
        let fields = vec![field("2fa_code", "code", "Security code")];
        let step = user_input(process, STEP_CHALLENGE_CODE, text.trim_start(), fields);
        (step, STEP_CHALLENGE_CODE)
    }
}

pub fn complete(process: &str, pk: i64, username: &str, note: &str) -> Value {
    json!({
        "login_id": process,
        "type": "complete",
        "step_id": STEP_COMPLETE,
        "instructions": format!("Successfully logged in as @{username}.{note}"),
        "complete": {"user_login_id": pk.to_string()},
    })
}

#[cfg(test)]
#[path = "steps_tests.rs"]
mod tests;
