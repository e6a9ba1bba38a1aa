//! Every login path against the fake.

use matrix_instagram::instagram::Error;
use matrix_instagram::instagram::http::{ChallengeMethod, LoginOutcome, TwoFactorMethod};
use serde_json::json;

use super::common::*;
use crate::support::fake_instagram::{Challenge, TwoFactor};

#[tokio::test]
async fn password_login_sends_signed_encrypted_request_and_captures_session() {
    let fake = fake().await;
    let c = client(&fake, "@alice:example.org");
    let user = logged_in_user(c.login("alice", PASSWORD).await.unwrap());
    assert_eq!(user.username, "alice");
    // password key fetch was signed
    let mc = fake.last_request("/launcher/mobileconfig/").unwrap();
    assert!(mc.signed.is_some());
    let login = fake.last_request("/accounts/login/").unwrap();
    assert_eq!(login.status, 200);
    let f = login.fields();
    assert!(login.signed.is_some() && login.form.len() == 1);
    assert!(f["enc_password"].starts_with("#PWD_INSTAGRAM:4:"));
    assert!(!f["enc_password"].contains(PASSWORD));
    assert_eq!(
        f["country_codes"],
        r#"[{"country_code":"1","source":"default"}]"#
    );
    assert_eq!(f["google_tokens"], "[]");
    // the session carries everything of A.5
    let s = c.session();
    assert!(
        s.authorization
            .as_deref()
            .unwrap()
            .starts_with("Bearer IGT:2:")
    );
    assert!(
        s.www_claim.is_some() && s.rur.is_some() && s.shbid.is_some() && s.region_hint.is_some()
    );
    assert!(s.cookies.contains_key("sessionid") && s.cookies.contains_key("csrftoken"));
    assert_eq!(s.user_pk().unwrap().get(), ALICE);
    // and the next request sends it back
    c.current_user().await.unwrap();
    let cu = fake.last_request("/accounts/current_user/").unwrap();
    assert_eq!(cu.header("authorization"), s.authorization.as_deref());
    assert_eq!(cu.header("x-ig-www-claim"), s.www_claim.as_deref());
    assert_eq!(cu.header("ig-u-rur"), s.rur.as_deref());
    assert_eq!(cu.header("ig-intended-user-id"), Some("1001"));
    assert_eq!(cu.header("ig-u-ds-user-id"), Some("1001"));
    assert_eq!(cu.header("x-mid"), s.mid());
    assert_eq!(cu.query_param("edit"), Some("true"));
    // the realtime password is accepted by the shared fake state
    assert_eq!(
        fake.account_for_mqtt_password(&c.mqtt_password().unwrap()),
        Some(ALICE)
    );
    let sid = s.sessionid().unwrap();
    assert_eq!(
        fake.account_for_mqtt_password(&format!("sessionid={sid}")),
        Some(ALICE)
    );
}

#[tokio::test]
async fn login_errors_are_typed() {
    let fake = fake().await;
    let c = client(&fake, "@alice:example.org");
    let e = c.login("alice", "wrong").await.unwrap_err();
    assert!(matches!(e, Error::BadPassword { .. }), "{e:?}");
    let e = c.login("nobody", "x").await.unwrap_err();
    assert!(matches!(e, Error::InvalidUser { .. }), "{e:?}");
    fake.set_login_error("alice", Some("sentry_block"));
    let e = c.login("alice", PASSWORD).await.unwrap_err();
    assert!(
        matches!(e, Error::SentryBlock { .. }) && !e.is_transient(),
        "{e:?}"
    );
    fake.set_login_error("alice", Some("inactive_user"));
    let e = c.login("alice", PASSWORD).await.unwrap_err();
    assert!(
        matches!(e, Error::InactiveUser { .. }) && e.is_session_dead(),
        "{e:?}"
    );
    fake.set_login_error("alice", None);
    fake.inject("/accounts/login/", 400, json!({"message": "checkpoint_required", "checkpoint_url": "https://i.instagram.com/challenge/x/", "lock": true, "status": "fail"}), 1);
    let e = c.login("alice", PASSWORD).await.unwrap_err();
    assert!(
        matches!(e, Error::CheckpointRequired { .. }) && e.needs_user_action(),
        "{e:?}"
    );
    assert!(e.user_message().contains("Open the Instagram app"));
    fake.inject("/accounts/login/", 400, json!({"message": "consent_required", "consent_data": {"headline": "Updates to our terms"}, "status": "fail"}), 1);
    let e = c.login("alice", PASSWORD).await.unwrap_err();
    assert!(matches!(e, Error::ConsentRequired { .. }), "{e:?}");
    fake.inject(
        "/accounts/login/",
        400,
        json!({"message": "", "error_type": "needs_upgrade", "status": "fail"}),
        1,
    );
    assert!(matches!(
        c.login("alice", PASSWORD).await.unwrap_err(),
        Error::NeedsUpgrade { .. }
    ));
    // still works afterwards
    logged_in_user(c.login("alice", PASSWORD).await.unwrap());
}

#[tokio::test]
async fn enc_password_with_a_foreign_key_is_rejected() {
    use base64::Engine;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let fake = fake().await;
    let c = client(&fake, "@alice:example.org");
    let mut s = c.session();
    let other = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let pem = other
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    s.password_key_id = Some(117);
    s.password_pub_key = Some(base64::engine::general_purpose::STANDARD.encode(pem));
    let c =
        matrix_instagram::instagram::http::InstagramClient::with_session(config(&fake), s).unwrap();
    let e = c.login("alice", PASSWORD).await.unwrap_err();
    match e {
        Error::Api {
            status: 400,
            message,
            ..
        } => assert!(message.contains("enc_password"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn two_factor_totp_sms_backup_and_resend() {
    let fake = fake().await;
    fake.set_two_factor(
        "alice",
        TwoFactor {
            totp_code: Some("123456".into()),
            sms_code: Some("654321".into()),
            backup_code: Some("11112222".into()),
        },
    );
    let c = client(&fake, "@alice:example.org");
    let LoginOutcome::TwoFactorRequired(state) = c.login("alice", PASSWORD).await.unwrap() else {
        panic!("expected two-factor");
    };
    assert!(state.totp_two_factor_on && state.sms_two_factor_on);
    assert_eq!(state.obfuscated_phone_number.as_deref(), Some("12"));
    let e = c
        .two_factor_login(&state, "000000", TwoFactorMethod::Totp, true)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BadCode { .. }), "{e:?}");
    let u = logged_in_user(
        c.two_factor_login(&state, "123 456", TwoFactorMethod::Totp, true)
            .await
            .unwrap(),
    );
    assert_eq!(u.pk.get(), ALICE);
    let req = fake.last_request("/accounts/two_factor_login/").unwrap();
    assert!(req.signed.is_some());
    let f = req.fields();
    assert_eq!(
        (
            f["verification_method"].as_str(),
            f["trust_this_device"].as_str(),
            f["verification_code"].as_str()
        ),
        ("3", "1", "123456")
    );

    // SMS with a resend: the old identifier becomes stale
    let c = client(&fake, "@alice2:example.org");
    let LoginOutcome::TwoFactorRequired(old) = c.login("alice", PASSWORD).await.unwrap() else {
        panic!()
    };
    let new = c.resend_two_factor_sms(&old).await.unwrap();
    assert_ne!(new.two_factor_identifier, old.two_factor_identifier);
    let e = c
        .two_factor_login(&old, "654321", TwoFactorMethod::Sms, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::ExpiredNonce { .. }), "{e:?}");
    // The account still has its app: Instagram says so after the SMS too, and an SMS code
    // submitted as an app code (method 3) is refused.
    assert!(new.totp_two_factor_on);
    let e = c
        .two_factor_login(&new, "654321", TwoFactorMethod::Totp, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BadCode { .. }), "{e:?}");
    logged_in_user(
        c.two_factor_login(&new, "654321", TwoFactorMethod::Sms, false)
            .await
            .unwrap(),
    );

    // backup code
    let c = client(&fake, "@alice3:example.org");
    let LoginOutcome::TwoFactorRequired(st) = c.login("alice", PASSWORD).await.unwrap() else {
        panic!()
    };
    logged_in_user(
        c.two_factor_login(&st, "11112222", TwoFactorMethod::BackupCode, false)
            .await
            .unwrap(),
    );
    assert_eq!(
        fake.last_request("/accounts/two_factor_login/")
            .unwrap()
            .field("verification_method")
            .as_deref(),
        Some("2")
    );
}

#[tokio::test]
async fn challenge_select_submit_reset_replay() {
    let fake = fake().await;
    fake.set_challenge(
        "alice",
        Some(Challenge {
            code: "424242".into(),
            first_step: "select_verify_method".into(),
        }),
    );
    let c = client(&fake, "@alice:example.org");
    let LoginOutcome::ChallengeRequired(st) = c.login("alice", PASSWORD).await.unwrap() else {
        panic!()
    };
    assert!(st.needs_method());
    assert!(
        st.info
            .api_path
            .as_deref()
            .unwrap()
            .starts_with("/challenge/1001/")
    );
    let get = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "GET" && r.path.contains("/challenge/"))
        .unwrap();
    assert!(get.query_param("challenge_context").is_some() && get.query_param("guid").is_some());
    let LoginOutcome::ChallengeRequired(code_step) =
        c.challenge_select(&st, ChallengeMethod::Sms).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(code_step.step_name, "verify_code");
    assert_eq!(code_step.contact_point(), Some("+1 ***-***-**12"));
    assert_eq!(
        fake.requests()
            .iter()
            .rev()
            .find(|r| r.path.contains("/challenge/"))
            .unwrap()
            .field("choice")
            .as_deref(),
        Some("0")
    );
    // replay keeps the step, reset goes back to the start
    let LoginOutcome::ChallengeRequired(again) = c.challenge_replay(&code_step).await.unwrap()
    else {
        panic!()
    };
    assert_eq!(again.step_name, "verify_code");
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path.contains("/challenge/replay/"))
    );
    let LoginOutcome::ChallengeRequired(reset) = c.challenge_reset(&code_step).await.unwrap()
    else {
        panic!()
    };
    assert!(reset.needs_method());
    let LoginOutcome::ChallengeRequired(code_step) = c
        .challenge_select(&reset, ChallengeMethod::Email)
        .await
        .unwrap()
    else {
        panic!()
    };
    let e = c
        .challenge_submit_code(&code_step, "000000")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::BadCode { .. }), "{e:?}");
    let u = logged_in_user(c.challenge_submit_code(&code_step, "424242").await.unwrap());
    assert_eq!(u.pk.get(), ALICE);
    c.current_user().await.unwrap();
}

#[tokio::test]
async fn challenge_login_review_and_unsupported_steps() {
    let fake = fake().await;
    fake.set_challenge(
        "alice",
        Some(Challenge {
            code: String::new(),
            first_step: "delta_login_review".into(),
        }),
    );
    let c = client(&fake, "@alice:example.org");
    let LoginOutcome::ChallengeRequired(st) = c.login("alice", PASSWORD).await.unwrap() else {
        panic!()
    };
    assert!(st.needs_confirmation());
    let u = logged_in_user(c.challenge_confirm(&st).await.unwrap());
    assert_eq!(u.username, "alice");

    fake.set_challenge(
        "alice",
        Some(Challenge {
            code: String::new(),
            first_step: "ufac_www_bloks".into(),
        }),
    );
    let c = client(&fake, "@alice2:example.org");
    let e = c.login("alice", PASSWORD).await.unwrap_err();
    match &e {
        Error::ChallengeUnsupported { step_name, url } => {
            assert_eq!(step_name, "ufac_www_bloks");
            assert!(
                url.as_deref()
                    .unwrap()
                    .starts_with("https://i.instagram.com/challenge/")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.user_message()
            .contains("open the Instagram app and approve this login")
            || e.user_message()
                .contains("Open the Instagram app and approve this login")
    );
}

#[tokio::test]
async fn session_import_all_formats_and_validation() {
    let fake = fake().await;
    let (sid, auth) = fake.issue_session(BOB);
    let inputs = [
        json!({"sessionid": sid, "csrftoken": "c", "ds_user_id": "1002", "mid": "m", "ig_did": "D"}).to_string(),
        json!([{"name": "sessionid", "value": sid, "domain": ".instagram.com"}, {"name": "csrftoken", "value": "c"}]).to_string(),
        format!("Cookie: sessionid={sid}; csrftoken=c"),
        format!("curl 'https://www.instagram.com/' -H 'accept: */*' -H 'cookie: csrftoken=c; sessionid={sid}' --compressed"),
        auth.clone(),
    ];
    for input in inputs {
        let c = client(&fake, "@bob:example.org");
        let u = c.import_session(input.as_str()).await.unwrap();
        assert_eq!(u.pk.get(), BOB, "{input}");
        assert_eq!(c.user_pk().unwrap().get(), BOB);
    }
    // a dead session is refused and the previous credentials stay
    let c = client(&fake, "@bob:example.org");
    let before = c.session();
    let e = c
        .import_session(r#"{"sessionid":"1002%3Anope%3A1"}"#)
        .await
        .unwrap_err();
    assert!(e.is_session_dead(), "{e:?}");
    assert_eq!(c.session(), before);
    assert!(matches!(
        c.import_session("hello").await.unwrap_err(),
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn logout_and_dead_sessions() {
    let (fake, c) = alice().await;
    let pw = c.mqtt_password().unwrap();
    c.logout().await.unwrap();
    let req = fake.last_request("/accounts/logout/").unwrap();
    assert!(req.signed.is_some());
    assert_eq!(req.field("one_tap_app_login").as_deref(), Some("true"));
    assert!(!c.session().is_logged_in());
    assert_eq!(fake.account_for_mqtt_password(&pw), None);

    let (fake, c) = alice().await;
    fake.kill_sessions(ALICE, 8);
    let e = c.current_user().await.unwrap_err();
    match &e {
        Error::LoginRequired { logout_reason, .. } => assert_eq!(*logout_reason, Some(8)),
        other => panic!("{other:?}"),
    }
    assert!(e.is_session_dead() && !e.is_transient());
    // a dead session is not retried
    assert_eq!(fake.requests_to("/accounts/current_user/").len(), 1);
}
