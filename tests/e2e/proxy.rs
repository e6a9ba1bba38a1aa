//! The `proxy` command end to end, with a real proxy (pproxy): a logged-in user moves their
//! account behind a SOCKS5 proxy (the HTTP API and the realtime connection go through it and
//! messages still cross both ways), sees it with the password masked, moves to a dead HTTP
//! proxy (told at once, nothing sent around it, the message waits), then turns it off (the
//! waiting message goes out).

use serde_json::Value;

use crate::bridging::{body_is, bot_id, scene};
use crate::env;
use crate::support::pproxy::{PASSWORD, Pproxy, dead_port};

fn port(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|p| p.trim_end_matches('/').parse().ok())
        .expect("a port")
}

fn mentions_password(events: &[Value]) -> bool {
    events.iter().any(|e| e.to_string().contains(PASSWORD))
}

#[tokio::test]
async fn the_proxy_command_moves_the_account_behind_a_proxy_and_back() {
    let env = env();
    let w = &env.world;
    let bot = bot_id();
    let s = scene(&["before the proxy"]).await;
    let proxy = Pproxy::start().await;
    let (api_port, broker_port) = (port(w.ig.base()), w.broker.plain_addr.port());

    // Behind a SOCKS5 proxy with a password.
    let url = proxy.url("socks5h");
    let cmd = s
        .user
        .send_text(&s.management, &format!("proxy {url}"))
        .await;
    let masked = format!("socks5h://proxyuser:***@{}", proxy.socks);
    let told = s
        .user
        .wait_for_notice_after(&s.management, &bot, Some(&cmd), |b| {
            b.starts_with("Your Instagram traffic now")
        })
        .await;
    assert_eq!(
        told,
        format!("Your Instagram traffic now goes through the proxy `{masked}` (your setting).")
    );
    s.user
        .wait_for_notice_after(&s.management, &bot, Some(&cmd), |b| {
            b.starts_with("Reconnected: Instagram answers")
        })
        .await;
    s.user.wait_redacted(&s.management, &cmd).await;
    assert!(
        proxy.wait_relayed("socks5", api_port).await,
        "API through the proxy: {:?}",
        proxy.lines()
    );
    assert!(
        proxy.wait_relayed("socks5", broker_port).await,
        "realtime through the proxy: {:?}",
        proxy.lines()
    );

    // Messages cross both ways over the proxied connections.
    w.ig.push_text(&s.thread, s.bob_pk, "hello through the proxy");
    s.user
        .wait_for(&s.portal, "a message through the proxy", |e| {
            body_is(e, "hello through the proxy")
        })
        .await;
    s.user.send_text(&s.portal, "reply through the proxy").await;
    crate::bridging::wait_until("the reply on Instagram", || async {
        w.ig.items(&s.thread)
            .iter()
            .any(|i| i["text"] == "reply through the proxy")
    })
    .await;

    // Shown with the password masked.
    let ask = s.user.send_text(&s.management, "proxy").await;
    let shown = s
        .user
        .wait_for_notice_after(&s.management, &bot, Some(&ask), |b| {
            b.starts_with("Your Instagram traffic")
        })
        .await;
    assert!(
        shown.starts_with(&format!(
            "Your Instagram traffic goes through the proxy `{masked}` (your setting)."
        )),
        "{shown}"
    );

    // A dead HTTP proxy: told at once, and nothing goes around it.
    let dead = format!("http://proxyuser:{PASSWORD}@127.0.0.1:{}", dead_port());
    let cmd = s
        .user
        .send_text(&s.management, &format!("proxy {dead}"))
        .await;
    let failing = s
        .user
        .wait_for_notice_after(&s.management, &bot, Some(&cmd), |b| {
            b.starts_with("Reconnected, but it does not work")
        })
        .await;
    assert!(failing.contains("cannot reach the proxy"), "{failing}");
    assert!(
        failing.contains("http://proxyuser:***@127.0.0.1:"),
        "{failing}"
    );
    // The bridge state says so too (an error notice, `m.text`).
    crate::bridging::wait_until("the proxy failure's bridge state notice", || async {
        s.user.timeline(&s.management).await.iter().any(|e| {
            e["sender"] == bot.as_str()
                && e["content"]["fi.mau.bridge_state"]["error"] == "ig-proxy-failed"
                && e["content"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("cannot reach the proxy"))
        })
    })
    .await;
    assert_eq!(
        w.broker.connections(s.me_pk),
        0,
        "no realtime connection around the proxy"
    );
    let waiting = s
        .user
        .send_text(&s.portal, "sent while the proxy is dead")
        .await;
    let ping = s.user.send_text(&s.management, "ping").await;
    s.user
        .wait_for_notice_after(&s.management, &bot, Some(&ping), |b| {
            b.contains("Last problem: proxy http://proxyuser:***@")
        })
        .await;
    assert!(
        !w.ig
            .items(&s.thread)
            .iter()
            .any(|i| i["text"] == "sent while the proxy is dead"),
        "a message went around the dead proxy"
    );

    // Off: direct again, and the waiting message goes out.
    let cmd = s.user.send_text(&s.management, "proxy off").await;
    s.user
        .wait_for_notice_after(&s.management, &bot, Some(&cmd), |b| {
            b == "Your Instagram traffic now goes to Instagram directly (you turned the proxy off)."
        })
        .await;
    crate::bridging::wait_until("the waiting message on Instagram", || async {
        w.ig.items(&s.thread)
            .iter()
            .any(|i| i["text"] == "sent while the proxy is dead")
    })
    .await;
    let _ = waiting;
    let everything = s.user.full_timeline(&s.management).await;
    assert!(
        !mentions_password(&everything),
        "the proxy password is in the room"
    );
}

#[tokio::test]
async fn the_provisioning_api_shows_and_changes_the_proxy() {
    use crate::provisioning::{As, call};
    use serde_json::json;
    let w = &env().world;
    let s = scene(&["before the provisioned proxy"]).await;
    let proxy = Pproxy::start().await;
    let me = As::Secret(&s.user.user_id);
    let (status, body) = call(&me, "GET", "/proxy", None).await;
    assert_eq!(
        (status, body),
        (200, json!({"proxy": null, "source": "default"}))
    );

    // A URL that is not a proxy: refused, without repeating it.
    let (status, body) = call(
        &me,
        "POST",
        "/proxy",
        Some(json!({"proxy": "ftp://u:hunter2@h"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errcode"], "M_BAD_JSON");
    assert!(!body.to_string().contains("hunter2"), "{body}");

    // Behind the proxy: the account reconnects through it.
    let (status, body) = call(
        &me,
        "POST",
        "/proxy",
        Some(json!({"proxy": proxy.url("socks5")})),
    )
    .await;
    let masked = format!("socks5://proxyuser:***@{}", proxy.socks);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"proxy": masked, "source": "user", "reconnected": true, "working": true, "error": null})
    );
    assert!(
        proxy
            .wait_relayed("socks5", w.broker.plain_addr.port())
            .await,
        "{:?}",
        proxy.lines()
    );
    crate::bridging::wait_until("one realtime connection, through the proxy", || async {
        w.broker.connections(s.me_pk) == 1
    })
    .await;
    let (_, body) = call(&me, "GET", "/proxy", None).await;
    assert_eq!(body, json!({"proxy": masked, "source": "user"}));
    assert!(!body.to_string().contains(PASSWORD));

    // Back to the default (none in this config).
    let (status, body) = call(&me, "POST", "/proxy", Some(json!({"proxy": "default"}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["proxy"], Value::Null);
    assert_eq!(
        (body["source"].clone(), body["working"].clone()),
        (json!("default"), json!(true))
    );
}
