use std::collections::HashSet;
use std::sync::Mutex;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;

#[derive(Default)]
struct Recorder {
    seen: Mutex<HashSet<String>>,
    recorded: Mutex<Vec<Transaction>>,
    fail: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("database is down")]
struct Down;

impl AppserviceHandler for Recorder {
    type Error = Down;

    async fn record_transaction(&self, txn: Transaction) -> Result<bool, Down> {
        if self.fail {
            return Err(Down);
        }
        let fresh = self.seen.lock().unwrap().insert(txn.txn_id.clone());
        if fresh {
            self.recorded.lock().unwrap().push(txn);
        }
        Ok(fresh)
    }
    async fn query_user(&self, user_id: &str) -> bool {
        user_id.starts_with("@instagram_")
    }
    async fn query_room_alias(&self, _alias: &str) -> bool {
        false
    }
}

fn app(handler: Arc<Recorder>) -> Router {
    router(
        ServerConfig {
            hs_token: "hs-secret".into(),
            max_body_size: 1024,
        },
        handler,
    )
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let req = req
        .header("Content-Type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json)
}

const TXN: &str = r#"{"events":[{"type":"m.room.message","room_id":"!a:x","content":{"body":"hi"}},"not an event",{"type":"m.room.member"}],"de.sorunome.msc2409.ephemeral":[{"type":"m.typing"}]}"#;

#[tokio::test]
async fn tokens_are_required_and_checked() {
    let app = app(Arc::default());
    let (s, j) = call(&app, "PUT", "/_matrix/app/v1/transactions/1", None, TXN).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(j["errcode"], "M_MISSING_TOKEN");
    let (s, j) = call(
        &app,
        "PUT",
        "/_matrix/app/v1/transactions/1",
        Some("hs-secreT"),
        TXN,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(j["errcode"], "M_FORBIDDEN");
    let (s, _) = call(
        &app,
        "GET",
        "/_matrix/app/v1/users/@instagram_1:x",
        Some("nope"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // The legacy query parameter is accepted.
    let (s, _) = call(
        &app,
        "PUT",
        "/transactions/legacy?access_token=hs-secret",
        None,
        TXN,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn transactions_are_processed_once_and_keep_every_event() {
    let handler = Arc::new(Recorder::default());
    let app = app(handler.clone());
    for _ in 0..2 {
        let (s, j) = call(
            &app,
            "PUT",
            "/_matrix/app/v1/transactions/t1",
            Some("hs-secret"),
            TXN,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(j, json!({}));
    }
    let recorded = handler.recorded.lock().unwrap();
    assert_eq!(recorded.len(), 1, "the retry was not processed again");
    assert_eq!(
        recorded[0].events.len(),
        3,
        "a bad event does not drop the others"
    );
    assert_eq!(
        recorded[0].ephemeral.len(),
        1,
        "unstable ephemeral key is read"
    );
}

#[tokio::test]
async fn bad_bodies_get_matrix_errors() {
    let app = app(Arc::default());
    let (s, j) = call(
        &app,
        "PUT",
        "/_matrix/app/v1/transactions/2",
        Some("hs-secret"),
        "{nope",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(j["errcode"], "M_NOT_JSON");
    let (s, _) = call(
        &app,
        "PUT",
        "/_matrix/app/v1/transactions/3",
        Some("hs-secret"),
        r#"{"events":{}}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let big = format!(r#"{{"events":[],"pad":"{}"}}"#, "x".repeat(2000));
    let (s, j) = call(
        &app,
        "PUT",
        "/_matrix/app/v1/transactions/4",
        Some("hs-secret"),
        &big,
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(j["errcode"], "M_TOO_LARGE");
}

#[tokio::test]
async fn storage_failure_is_not_acknowledged() {
    let app = app(Arc::new(Recorder {
        fail: true,
        ..Default::default()
    }));
    let (s, j) = call(
        &app,
        "PUT",
        "/_matrix/app/v1/transactions/5",
        Some("hs-secret"),
        TXN,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the homeserver must retry"
    );
    assert_eq!(j["errcode"], "M_UNKNOWN");
}

#[tokio::test]
async fn queries_ping_and_unknown_routes() {
    let app = app(Arc::default());
    let (s, _) = call(
        &app,
        "GET",
        "/_matrix/app/v1/users/@instagram_1:x",
        Some("hs-secret"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, j) = call(&app, "GET", "/users/@someone:x", Some("hs-secret"), "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(j["errcode"], "M_NOT_FOUND");
    let (s, _) = call(
        &app,
        "GET",
        "/_matrix/app/v1/rooms/%23a:x",
        Some("hs-secret"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, j) = call(
        &app,
        "POST",
        "/_matrix/app/v1/ping",
        Some("hs-secret"),
        r#"{"transaction_id":"p"}"#,
    )
    .await;
    assert_eq!((s, j), (StatusCode::OK, json!({})));
    let (s, j) = call(
        &app,
        "GET",
        "/_matrix/app/v1/elsewhere",
        Some("hs-secret"),
        "",
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(j["errcode"], "M_UNRECOGNIZED");
}

#[tokio::test]
async fn crypto_fields_are_read_in_both_spellings() {
    let handler = Arc::new(Recorder::default());
    let app = app(handler.clone());
    let unstable = r#"{"events":[],
        "de.sorunome.msc2409.to_device":[{"type":"m.room.encrypted","sender":"@a:x","to_user_id":"@bot:x","to_device_id":"D","content":{}}],
        "org.matrix.msc3202.device_lists":{"changed":["@a:x"],"left":["@b:x"]},
        "org.matrix.msc3202.device_one_time_keys_count":{"@bot:x":{"D":{"signed_curve25519":3}}},
        "org.matrix.msc3202.device_unused_fallback_key_types":{"@bot:x":{"D":["signed_curve25519"]}}}"#;
    let stable = r#"{"events":[],"to_device":[],"device_lists":{"changed":["@c:x"]},
        "org.matrix.msc3202.device_lists":{"changed":["@ignored:x"]}}"#;
    for (id, body) in [("u", unstable), ("s", stable)] {
        let uri = format!("/_matrix/app/v1/transactions/{id}");
        let (s, _) = call(&app, "PUT", &uri, Some("hs-secret"), body).await;
        assert_eq!(s, StatusCode::OK);
    }
    let recorded = handler.recorded.lock().unwrap();
    let crypto = &recorded[0].crypto;
    assert_eq!(crypto.to_device.len(), 1);
    assert_eq!(crypto.to_device[0]["to_device_id"], "D");
    assert_eq!(crypto.changed, ["@a:x"]);
    assert_eq!(crypto.left, ["@b:x"]);
    assert_eq!(
        crypto.otk_counts.as_ref().unwrap()["@bot:x"]["D"]["signed_curve25519"],
        3
    );
    assert!(crypto.fallback_keys.is_some());
    let crypto = &recorded[1].crypto;
    assert_eq!(crypto.changed, ["@c:x"], "the stable name wins");
    assert!(crypto.otk_counts.is_none() && crypto.to_device.is_empty());
}
