//! The request core without a network: signed bodies, what a call prints, the backoff
//! schedule, the header sets.

use super::*;

#[test]
fn signed_body_shape() {
    let b = signed_body(&[("username".into(), "x".into()), ("a".into(), "[]".into())]);
    assert_eq!(b, r#"SIGNATURE.{"a":"[]","username":"x"}"#);
    let enc = form_encode(&[("signed_body".into(), b)]);
    assert!(
        enc.starts_with("signed_body=SIGNATURE.%7B%22a%22%3A%22%5B%5D%22"),
        "{enc}"
    );
}

#[test]
fn a_call_prints_field_names_only() {
    let call = Call::new(Method::POST, "http://x/".into())
        .signed(vec![("verification_code", "123456".into())]);
    let shown = format!("{call:?}");
    assert!(
        shown.contains("verification_code") && !shown.contains("123456"),
        "{shown}"
    );
}

#[test]
fn backoff_schedule() {
    let cfg = HttpConfig::default();
    let rl = Error::RateLimited {
        message: String::new(),
        retry_after: None,
    };
    let (mut t, mut r) = (0, 0);
    let mut waits = vec![];
    while let Some(d) = backoff_delay(&cfg, &rl, &mut t, &mut r) {
        waits.push(d.as_secs());
    }
    assert_eq!(waits, vec![120, 240]);
    let tr = Error::Transient {
        message: String::new(),
    };
    let (mut t, mut r) = (0, 0);
    let mut waits = vec![];
    while let Some(d) = backoff_delay(&cfg, &tr, &mut t, &mut r) {
        waits.push(d.as_secs());
    }
    assert_eq!(waits, vec![2, 4, 8]);
    let long = Error::RateLimited {
        message: String::new(),
        retry_after: Some(Duration::from_secs(86400)),
    };
    assert_eq!(backoff_delay(&cfg, &long, &mut 0, &mut 0), None);
    let dead = Error::LoginRequired {
        message: String::new(),
        logout_reason: None,
    };
    assert_eq!(backoff_delay(&cfg, &dead, &mut 0, &mut 0), None);
}

#[test]
fn header_sets() {
    let s = Session::new(Device::derive(b"x", "@a:b"));
    let cfg = HttpConfig::default();
    let h = api_headers(&s, &cfg, true);
    for name in [
        "user-agent",
        "x-ig-app-id",
        "x-ig-capabilities",
        "x-ig-device-id",
        "x-ig-android-id",
        "x-ig-www-claim",
        "ig-intended-user-id",
        "x-pigeon-session-id",
        "x-bloks-version-id",
        "content-type",
    ] {
        assert!(h.contains_key(name), "{name}");
    }
    assert!(!h.contains_key("authorization"));
    assert_eq!(h["ig-intended-user-id"], "0");
    let r = rupload_headers(&s, &cfg, &[("x-entity-name".into(), "e".into())]);
    assert!(!r.contains_key("x-bloks-version-id") && !r.contains_key("x-ig-app-id"));
    assert_eq!(r["x-entity-name"], "e");
    assert!(!r.contains_key("ig-u-shbid") && !r.contains_key("ig-u-shbts"));
    // Once Instagram set them, rupload carries the session headers too.
    let mut s = s;
    s.shbid = Some("1,2,3:01f7".into());
    s.shbts = Some("4,2,5:01f7".into());
    let r = rupload_headers(&s, &cfg, &[]);
    assert_eq!(r["ig-u-shbid"], "1,2,3:01f7");
    assert_eq!(r["ig-u-shbts"], "4,2,5:01f7");
}
