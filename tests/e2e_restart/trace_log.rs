//! No secret of a login reaches the bridge's log, even at TRACE level, nor its database files:
//! the real binary logs everything (every crate, `logging.level: trace`) while one user logs in
//! with a password and a two-factor code and another with a cookie export.

use std::path::Path;

use matrix_instagram::store::{PoolOptions, Store};
use serde_json::{Value, json};

use super::matrix_client::{User, unique};
use super::support::fake_instagram::TwoFactor;
use super::{Harness, harness};

/// A user in their management room with the bot, the welcome seen.
async fn management_room(h: &Harness, prefix: &str) -> (User, String) {
    let bot = h.config.bot_user_id();
    let user = User::register(&h.homeserver, &unique(prefix)).await;
    let room = user.create_dm(&bot).await;
    user.wait_for_notice_after(&room, &bot, None, |b| b.contains("Instagram bridge bot"))
        .await;
    (user, room)
}

/// Sends `text` and waits for the bot's notice that satisfies `done`.
async fn say(h: &Harness, user: &User, room: &str, text: &str, done: impl Fn(&str) -> bool) {
    let sent = user.send_text(room, text).await;
    user.wait_for_notice_after(room, &h.config.bot_user_id(), Some(&sent), done)
        .await;
}

/// The credentials the bridge keeps for a user (in its session JSON): the session and CSRF
/// cookies and the authorization token.
async fn session_values(store: &Store, mxid: &str) -> Vec<String> {
    let logins = store.logins_of(mxid).await.expect("read the user's logins");
    let session = logins
        .into_iter()
        .find_map(|l| l.session)
        .expect("the user's session");
    let session: Value = serde_json::from_str(session.expose()).expect("session JSON");
    let cookies = &session["cookies"];
    let values: Vec<String> = [
        cookies["sessionid"].as_str(),
        cookies["csrftoken"].as_str(),
        session["authorization"]
            .as_str()
            .map(|a| a.trim_start_matches("Bearer IGT:2:")),
    ]
    .into_iter()
    .flatten()
    // Too short a value (the fake's `csrf<n>`) could turn up in the log by chance.
    .filter(|v| v.len() >= 10)
    .map(str::to_string)
    .collect();
    assert!(values.len() >= 2, "no credentials in {session}");
    values
}

/// Every file's text whose name starts with `prefix`'s file name in its folder.
fn files_starting_with(prefix: &Path) -> String {
    let dir = prefix.parent().expect("a folder");
    let stem = prefix.file_name().and_then(|n| n.to_str()).expect("a name");
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).expect("read the folder").flatten() {
        if entry.file_name().to_string_lossy().starts_with(stem) {
            let bytes = std::fs::read(entry.path()).unwrap_or_default();
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_at_trace_level_leaves_no_secret_in_the_log_or_the_database() {
    let h = harness("trace").await;
    let w = &h.world;
    let dir = Path::new(&h.config_path)
        .parent()
        .expect("the config's folder")
        .to_path_buf();
    let pid = std::process::id();
    let log_path = dir.join(format!("trace-{pid}.log"));
    let out_path = dir.join(format!("trace-{pid}.out"));
    let out = std::fs::File::create(&out_path).expect("the output file");
    let log = log_path.display().to_string();
    let mut child = h.spawn_binary_with(
        Some(out),
        &[
            ("MATRIX_INSTAGRAM__LOGGING__LEVEL", "trace"),
            ("MATRIX_INSTAGRAM__LOGGING__FILE", &log),
        ],
    );

    // A password login with a two-factor code. The code is long so that it cannot turn up
    // in the log by chance among timestamps and ids.
    let me = 33_000_000_000 + i64::from(pid % 10_000) * 1000;
    let name = format!("tr_me_{me}");
    let password = format!("pw-{me}-Tr4ce p4ss");
    let code = "9070615243";
    w.ig.add_account(&name, &password, me);
    w.ig.set_two_factor(
        &name,
        TwoFactor {
            totp_code: Some(code.into()),
            ..Default::default()
        },
    );
    let (alice, room) = management_room(&h, "tra").await;
    say(
        &h,
        &alice,
        &room,
        &format!("login {name} {password}"),
        |b| b.contains("authenticator app"),
    )
    .await;
    say(&h, &alice, &room, code, |b| b.starts_with("Successfully")).await;

    // A cookie export (the JSON of a browser extension), with a cookie the bridge drops.
    let other = me + 1;
    let other_name = format!("tr_ck_{other}");
    w.ig.add_account(&other_name, "unused", other);
    let (sessionid, authorization) = w.ig.issue_session(other);
    let csrf = format!("csrf-{other}-secret");
    let dropped = format!("dropped-cookie-{other}-secret");
    let cookies = json!({"sessionid": sessionid, "csrftoken": csrf, "ds_user_id": other.to_string(),
                         "some_tracker": dropped});
    let (bob, bob_room) = management_room(&h, "trb").await;
    say(
        &h,
        &bob,
        &bob_room,
        &format!("login-cookies {cookies}"),
        |b| b.starts_with("Successfully"),
    )
    .await;

    // SIGKILL: what is on disk is what a crash would leave. The files are read before
    // anything opens the database again (which would fold the write-ahead log into it).
    child.kill();
    let db = h.config.database.uri.expose().trim_start_matches("sqlite:");
    let files = files_starting_with(Path::new(db));

    let store = Store::connect(h.config.database.uri.expose(), PoolOptions::default())
        .await
        .expect("open the bridge's database");
    let mut credentials = session_values(&store, &alice.user_id).await;
    credentials.extend(session_values(&store, &bob.user_id).await);
    let inbox = store
        .inbox_pending(0, 10_000)
        .await
        .expect("read the inbox");
    store.close().await;
    for row in &inbox {
        assert!(!row.payload.contains(&password), "a password in the inbox");
    }

    let mut secrets = vec![
        password.clone(),
        code.to_string(),
        sessionid.clone(),
        authorization
            .trim_start_matches("Bearer IGT:2:")
            .to_string(),
        csrf.clone(),
        dropped.clone(),
        h.config.appservice.as_token.expose().to_string(),
        h.config.appservice.hs_token.expose().to_string(),
    ];
    secrets.extend(credentials);
    let logs = std::fs::read_to_string(&log_path).expect("the log file")
        + std::fs::read_to_string(&out_path)
            .expect("the output file")
            .as_str();
    assert!(
        logs.contains(" TRACE ") && logs.contains("instagram request"),
        "the log is at TRACE level and holds the bridge's work"
    );
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the log: {secret}"
        );
    }

    // The database's files, freed pages and write-ahead log included: the bridge keeps the
    // session it needs, never the password, the code, a dropped cookie or the commands.
    assert!(files.contains(&name), "the database files are read");
    for secret in [
        &password,
        &code.to_string(),
        &dropped,
        &"login-cookies".to_string(),
    ] {
        assert!(
            !files.contains(secret.as_str()),
            "in the database files: {secret}"
        );
    }
}
