use axum::http::HeaderValue;

use super::*;

const SECRET: &str = "a-shared-secret-of-32-characters";

fn config(allow_matrix_auth: bool, hs: &str) -> Config {
    let text = include_str!("../../../example-config.yaml");
    let (text, _) = crate::config::fill_generated_secrets(text);
    let mut config =
        Config::from_yaml(&text, "example", std::iter::empty()).expect("example config");
    config.provisioning.shared_secret = Secret::new(SECRET);
    config.provisioning.allow_matrix_auth = allow_matrix_auth;
    config.homeserver.address = hs.parse().expect("url");
    config
        .bridge
        .permissions
        .insert("example.com".into(), PermissionLevel::User);
    config
        .bridge
        .permissions
        .insert("@nobody:example.com".into(), PermissionLevel::Relay);
    config
}

fn headers(token: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Some(t) = token {
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
        );
    }
    h
}

async fn ask(
    auth: &Auth,
    c: &Config,
    token: Option<&str>,
    user: Option<&str>,
) -> Result<String, ProvError> {
    auth.user(c, &headers(token), user).await
}

fn code(r: Result<String, ProvError>) -> &'static str {
    r.expect_err("refused").status_and_code().1
}

#[tokio::test]
async fn the_shared_secret_acts_for_the_user_named_in_the_query() {
    let c = config(false, "http://127.0.0.1:9");
    let auth = Auth::new(&c);
    let ok = ask(&auth, &c, Some(SECRET), Some("@alice:example.com")).await;
    assert_eq!(ok.expect("accepted"), "@alice:example.com");
    let cases = [
        (None, Some("@a:example.com"), "M_MISSING_TOKEN"),
        (
            Some("not-the-secret-at-all"),
            Some("@a:example.com"),
            "M_UNKNOWN_TOKEN",
        ),
        (Some(SECRET), None, "M_MISSING_PARAM"),
        (Some(SECRET), Some("alice"), "M_BAD_JSON"),
        (Some(SECRET), Some("@nobody:example.com"), "M_FORBIDDEN"),
        (Some(SECRET), Some("@eve:elsewhere.org"), "M_FORBIDDEN"),
    ];
    for (token, user, expected) in cases {
        assert_eq!(
            code(ask(&auth, &c, token, user).await),
            expected,
            "{user:?}"
        );
    }
}

#[test]
fn a_short_or_ungenerated_secret_disables_the_api() {
    let mut c = config(false, "http://127.0.0.1:9");
    assert!(c.provisioning.enabled());
    c.provisioning.shared_secret = Secret::new("fifteen-chars!!");
    assert!(!c.provisioning.enabled());
    c.provisioning.shared_secret = Secret::new("generate");
    assert!(!c.provisioning.enabled());
}

/// A homeserver whose whoami knows one token; counts the calls.
async fn fake_homeserver() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use axum::routing::get;
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().route(
        "/_matrix/client/v3/account/whoami",
        get(move |h: HeaderMap| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match bearer(&h) {
                    Some(t) if t.expose() == "good-token" => (
                        axum::http::StatusCode::OK,
                        axum::Json(serde_json::json!({"user_id": "@bob:example.com"})),
                    ),
                    _ => (
                        axum::http::StatusCode::UNAUTHORIZED,
                        axum::Json(serde_json::json!({"errcode": "M_UNKNOWN_TOKEN"})),
                    ),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), calls)
}

use std::sync::Arc;

#[tokio::test]
async fn a_matrix_token_is_checked_with_the_homeserver_once_then_cached() {
    let (hs, calls) = fake_homeserver().await;
    let c = config(true, &hs);
    let auth = Auth::new(&c);
    for _ in 0..3 {
        let who = ask(&auth, &c, Some("good-token"), None).await;
        assert_eq!(who.expect("accepted"), "@bob:example.com");
    }
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "cached");
    let bad = ask(&auth, &c, Some("bad-token"), None).await;
    assert_eq!(code(bad), "M_UNKNOWN_TOKEN");
    let other = ask(&auth, &c, Some("good-token"), Some("@alice:example.com")).await;
    assert_eq!(code(other), "M_FORBIDDEN");
    // Off: a Matrix token is just an unknown token, and the homeserver is not asked.
    let off = config(false, &hs);
    let auth = Auth::new(&off);
    let r = ask(&auth, &off, Some("good-token"), None).await;
    assert_eq!(code(r), "M_UNKNOWN_TOKEN");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}
