//! The demo behind `scripts/demo`: the fake Instagram (HTTP API + MQTToT broker, seeded with a
//! demo account, contacts and threads), the bridge pointed at it, and a small control API so
//! a person can make a contact write, react or type.
//!
//! `cargo run --example demo -- <config.yaml> <control port>` (the script prepares the config
//! and Synapse). Ctrl-C stops it.

#[path = "../tests/it/support/mod.rs"]
mod support;

#[path = "../tests/e2e/world.rs"]
mod world;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::IntoResponse;
use serde_json::json;

const ME: i64 = 1001;
const CONTACTS: [(&str, i64); 3] = [("alice", 2001), ("bob", 2002), ("carol", 2003)];

struct Demo {
    world: world::World,
    /// contact name (or `group`) → thread id
    threads: HashMap<String, String>,
}

fn seed(w: &world::World) -> HashMap<String, String> {
    w.ig.add_account("demo", "demo-password", ME);
    let mut threads = HashMap::new();
    for (name, pk) in CONTACTS {
        w.ig.add_account(name, "unused", pk);
        let thread = w.ig.add_thread(&[pk, ME], None);
        threads.insert(name.to_string(), thread);
    }
    w.ig.push_text(
        &threads["alice"],
        2001,
        "Hi! This is the fake Instagram talking.",
    );
    w.ig.push_text(
        &threads["alice"],
        2001,
        "Reply here and I'll get it on the Instagram side.",
    );
    w.ig.push_text(&threads["bob"], 2002, "Did you see the game last night?");
    let group = w.ig.add_thread(&[2001, ME, 2002, 2003], Some("Book club"));
    w.ig.push_text(&group, 2003, "Next book: anything but Moby Dick.");
    threads.insert("group".to_string(), group);
    threads
}

fn sender_pk(name: &str) -> Option<i64> {
    CONTACTS.iter().find(|(n, _)| *n == name).map(|(_, pk)| *pk)
}

async fn help() -> &'static str {
    "matrix-instagram demo control API\n\n\
     POST /send?from=alice&text=hello        alice writes to you (from: alice, bob, carol)\n\
     POST /send?from=carol&to=group&text=hi  carol writes in the Book club group\n\
     POST /typing?from=bob                   bob starts typing\n\
     POST /react?from=alice&emoji=😂         alice reacts to your last message to her\n\
     POST /photo?from=bob                    bob sends a photo\n\
     POST /share?from=carol                  carol shares a post (photo, caption, link)\n\
     GET  /messages?with=alice               what the fake Instagram holds for that thread\n"
}

fn thread_for(demo: &Demo, q: &HashMap<String, String>) -> Result<(i64, String), String> {
    let from = q.get("from").map(String::as_str).unwrap_or("alice");
    let pk = sender_pk(from).ok_or(format!("unknown contact {from:?} (alice, bob, carol)"))?;
    let key = q.get("to").map(String::as_str).unwrap_or(from);
    let thread = demo
        .threads
        .get(key)
        .cloned()
        .ok_or(format!("unknown thread {key:?}"))?;
    Ok((pk, thread))
}

async fn send(
    State(demo): State<Arc<Demo>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    match thread_for(&demo, &q) {
        Ok((pk, thread)) => {
            let text = q.get("text").cloned().unwrap_or_else(|| "hello".into());
            let id = demo.world.ig.push_text(&thread, pk, &text);
            axum::Json(json!({"item_id": id})).into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e).into_response(),
    }
}

/// A generated picture served on the fake CDN; returns its URL.
fn picture(demo: &Demo, name: &str, shade: u8) -> String {
    let img = image::RgbImage::from_fn(320, 240, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, shade])
    });
    let mut jpeg = std::io::Cursor::new(Vec::new());
    if let Err(e) = img.write_to(&mut jpeg, image::ImageFormat::Jpeg) {
        eprintln!("cannot make the demo picture: {e}");
    }
    let n = demo.world.ig.seq_id();
    demo.world
        .ig
        .add_cdn_object(&format!("demo/{name}-{n}.jpg"), jpeg.into_inner())
}

async fn photo(
    State(demo): State<Arc<Demo>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    match thread_for(&demo, &q) {
        Ok((pk, thread)) => {
            let url = picture(&demo, "photo", 200);
            let id = demo.world.ig.push_item(
                &thread,
                pk,
                "media",
                json!({"media": {"id": format!("{}_{pk}", demo.world.ig.seq_id()), "media_type": 1,
                    "original_width": 320, "original_height": 240,
                    "image_versions2": {"candidates": [{"width": 320, "height": 240, "url": url}]}}}),
            );
            axum::Json(json!({"item_id": id})).into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn share(
    State(demo): State<Arc<Demo>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    match thread_for(&demo, &q) {
        Ok((pk, thread)) => {
            let url = picture(&demo, "post", 60);
            let id = demo.world.ig.push_item(
                &thread,
                pk,
                "media_share",
                json!({"media_share": {"id": "3141_42", "media_type": 1, "code": "DemoPost1",
                    "user": {"pk": 42, "username": "natgeo"}, "caption": {"text": "A demo post"},
                    "image_versions2": {"candidates": [{"width": 320, "height": 240, "url": url}]}}}),
            );
            axum::Json(json!({"item_id": id})).into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn typing(
    State(demo): State<Arc<Demo>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    match thread_for(&demo, &q) {
        Ok((pk, thread)) => {
            demo.world.ig.set_typing_as(pk, &thread, true);
            "ok\n".into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn react(
    State(demo): State<Arc<Demo>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    match thread_for(&demo, &q) {
        Ok((pk, thread)) => {
            let last_mine = demo
                .world
                .ig
                .items(&thread)
                .into_iter()
                .rev()
                .find(|i| i["user_id"] == ME)
                .and_then(|i| i["item_id"].as_str().map(str::to_string));
            let Some(item) = last_mine else {
                return (
                    axum::http::StatusCode::CONFLICT,
                    "send a message from Matrix first\n",
                )
                    .into_response();
            };
            let emoji = q.get("emoji").cloned().unwrap_or_else(|| "❤️".into());
            demo.world.react(pk, &thread, &item, Some(&emoji));
            "ok\n".into_response()
        }
        Err(e) => (axum::http::StatusCode::BAD_REQUEST, e).into_response(),
    }
}

async fn messages(
    State(demo): State<Arc<Demo>>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let key = q.get("with").map(String::as_str).unwrap_or("alice");
    match demo.threads.get(key) {
        Some(thread) => {
            let items: Vec<_> = demo
                .world
                .ig
                .items(thread)
                .into_iter()
                .map(|i| json!({"from": i["user_id"], "type": i["item_type"], "text": i["text"]}))
                .collect();
            axum::Json(json!(items)).into_response()
        }
        None => (axum::http::StatusCode::BAD_REQUEST, "unknown thread\n").into_response(),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(config_path), Some(control_port)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: demo <config.yaml> <control port>   (run scripts/demo)");
        std::process::exit(2);
    };
    let mut config = match matrix_instagram::config::Config::load(config_path.as_ref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&config.logging.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();

    let world = world::World::start().await;
    let threads = seed(&world);
    config.instagram.api_base_url = world.ig.api_base().parse().expect("fake api url");
    config.instagram.upload_base_url = world.ig.upload_base().parse().expect("fake upload url");
    config.instagram.mqtt.host = "127.0.0.1".into();
    config.instagram.mqtt.port = world.broker.plain_addr.port();
    config.instagram.mqtt.tls = false;
    config.instagram.min_request_gap_ms = 0;
    let running = match matrix_instagram::app::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    };
    let demo = Arc::new(Demo { world, threads });
    let app = axum::Router::new()
        .route("/", axum::routing::get(help))
        .route("/send", axum::routing::post(send))
        .route("/typing", axum::routing::post(typing))
        .route("/react", axum::routing::post(react))
        .route("/photo", axum::routing::post(photo))
        .route("/share", axum::routing::post(share))
        .route("/messages", axum::routing::get(messages))
        .with_state(demo);
    let listener = match tokio::net::TcpListener::bind(format!("127.0.0.1:{control_port}")).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{control_port}: {e}");
            std::process::exit(1);
        }
    };
    println!("DEMO READY");
    let serve =
        axum::serve(listener, app).with_graceful_shutdown(matrix_instagram::app::shutdown_signal());
    if let Err(e) = serve.await {
        eprintln!("control API failed: {e}");
    }
    running.shutdown().await;
}
