//! mautrix-instagram's stored login (its `AndroidState` JSON: the emulated device, the
//! session headers, the cookie jar) turned into this bridge's [`Session`], keeping the device
//! ids so that Instagram sees the same phone and nobody has to log in again.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::instagram::http::{Device, Session};
use crate::instagram::ids::UserPk;

/// Why a stored login cannot be carried over (the user logs in again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the stored state is not mautrix-instagram's JSON: {0}")]
    Json(String),
    #[error("the stored device has no {0}")]
    MissingDevice(&'static str),
    #[error("the stored login has neither an authorization nor a sessionid cookie")]
    NoCredentials,
}

/// The parts of `AndroidState` this bridge uses.
#[derive(Debug, Default, Deserialize)]
struct AndroidState {
    #[serde(default)]
    device: AndroidDevice,
    #[serde(default)]
    session: AndroidSession,
    #[serde(default)]
    cookies: BTreeMap<String, Cookie>,
}

#[derive(Debug, Default, Deserialize)]
struct AndroidDevice {
    /// `android-` + 16 hex.
    id: Option<String>,
    descriptor: Option<String>,
    uuid: Option<String>,
    fdid: Option<String>,
    #[serde(rename = "phoneId")]
    phone_id: Option<String>,
    adid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AndroidSession {
    ig_www_claim: Option<String>,
    authorization: Option<String>,
    password_encryption_pubkey: Option<String>,
    /// A string or a number.
    password_encryption_key_id: Option<serde_json::Value>,
    region_hint: Option<String>,
    shbid: Option<String>,
    shbts: Option<String>,
    ds_user_id: Option<String>,
    rur: Option<String>,
}

/// One cookie of the jar: its value and attributes (domain, path, expires…).
#[derive(Debug, Deserialize)]
struct Cookie {
    value: String,
}

/// mautrix-instagram's own device descriptor, for a state that lacks one.
const DEFAULT_DESCRIPTOR: &str = "33/13; 420dpi; 1080x2219; Google/google; Pixel 6; oriole; oriole";

/// Converts a stored `AndroidState` of the account `ig_pk` (`username` when known).
pub fn to_session(
    state_json: &str,
    ig_pk: i64,
    username: Option<&str>,
) -> Result<Session, StateError> {
    // The JSON holds credentials: the parser's message may quote it, so it is not kept.
    let state: AndroidState = serde_json::from_str(state_json)
        .map_err(|e| StateError::Json(format!("line {}, column {}", e.line(), e.column())))?;
    let d = state.device;
    let required = |v: Option<String>, what| {
        v.filter(|v| !v.is_empty())
            .ok_or(StateError::MissingDevice(what))
    };
    let device = Device {
        android_id: required(d.id, "Android id (device.id)")?,
        uuid: required(d.uuid, "device uuid")?,
        phone_id: required(d.phone_id, "phone id (device.phoneId)")?,
        // Older states may lack these two; any stable value will do from now on.
        adid: d.adid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        fdid: d.fdid.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        descriptor: d
            .descriptor
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_DESCRIPTOR.into()),
    };
    let s = state.session;
    let mut session = Session::new(device);
    session.cookies = state
        .cookies
        .into_iter()
        .filter(|(_, c)| !c.value.is_empty())
        .map(|(name, c)| (name, c.value))
        .collect();
    session.authorization = s
        .authorization
        .filter(|a| !a.is_empty() && !a.ends_with(':'));
    session.www_claim = s.ig_www_claim.filter(|v| !v.is_empty() && v != "0");
    session.mid = session.cookies.get("mid").cloned();
    session.ds_user_id = s.ds_user_id.filter(|v| !v.is_empty());
    session.rur = s.rur;
    session.shbid = s.shbid;
    session.shbts = s.shbts;
    session.region_hint = s.region_hint;
    session.password_key_id = s.password_encryption_key_id.and_then(|v| match v {
        serde_json::Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    session.password_pub_key = s.password_encryption_pubkey;
    session.user_pk = Some(UserPk(ig_pk));
    session.username = username.map(str::to_owned);
    if !session.is_logged_in() {
        return Err(StateError::NoCredentials);
    }
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape mautrix-instagram 0.3.1 writes (`AndroidState.json()`).
    const STATE: &str = r#"{"device": {"id": "android-27e394f9d99f7b69",
        "descriptor": "33/13; 420dpi; 1080x2219; Google/google; Pixel 6; oriole; oriole",
        "uuid": "9e58aacf-5275-4a07-9961-2999f99258c7", "fdid": "6338fce8-9f79-49e9-b293-47c588e9df10",
        "phoneId": "560ecfa3-b70b-41aa-b41a-24a47a1e7c2c", "adid": "0038179b-a7fc-4405-8054-cb0cc28a0438",
        "language": "en_US", "radio_type": "wifi-none", "connection_type": "WIFI",
        "timezone_offset": "0", "is_layout_rtl": false},
        "session": {"ads_opt_out": false, "authorization": "Bearer IGT:2:eyJ9",
        "ds_user_id": "1001", "ig_www_claim": "hmac.AR", "password_encryption_key_id": "41",
        "rur": "RVA,1001,1"},
        "cookies": {"sessionid": {"path": "/", "domain": "instagram.com", "value": "1001%3Aabc"},
        "csrftoken": {"path": "/", "domain": "instagram.com", "value": "tok"},
        "mid": {"path": "/", "domain": "instagram.com", "value": "MID"}},
        "challenge": null}"#;

    #[test]
    fn the_device_and_credentials_are_carried_over() {
        let s = to_session(STATE, 1001, Some("alice")).unwrap();
        assert_eq!(s.device.android_id, "android-27e394f9d99f7b69");
        assert_eq!(s.device.uuid, "9e58aacf-5275-4a07-9961-2999f99258c7");
        assert_eq!(s.device.phone_id, "560ecfa3-b70b-41aa-b41a-24a47a1e7c2c");
        assert_eq!(s.device.adid, "0038179b-a7fc-4405-8054-cb0cc28a0438");
        assert_eq!(s.device.fdid, "6338fce8-9f79-49e9-b293-47c588e9df10");
        assert!(s.device.descriptor.contains("Pixel 6"));
        assert_eq!(s.authorization.as_deref(), Some("Bearer IGT:2:eyJ9"));
        assert_eq!(s.sessionid().as_deref(), Some("1001%3Aabc"));
        assert_eq!(s.csrftoken(), "tok");
        assert_eq!(s.mid(), Some("MID"));
        assert_eq!(s.www_claim.as_deref(), Some("hmac.AR"));
        assert_eq!(s.password_key_id, Some(41));
        assert_eq!(s.user_pk(), Some(UserPk(1001)));
        assert_eq!(s.username.as_deref(), Some("alice"));
        // It is this bridge's session JSON.
        let back = Session::from_json(s.to_json()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn states_that_cannot_be_carried_over_say_why_without_quoting_secrets() {
        let no_device = STATE.replace("\"phoneId\"", "\"other\"");
        assert_eq!(
            to_session(&no_device, 1, None).unwrap_err(),
            StateError::MissingDevice("phone id (device.phoneId)")
        );
        let logged_out = STATE
            .replace("\"Bearer IGT:2:eyJ9\"", "null")
            .replace("\"sessionid\"", "\"other\"");
        assert_eq!(
            to_session(&logged_out, 1, None).unwrap_err(),
            StateError::NoCredentials
        );
        let broken = STATE.replace("1001%3Aabc\"}", "1001%3Aabc");
        let err = to_session(&broken, 1, None).unwrap_err().to_string();
        assert!(!err.contains("abc"), "{err}");
    }
}
