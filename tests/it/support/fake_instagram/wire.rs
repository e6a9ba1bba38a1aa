//! The fake's own reading of the wire format (written from PROTOCOL A.3/A.4/B.2, independent
//! of the client code): header checks, body decoding, `enc_password` decryption.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey};
use serde_json::Value;

/// The password key id the fake announces.
pub const KEY_ID: u8 = 117;

/// The fake's RSA-2048 key, generated once per process.
pub fn rsa_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key generation")
    })
}

/// `ig-set-password-encryption-pub-key`: base64 of the PEM public key.
pub fn public_key_header() -> String {
    let pem = rsa_key()
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("PEM encoding");
    base64::engine::general_purpose::STANDARD.encode(pem)
}

/// Decrypts `#PWD_INSTAGRAM:4:{ts}:{base64}`; `None` if anything is off.
pub fn decrypt_enc_password(value: &str) -> Option<String> {
    let rest = value.strip_prefix("#PWD_INSTAGRAM:4:")?;
    let (ts, b64) = rest.split_once(':')?;
    ts.parse::<u64>().ok()?;
    let blob = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    if blob.len() < 16 || blob[0] != 1 || blob[1] != KEY_ID {
        return None;
    }
    let iv = &blob[2..14];
    let len = u16::from_le_bytes([blob[14], blob[15]]) as usize;
    let rsa_ct = blob.get(16..16 + len)?;
    let tag = blob.get(16 + len..32 + len)?;
    let ct = blob.get(32 + len..)?;
    let aes_key = rsa_key().decrypt(Pkcs1v15Encrypt, rsa_ct).ok()?;
    let cipher = Aes256Gcm::new_from_slice(&aes_key).ok()?;
    let mut sealed = ct.to_vec();
    sealed.extend_from_slice(tag);
    let plain = cipher
        .decrypt(
            Nonce::from_slice(iv),
            Payload {
                msg: &sealed,
                aad: ts.as_bytes(),
            },
        )
        .ok()?;
    String::from_utf8(plain).ok()
}

/// Headers every API request must carry (PROTOCOL A.3, the minimal safe set).
pub const REQUIRED_API_HEADERS: &[&str] = &[
    "user-agent",
    "x-ig-app-id",
    "x-ig-capabilities",
    "x-ig-connection-type",
    "x-ig-device-id",
    "x-ig-android-id",
    "x-ig-family-device-id",
    "x-ig-www-claim",
    "ig-intended-user-id",
    "x-pigeon-session-id",
    "x-pigeon-rawclienttime",
    "x-bloks-version-id",
    "x-bloks-is-layout-rtl",
    "x-ig-app-locale",
    "x-ig-device-locale",
    "x-ig-mapped-locale",
    "accept-language",
    "x-ig-timezone-offset",
    "x-fb-http-engine",
];

/// Checks the API header set; returns the problem.
pub fn check_api_headers(h: &BTreeMap<String, String>) -> Result<(), String> {
    for name in REQUIRED_API_HEADERS {
        if !h.contains_key(*name) {
            return Err(format!("missing header {name}"));
        }
    }
    let ua = &h["user-agent"];
    if !(ua.starts_with("Instagram ") && ua.contains(" Android (") && ua.ends_with(')')) {
        return Err(format!("bad user-agent {ua:?}"));
    }
    if h["x-ig-app-id"] != "567067343352427" {
        return Err("bad x-ig-app-id".into());
    }
    if h["x-ig-capabilities"] != "3brTv10=" {
        return Err("bad x-ig-capabilities".into());
    }
    let aid = &h["x-ig-android-id"];
    let hex_ok = aid.len() == 24
        && aid.starts_with("android-")
        && aid[8..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !hex_ok {
        return Err(format!("bad x-ig-android-id {aid:?}"));
    }
    if uuid::Uuid::parse_str(&h["x-ig-device-id"]).is_err() {
        return Err("bad x-ig-device-id".into());
    }
    let t = &h["x-pigeon-rawclienttime"];
    let ok = t
        .split_once('.')
        .is_some_and(|(s, ms)| s.parse::<u64>().is_ok() && ms.len() == 3);
    if !ok {
        return Err("bad x-pigeon-rawclienttime".into());
    }
    Ok(())
}

/// How a POST body was encoded.
pub enum BodyKind {
    Empty,
    Form(BTreeMap<String, String>),
    Signed(BTreeMap<String, String>, serde_json::Map<String, Value>),
}

/// Decodes a form POST body; a `signed_body` must be `SIGNATURE.` + a JSON object of strings.
pub fn decode_body(content_type: Option<&str>, body: &[u8]) -> Result<BodyKind, String> {
    if body.is_empty() {
        return Ok(BodyKind::Empty);
    }
    let ct = content_type.unwrap_or("");
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(format!("bad content-type {ct:?}"));
    }
    let form: BTreeMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if let Some(sb) = form.get("signed_body") {
        if form.len() != 1 {
            return Err("signed_body must be the only field".into());
        }
        let json = sb
            .strip_prefix("SIGNATURE.")
            .ok_or("signed_body without SIGNATURE. prefix")?;
        let v: Value = serde_json::from_str(json).map_err(|e| format!("signed_body JSON: {e}"))?;
        let Value::Object(map) = v else {
            return Err("signed_body is not an object".into());
        };
        if let Some((k, _)) = map.iter().find(|(_, v)| !v.is_string()) {
            return Err(format!("signed_body value {k} is not a string"));
        }
        return Ok(BodyKind::Signed(form, map));
    }
    Ok(BodyKind::Form(form))
}

/// Reads the session id from `Authorization: Bearer IGT:2:<b64 json>` or the `sessionid` cookie.
pub fn session_of(h: &BTreeMap<String, String>) -> Option<String> {
    if let Some(a) = h.get("authorization")
        && let Some(tok) = a.strip_prefix("Bearer IGT:2:")
    {
        let raw = base64::engine::general_purpose::STANDARD.decode(tok).ok()?;
        let v: Value = serde_json::from_slice(&raw).ok()?;
        return v["sessionid"].as_str().map(str::to_owned);
    }
    let cookie = h.get("cookie")?;
    cookie.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k == "sessionid").then(|| v.to_owned())
    })
}

/// `Bearer IGT:2:` + base64 of `{"ds_user_id","sessionid"}`.
pub fn authorization_for(pk: i64, sessionid: &str) -> String {
    let json = serde_json::json!({"ds_user_id": pk.to_string(), "sessionid": sessionid});
    format!(
        "Bearer IGT:2:{}",
        base64::engine::general_purpose::STANDARD.encode(json.to_string())
    )
}

/// `jazoest` = "2" + sum of the code points of `phone_id`.
pub fn jazoest(phone_id: &str) -> String {
    format!("2{}", phone_id.chars().map(u32::from).sum::<u32>())
}
