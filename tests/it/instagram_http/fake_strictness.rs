//! The fake really checks the wire format, and its shared state is usable by other fakes.

use matrix_instagram::instagram::http::direct::Direction;
use matrix_instagram::instagram::ids::{ClientContext, ThreadId, UserPk};
use matrix_instagram::instagram::types::ItemKind;
use serde_json::json;

use super::common::*;
use crate::support::fake_instagram::{FakeEvent, Recorded};

fn raw_client() -> reqwest::Client {
    matrix_instagram::tls::ensure_crypto_provider();
    reqwest::Client::new()
}

/// Replays a recorded request's headers with another body.
fn replay(
    client: &reqwest::Client,
    base: &str,
    rec: &Recorded,
    path: &str,
    body: String,
) -> reqwest::RequestBuilder {
    let mut req = client.post(format!("{base}{path}"));
    for (k, v) in &rec.headers {
        if k != "content-length" && k != "host" {
            req = req.header(k.as_str(), v.as_str());
        }
    }
    req.body(body)
}

#[tokio::test]
async fn rejects_missing_headers_and_wrong_encodings() {
    let (fake, c) = alice().await;
    let http = raw_client();
    let r = http
        .get(format!("{}/api/v1/accounts/current_user/", fake.base()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("missing header"));
    let t = fake.add_thread(&[ALICE, BOB], None);
    c.send_text(
        &ThreadId::new(t.clone()).into(),
        "hi",
        &ClientContext::generate(),
        None,
        &[],
    )
    .await
    .unwrap();
    let rec = fake.last_request("/broadcast/text/").unwrap();
    // a signed body where a raw form is expected
    let signed = format!(
        "signed_body={}",
        urlencode(&format!(
            "SIGNATURE.{}",
            json!({"action": "send_item", "text": "x"})
        ))
    );
    let r = replay(
        &http,
        fake.base(),
        &rec,
        "/api/v1/direct_v2/threads/broadcast/text/",
        signed,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("raw form"));
    // a raw form where a signed body is expected
    let r = replay(
        &http,
        fake.base(),
        &rec,
        &format!("/api/v1/direct_v2/threads/{t}/items/1/delete/"),
        "_uuid=x".into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // a signed body with a non-string value, or without the SIGNATURE prefix
    for bad in [
        format!("signed_body={}", urlencode("SIGNATURE.{\"a\":1}")),
        format!("signed_body={}", urlencode("{\"a\":\"1\"}")),
    ] {
        let r = replay(&http, fake.base(), &rec, "/api/v1/accounts/logout/", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
    }
    // JSON bodies are not what Instagram takes
    let r = replay(
        &http,
        fake.base(),
        &rec,
        "/api/v1/direct_v2/threads/broadcast/text/",
        "{}".into(),
    )
    .header("content-type", "application/json")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // the full API header set makes rupload answer a generic 404
    let r = replay(
        &http,
        fake.base(),
        &rec,
        "/rupload/messenger_image/1_0_1",
        "x".into(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // credentials are refused by the CDN
    let url = fake.add_cdn_object("a.jpg", b"x".to_vec());
    let r = http
        .get(url)
        .header("cookie", "sessionid=x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}

#[tokio::test]
async fn rupload_wants_the_session_headers_instagram_set() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB], None);
    let jpeg = bytes::Bytes::from_static(b"\xff\xd8\xff\xe0jpeg");
    c.send_photo(
        &ThreadId::new(t).into(),
        jpeg.clone(),
        &ClientContext::generate(),
    )
    .await
    .unwrap();
    let rec = fake
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/rupload/messenger_image/"))
        .unwrap();
    assert_eq!(rec.status, 200);
    // The same upload without the `ig-u-shbid`/`ig-u-shbts` set at login is refused.
    for dropped in ["ig-u-shbid", "ig-u-shbts"] {
        let mut req = raw_client().post(format!("{}{}", fake.base(), rec.path));
        for (k, v) in &rec.headers {
            if k != "content-length" && k != "host" && k != dropped {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let r = req.body(jpeg.clone()).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 400, "without {dropped}");
        assert!(r.text().await.unwrap().contains(dropped));
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn shared_state_mutators_and_events() {
    let (fake, c) = alice().await;
    let mut events = fake.subscribe_events();
    let t = fake.add_thread(&[ALICE, BOB], None);
    let a = fake
        .send_item_as(
            BOB,
            &t,
            "text",
            json!({"text": "via mqtt"}),
            "7000000000000000001",
        )
        .unwrap();
    let b = fake
        .send_item_as(
            BOB,
            &t,
            "text",
            json!({"text": "via mqtt"}),
            "7000000000000000001",
        )
        .unwrap();
    assert_eq!(a["item_id"], b["item_id"], "deduplicated by client_context");
    assert!(
        fake.send_item_as(CAROL, &t, "text", json!({"text": "x"}), "1")
            .is_none(),
        "not a participant"
    );
    let id = a["item_id"].as_str().unwrap().to_owned();
    assert!(fake.react_as(BOB, &t, &id, Some("👍")));
    assert!(fake.mark_seen_as(BOB, &t, &id));
    fake.set_typing_as(BOB, &t, true);
    match events.recv().await.unwrap() {
        FakeEvent::ItemAdded { thread_id, item } => {
            assert_eq!(thread_id, t);
            assert_eq!(item["text"], "via mqtt");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        events.recv().await.unwrap(),
        FakeEvent::ItemChanged { .. }
    ));
    assert!(matches!(
        events.recv().await.unwrap(),
        FakeEvent::Seen { user_pk: BOB, .. }
    ));
    assert!(matches!(
        events.recv().await.unwrap(),
        FakeEvent::Typing { typing: true, .. }
    ));
    let th = c
        .thread(&ThreadId::new(t.clone()), None, Direction::Older, 5)
        .await
        .unwrap();
    assert!(matches!(th.items[0].kind(), ItemKind::Text("via mqtt")));
    assert_eq!(
        th.items[0].reactions.as_ref().unwrap().emojis[0]
            .emoji
            .as_deref(),
        Some("👍")
    );
    assert!(th.last_seen_at.as_ref().unwrap().contains_key("1002"));
    assert!(fake.remove_item(&t, &id));
    assert!(matches!(
        events.recv().await.unwrap(),
        FakeEvent::ItemRemoved { .. }
    ));
    assert!(fake.items(&t).is_empty());
    assert!(fake.seq_id() > 1000);
}

#[tokio::test]
async fn block_and_unblock_are_signed_and_name_the_user_twice() {
    let (fake, c) = alice().await;
    assert!(c.set_blocked(UserPk(BOB), true).await.unwrap());
    assert!(fake.is_blocked(ALICE, BOB));
    let rec = fake
        .last_request(&format!("/friendships/block/{BOB}/"))
        .unwrap();
    assert_eq!(rec.path, format!("/api/v1/friendships/block/{BOB}/"));
    assert_eq!(
        rec.field("user_id").as_deref(),
        Some(BOB.to_string().as_str())
    );
    assert_eq!(
        rec.field("_uid").as_deref(),
        Some(ALICE.to_string().as_str())
    );
    assert_eq!(rec.field("surface").as_deref(), Some("profile"));
    assert!(!c.set_blocked(UserPk(BOB), false).await.unwrap());
    assert!(!fake.is_blocked(ALICE, BOB));

    // The fake refuses a raw form and a user_id that is not the path's.
    let http = raw_client();
    let form = "user_id=1&_uuid=x".to_string();
    let r = replay(
        &http,
        fake.base(),
        &rec,
        &format!("/api/v1/friendships/block/{BOB}/"),
        form,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let other = format!(
        "signed_body={}",
        urlencode(&format!(
            "SIGNATURE.{}",
            json!({"user_id": CAROL.to_string(), "_uid": ALICE.to_string(), "surface": "profile"})
        ))
    );
    let r = replay(
        &http,
        fake.base(),
        &rec,
        &format!("/api/v1/friendships/block/{BOB}/"),
        other,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.text().await.unwrap().contains("user_id does not match"));
    assert!(!fake.is_blocked(ALICE, BOB));
}
