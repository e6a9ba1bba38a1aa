//! An account's proxy, against a real proxy (pproxy, see `support/pproxy.rs`): the HTTP API,
//! media and the realtime connection go through SOCKS5 and HTTP CONNECT proxies; a dead
//! proxy or wrong credentials give a clear error, name no password, and nothing reaches the
//! fake Instagram directly.
//!
//! Through an HTTP proxy the API is reached over TLS (the fake's HTTPS listener), as the real
//! `https://i.instagram.com` is: the proxy tunnels with CONNECT. (A plain `http://` URL would
//! be forwarded instead, a mode no real account uses, and pproxy reads the lower-case
//! `proxy-authorization` header that mode sends case-sensitively, refusing it.)

use std::time::Duration;

use bytes::Bytes;
use matrix_instagram::instagram::Error;
use matrix_instagram::instagram::http::{
    Device, HttpConfig, InstagramClient, LoginOutcome, MediaKind,
};
use matrix_instagram::instagram::proxy::{ProxyFailure, ProxyUrl};
use matrix_instagram::instagram::realtime::{
    ConnectionState, DisconnectCause, Password, RealtimeClient, RealtimeEvent,
};

use crate::realtime::{CURSOR, PK, broker, config as rt_config, next_matching, params, subscribed};
use crate::support::fake_instagram::FakeInstagram;
use crate::support::pproxy::{PASSWORD as PROXY_PASSWORD, Pproxy, dead_port};

const ALICE: i64 = 1001;
const PASSWORD: &str = "correct horse battery staple";

async fn fake() -> FakeInstagram {
    let fake = FakeInstagram::start().await;
    fake.add_account("alice", PASSWORD, ALICE);
    fake
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// The fake's base URL: HTTPS (`tls`) or plain HTTP.
fn base(fake: &FakeInstagram, tls: bool) -> String {
    if tls { fake.tls_base() } else { fake.base() }.to_owned()
}

fn client_on(fake: &FakeInstagram, tls: bool, proxy: Option<&str>) -> InstagramClient {
    let base = base(fake, tls);
    let cfg = HttpConfig {
        proxy: proxy.map(|p| ProxyUrl::parse(p).expect("a proxy URL")),
        extra_ca: tls.then(|| fake.ca_path().to_owned()),
        ..HttpConfig::for_local(&base, &format!("{base}/rupload/"))
    };
    InstagramClient::new(cfg, Device::derive(b"test-seed", "@alice:example.org")).unwrap()
}

fn client(fake: &FakeInstagram, proxy: Option<&str>) -> InstagramClient {
    client_on(fake, false, proxy)
}

fn proxy_failure(e: &Error) -> &ProxyFailure {
    match e {
        Error::Proxy(p) => &p.failure,
        other => panic!("expected a proxy error, got {other:?}"),
    }
}

#[tokio::test]
async fn the_http_api_and_media_go_through_socks5_and_http_proxies() {
    let proxy = Pproxy::start().await;
    let cases = [
        ("socks5h", "socks5", false),
        ("socks5", "socks5", false),
        ("socks5h", "socks5", true),
        ("http", "http", true),
    ];
    for (scheme, proto, tls) in cases {
        let fake = fake().await;
        let base = base(&fake, tls);
        let port = port_of(&base);
        let c = client_on(&fake, tls, Some(&proxy.url(scheme)));
        assert_eq!(proxy.relayed_to(port), 0);
        match c.login("alice", PASSWORD).await {
            Ok(LoginOutcome::LoggedIn(u)) => assert_eq!(u.pk.get(), ALICE),
            other => panic!("{scheme} tls={tls}: {other:?}"),
        }
        assert!(
            proxy.wait_relayed(proto, port).await,
            "{scheme} tls={tls}: {:?}",
            proxy.lines()
        );
        assert_eq!(c.current_user().await.unwrap().pk.get(), ALICE);
        // Media both ways over the same proxied transport.
        fake.add_cdn_object("v/p.jpg", b"\xff\xd8jpeg".to_vec());
        let url = format!("{base}/cdn/v/p.jpg");
        let got = c.download_media(&url, 1 << 20).await.expect("a download");
        assert_eq!(&got[..], b"\xff\xd8jpeg");
        let up = c
            .upload(MediaKind::Gif, Bytes::from_static(b"GIF89a"), "image/gif")
            .await
            .expect("an upload through the proxy");
        assert_eq!(fake.uploaded(&up.media_id).unwrap().1, b"GIF89a");
    }
}

#[tokio::test]
async fn accounts_share_a_transport_only_behind_the_same_proxy() {
    let proxy = Pproxy::start().await;
    let fake = fake().await;
    let direct = client(&fake, None);
    let a = client(&fake, Some(&proxy.url("socks5h")));
    let b = client(&fake, Some(&proxy.url("socks5h")));
    let c = client(&fake, Some(&proxy.url("http")));
    assert!(a.shares_transport_with(&b), "one proxy, one pool");
    assert!(!a.shares_transport_with(&c), "another proxy, another pool");
    assert!(!a.shares_transport_with(&direct));
    assert!(!c.shares_transport_with(&direct));
}

/// Starts a realtime connection through `proxy` and returns why it was refused (a proxy
/// failure, by its cause).
async fn realtime_refused_by(
    broker: &crate::support::fake_broker::FakeBroker,
    proxy: &str,
) -> String {
    let mut cfg = rt_config(broker, false);
    cfg.proxy = Some(ProxyUrl::parse(proxy).unwrap());
    let p = params(PK, Password::SessionId(format!("{PK}%3Asecret")));
    let (rt, mut rx) = RealtimeClient::start(cfg, p, CURSOR).expect("start");
    let ev = next_matching(&mut rx, |e| {
        matches!(
            e,
            RealtimeEvent::State(ConnectionState::Disconnected { .. })
        )
    })
    .await;
    let RealtimeEvent::State(ConnectionState::Disconnected { reason, cause }) = ev else {
        unreachable!()
    };
    assert_eq!(cause, DisconnectCause::Proxy, "{reason}");
    let _ = rt.shutdown().await;
    reason
}

#[tokio::test]
async fn a_dead_proxy_is_a_clear_error_and_nothing_goes_direct() {
    let fake = fake().await;
    let dead = dead_port();
    for scheme in ["socks5h", "socks5", "http"] {
        let url = format!("{scheme}://me:hunter2@127.0.0.1:{dead}");
        let c = client_on(&fake, scheme == "http", Some(&url));
        let e = c.login("alice", PASSWORD).await.unwrap_err();
        assert!(
            matches!(proxy_failure(&e), ProxyFailure::Unreachable(_)),
            "{scheme}: {e:?}"
        );
        let text = e.to_string();
        assert!(text.contains(&format!("127.0.0.1:{dead}")), "{text}");
        assert!(text.contains("cannot reach the proxy"), "{text}");
        assert!(!text.contains("hunter2") && !format!("{e:?}").contains("hunter2"));
        assert!(!e.user_message().contains("hunter2"));
        assert_eq!(e.kind(), "proxy");
        assert!(e.is_transient(), "the proxy may come back");
        fake.add_cdn_object("v/x.jpg", b"x".to_vec());
        let url = format!("{}/cdn/v/x.jpg", base(&fake, scheme == "http"));
        let e = c.download_media(&url, 1 << 20).await.unwrap_err();
        assert!(
            matches!(proxy_failure(&e), ProxyFailure::Unreachable(_)),
            "{e:?}"
        );
    }
    assert!(
        fake.requests().is_empty(),
        "nothing reached Instagram directly"
    );

    // The realtime connection: the same, and the broker sees no connection at all.
    let broker = broker().await;
    for scheme in ["socks5h", "http"] {
        let proxy = format!("{scheme}://me:hunter2@127.0.0.1:{dead}");
        let reason = realtime_refused_by(&broker, &proxy).await;
        assert!(reason.contains("cannot reach the proxy"), "{reason}");
        assert!(
            reason.contains(&format!("me:***@127.0.0.1:{dead}")),
            "{reason}"
        );
        assert!(!reason.contains("hunter2"), "{reason}");
    }
    assert!(
        broker.connects().is_empty(),
        "nothing reached the broker directly"
    );
}

#[tokio::test]
async fn wrong_proxy_credentials_are_told_apart_and_never_shown() {
    let proxy = Pproxy::start().await;
    let fake = fake().await;
    let broker = broker().await;
    for scheme in ["socks5h", "http"] {
        let c = client_on(
            &fake,
            scheme == "http",
            Some(&proxy.url_with(scheme, "wrong-pw")),
        );
        let e = c.login("alice", PASSWORD).await.unwrap_err();
        assert_eq!(
            proxy_failure(&e),
            &ProxyFailure::AuthRejected,
            "{scheme}: {e:?}"
        );
        assert!(
            e.to_string()
                .contains("rejected the user name and password"),
            "{e}"
        );
        assert!(!e.to_string().contains("wrong-pw"));

        let reason = realtime_refused_by(&broker, &proxy.url_with(scheme, "wrong-pw")).await;
        assert!(
            reason.contains("rejected the user name and password"),
            "{reason}"
        );
        assert!(!reason.contains("wrong-pw") && !reason.contains(PROXY_PASSWORD));
    }
    assert!(fake.requests().is_empty());
    assert!(broker.connects().is_empty());
}

#[tokio::test]
async fn the_realtime_connection_goes_through_socks5_and_http_connect_with_and_without_tls() {
    let proxy = Pproxy::start().await;
    let broker = broker().await;
    let cases = [
        ("socks5h", "socks5", false),
        ("socks5", "socks5", true),
        ("http", "http", false),
        ("http", "http", true),
    ];
    for (i, (scheme, proto, tls)) in cases.into_iter().enumerate() {
        let pk = PK + 1 + i as i64;
        let mut cfg = rt_config(&broker, tls);
        cfg.proxy = Some(ProxyUrl::parse(&proxy.url(scheme)).unwrap());
        let port = cfg.port;
        let p = params(pk, Password::SessionId(format!("{pk}%3Asecret")));
        let (rt, mut rx) = RealtimeClient::start(cfg, p, CURSOR).expect("start");
        next_matching(&mut rx, |e| {
            matches!(e, RealtimeEvent::State(ConnectionState::Connected))
        })
        .await;
        assert!(
            proxy.wait_relayed(proto, port).await,
            "{scheme} tls={tls}: {:?}",
            proxy.lines()
        );
        assert_eq!(broker.connections(pk), 1, "{scheme} tls={tls}");
        assert!(broker.connects().iter().any(|c| c.user_id == pk));
        // Both ways over the tunnel: the iris subscription is answered.
        subscribed(&mut rx).await;
        let _ = rt.shutdown().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while rx.recv().await.is_some() {}
        })
        .await;
    }
}
