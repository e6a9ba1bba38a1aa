use super::*;

fn two_factor_state(totp: bool) -> TwoFactorState {
    TwoFactorState {
        username: "me".into(),
        two_factor_identifier: "id".into(),
        sms_two_factor_on: true,
        totp_two_factor_on: totp,
        obfuscated_phone_number: Some("**12".into()),
    }
}

#[test]
fn the_password_step_asks_for_username_and_password() {
    let s = password("p1");
    assert_eq!(s["type"], "user_input");
    assert_eq!(s["login_id"], "p1");
    assert_eq!(s["step_id"], STEP_PASSWORD);
    let fields = s["user_input"]["fields"].as_array().expect("fields");
    let ids: Vec<_> = fields.iter().map(|f| (&f["type"], &f["id"])).collect();
    assert_eq!(
        ids,
        [
            (&"username".into(), &"username".into()),
            (&"password".into(), &"password".into())
        ]
    );
}

#[test]
fn the_two_factor_step_offers_the_accounts_methods() {
    let s = two_factor("p", &two_factor_state(true), false, "");
    assert_eq!(s["step_id"], STEP_TWO_FACTOR);
    let method = &s["user_input"]["fields"][0];
    assert_eq!(method["type"], "select");
    assert_eq!(
        method["options"],
        serde_json::json!(["app", "sms", "backup_code"])
    );
    assert_eq!(method["default_value"], "app");
    assert_eq!(s["user_input"]["fields"][1]["type"], "2fa_code");
    assert!(s["instructions"].as_str().expect("text").contains("**12"));
    let sms_only = two_factor("p", &two_factor_state(false), false, "Wrong code. ");
    assert_eq!(
        sms_only["user_input"]["fields"][0]["options"],
        serde_json::json!(["sms", "backup_code"])
    );
    assert_eq!(sms_only["user_input"]["fields"][0]["default_value"], "sms");
    assert!(
        sms_only["instructions"]
            .as_str()
            .expect("text")
            .starts_with("Wrong code. ")
    );
    assert_eq!(
        parse_method("backup_code"),
        Some(TwoFactorMethod::BackupCode)
    );
    assert_eq!(parse_method("app"), Some(TwoFactorMethod::Totp));
    assert_eq!(parse_method("carrier pigeon"), None);
}

fn challenge_state(step_name: &str, step_data: Value) -> ChallengeState {
    ChallengeState {
        info: Default::default(),
        step_name: step_name.into(),
        step_data,
        user_id: None,
        nonce_code: None,
    }
}

#[test]
fn the_challenge_steps_ask_for_a_method_a_confirmation_or_a_code() {
    let both = challenge_state(
        "select_verify_method",
        serde_json::json!({"phone_number": "+1 **12", "email": "a***@x"}),
    );
    let (s, id) = challenge("p", &both, "");
    assert_eq!(id, STEP_CHALLENGE_METHOD);
    assert_eq!(
        s["user_input"]["fields"][0]["options"],
        serde_json::json!(["sms", "email"])
    );
    let email = challenge_state("select_verify_method", serde_json::json!({"email": "a@x"}));
    assert_eq!(
        challenge("p", &email, "").0["user_input"]["fields"][0]["options"],
        serde_json::json!(["email"])
    );
    let (s, id) = challenge("p", &challenge_state("delta_login_review", Value::Null), "");
    assert_eq!(id, STEP_CHALLENGE_CONFIRM);
    assert_eq!(s["user_input"]["fields"], serde_json::json!([]));
    let code = challenge_state(
        "verify_code",
        serde_json::json!({"contact_point": "+1 **12"}),
    );
    let (s, id) = challenge("p", &code, "");
    assert_eq!(id, STEP_CHALLENGE_CODE);
    assert_eq!(s["user_input"]["fields"][0]["type"], "2fa_code");
    assert!(
        s["instructions"]
            .as_str()
            .expect("text")
            .contains("+1 **12")
    );
}

#[test]
fn the_cookie_step_and_the_complete_step_have_the_bridgev2_shapes() {
    let s = cookies("p");
    assert_eq!(s["type"], "cookies");
    let fields = s["cookies"]["fields"].as_array().expect("fields");
    assert!(
        fields
            .iter()
            .any(|f| f["type"] == "cookie" && f["name"] == "sessionid")
    );
    assert!(fields.iter().all(|f| f["sources"][0]["type"] == "cookie"));
    assert!(
        s["cookies"]["url"]
            .as_str()
            .expect("url")
            .starts_with("https://www.instagram.com/")
    );
    let c = complete("p", 42, "me", "");
    assert_eq!(c["type"], "complete");
    assert_eq!(c["complete"]["user_login_id"], "42");
    assert_eq!(c["instructions"], "Successfully logged in as @me.");
}
