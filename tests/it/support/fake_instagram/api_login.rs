//! Fake login endpoints: password key, login, two-factor, challenge, current_user, logout.

use rand::Rng;
use serde_json::json;

use super::state::SessionRec;
use super::state::State;
use super::{FakeInstagram, Req, Resp, authed, wire};

/// Creates a live session: `(sessionid, authorization)`.
pub(crate) fn new_session(st: &mut State, pk: i64) -> (String, String) {
    let rand: String = (0..22)
        .map(|_| {
            let c = rand::thread_rng().gen_range(0..62u8);
            (match c {
                0..=9 => b'0' + c,
                10..=35 => b'a' + c - 10,
                _ => b'A' + c - 36,
            }) as char
        })
        .collect();
    let n = st.next_counter();
    let sid = format!("{pk}%3A{rand}%3A{n}%3AAYe");
    st.sessions.push(SessionRec::new(pk, sid.clone()));
    let auth = wire::authorization_for(pk, &sid);
    (sid, auth)
}

fn with_session_headers(st: &mut State, pk: i64, resp: Resp) -> Resp {
    let (sid, auth) = new_session(st, pk);
    let n = st.next_counter();
    let shbid = format!("{n},{pk},1700000000:01f7");
    let shbts = format!("1700000{n},{pk},1700000000:01f7");
    if let Some(s) = st.sessions.iter_mut().find(|s| s.sessionid == sid) {
        s.shbid = Some(shbid.clone());
        s.shbts = Some(shbts.clone());
    }
    resp.header("ig-set-authorization", auth)
        .header("ig-set-ig-u-ds-user-id", pk.to_string())
        .header("ig-set-ig-u-rur", format!("RVA,{pk},{n}:01f7"))
        .header("x-ig-set-www-claim", format!("hmac.AR{n}claim"))
        .header("ig-set-ig-u-shbid", shbid)
        .header("ig-set-ig-u-shbts", shbts)
        .header(
            "ig-set-ig-u-ig-direct-region-hint",
            format!("LLA,{pk},1700000000:01f7"),
        )
        .header(
            "set-cookie",
            format!("sessionid={sid}; Domain=.instagram.com; HttpOnly; Path=/; Secure"),
        )
        .header(
            "set-cookie",
            format!("ds_user_id={pk}; Domain=.instagram.com; Path=/; Secure"),
        )
        .header(
            "set-cookie",
            format!("csrftoken=csrf{n}; Domain=.instagram.com; Path=/; Secure"),
        )
}

fn login_success(st: &mut State, pk: i64) -> Resp {
    let user = st.user_json(pk);
    let resp = Resp::ok(json!({"logged_in_user": user}));
    with_session_headers(st, pk, resp)
}

fn key_headers(resp: Resp, n: u128) -> Resp {
    resp.header(
        "ig-set-password-encryption-key-id",
        wire::KEY_ID.to_string(),
    )
    .header(
        "ig-set-password-encryption-pub-key",
        wire::public_key_header(),
    )
    .header("ig-set-x-mid", format!("ZfakeMID{n}"))
    .header(
        "set-cookie",
        format!("mid=ZfakeMID{n}; Domain=.instagram.com; Path=/"),
    )
}

fn challenge_step(pk: i64, nonce: &str, step: &str) -> Resp {
    let step_data = match step {
        "select_verify_method" => {
            json!({"choice": "1", "phone_number": "+1 ***-***-**12", "email": "a***e@example.org"})
        }
        "verify_code" => {
            json!({"contact_point": "+1 ***-***-**12", "form_type": "phone_number", "resend_delay": 60})
        }
        "delta_login_review" => json!({"login_time": "just now", "city": "Somewhere"}),
        _ => json!({}),
    };
    Resp::ok(
        json!({"step_name": step, "step_data": step_data, "user_id": pk, "nonce_code": nonce,
        "action": null, "flow_render_type": 3, "challenge_context": "{\"step_name\":\"\"}"}),
    )
}

pub(crate) fn route(fake: &FakeInstagram, r: &Req, segs: &[&str]) -> Option<Resp> {
    let mut st = fake.st();
    let st = &mut *st;
    let resp = match (r.method.as_str(), segs) {
        ("POST", ["launcher", "mobileconfig"]) => match r.signed() {
            Ok(_) => {
                let n = st.next_counter();
                key_headers(Resp::json(200, json!({"configs": {}, "status": "ok"})), n)
            }
            Err(e) => e,
        },
        ("GET", ["qe", "sync"]) => {
            let n = st.next_counter();
            key_headers(Resp::ok(json!({"experiments": []})), n)
        }
        ("POST", ["accounts", "login"]) => login(st, r),
        ("POST", ["accounts", "two_factor_login"]) => two_factor_login(st, r),
        ("POST", ["accounts", "send_two_factor_login_sms"]) => resend_sms(st, r),
        (m, ["challenge", rest @ ..]) => challenge(st, r, m, rest),
        ("GET", ["accounts", "current_user"]) => match authed(st, r) {
            Ok(pk) => Resp::ok(json!({"user": st.user_json(pk)})),
            Err(e) => e,
        },
        ("POST", ["accounts", "logout"]) => {
            let pk = match authed(st, r) {
                Ok(pk) => pk,
                Err(e) => return Some(e),
            };
            if let Err(e) = r.signed() {
                return Some(e);
            }
            let sid = wire::session_of(&r.headers).unwrap_or_default();
            for s in st
                .sessions
                .iter_mut()
                .filter(|s| s.sessionid == sid && s.pk == pk)
            {
                s.alive = false;
                s.logout_reason = 1;
            }
            Resp::ok(json!({"login_nonce": "nonce"}))
                .header("set-cookie", "sessionid=\"\"; Max-Age=0; Path=/")
        }
        _ => return None,
    };
    Some(resp)
}

fn login(st: &mut State, r: &Req) -> Resp {
    let f = match r.signed() {
        Ok(f) => f,
        Err(e) => return e,
    };
    for k in [
        "username",
        "enc_password",
        "guid",
        "phone_id",
        "device_id",
        "adid",
        "jazoest",
        "login_attempt_count",
        "google_tokens",
        "country_codes",
    ] {
        if !f.contains_key(k) {
            return Resp::fail(400, &format!("missing login field {k}"));
        }
    }
    if f["jazoest"] != wire::jazoest(&f["phone_id"]) {
        return Resp::fail(400, "bad jazoest");
    }
    if f["guid"] != r.headers["x-ig-device-id"] || f["device_id"] != r.headers["x-ig-android-id"] {
        return Resp::fail(400, "device ids do not match headers");
    }
    let Some(password) = wire::decrypt_enc_password(&f["enc_password"]) else {
        return Resp::fail(400, "enc_password could not be decrypted");
    };
    let Some(acc) = st.account_by_name(&f["username"]).cloned() else {
        return Resp::json(
            400,
            json!({"message": "The username you entered doesn't appear to belong to an account.",
            "invalid_credentials": true, "error_type": "invalid_user", "status": "fail"}),
        );
    };
    if let Some(et) = &acc.login_error {
        return Resp::fail_typed(400, &format!("forced {et}"), et);
    }
    if acc.password != password {
        return Resp::json(
            400,
            json!({"message": "The password you entered is incorrect.",
            "invalid_credentials": true, "error_type": "bad_password", "status": "fail"}),
        );
    }
    if let Some(tf) = &acc.two_factor {
        let id = format!("2fa-{}", st.next_counter());
        st.two_factor_ids.insert(acc.username.clone(), id.clone());
        return Resp::json(
            400,
            json!({"message": "", "two_factor_required": true, "error_type": "two_factor_required",
            "status": "fail", "two_factor_info": {"username": acc.username, "two_factor_identifier": id,
            "sms_two_factor_on": tf.sms_code.is_some(), "totp_two_factor_on": tf.totp_code.is_some(),
            "obfuscated_phone_number": "12", "show_messenger_code_option": false, "pk": acc.pk,
            "phone_verification_settings": {"max_sms_count": 2, "resend_sms_delay_sec": 60}}}),
        );
    }
    if let Some(ch) = &acc.challenge {
        let nonce = format!("N{}", st.next_counter());
        st.challenges
            .insert(nonce.clone(), (acc.pk, ch.first_step.clone()));
        let ctx =
            json!({"step_name": "", "nonce_code": nonce, "user_id": acc.pk, "is_stateless": false})
                .to_string();
        return Resp::json(
            400,
            json!({"message": "challenge_required", "status": "fail",
            "error_type": "checkpoint_challenge_required",
            "challenge": {"url": format!("https://i.instagram.com/challenge/{}/{nonce}/", acc.pk),
                "api_path": format!("/challenge/{}/{nonce}/", acc.pk), "hide_webview_header": true,
                "lock": true, "logout": false, "native_flow": true, "challenge_context": ctx}}),
        );
    }
    login_success(st, acc.pk)
}

fn two_factor_login(st: &mut State, r: &Req) -> Resp {
    let f = match r.signed() {
        Ok(f) => f,
        Err(e) => return e,
    };
    for k in [
        "verification_code",
        "two_factor_identifier",
        "username",
        "trust_this_device",
        "guid",
        "device_id",
        "verification_method",
    ] {
        if !f.contains_key(k) {
            return Resp::fail(400, &format!("missing two-factor field {k}"));
        }
    }
    let Some(acc) = st.account_by_name(&f["username"]).cloned() else {
        return Resp::fail_typed(400, "unknown user", "invalid_user");
    };
    if st.two_factor_ids.get(&acc.username) != Some(&f["two_factor_identifier"]) {
        return Resp::fail_typed(
            400,
            "This code is no longer valid. Please request a new one.",
            "invalid_nonce",
        );
    }
    let Some(tf) = &acc.two_factor else {
        return Resp::fail(400, "two-factor is off");
    };
    // Each kind of code is checked only as its own kind: an SMS code sent as an app code
    // (method 3) is refused, and the other way round.
    let expected = match f["verification_method"].as_str() {
        "1" => &tf.sms_code,
        "2" => &tf.backup_code,
        "3" => &tf.totp_code,
        _ => return Resp::fail(400, "bad verification_method"),
    };
    if expected.as_deref() != Some(f["verification_code"].as_str()) {
        return Resp::fail_typed(
            400,
            "Please check the security code and try again.",
            "sms_code_validation_code_invalid",
        );
    }
    st.two_factor_ids.remove(&acc.username);
    login_success(st, acc.pk)
}

fn resend_sms(st: &mut State, r: &Req) -> Resp {
    let f = match r.signed() {
        Ok(f) => f,
        Err(e) => return e,
    };
    let user = f.get("username").cloned().unwrap_or_default();
    if st.two_factor_ids.get(&user) != f.get("two_factor_identifier") {
        return Resp::fail_typed(400, "This code is no longer valid.", "invalid_nonce");
    }
    let id = format!("2fa-{}", st.next_counter());
    st.two_factor_ids.insert(user.clone(), id.clone());
    // The account's settings, as at login: an account with an authenticator app still says
    // `totp_two_factor_on` after an SMS was sent.
    let tf = st
        .account_by_name(&user)
        .and_then(|a| a.two_factor.clone())
        .unwrap_or_default();
    Resp::ok(
        json!({"two_factor_info": {"username": user, "two_factor_identifier": id,
        "sms_two_factor_on": true, "totp_two_factor_on": tf.totp_code.is_some(),
        "obfuscated_phone_number": "12"}}),
    )
}

fn challenge(st: &mut State, r: &Req, method: &str, rest: &[&str]) -> Resp {
    let (action, pk, nonce) = match rest {
        [pk, nonce] => ("step", *pk, *nonce),
        [a @ ("reset" | "replay"), pk, nonce] => (*a, *pk, *nonce),
        _ => return Resp::fail(404, "bad challenge path"),
    };
    let Some((cpk, step)) = st.challenges.get(nonce).cloned() else {
        return Resp::fail(400, "challenge not found");
    };
    if cpk.to_string() != pk {
        return Resp::fail(400, "challenge user mismatch");
    }
    let Some(acc) = st.account(cpk).cloned() else {
        return Resp::fail(400, "no account");
    };
    let code = acc
        .challenge
        .as_ref()
        .map(|c| c.code.clone())
        .unwrap_or_default();
    if method == "GET" {
        if r.q("guid").is_none() || r.q("device_id").is_none() {
            return Resp::fail(400, "missing guid/device_id");
        }
        return challenge_step(cpk, nonce, &step);
    }
    let f = match r.signed() {
        Ok(f) => f,
        Err(e) => return e,
    };
    if !f.contains_key("guid") || !f.contains_key("device_id") {
        return Resp::fail(400, "missing guid/device_id");
    }
    let first = acc
        .challenge
        .as_ref()
        .map(|c| c.first_step.clone())
        .unwrap_or_default();
    let next = match (action, step.as_str()) {
        ("reset", _) => first,
        ("replay", s) => s.to_owned(),
        (_, "select_verify_method") => {
            if !matches!(f.get("choice").map(String::as_str), Some("0" | "1")) {
                return Resp::fail(400, "bad choice");
            }
            "verify_code".to_owned()
        }
        (_, "delta_login_review") => {
            st.challenges.remove(nonce);
            let resp = Resp::ok(json!({"action": "close", "status": "ok"}));
            return with_session_headers(st, cpk, resp);
        }
        (_, "verify_code") => {
            if f.get("security_code") != Some(&code) {
                return Resp::fail(400, "Please check the code we sent you and try again.");
            }
            st.challenges.remove(nonce);
            let user = st.user_json(cpk);
            let resp = Resp::ok(json!({"action": "close", "logged_in_user": user}));
            return with_session_headers(st, cpk, resp);
        }
        (_, other) => {
            return Resp::fail(
                400,
                &format!("step {other} cannot be answered over the API"),
            );
        }
    };
    st.challenges.insert(nonce.to_owned(), (cpk, next.clone()));
    challenge_step(cpk, nonce, &next)
}
