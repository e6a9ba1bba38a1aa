//! Fixture parsing: every recorded payload holding a thread or an item parses without loss.

use super::*;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    crate::instagram::test_fixtures::json(name)
}

/// Parses, re-serializes and compares: nothing the payload held may be lost.
fn roundtrip<T: serde::de::DeserializeOwned + Serialize>(json: &str) -> T {
    let parsed: T = parse_lossless(json).unwrap();
    let original: Value = parse_lossless(json).unwrap();
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, original, "lossy round trip of {json}");
    parsed
}

/// Every iris/pubsub patch op of a payload string: (op, path, value).
fn ops(payload: &str) -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_str(payload).unwrap();
    let events = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    let mut out = vec![];
    for ev in events {
        for d in ev["data"].as_array().cloned().unwrap_or_default() {
            out.push((
                d["op"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap().to_owned(),
                d["value"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn mgp25_direct_payloads_parse() {
    let f = fixture("mgp25_direct_handler_payloads.json");
    let (mut items, mut threads, mut seen) = (0, 0, 0);
    for p in f["payloads"].as_array().unwrap() {
        for (op, path, value) in ops(p.as_str().unwrap()) {
            let parts: Vec<&str> = path.split('/').collect();
            if parts.len() == 6 && parts[4] == "items" && op != "remove" {
                let item: ThreadItem = roundtrip(&value);
                assert_eq!(item.item_id.as_str(), parts[5]);
                assert_eq!(item.user_id, Some(UserPk(1111111111)));
                assert_eq!(item.timestamp, Some(Micros(1111111111111111)));
                match item.item_type.as_deref() {
                    Some("text") => assert!(matches!(item.kind(), ItemKind::Text("TEXT"))),
                    Some("raven_media") => {
                        assert!(matches!(
                            item.kind(),
                            ItemKind::Unknown {
                                item_type: "raven_media",
                                ..
                            }
                        ));
                        assert_eq!(item.extra["view_mode"], "once");
                    }
                    other => panic!("unexpected {other:?}"),
                }
                items += 1;
            } else if path.starts_with("/direct_v2/inbox/threads/") {
                let t: Thread = roundtrip(&value);
                assert_eq!(t.thread_id.as_str(), parts[4]);
                threads += 1;
            } else if path.ends_with("/has_seen") {
                let s: SeenMarker = parse_lossless(&value).unwrap();
                assert_eq!(
                    s.item_id.as_ref().map(ItemId::as_str),
                    Some("11111111111111111111111111111111111")
                );
                assert_eq!(s.timestamp, Some(Micros(1111111111111111)));
                seen += 1;
            }
        }
    }
    assert_eq!((items, threads, seen), (2, 1, 1));
    // the send ack
    let ack: SendAck = serde_json::from_str(f["payloads"][7].as_str().unwrap()).unwrap();
    let p = ack.item().unwrap();
    assert_eq!(
        p.item_id.as_ref().unwrap().as_str(),
        "11111111111111111111111111111111111"
    );
    assert_eq!(p.timestamp, Some(Micros(1111111111111111)));
}

#[test]
fn web_capture_item_parses() {
    let f = fixture("web_capture_iris_and_send.json");
    let (_, path, value) = ops(f["message_sync"][0].as_str().unwrap()).remove(0);
    let item: ThreadItem = roundtrip(&value);
    assert!(path.ends_with(item.item_id.as_str()));
    assert_eq!(item.client_context.as_deref(), Some("7058607763398958242"));
    assert_eq!(item.user_id, Some(UserPk(58511342766)));
    assert_eq!(item.timestamp_ms(), Some(1682903234729));
    assert_eq!(item.extra["otid"], "7058607763398958242");
    assert!(item.extra.contains_key("forward_score"));
    assert!(matches!(item.kind(), ItemKind::Text("woy bang")));
}

#[test]
fn big_integers_are_quoted_only_when_needed() {
    let s = r#"{"a":340282366841710301244276158232444183473,"b":12,"c":"99999999999999999999999","d":-1.5e3,"e":18446744073709551615}"#;
    let q = quote_big_integers(s);
    assert_eq!(
        q,
        r#"{"a":"340282366841710301244276158232444183473","b":12,"c":"99999999999999999999999","d":-1.5e3,"e":18446744073709551615}"#
    );
}

#[test]
fn long_fractions_and_exponents_stay_numbers() {
    // The digits after a `.` or an `e` are part of one number: quoting them broke valid JSON.
    for s in [
        r#"{"f":1.123456789012345678901234567890}"#,
        r#"{"f":2e123456789012345678901}"#,
        r#"[0.5,-3.000000000000000000001E+22222222222222222222]"#,
        r#"{"s":"a\"340282366841710301244276158232444183473"}"#,
    ] {
        assert_eq!(quote_big_integers(s), s);
    }
    let v: serde_json::Value = parse_lossless(r#"{"f":1.123456789012345678901234567890}"#).unwrap();
    assert!(v["f"].is_f64());
    assert_eq!(
        quote_big_integers("[-340282366841710301244276158232444183473,-]"),
        r#"["-340282366841710301244276158232444183473",-]"#
    );
}

#[test]
fn every_item_type_decodes() {
    let cases = [
        (
            r#"{"item_id":"1","item_type":"link","link":{"text":"see https://x.y","link_context":{"link_url":"https://x.y"}}}"#,
            "Link",
        ),
        (r#"{"item_id":"1","item_type":"like","like":"❤️"}"#, "Like"),
        (
            r#"{"item_id":"1","item_type":"media","media":{"id":"5_1","media_type":1,"original_width":10,"original_height":20,"image_versions2":{"candidates":[{"width":5,"height":10,"url":"s"},{"width":10,"height":20,"url":"o"},{"width":100,"height":100,"url":"big"}]}}}"#,
            "Media",
        ),
        (
            r#"{"item_id":"1","item_type":"raven_media","visual_media":{"view_mode":"once","seen_user_ids":[],"media":{"media_type":2,"user":{"pk":1,"username":"x"}}}}"#,
            "RavenMedia",
        ),
        (
            r#"{"item_id":"1","item_type":"voice_media","voice_media":{"media":{"id":"9","media_type":11,"audio":{"audio_src":"https://cdn/a.m4a","duration":1200,"waveform_data":[0.1,0.5],"waveform_sampling_frequency_hz":10}}}}"#,
            "Voice",
        ),
        (
            r#"{"item_id":"1","item_type":"animated_media","animated_media":{"id":"g","images":{"fixed_height":{"url":"u","webp":"w","width":"200","height":"200"}},"is_sticker":false}}"#,
            "AnimatedMedia",
        ),
        (
            r#"{"item_id":"1","item_type":"media_share","media_share":{"id":"1_2","media_type":8,"carousel_media":[{"id":"a","media_type":1}],"code":"Cx","user":{"pk":"2","username":"y"}}}"#,
            "MediaShare",
        ),
        (
            r#"{"item_id":"1","item_type":"clip","clip":{"clip":{"id":"c","media_type":2,"video_versions":[{"type":101,"width":720,"height":1280,"url":"v"}]}}}"#,
            "Clip",
        ),
        (
            r#"{"item_id":"1","item_type":"story_share","story_share":{"message":"This story is unavailable","title":"Unavailable"}}"#,
            "StoryShare",
        ),
        (
            r#"{"item_id":"1","item_type":"reel_share","reel_share":{"text":"hi","type":"reply","reel_owner_id":"5","media":{"id":"m"}}}"#,
            "ReelShare",
        ),
        (
            r#"{"item_id":"1","item_type":"xma_media_share","xma_media_share":[{"xma_layout_type":0,"target_url":"https://instagram.com/p/x","preview_url_info":{"url":"p","width":1,"height":1}}]}"#,
            "Xma",
        ),
        (
            r#"{"item_id":"1","item_type":"profile","profile":{"pk":7,"username":"z"}}"#,
            "Profile",
        ),
        (
            r#"{"item_id":"1","item_type":"location","location":{"pk":7,"name":"Here","lat":"1.5","lng":2.5}}"#,
            "Location",
        ),
        (
            r#"{"item_id":"1","item_type":"placeholder","placeholder":{"title":"t","message":"m","is_linked":false}}"#,
            "Placeholder",
        ),
        (
            r#"{"item_id":"1","item_type":"expired_placeholder"}"#,
            "ExpiredPlaceholder",
        ),
        (
            r#"{"item_id":"1","item_type":"action_log","action_log":{"description":"X named the group","bold":[]}}"#,
            "ActionLog",
        ),
        (
            r#"{"item_id":"1","item_type":"video_call_event","video_call_event":{"action":"video_call_started","description":"started"}}"#,
            "VideoCallEvent",
        ),
        (
            r#"{"item_id":"1","item_type":"poll_vote","poll_vote":{"question":"?"}}"#,
            "Unknown",
        ),
        (
            r#"{"item_id":"1","item_type":"brand_new_type_2027"}"#,
            "Unknown",
        ),
    ];
    for (json, want) in cases {
        let item: ThreadItem = parse_lossless(json).unwrap();
        let got = format!("{:?}", item.kind());
        assert!(got.starts_with(want), "{json} -> {got}");
    }
    let item: ThreadItem = parse_lossless(cases[2].0).unwrap();
    assert_eq!(item.media.as_ref().unwrap().best_url(), Some("o"));
    let item: ThreadItem = parse_lossless(cases[5].0).unwrap();
    assert_eq!(item.animated_media.as_ref().unwrap().best_url(), Some("w"));
    let item: ThreadItem = parse_lossless(cases[17].0).unwrap();
    match item.kind() {
        ItemKind::Unknown { raw, .. } => assert_eq!(raw.unwrap()["question"], "?"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn thread_with_seen_reactions_and_reply() {
    let json = r#"{"thread_id":"340282366841710300949128000000000000001","thread_v2_id":17900000000000001,
      "users":[{"pk":2,"username":"bob","full_name":"Bob","is_private":false}],
      "viewer_id":1,"thread_title":"bob","is_group":false,"last_activity_at":"1700000000000001",
      "last_seen_at":{"2":{"timestamp":"1700000000000000","item_id":"3000","shh_seen_state":{}}},
      "has_older":true,"oldest_cursor":"abc",
      "items":[{"item_id":"3001","user_id":2,"timestamp":"1700000000000001","item_type":"text","text":"re",
        "replied_to_message":{"item_id":"3000","user_id":1,"item_type":"text","text":"orig"},
        "reactions":{"likes_count":1,"likes":[{"sender_id":1,"timestamp":1700000000000002}],
        "emojis":[{"sender_id":"1","timestamp":1700000000000003,"emoji":"😂","super_react_type":"none"}]}}],
      "unknown_new_field":{"x":1}}"#;
    let t: Thread = parse_lossless(json).unwrap();
    assert_eq!(t.thread_v2_id.as_deref(), Some("17900000000000001"));
    assert_eq!(t.last_activity_at, Some(Micros(1700000000000001)));
    assert_eq!(
        t.seen_by(UserPk(2))
            .unwrap()
            .item_id
            .as_ref()
            .unwrap()
            .as_str(),
        "3000"
    );
    let item = &t.items[0];
    assert_eq!(
        item.replied_to_message.as_ref().unwrap().item_id.as_str(),
        "3000"
    );
    let r = item.reactions.as_ref().unwrap();
    assert_eq!(r.all().count(), 2);
    assert_eq!(r.emojis[0].emoji.as_deref(), Some("😂"));
    assert_eq!(t.extra["unknown_new_field"]["x"], 1);
}

#[test]
fn nerixyz_has_seen_shape_parses() {
    let f = fixture("nerixyz_issue45_has_seen_shape.json");
    let msg = f["example"]["message"].to_string();
    let s: SeenMarker = parse_lossless(&msg).unwrap();
    assert_eq!(s.timestamp, Some(Micros(1234567)));
    assert_eq!(s.item_id.as_ref().map(ItemId::as_str), Some("..."));
    assert_eq!(s.extra["op"], "replace");
}
