//! Direct endpoints against the fake.

use matrix_instagram::instagram::Error;
use matrix_instagram::instagram::http::direct::Direction;
use matrix_instagram::instagram::http::{InboxKind, ReplyTo, SendTarget};
use matrix_instagram::instagram::ids::{ClientContext, ItemId, ThreadId, UserPk};
use matrix_instagram::instagram::types::ItemKind;
use serde_json::json;

use super::common::*;

#[tokio::test]
async fn inbox_pages_pending_and_spam() {
    let (fake, c) = alice().await;
    let t1 = fake.add_thread(&[ALICE, BOB], None);
    let t2 = fake.add_thread(&[ALICE, CAROL], None);
    let t3 = fake.add_thread(&[ALICE, BOB, CAROL], Some("Trio"));
    let req = fake.add_thread(&[CAROL, ALICE], None);
    fake.set_pending(&req, ALICE);
    fake.push_text(&t1, BOB, "one");
    fake.push_text(&t2, CAROL, "two");
    fake.push_text(&t3, BOB, "three");
    fake.push_text(&req, CAROL, "hi, may I?");
    let page1 = c.inbox(InboxKind::Main, None, None, 2).await.unwrap();
    assert_eq!(page1.inbox.threads.len(), 2);
    assert_eq!(
        page1.inbox.threads[0].thread_id.as_str(),
        t3,
        "newest activity first"
    );
    assert_eq!(page1.inbox.threads[0].thread_title.as_deref(), Some("Trio"));
    assert_eq!(page1.inbox.has_older, Some(true));
    let seq = page1.seq_id.unwrap();
    assert!(seq > 1000 && page1.snapshot_at_ms.unwrap() > 0);
    assert_eq!(page1.pending_requests_total, Some(1));
    let first = fake.last_request("/direct_v2/inbox/").unwrap();
    assert_eq!(first.query_param("fetch_reason"), Some("initial_snapshot"));
    assert_eq!(first.method, "GET");
    let cursor = page1.inbox.oldest_cursor.clone().unwrap();
    let page2 = c
        .inbox(InboxKind::Main, Some(&cursor), Some(seq), 2)
        .await
        .unwrap();
    assert_eq!(page2.inbox.threads.len(), 1);
    assert_eq!(page2.inbox.has_older, Some(false));
    let second = fake.last_request("/direct_v2/inbox/").unwrap();
    assert_eq!(second.query_param("direction"), Some("older"));
    assert_eq!(second.query_param("seq_id"), Some(seq.to_string().as_str()));
    let pending = c.inbox(InboxKind::Pending, None, None, 20).await.unwrap();
    assert_eq!(pending.inbox.threads.len(), 1);
    assert_eq!(pending.inbox.threads[0].pending, Some(true));
    let item = &pending.inbox.threads[0].items[0];
    assert!(matches!(item.kind(), ItemKind::Text("hi, may I?")));
    assert!(
        c.inbox(InboxKind::Spam, None, None, 20)
            .await
            .unwrap()
            .inbox
            .threads
            .is_empty()
    );
    // approve the request
    c.approve_thread(&ThreadId::new(req.clone())).await.unwrap();
    assert!(
        c.inbox(InboxKind::Pending, None, None, 20)
            .await
            .unwrap()
            .inbox
            .threads
            .is_empty()
    );
    assert_eq!(
        fake.last_request("/approve/")
            .unwrap()
            .field("filter")
            .as_deref(),
        Some("DEFAULT")
    );
}

#[tokio::test]
async fn thread_pages_both_directions_and_by_participants() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB], None);
    let ids: Vec<String> = (0..5)
        .map(|i| fake.push_text(&t, if i % 2 == 0 { BOB } else { ALICE }, &format!("m{i}")))
        .collect();
    let tid = ThreadId::new(t.clone());
    let p1 = c.thread(&tid, None, Direction::Older, 2).await.unwrap();
    assert_eq!(
        p1.items
            .iter()
            .map(|i| i.item_id.as_str())
            .collect::<Vec<_>>(),
        vec![ids[4].as_str(), ids[3].as_str()]
    );
    assert_eq!(p1.has_older, Some(true));
    assert_eq!(p1.users.len(), 1);
    assert_eq!(p1.users[0].username, "bob");
    let p2 = c
        .thread(&tid, p1.oldest_cursor.as_deref(), Direction::Older, 10)
        .await
        .unwrap();
    assert_eq!(p2.items.len(), 3);
    assert_eq!(p2.has_older, Some(false));
    let r = fake
        .last_request(&format!("/direct_v2/threads/{t}/"))
        .unwrap();
    assert_eq!(r.query_param("cursor"), p1.oldest_cursor.as_deref());
    c.thread(&tid, None, Direction::Newer, 2).await.unwrap();
    assert_eq!(
        fake.last_request(&format!("/direct_v2/threads/{t}/"))
            .unwrap()
            .query_param("direction"),
        Some("newer")
    );
    let by = c.thread_by_participants(&[UserPk(BOB)]).await.unwrap();
    assert_eq!(by.thread_id.as_str(), t);
    let e = c
        .thread_by_participants(&[UserPk(CAROL)])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    let e = c
        .thread(
            &ThreadId::new("340282366841710300949128999999999999999"),
            None,
            Direction::Older,
            5,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn send_text_reply_mentions_and_idempotent_retry() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB, CAROL], Some("G"));
    let orig = fake.push_text(&t, BOB, "question?");
    let target = SendTarget::Thread(ThreadId::new(t.clone()));
    let ctx = ClientContext::generate();
    let reply = ReplyTo {
        item_id: ItemId::new(orig.clone()),
        client_context: None,
    };
    let ack = c
        .send_text(
            &target,
            "answer @carol",
            &ctx,
            Some(&reply),
            &[UserPk(CAROL)],
        )
        .await
        .unwrap();
    let p = ack.item().unwrap();
    assert_eq!(p.client_context.as_deref(), Some(ctx.as_str()));
    assert_eq!(p.thread_id.as_ref().unwrap().as_str(), t);
    let item_id = p.item_id.clone().unwrap();
    let req = fake.last_request("/broadcast/text/").unwrap();
    assert!(req.signed.is_none(), "broadcasts are raw forms");
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded; charset=UTF-8")
    );
    let f = req.fields();
    assert_eq!(f["thread_ids"], format!("[{t}]"));
    assert_eq!(f["mutation_token"], ctx.as_str());
    assert_eq!(f["offline_threading_id"], ctx.as_str());
    assert_eq!(f["replied_to_item_id"], orig);
    assert_eq!(f["mentioned_user_ids"], r#"["1003"]"#);
    assert_eq!(f["action"], "send_item");
    // a retry with the same client_context does not duplicate
    let again = c
        .send_text(
            &target,
            "answer @carol",
            &ctx,
            Some(&reply),
            &[UserPk(CAROL)],
        )
        .await
        .unwrap();
    assert_eq!(again.item().unwrap().item_id.as_ref(), Some(&item_id));
    assert_eq!(fake.items(&t).len(), 2);
    // the stored item parses back with the reply
    let th = c
        .thread(&ThreadId::new(t.clone()), None, Direction::Older, 5)
        .await
        .unwrap();
    let mine = &th.items[0];
    assert_eq!(mine.item_id, item_id);
    assert_eq!(mine.client_context.as_deref(), Some(ctx.as_str()));
    assert_eq!(
        mine.replied_to_message.as_ref().unwrap().item_id.as_str(),
        orig
    );
    // to users: opens a new thread
    let ack = c
        .send_text(
            &SendTarget::Users(vec![UserPk(CAROL)]),
            "hi carol",
            &ClientContext::generate(),
            None,
            &[],
        )
        .await
        .unwrap();
    let new_thread = ack.item().unwrap().thread_id.clone().unwrap();
    assert_ne!(new_thread.as_str(), t);
    assert_eq!(
        fake.last_request("/broadcast/text/")
            .unwrap()
            .field("recipient_users")
            .as_deref(),
        Some("[[1003]]")
    );
}

#[tokio::test]
async fn link_like_gif_share_and_reactions() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB], None);
    let tid = ThreadId::new(t.clone());
    let target = SendTarget::Thread(tid.clone());
    c.send_link(
        &target,
        "see https://example.org",
        &["https://example.org".into()],
        &ClientContext::generate(),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.last_request("/broadcast/link/")
            .unwrap()
            .field("link_urls")
            .as_deref(),
        Some(r#"["https://example.org"]"#)
    );
    c.send_like(&target, &ClientContext::generate())
        .await
        .unwrap();
    c.send_animated_media(&target, "gif123", &ClientContext::generate())
        .await
        .unwrap();
    c.send_media_share(
        &target,
        "3100000000000000000_42",
        &ClientContext::generate(),
    )
    .await
    .unwrap();
    let th = c.thread(&tid, None, Direction::Older, 10).await.unwrap();
    let kinds: Vec<String> = th
        .items
        .iter()
        .map(|i| {
            format!("{:?}", i.kind())
                .split('(')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds, vec!["MediaShare", "AnimatedMedia", "Like", "Link"]);
    // reactions: add then remove
    let bob_item = fake.push_text(&t, BOB, "react to me");
    let iid = ItemId::new(bob_item.clone());
    c.send_reaction(&tid, &iid, Some("🔥"), &ClientContext::generate())
        .await
        .unwrap();
    let f = fake.last_request("/broadcast/reaction/").unwrap().fields();
    assert_eq!(
        (
            f["reaction_status"].as_str(),
            f["emoji"].as_str(),
            f["item_type"].as_str()
        ),
        ("created", "🔥", "reaction")
    );
    let th = c.thread(&tid, None, Direction::Older, 1).await.unwrap();
    let r = th.items[0].reactions.as_ref().unwrap();
    assert_eq!(r.emojis[0].emoji.as_deref(), Some("🔥"));
    assert_eq!(r.emojis[0].sender_id, Some(UserPk(ALICE)));
    c.send_reaction(&tid, &iid, None, &ClientContext::generate())
        .await
        .unwrap();
    assert_eq!(
        fake.last_request("/broadcast/reaction/")
            .unwrap()
            .field("reaction_status")
            .as_deref(),
        Some("deleted")
    );
    let th = c.thread(&tid, None, Direction::Older, 1).await.unwrap();
    assert!(th.items[0].reactions.as_ref().unwrap().emojis.is_empty());
}

#[tokio::test]
async fn seen_typing_unsend_edit() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB], None);
    let tid = ThreadId::new(t.clone());
    let bob_item = fake.push_text(&t, BOB, "hello");
    c.mark_seen(
        &tid,
        &ItemId::new(bob_item.clone()),
        &ClientContext::generate(),
    )
    .await
    .unwrap();
    let th = c.thread(&tid, None, Direction::Older, 5).await.unwrap();
    assert_eq!(
        th.seen_by(UserPk(ALICE))
            .unwrap()
            .item_id
            .as_ref()
            .unwrap()
            .as_str(),
        bob_item
    );
    assert!(fake.last_request("/seen/").unwrap().signed.is_none());
    c.set_typing(&tid, true, &ClientContext::generate())
        .await
        .unwrap();
    assert_eq!(fake.thread(&t).unwrap().typing.get(&ALICE), Some(&true));
    c.set_typing(&tid, false, &ClientContext::generate())
        .await
        .unwrap();
    assert_eq!(fake.thread(&t).unwrap().typing.get(&ALICE), Some(&false));
    // edit (uncertain endpoint) and unsend of our own message
    let ctx = ClientContext::generate();
    let ack = c
        .send_text(&SendTarget::Thread(tid.clone()), "typo", &ctx, None, &[])
        .await
        .unwrap();
    let mine = ack.item().unwrap().item_id.clone().unwrap();
    c.edit_text(&tid, &mine, ctx.as_str(), "fixed")
        .await
        .unwrap();
    let items = fake.items(&t);
    assert_eq!(items.last().unwrap()["text"], "fixed");
    c.unsend(&tid, &mine).await.unwrap();
    assert!(fake.last_request("/delete/").unwrap().signed.is_some());
    assert!(fake.items(&t).iter().all(|i| i["item_id"] != mine.as_str()));
    // unsending someone else's message fails; unknown items are not found
    let e = c.unsend(&tid, &ItemId::new(bob_item)).await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 400, .. }), "{e:?}");
    let e = c.unsend(&tid, &mine).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn group_management() {
    let (fake, c) = alice().await;
    let th = c
        .create_group(&[UserPk(BOB)], Some("Plans"), &ClientContext::generate())
        .await
        .unwrap();
    assert!(
        fake.last_request("/create_group_thread/")
            .unwrap()
            .signed
            .is_some()
    );
    assert_eq!(
        fake.last_request("/create_group_thread/")
            .unwrap()
            .field("recipient_users")
            .as_deref(),
        Some(r#"["1002"]"#)
    );
    assert_eq!(th.thread_title.as_deref(), Some("Plans"));
    let tid = th.thread_id.clone();
    c.rename_thread(&tid, "Better plans").await.unwrap();
    c.add_users(&tid, &[UserPk(CAROL)]).await.unwrap();
    assert_eq!(
        fake.last_request("/add_user/")
            .unwrap()
            .field("user_ids")
            .as_deref(),
        Some(r#"["1003"]"#)
    );
    let rec = fake.thread(tid.as_str()).unwrap();
    assert_eq!(rec.title.as_deref(), Some("Better plans"));
    assert!(rec.users.contains(&CAROL));
    c.remove_users(&tid, &[UserPk(BOB)]).await.unwrap();
    assert!(!fake.thread(tid.as_str()).unwrap().users.contains(&BOB));
    let t = c.thread(&tid, None, Direction::Older, 10).await.unwrap();
    assert!(t.items.iter().any(|i| matches!(i.kind(), ItemKind::ActionLog(a) if a.description.as_deref() == Some("alice named the group Better plans."))));
    c.set_muted(&tid, true).await.unwrap();
    assert!(
        fake.thread(tid.as_str())
            .unwrap()
            .muted_for
            .contains(&ALICE)
    );
    c.set_muted(&tid, false).await.unwrap();
    assert!(
        !fake
            .thread(tid.as_str())
            .unwrap()
            .muted_for
            .contains(&ALICE)
    );
    c.mark_unread(&tid).await.unwrap();
    assert!(fake.last_request("/mark_unread/").unwrap().signed.is_some());
    assert!(
        fake.thread(tid.as_str())
            .unwrap()
            .unread_for
            .contains(&ALICE)
    );
    c.leave_thread(&tid).await.unwrap();
    assert!(!fake.thread(tid.as_str()).unwrap().users.contains(&ALICE));
    let e = c.rename_thread(&tid, "x").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

#[tokio::test]
async fn requests_hide_decline_and_approve_many() {
    let (fake, c) = alice().await;
    let a = fake.add_thread(&[BOB, ALICE], None);
    let b = fake.add_thread(&[CAROL, ALICE], None);
    let h = fake.add_thread(&[ALICE, CAROL, BOB], Some("h"));
    fake.set_pending(&a, ALICE);
    fake.set_pending(&b, ALICE);
    c.approve_threads(&[ThreadId::new(a.clone())])
        .await
        .unwrap();
    assert!(
        fake.last_request("/approve_multiple/")
            .unwrap()
            .signed
            .is_some()
    );
    c.decline_thread(&ThreadId::new(b.clone())).await.unwrap();
    c.hide_thread(&ThreadId::new(h.clone())).await.unwrap();
    let inbox = c.inbox(InboxKind::Main, None, None, 20).await.unwrap();
    let ids: Vec<&str> = inbox
        .inbox
        .threads
        .iter()
        .map(|t| t.thread_id.as_str())
        .collect();
    assert_eq!(ids, vec![a.as_str()]);
}

#[tokio::test]
async fn users_presence_and_errors() {
    let (fake, c) = alice().await;
    let found = c.search_users("ca", 30).await.unwrap();
    assert_eq!(
        found
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        vec!["carol"]
    );
    assert_eq!(
        fake.last_request("/users/search/")
            .unwrap()
            .query_param("count"),
        Some("30")
    );
    assert_eq!(c.user_info(UserPk(BOB)).await.unwrap().username, "bob");
    assert_eq!(c.user_by_username("carol").await.unwrap().pk, UserPk(CAROL));
    assert!(matches!(
        c.user_info(UserPk(9)).await.unwrap_err(),
        Error::NotFound { .. }
    ));
    fake.set_presence(BOB, true, 1_700_000_000_000);
    let p = c.presence().await.unwrap();
    assert!(p["1002"].is_active);
    assert_eq!(p["1002"].last_activity_at_ms, Some(1_700_000_000_000));
    // feedback_required is surfaced and not retried
    let t = fake.add_thread(&[ALICE, BOB], None);
    fake.inject("/broadcast/text/", 400, json!({"message": "feedback_required", "spam": true, "feedback_title": "Try Again Later", "feedback_message": "We restrict certain activity.", "status": "fail"}), 1);
    let e = c
        .send_text(
            &SendTarget::Thread(ThreadId::new(t)),
            "x",
            &ClientContext::generate(),
            None,
            &[],
        )
        .await
        .unwrap_err();
    match &e {
        Error::FeedbackRequired { message, .. } => {
            assert_eq!(message, "We restrict certain activity.")
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_transient());
    assert_eq!(fake.requests_to("/broadcast/text/").len(), 1);
}

#[tokio::test]
async fn clip_info_for_reel_shares() {
    let (fake, c) = alice().await;
    fake.add_clip("3300000000000000000", json!({"id": "3300000000000000000_42", "media_type": 2, "code": "Creel",
        "video_versions": [{"type": 101, "width": 720, "height": 1280, "url": "https://cdn.example/reel.mp4"}]}));
    let m = c.clip_info("3300000000000000000").await.unwrap();
    assert_eq!(m.code.as_deref(), Some("Creel"));
    assert_eq!(m.best_url(), Some("https://cdn.example/reel.mp4"));
    assert!(matches!(
        c.clip_info("1").await.unwrap_err(),
        Error::NotFound { .. }
    ));
    // Only the media id alone finds it, not the `<media_id>_<owner_id>` form.
    assert!(c.clip_info("3300000000000000000_42").await.is_err());
}

#[tokio::test]
async fn inbox_threads_walks_all_pages() {
    let (fake, c) = alice().await;
    for i in 0..45 {
        let t = fake.add_thread(&[ALICE, BOB], Some(&format!("g{i}")));
        fake.push_text(&t, BOB, "x");
    }
    let (threads, seq, snap) = c.inbox_threads(InboxKind::Main, 100).await.unwrap();
    assert_eq!(threads.len(), 45);
    assert!(seq.is_some() && snap.is_some());
    assert_eq!(fake.requests_to("/direct_v2/inbox/").len(), 3);
    let (few, _, _) = c.inbox_threads(InboxKind::Main, 5).await.unwrap();
    assert_eq!(few.len(), 5);
    assert!(c.is_logged_in());
}
