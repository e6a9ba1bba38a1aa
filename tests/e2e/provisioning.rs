//! The provisioning API (`/_matrix/provision/v3`), end to end: a Matrix user logs in through
//! it alone (password + two-factor with their own Matrix access token, cookies with the
//! shared secret and `?user_id=`), then opens a DM by username and is in its room.

use serde_json::{Value, json};

use crate::bridging::unique_pk;
use crate::env;
use crate::matrix_client::{User, unique};

/// How a request authenticates.
pub(crate) enum As<'a> {
    /// The user's own Matrix access token.
    Matrix(&'a User),
    /// The shared secret, acting for a user.
    Secret(&'a str),
}

/// Calls the API; the status and the JSON body.
pub(crate) async fn call(
    auth: &As<'_>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let config = &env().config;
    let base = format!(
        "http://127.0.0.1:{}/_matrix/provision/v3",
        config.appservice.port
    );
    let http = reqwest::Client::new();
    let mut req = match method {
        "GET" => http.get(format!("{base}{path}")),
        _ => http.post(format!("{base}{path}")),
    };
    req = match auth {
        As::Matrix(user) => req.bearer_auth(user.access_token()),
        As::Secret(user_id) => req
            .bearer_auth(config.provisioning.shared_secret.expose())
            .query(&[("user_id", user_id)]),
    };
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("provisioning request");
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Submits a step and returns the next one (which must be a 200).
async fn submit(auth: &As<'_>, step: &Value, fields: Value) -> Value {
    let path = format!(
        "/login/step/{}/{}/{}",
        step["login_id"].as_str().expect("login_id"),
        step["step_id"].as_str().expect("step_id"),
        step["type"].as_str().expect("type"),
    );
    let (status, next) = call(auth, "POST", &path, Some(fields)).await;
    assert_eq!(status, 200, "{path}: {next}");
    next
}

#[tokio::test]
async fn provisioning_logs_in_with_password_and_two_factor_then_opens_a_dm_by_username() {
    use crate::support::fake_instagram::TwoFactor;
    let w = &env().world;
    let (pk, friend) = (unique_pk(), unique_pk());
    let name = format!("prov_{pk}");
    let friend_name = format!("provfriend_{friend}");
    w.ig.add_account(&name, "pass word", pk);
    w.ig.add_account(&friend_name, "x", friend);
    w.ig.set_two_factor(
        &name,
        TwoFactor {
            totp_code: Some("123456".into()),
            sms_code: None,
            backup_code: None,
        },
    );
    let user = User::register(&env().homeserver, &unique("provu")).await;
    let me = As::Matrix(&user);

    // Without a token, or with a wrong one: Matrix errors.
    let (status, body) = call(&As::Secret("@x:localhost"), "GET", "/whoami", None).await;
    assert_eq!((status, body["errcode"].as_str()), (200, None), "{body}");
    let (status, _) = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/_matrix/provision/v3/whoami",
            env().config.appservice.port
        ))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .expect("request");
    assert_eq!(status, 401);

    let (status, who) = call(&me, "GET", "/whoami", None).await;
    assert_eq!(status, 200, "{who}");
    assert_eq!(who["logins"], json!([]));
    assert_eq!(who["bridge_bot"], env().config.bot_user_id());
    let (_, flows) = call(&me, "GET", "/login/flows", None).await;
    let ids: Vec<&str> = flows["flows"]
        .as_array()
        .expect("flows")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(ids, ["password", "cookies"]);

    let (status, step) = call(&me, "POST", "/login/start/password", None).await;
    assert_eq!(
        (status, step["type"].as_str()),
        (200, Some("user_input")),
        "{step}"
    );
    let step = submit(
        &me,
        &step,
        json!({"username": name, "password": "pass word"}),
    )
    .await;
    assert_eq!(step["type"], "user_input", "{step}");
    assert_eq!(step["user_input"]["fields"][0]["default_value"], "app");
    // A wrong code asks again; the right one completes the login.
    let step = submit(&me, &step, json!({"method": "app", "code": "000000"})).await;
    assert_eq!(step["type"], "user_input", "{step}");
    let done = submit(&me, &step, json!({"method": "app", "code": "123456"})).await;
    assert_eq!(done["type"], "complete", "{done}");
    assert_eq!(done["complete"]["user_login_id"], pk.to_string());
    // This account's submission (other tests log in at the same time).
    let submitted =
        w.ig.requests_to("/accounts/two_factor_login/")
            .into_iter()
            .rfind(|r| r.field("username").as_deref() == Some(name.as_str()));
    assert_eq!(
        submitted.and_then(|r| r.field("verification_method")),
        Some("3".to_string()),
        "an authenticator code is submitted as TOTP"
    );

    let (_, logins) = call(&me, "GET", "/logins", None).await;
    assert_eq!(logins["login_ids"], json!([pk.to_string()]));
    let (_, who) = call(&me, "GET", "/whoami", None).await;
    assert_eq!(who["logins"][0]["name"], name.as_str(), "{who}");

    // A DM by username: the answer names its room, and the user is invited to it.
    w.ig.add_thread(&[pk, friend], None);
    let (status, resolved) = call(
        &me,
        "GET",
        &format!("/resolve_identifier/{friend_name}"),
        None,
    )
    .await;
    assert_eq!(
        (status, resolved["id"].as_str()),
        (200, Some(friend.to_string().as_str())),
        "{resolved}"
    );
    let (status, dm) = call(&me, "POST", &format!("/create_dm/{friend_name}"), None).await;
    assert_eq!(status, 200, "{dm}");
    let room = dm["dm_room_mxid"]
        .as_str()
        .expect("dm_room_mxid")
        .to_string();
    assert_eq!(dm["mxid"], resolved["mxid"]);
    let expected = format!("{friend_name} full");
    let invited = user
        .wait_for_invite("the DM's room", |events| {
            events
                .iter()
                .any(|e| e["type"] == "m.room.name" && e["content"]["name"] == expected.as_str())
        })
        .await;
    assert_eq!(invited, room);
    let (status, found) = call(
        &me,
        "POST",
        "/search_users",
        Some(json!({"query": friend_name})),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert!(
        found["results"].as_array().is_some_and(|r| r
            .iter()
            .any(|u| u["id"].as_str() == Some(&friend.to_string()))),
        "{found}"
    );
    let (status, contacts) = call(&me, "GET", "/contacts", None).await;
    assert_eq!(status, 200, "{contacts}");
    assert_eq!(
        contacts["contacts"][0]["id"],
        friend.to_string(),
        "{contacts}"
    );
    let (status, missing) = call(&me, "GET", "/resolve_identifier/nobody_at_all_here", None).await;
    assert_eq!(
        (status, missing["errcode"].as_str()),
        (404, Some("M_NOT_FOUND")),
        "{missing}"
    );

    let (status, _) = call(&me, "POST", "/logout/all", None).await;
    assert_eq!(status, 200);
    let (_, logins) = call(&me, "GET", "/logins", None).await;
    assert_eq!(logins["login_ids"], json!([]));
}

#[tokio::test]
async fn provisioning_logs_in_with_cookies_through_the_shared_secret() {
    let w = &env().world;
    let pk = unique_pk();
    let name = format!("provc_{pk}");
    w.ig.add_account(&name, "x", pk);
    let user = User::register(&env().homeserver, &unique("provc")).await;
    let me = As::Secret(&user.user_id);
    let (status, step) = call(&me, "POST", "/login/start/cookies", None).await;
    assert_eq!(
        (status, step["type"].as_str()),
        (200, Some("cookies")),
        "{step}"
    );
    // Cookies that are not a session: an error, and the process is over.
    let (status, refused) = call(
        &me,
        "POST",
        &format!(
            "/login/step/{}/{}/cookies",
            step["login_id"].as_str().unwrap_or(""),
            step["step_id"].as_str().unwrap_or("")
        ),
        Some(json!({"csrftoken": "abc"})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["errcode"].is_string(), "{refused}");

    let (_, step) = call(&me, "POST", "/login/start/cookies", None).await;
    // Submitted as the wrong kind of step: refused, and the process stays.
    let wrong = format!(
        "/login/step/{}/{}/user_input",
        step["login_id"].as_str().unwrap_or(""),
        step["step_id"].as_str().unwrap_or("")
    );
    let (status, refused) = call(&me, "POST", &wrong, Some(json!({}))).await;
    assert_eq!(
        (status, refused["errcode"].as_str()),
        (400, Some("M_BAD_STATE")),
        "{refused}"
    );
    let (sessionid, _authorization) = w.ig.issue_session(pk);
    let done = submit(
        &me,
        &step,
        json!({"sessionid": sessionid, "ds_user_id": pk.to_string()}),
    )
    .await;
    assert_eq!(done["type"], "complete", "{done}");
    assert_eq!(done["complete"]["user_login_id"], pk.to_string());
    let (_, logins) = call(&me, "GET", "/logins", None).await;
    assert_eq!(logins["login_ids"], json!([pk.to_string()]));
    // Another user's process is not theirs to cancel; their own cancel works.
    let (_, step) = call(
        &As::Secret("@someone:localhost"),
        "POST",
        "/login/start/password",
        None,
    )
    .await;
    let path = format!("/login/cancel/{}", step["login_id"].as_str().unwrap_or(""));
    let (status, _) = call(&me, "POST", &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&As::Secret("@someone:localhost"), "POST", &path, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn provisioning_logs_in_through_a_challenge() {
    use crate::support::fake_instagram::Challenge;
    let w = &env().world;
    let pk = unique_pk();
    let name = format!("provch_{pk}");
    w.ig.add_account(&name, "pass word", pk);
    w.ig.set_challenge(
        &name,
        Some(Challenge {
            code: "424242".into(),
            first_step: "select_verify_method".into(),
        }),
    );
    let user = User::register(&env().homeserver, &unique("provch")).await;
    let me = As::Secret(&user.user_id);
    let (_, step) = call(&me, "POST", "/login/start/password", None).await;
    let step = submit(
        &me,
        &step,
        json!({"username": name, "password": "pass word"}),
    )
    .await;
    assert_eq!(step["user_input"]["fields"][0]["id"], "method", "{step}");
    assert_eq!(
        step["user_input"]["fields"][0]["options"],
        json!(["sms", "email"])
    );
    let step = submit(&me, &step, json!({"method": "email"})).await;
    assert_eq!(
        step["user_input"]["fields"][0]["type"], "2fa_code",
        "{step}"
    );
    // A wrong code asks again; the right one completes the login.
    let step = submit(&me, &step, json!({"code": "111111"})).await;
    assert_eq!(
        step["user_input"]["fields"][0]["type"], "2fa_code",
        "{step}"
    );
    let done = submit(&me, &step, json!({"code": "424242"})).await;
    assert_eq!(done["type"], "complete", "{done}");
    assert_eq!(done["complete"]["user_login_id"], pk.to_string());
}

/// A password login through the API, to completion (no two-factor).
async fn password_login(auth: &As<'_>, username: &str) -> (u16, Value) {
    let (status, step) = call(auth, "POST", "/login/start/password", None).await;
    assert_eq!(status, 200, "{step}");
    let path = format!(
        "/login/step/{}/{}/{}",
        step["login_id"].as_str().expect("login_id"),
        step["step_id"].as_str().expect("step_id"),
        step["type"].as_str().expect("type"),
    );
    call(
        auth,
        "POST",
        &path,
        Some(json!({"username": username, "password": "pw"})),
    )
    .await
}

#[tokio::test]
async fn provisioning_adds_a_second_login_and_logs_out_one() {
    use crate::bridging::{body_is, ghost};
    let w = &env().world;
    let (p1, p2, friend) = (unique_pk(), unique_pk(), unique_pk());
    let (n1, n2, friend_name) = (
        format!("provm1_{p1}"),
        format!("provm2_{p2}"),
        format!("provmf_{friend}"),
    );
    for (name, pk) in [(&n1, p1), (&n2, p2), (&friend_name, friend)] {
        w.ig.add_account(name, "pw", pk);
    }
    let user = User::register(&env().homeserver, &unique("provm")).await;
    let me = As::Matrix(&user);

    // A second login adds an account; the same one again is refused, also for another user.
    for (name, pk) in [(&n1, p1), (&n2, p2)] {
        let (status, done) = password_login(&me, name).await;
        assert_eq!(
            (status, done["type"].as_str()),
            (200, Some("complete")),
            "{done}"
        );
        assert_eq!(done["complete"]["user_login_id"], pk.to_string());
    }
    let (status, again) = password_login(&me, &n1).await;
    assert_eq!(
        (status, again["errcode"].as_str()),
        (400, Some("M_BAD_STATE")),
        "{again}"
    );
    assert!(
        again["error"]
            .as_str()
            .is_some_and(|e| e.contains("already logged in as")),
        "{again}"
    );
    let other = User::register(&env().homeserver, &unique("provo")).await;
    let (status, theirs) = password_login(&As::Matrix(&other), &n2).await;
    assert_eq!(status, 400, "{theirs}");
    assert!(
        theirs["error"]
            .as_str()
            .is_some_and(|e| e.contains("another Matrix user")),
        "{theirs}"
    );

    let (_, logins) = call(&me, "GET", "/logins", None).await;
    let mut ids: Vec<String> = logins["login_ids"]
        .as_array()
        .expect("login_ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    ids.sort();
    let mut want = vec![p1.to_string(), p2.to_string()];
    want.sort();
    assert_eq!(ids, want);
    let (_, who) = call(&me, "GET", "/whoami", None).await;
    let names: Vec<&str> = who["logins"]
        .as_array()
        .expect("logins")
        .iter()
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert!(
        names.contains(&n1.as_str()) && names.contains(&n2.as_str()),
        "{who}"
    );

    // `login_id` picks the account: only the second one has a chat with the friend.
    let thread = w.ig.add_thread(&[p2, friend], None);
    let (status, dm) = call(
        &me,
        "POST",
        &format!("/create_dm/{friend_name}?login_id={p2}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{dm}");
    let room = dm["dm_room_mxid"]
        .as_str()
        .expect("dm_room_mxid")
        .to_string();
    let (status, first) = call(
        &me,
        "GET",
        &format!("/resolve_identifier/{friend_name}?login_id={p1}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert!(
        first["dm_room_mxid"].is_null(),
        "not the first account's: {first}"
    );

    // Logging out of one leaves the other bridging.
    let (status, _) = call(&me, "POST", &format!("/logout/{p1}"), None).await;
    assert_eq!(status, 200);
    let (status, _) = call(&me, "POST", &format!("/logout/{p1}"), None).await;
    assert_eq!(status, 404);
    let (_, logins) = call(&me, "GET", "/logins", None).await;
    assert_eq!(logins["login_ids"], json!([p2.to_string()]));
    user.join(&room).await;
    w.ig.push_text(&thread, friend, "still here after the other logout");
    user.wait_for(&room, "the friend's message", |e| {
        body_is(e, "still here after the other logout") && e["sender"] == ghost(friend).as_str()
    })
    .await;
    let (status, _) = call(&me, "POST", "/logout/all", None).await;
    assert_eq!(status, 200);
    let (_, logins) = call(&me, "GET", "/logins", None).await;
    assert_eq!(logins["login_ids"], json!([]));
}
