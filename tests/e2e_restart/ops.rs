//! Operating the bridge, end to end on a bridge of its own (so the gauges count exactly this
//! test's account): the metrics after one message each way, the bridge states reaching a
//! status endpoint across a dropped connection and a revoked session, message checkpoints,
//! and management-room notices of a disconnection that lasts.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Harness, body_is, harness, wait_until};

/// A loopback status endpoint: keeps what it is POSTed, by path, with the Authorization.
struct Sink {
    base: String,
    got: Arc<Mutex<Vec<(String, String, Value)>>>,
}

impl Sink {
    async fn start() -> Sink {
        let got: Arc<Mutex<Vec<(String, String, Value)>>> = Arc::default();
        let seen = got.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    let auth = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                    seen.push((uri.path().to_string(), auth, body.0));
                    axum::Json(serde_json::json!({}))
                }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the sink");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Sink { base, got }
    }

    fn url(&self, path: &str) -> url::Url {
        format!("{}{path}", self.base).parse().expect("sink url")
    }

    fn posted(&self, path: &str) -> Vec<(String, Value)> {
        self.got
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(p, _, _)| p == path)
            .map(|(_, auth, body)| (auth.clone(), body.clone()))
            .collect()
    }

    /// The state events of the login of Instagram account `pk`, in order.
    fn login_states(&self, pk: i64) -> Vec<String> {
        self.posted("/state")
            .iter()
            .filter(|(_, s)| s["remote_id"] == pk.to_string().as_str())
            .filter_map(|(_, s)| s["state_event"].as_str().map(str::to_string))
            .collect()
    }

    fn global_states(&self) -> Vec<String> {
        self.posted("/state")
            .iter()
            .filter(|(_, s)| s.get("remote_id").is_none())
            .filter_map(|(_, s)| s["state_event"].as_str().map(str::to_string))
            .collect()
    }

    fn checkpoints(&self) -> Vec<Value> {
        self.posted("/checkpoints")
            .iter()
            .flat_map(|(_, b)| b["checkpoints"].as_array().cloned().unwrap_or_default())
            .collect()
    }

    /// Waits until the login of `pk` went through `expected` (in this order, others between).
    async fn wait_for_states(&self, pk: i64, expected: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let states = self.login_states(pk);
            let mut rest = states.iter();
            if expected.iter().all(|e| rest.any(|s| s == e)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the login did not go through {expected:?}: {states:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The harness with the status endpoints on `sink`, metrics on a free port, and a short
/// delay before disconnection notices.
async fn ops_harness(name: &str, sink: &Sink) -> Harness {
    let mut h = harness(name).await;
    h.config.homeserver.status_endpoint = Some(sink.url("/state"));
    h.config.homeserver.message_send_checkpoint_endpoint = Some(sink.url("/checkpoints"));
    h.config.metrics.enabled = true;
    h.config.metrics.listen = "127.0.0.1:0".into();
    h.config.bridge.bridge_status_notices = matrix_instagram::config::StatusNotices::Errors;
    h.config.bridge.bridge_status_notice_delay_secs = 3;
    h
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("scrape")
        .text()
        .await
        .expect("metrics text")
}

/// The value of the sample `series` (name and labels exactly as printed).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scrape_after_one_message_each_way_shows_them_and_one_connected_account() {
    let sink = Sink::start().await;
    let h = ops_harness("metrics", &sink).await;
    let w = &h.world;
    let bridge = h.start().await;
    let addr = bridge.metrics_addr.expect("metrics are served");
    let before = scrape(addr).await;
    assert_eq!(
        sample(&before, "matrix_instagram_connected_accounts"),
        Some(0.0)
    );
    let (user, portal, me_pk, bob_pk, thread) = h.scene("mtr").await;

    user.send_text(&portal, "metrics out").await;
    wait_until("the message on Instagram", || {
        w.ig.items(&thread)
            .iter()
            .any(|i| i["text"] == "metrics out")
    })
    .await;
    w.ig.push_text(&thread, bob_pk, "metrics in");
    user.wait_for(&portal, "the message from Instagram", |e| {
        body_is(e, "metrics in")
    })
    .await;

    let out = "{direction=\"to_instagram\",kind=\"text\",outcome=\"sent\"}";
    let into = "{direction=\"to_matrix\",kind=\"text\",outcome=\"sent\"}";
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = scrape(addr).await;
        let counted = |labels: &str| {
            sample(&text, &format!("matrix_instagram_messages_total{labels}")).unwrap_or(0.0)
        };
        if counted(out) >= 1.0 && counted(into) >= 1.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "messages not counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let value =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("no {series} in\n{text}"));
    assert_eq!(value(&format!("matrix_instagram_messages_total{out}")), 1.0);
    assert_eq!(
        value("matrix_instagram_message_latency_seconds_count{direction=\"to_instagram\"}"),
        1.0
    );
    assert!(
        value("matrix_instagram_message_latency_seconds_count{direction=\"to_matrix\"}") >= 1.0
    );
    assert_eq!(value("matrix_instagram_connected_accounts"), 1.0);
    assert_eq!(value("matrix_instagram_logged_in_accounts"), 1.0);
    assert!(value("matrix_instagram_appservice_transactions_total") >= 1.0);
    assert!(value("matrix_instagram_inbox_rows") >= 0.0);
    assert!(value("matrix_instagram_inbox_oldest_age_seconds") >= 0.0);
    assert!(value("process_resident_memory_bytes") > 0.0);
    assert!(value("process_open_fds") > 0.0);
    assert!(
        text.contains("matrix_instagram_homeserver_request_duration_seconds_count{endpoint=\""),
        "{text}"
    );
    // No user ids, names, Instagram ids or tokens.
    for private in [
        user.user_id.as_str(),
        &me_pk.to_string(),
        &bob_pk.to_string(),
        &thread,
        h.config.appservice.as_token.expose(),
        "@",
    ] {
        assert!(!text.contains(private), "{private} in the metrics");
    }
    bridge.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_endpoint_hears_connected_a_blip_and_a_revoked_session() {
    let sink = Sink::start().await;
    let h = ops_harness("states", &sink).await;
    let w = &h.world;
    let bridge = h.start().await;
    let (user, portal, me_pk, _bob, thread) = h.scene("sts").await;

    sink.wait_for_states(me_pk, &["CONNECTING", "CONNECTED"])
        .await;
    let (auth, connected) = sink
        .posted("/state")
        .into_iter()
        .find(|(_, s)| s["state_event"] == "CONNECTED")
        .expect("a CONNECTED state");
    assert_eq!(
        auth,
        format!("Bearer {}", h.config.appservice.as_token.expose())
    );
    assert_eq!(connected["user_id"], user.user_id.as_str());
    assert_eq!(connected["remote_name"], format!("sts_me_{me_pk}").as_str());
    assert_eq!(connected["source"], "bridge");
    assert!(connected["ttl"].as_u64().is_some_and(|t| t > 0));
    assert!(
        connected["timestamp"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000)
    );
    wait_until("the bridge running", || {
        let global = sink.global_states();
        global.first().map(String::as_str) == Some("STARTING")
            && global.last().map(String::as_str) == Some("RUNNING")
    })
    .await;

    // The realtime connection drops: a transient disconnection, then connected again.
    assert!(w.broker.drop_connections(me_pk) >= 1, "was connected");
    sink.wait_for_states(me_pk, &["CONNECTED", "TRANSIENT_DISCONNECT", "CONNECTED"])
        .await;
    let blip = sink
        .posted("/state")
        .into_iter()
        .map(|(_, s)| s)
        .find(|s| s["state_event"] == "TRANSIENT_DISCONNECT")
        .expect("the blip");
    assert_eq!(blip["error"], "ig-connection-error");
    assert_eq!(blip["info"]["cause"], "closed");

    // A message from Matrix: checkpoints BRIDGE then REMOTE, both SUCCESS.
    let event = user.send_text(&portal, "checked").await;
    wait_until("the message's checkpoints", || {
        sink.checkpoints()
            .iter()
            .filter(|c| c["event_id"] == event.as_str())
            .count()
            >= 2
    })
    .await;
    let steps: Vec<(String, String)> = sink
        .checkpoints()
        .iter()
        .filter(|c| c["event_id"] == event.as_str())
        .map(|c| {
            assert_eq!(c["room_id"], portal.as_str());
            assert_eq!(c["event_type"], "m.room.message");
            assert_eq!(c["message_type"], "m.text");
            assert_eq!(c["reported_by"], "BRIDGE");
            (
                c["step"].as_str().unwrap_or_default().to_string(),
                c["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("BRIDGE".to_string(), "SUCCESS".to_string()),
            ("REMOTE".to_string(), "SUCCESS".to_string())
        ]
    );
    assert!(w.ig.items(&thread).iter().any(|i| i["text"] == "checked"));

    // Instagram revokes the session: bad credentials (the user is told by the logout notice),
    // not LOGGED_OUT, and the bridge has no login left.
    w.ig.kill_sessions(me_pk, 1);
    assert!(w.broker.drop_connections(me_pk) >= 1, "was connected");
    sink.wait_for_states(me_pk, &["TRANSIENT_DISCONNECT", "BAD_CREDENTIALS"])
        .await;
    let lost = sink
        .posted("/state")
        .into_iter()
        .map(|(_, s)| s)
        .rfind(|s| s["remote_id"] == me_pk.to_string().as_str())
        .expect("the last state");
    assert_eq!(lost["state_event"], "BAD_CREDENTIALS");
    assert_eq!(lost["error"], "ig-auth-error");
    assert_eq!(lost["user_action"], "RELOGIN");
    wait_until("the bridge unconfigured", || {
        sink.global_states().last().map(String::as_str) == Some("UNCONFIGURED")
    })
    .await;
    assert!(
        !sink.login_states(me_pk).iter().any(|s| s == "LOGGED_OUT"),
        "{:?}",
        sink.login_states(me_pk)
    );
    bridge.shutdown().await;
}

/// The bot's messages in `room` whose body contains `needle`.
async fn bot_says(
    user: &crate::matrix_client::User,
    room: &str,
    bot: &str,
    needle: &str,
) -> Vec<String> {
    user.timeline(room)
        .await
        .iter()
        .filter(|e| e["type"] == "m.room.message" && e["sender"] == bot)
        .filter_map(|e| e["content"]["body"].as_str())
        .filter(|b| b.contains(needle))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lasting_disconnection_is_told_in_the_management_room_a_blip_is_not() {
    let sink = Sink::start().await;
    let h = ops_harness("notices", &sink).await;
    let w = &h.world;
    let bot = h.config.bot_user_id();
    let bridge = h.start().await;
    let (user, _portal, me_pk, _bob, _thread) = h.scene("ntc").await;
    sink.wait_for_states(me_pk, &["CONNECTED"]).await;
    let management = bridge
        .bridge
        .store
        .get_user(&user.user_id)
        .await
        .expect("user row")
        .and_then(|u| u.management_room)
        .expect("a management room");

    // A blip, over before the notice delay (3 s here).
    assert!(w.broker.drop_connections(me_pk) >= 1, "was connected");
    sink.wait_for_states(me_pk, &["CONNECTED", "TRANSIENT_DISCONNECT", "CONNECTED"])
        .await;

    // A disconnection that lasts: Instagram's realtime server is unavailable for this account.
    w.broker.unavailable_for(me_pk, true);
    assert!(w.broker.drop_connections(me_pk) >= 1, "was connected");
    let deadline = Instant::now() + Duration::from_secs(60);
    let told = loop {
        let told = bot_says(&user, &management, &bot, "TRANSIENT_DISCONNECT").await;
        if !told.is_empty() {
            break told;
        }
        assert!(Instant::now() < deadline, "no disconnection notice");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        told,
        [format!(
            "Instagram login @ntc_me_{me_pk}: TRANSIENT_DISCONNECT (ig-server-unavailable), not \
             resolved after 3 s: Instagram's realtime server is unavailable, retrying"
        )]
    );
    // Back: the recovery is told too.
    w.broker.unavailable_for(me_pk, false);
    user.wait_for_notice_after(&management, &bot, None, |b| {
        b == format!("Instagram login @ntc_me_{me_pk}: CONNECTED")
    })
    .await;
    // The blip was never told: one disconnection notice in all.
    assert_eq!(
        bot_says(&user, &management, &bot, "TRANSIENT_DISCONNECT")
            .await
            .len(),
        1
    );
    bridge.shutdown().await;
}
