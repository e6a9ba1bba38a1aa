//! The inbox form of Instagram events: typed once by the realtime decoder, stored, read back
//! unchanged; rows written by earlier versions still read.

use super::*;
use crate::instagram::realtime::iris::decode_message_sync;

const T: &str = "340282366841710301244276158232444183473";
const I: &str = "31044085271868279333056426983555072";

fn batch(ops: &str) -> Vec<SyncEvent> {
    let body = format!(r#"[{{"event":"patch","seq_id":7,"data":[{ops}]}}]"#);
    decode_message_sync(body.as_bytes()).unwrap().events
}

fn roundtrip(event: &IgEvent) -> IgEvent {
    let row = entry("@alice:example.com", event);
    assert_eq!(row.portal_key, T);
    assert_eq!(row.source, SOURCE_INSTAGRAM);
    serde_json::from_str(&row.payload).unwrap()
}

#[test]
fn an_item_is_typed_once_and_stored_as_it_is() {
    let value = format!(
        r#"{{"item_id":{I},"user_id":58511342766,"timestamp":"1682903234729242","item_type":"text","text":"hi","client_context":"7058","some_new_field":{{"x":[1,2]}}}}"#
    );
    let ops = format!(
        r#"{{"op":"add","path":"/direct_v2/threads/{T}/items/{I}","value":{}}}"#,
        serde_json::to_string(&value).unwrap()
    );
    let [sync] = <[SyncEvent; 1]>::try_from(batch(&ops)).unwrap();
    let event = IgEvent::from_sync(sync).unwrap();
    let IgEvent::Item {
        thread_id,
        item_id,
        replaced,
        item,
    } = &event
    else {
        panic!("{event:?}");
    };
    assert_eq!(
        (thread_id.as_str(), item_id.as_str(), *replaced),
        (T, I, false)
    );
    assert_eq!(item.user_id, Some(UserPk(58_511_342_766)));
    assert_eq!(item.text.as_deref(), Some("hi"));
    let back = roundtrip(&event);
    assert_eq!(back, event);
    // A field the model does not know survives the inbox.
    let IgEvent::Item { item, .. } = back else {
        unreachable!()
    };
    assert_eq!(item.extra["some_new_field"]["x"][1], 2);
}

#[test]
fn a_row_written_before_the_typed_form_still_reads() {
    // The earlier payload: the item and thread as plain JSON, ids as text, pks as numbers.
    let old = format!(
        r#"{{"kind":"item","thread_id":"{T}","item_id":"{I}","replaced":true,"item":{{"item_id":"{I}","user_id":5,"item_type":"text","text":"edited"}}}}"#
    );
    let event: IgEvent = serde_json::from_str(&old).unwrap();
    assert!(
        matches!(&event, IgEvent::Item { replaced: true, item, .. } if item.text.as_deref() == Some("edited"))
    );
    let old = format!(
        r#"{{"kind":"reaction","thread_id":"{T}","item_id":"{I}","user_id":5,"emoji":"❤️"}}"#
    );
    let event: IgEvent = serde_json::from_str(&old).unwrap();
    assert!(matches!(
        event,
        IgEvent::Reaction {
            user_id: UserPk(5),
            ..
        }
    ));
    let old = format!(
        r#"{{"kind":"thread_updated","thread_id":"{T}","thread":{{"thread_id":"{T}","thread_title":"G"}}}}"#
    );
    let event: IgEvent = serde_json::from_str(&old).unwrap();
    assert!(
        matches!(&event, IgEvent::ThreadUpdated { thread, .. } if thread.thread_title.as_deref() == Some("G"))
    );
}

#[test]
fn a_payload_that_does_not_fit_is_kept_whole_with_the_reason() {
    // `text` as an object: the model refuses the item, the inbox keeps it.
    let ops = format!(
        r#"{{"op":"add","path":"/direct_v2/threads/{T}/items/{I}","value":{{"item_id":"{I}","text":{{"no":1}}}}}}"#
    );
    let [sync] = <[SyncEvent; 1]>::try_from(batch(&ops)).unwrap();
    let event = IgEvent::from_sync(sync).unwrap();
    let IgEvent::Undecodable {
        thread_id,
        path,
        raw,
        error,
    } = roundtrip(&event)
    else {
        panic!("{event:?}");
    };
    assert_eq!(thread_id, T);
    assert!(path.ends_with(&format!("/items/{I}")), "{path}");
    assert_eq!(raw["text"]["no"], 1);
    assert!(!error.is_empty());
}

#[test]
fn reactions_seen_and_threads_keep_their_typed_ids() {
    let ops = format!(
        r#"{{"op":"add","path":"/direct_v2/threads/{T}/items/{I}/reactions/likes/42","value":"{{}}"}},
           {{"op":"replace","path":"/direct_v2/threads/{T}/participants/42/has_seen","value":{{"item_id":{I}}}}},
           {{"op":"add","path":"/direct_v2/inbox/threads/{T}","value":{{"thread_id":{T},"users":[{{"pk":42,"username":"bob"}}]}}}}"#
    );
    let events: Vec<IgEvent> = batch(&ops)
        .into_iter()
        .filter_map(IgEvent::from_sync)
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        matches!(&events[0], IgEvent::Reaction { user_id: UserPk(42), emoji: Some(e), item_id, .. } if e == "❤️" && item_id == I)
    );
    assert!(
        matches!(&events[1], IgEvent::Seen { user_id: UserPk(42), item_id: Some(i), .. } if i == I)
    );
    assert!(
        matches!(&events[2], IgEvent::ThreadUpdated { thread, .. } if thread.users[0].username == "bob")
    );
    for event in &events {
        assert_eq!(&roundtrip(event), event);
    }
}
