//! rupload (reduced headers), attachment broadcasts and CDN downloads.

use bytes::Bytes;
use matrix_instagram::instagram::Error;
use matrix_instagram::instagram::http::direct::Direction;
use matrix_instagram::instagram::http::{MediaKind, SendTarget};
use matrix_instagram::instagram::ids::{ClientContext, ThreadId};
use matrix_instagram::instagram::types::ItemKind;
use serde_json::json;

use super::common::*;

#[tokio::test]
async fn photo_upload_uses_reduced_headers_then_broadcasts_and_downloads() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB], None);
    let tid = ThreadId::new(t.clone());
    let jpeg = Bytes::from_static(b"\xff\xd8\xff\xe0fake-jpeg-bytes");
    // the broadcast answers 503 once: retried
    fake.inject(
        "/broadcast/photo_attachment/",
        503,
        json!({"message": "", "status": "fail"}),
        1,
    );
    let ack = c
        .send_photo(
            &SendTarget::Thread(tid.clone()),
            jpeg.clone(),
            &ClientContext::generate(),
        )
        .await
        .unwrap();
    assert!(ack.item().unwrap().item_id.is_some());
    let up = fake
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/rupload/messenger_image/"))
        .unwrap();
    assert_eq!(up.status, 200);
    for forbidden in ["x-bloks-version-id", "x-ig-app-id", "x-pigeon-session-id"] {
        assert!(
            up.header(forbidden).is_none(),
            "{forbidden} sent to rupload"
        );
    }
    assert_eq!(
        up.header("x-entity-length"),
        Some(jpeg.len().to_string().as_str())
    );
    assert_eq!(up.header("x-entity-type"), Some("image/jpeg"));
    assert_eq!(up.header("image_type"), Some("FILE_ATTACHMENT"));
    assert_eq!(up.header("offset"), Some("0"));
    assert!(up.header("authorization").is_some());
    // Like the other authenticated requests, once Instagram set them at login.
    assert!(up.header("ig-u-shbid").is_some() && up.header("ig-u-shbts").is_some());
    assert_eq!(fake.requests_to("/broadcast/photo_attachment/").len(), 2);
    let bc = fake.last_request("/broadcast/photo_attachment/").unwrap();
    let media_id = bc.field("attachment_fbid").unwrap();
    assert_eq!(fake.uploaded(&media_id).unwrap().1, jpeg.to_vec());
    // read it back and download the best candidate
    let th = c.thread(&tid, None, Direction::Older, 1).await.unwrap();
    let ItemKind::Media(m) = th.items[0].kind() else {
        panic!("{:?}", th.items[0].kind())
    };
    let url = m.best_url().unwrap();
    assert!(!url.contains("s=150"), "chooses the original size");
    let data = c.download_media(url, 1 << 20).await.unwrap();
    assert_eq!(data, jpeg);
    assert!(matches!(
        c.download_media(url, 4).await.unwrap_err(),
        Error::InvalidInput(_)
    ));
}

#[tokio::test]
async fn video_and_voice() {
    let (fake, c) = alice().await;
    let t = fake.add_thread(&[ALICE, BOB], None);
    let tid = ThreadId::new(t.clone());
    let target = SendTarget::Thread(tid.clone());
    c.send_video(
        &target,
        Bytes::from_static(b"\0\0\0\x18ftypmp42mp4-bytes"),
        &ClientContext::generate(),
    )
    .await
    .unwrap();
    let up = fake
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/rupload/messenger_video/"))
        .unwrap();
    assert_eq!(up.header("video_type"), Some("FILE_ATTACHMENT"));
    let bc = fake.last_request("/broadcast/video_attachment/").unwrap();
    assert_eq!(bc.field("video_result"), bc.field("attachment_fbid"));
    c.send_voice(
        &target,
        Bytes::from_static(b"\0\0\0\x18ftypM4A m4a-bytes"),
        &[0.0, 0.5, 1.0],
        &ClientContext::generate(),
    )
    .await
    .unwrap();
    let up = fake
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/rupload/messenger_audio/"))
        .unwrap();
    assert_eq!(up.header("audio_type"), Some("VOICE_MESSAGE"));
    let bc = fake.last_request("/broadcast/voice_attachment/").unwrap();
    assert_eq!(bc.field("waveform").as_deref(), Some("[0.0,0.5,1.0]"));
    let th = c.thread(&tid, None, Direction::Older, 2).await.unwrap();
    let ItemKind::Voice(v) = th.items[0].kind() else {
        panic!()
    };
    let audio = v.media.as_ref().unwrap().audio.as_ref().unwrap();
    assert_eq!(audio.waveform_data, vec![0.0, 0.5, 1.0]);
    let data = c
        .download_media(v.media.as_ref().unwrap().best_url().unwrap(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(&data[..], b"\0\0\0\x18ftypM4A m4a-bytes");
    let ItemKind::Media(m) = th.items[1].kind() else {
        panic!()
    };
    assert_eq!(m.media_type, Some(2));
    assert!(m.best_video().is_some());
    // a raw upload
    let up = c
        .upload(MediaKind::Gif, Bytes::from_static(b"GIF89a"), "image/gif")
        .await
        .unwrap();
    assert!(up.entity_name.starts_with(&up.upload_id));
    assert_eq!(fake.uploaded(&up.media_id).unwrap().0, "image/gif");
}

#[tokio::test]
async fn cdn_download_keeps_query_sends_no_credentials_and_reports_expiry() {
    let (fake, c) = alice().await;
    let url = format!(
        "{}?oe=65AB&_nc_sid=x%2Fy",
        fake.add_cdn_object("v/t51/abc.jpg", b"img".to_vec())
    );
    assert_eq!(&c.download_media(&url, 100).await.unwrap()[..], b"img");
    let r = fake.last_request("/cdn/v/t51/abc.jpg").unwrap();
    assert_eq!(r.query_param("oe"), Some("65AB"));
    assert_eq!(r.query_param("_nc_sid"), Some("x/y"));
    assert!(r.header("authorization").is_none() && r.header("cookie").is_none());
    assert!(r.header("user-agent").unwrap().starts_with("Instagram "));
    fake.expire_cdn_object("v/t51/abc.jpg");
    assert!(matches!(
        c.download_media(&url, 100).await.unwrap_err(),
        Error::NotFound { .. }
    ));
}
