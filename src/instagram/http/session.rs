//! The persisted state of one Instagram login: device ids, cookies, authorization, claims and
//! the password key (PROTOCOL A.5, A.6). Serializes to one JSON value for the database;
//! `Debug` never shows secrets.

use std::collections::BTreeMap;

use base64::Engine;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};

use super::device::Device;
use crate::instagram::Error;
use crate::instagram::ids::UserPk;
use crate::secret::Secret;

/// Current JSON layout version of [`Session`].
const SESSION_VERSION: u32 = 1;

/// Everything needed to act as one logged-in device.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    #[serde(default = "default_version")]
    pub version: u32,
    pub device: Device,
    /// Cookies of `.instagram.com` by name.
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    /// `Authorization` header value (`Bearer IGT:2:…`).
    #[serde(default)]
    pub authorization: Option<String>,
    #[serde(default)]
    pub www_claim: Option<String>,
    #[serde(default)]
    pub mid: Option<String>,
    /// From `ig-set-ig-u-ds-user-id`.
    #[serde(default)]
    pub ds_user_id: Option<String>,
    #[serde(default)]
    pub rur: Option<String>,
    #[serde(default)]
    pub shbid: Option<String>,
    #[serde(default)]
    pub shbts: Option<String>,
    #[serde(default)]
    pub region_hint: Option<String>,
    #[serde(default)]
    pub password_key_id: Option<u8>,
    /// Base64 of a PEM RSA public key, as sent by Instagram.
    #[serde(default)]
    pub password_pub_key: Option<String>,
    /// The logged-in user, once known.
    #[serde(default)]
    pub user_pk: Option<UserPk>,
    #[serde(default)]
    pub username: Option<String>,
    /// `X-Pigeon-Session-Id`.
    #[serde(default = "new_pigeon")]
    pub pigeon_session_id: String,
}

fn default_version() -> u32 {
    SESSION_VERSION
}

fn new_pigeon() -> String {
    format!("UFS-{}-0", uuid::Uuid::new_v4())
}

/// The decoded `Bearer IGT:2:` token (`Debug` hides the session id).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthToken {
    #[serde(deserialize_with = "crate::instagram::ids::string_or_number")]
    pub ds_user_id: String,
    pub sessionid: Secret,
}

/// Decodes an `Authorization` value `Bearer IGT:2:<base64 JSON>`.
pub fn parse_authorization(value: &str) -> Option<AuthToken> {
    let token = value.trim().strip_prefix("Bearer IGT:2:")?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(token.trim()))
        .ok()?;
    serde_json::from_slice(&raw).ok()
}

/// Encodes an authorization value from its parts (used by tests and cookie import).
pub fn make_authorization(ds_user_id: &str, sessionid: &str) -> String {
    let json = serde_json::json!({ "ds_user_id": ds_user_id, "sessionid": sessionid });
    format!(
        "Bearer IGT:2:{}",
        base64::engine::general_purpose::STANDARD.encode(json.to_string())
    )
}

impl Session {
    /// A fresh, logged-out session for a device.
    pub fn new(device: Device) -> Self {
        Self {
            version: SESSION_VERSION,
            device,
            cookies: BTreeMap::new(),
            authorization: None,
            www_claim: None,
            mid: None,
            ds_user_id: None,
            rur: None,
            shbid: None,
            shbts: None,
            region_hint: None,
            password_key_id: None,
            password_pub_key: None,
            user_pk: None,
            username: None,
            pigeon_session_id: new_pigeon(),
        }
    }

    /// The whole session as one JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Restores a session from [`Session::to_json`].
    pub fn from_json(value: serde_json::Value) -> Result<Self, Error> {
        let s: Session = serde_json::from_value(value)
            .map_err(|e| Error::InvalidInput(format!("bad session JSON: {e}")))?;
        if s.version > SESSION_VERSION {
            return Err(Error::InvalidInput(format!(
                "session JSON version {} is newer than supported",
                s.version
            )));
        }
        Ok(s)
    }

    /// The logged-in user's pk from whatever source knows it.
    pub fn user_pk(&self) -> Option<UserPk> {
        self.user_pk
            .or_else(|| self.ds_user_id.as_deref().and_then(|v| v.parse().ok()))
            .or_else(|| self.cookies.get("ds_user_id").and_then(|v| v.parse().ok()))
            .or_else(|| {
                self.authorization
                    .as_deref()
                    .and_then(parse_authorization)
                    .and_then(|t| t.ds_user_id.parse().ok())
            })
    }

    /// The `sessionid` (cookie, else decoded authorization).
    pub fn sessionid(&self) -> Option<String> {
        self.cookies.get("sessionid").cloned().or_else(|| {
            self.authorization
                .as_deref()
                .and_then(parse_authorization)
                .map(|t| t.sessionid.expose().to_owned())
        })
    }

    /// Has credentials (authorization or a session cookie).
    pub fn is_logged_in(&self) -> bool {
        self.authorization.is_some() || self.cookies.contains_key("sessionid")
    }

    /// The realtime (MQTToT) password: `authorization=<value>` when known, else `sessionid=…`.
    pub fn mqtt_password(&self) -> Option<String> {
        if let Some(a) = &self.authorization {
            return Some(format!("authorization={a}"));
        }
        self.sessionid().map(|s| format!("sessionid={s}"))
    }

    /// `csrftoken` cookie or `missing`.
    pub fn csrftoken(&self) -> String {
        self.cookies
            .get("csrftoken")
            .cloned()
            .unwrap_or_else(|| "missing".into())
    }

    /// `mid` from the header or the cookie.
    pub fn mid(&self) -> Option<&str> {
        self.mid
            .as_deref()
            .or_else(|| self.cookies.get("mid").map(String::as_str))
    }

    /// The `Cookie` request header.
    pub fn cookie_header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }

    /// Forgets the credentials (after logout), keeping the device and the password key.
    pub fn clear_credentials(&mut self) {
        self.cookies.clear();
        self.authorization = None;
        self.www_claim = None;
        self.ds_user_id = None;
        self.rur = None;
        self.shbid = None;
        self.shbts = None;
        self.region_hint = None;
        self.user_pk = None;
        self.username = None;
    }

    /// Applies the response headers of PROTOCOL A.5. Returns whether anything changed.
    pub fn update_from_headers(&mut self, headers: &HeaderMap) -> bool {
        let before = self.clone();
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        if let Some(a) = get("ig-set-authorization")
            && !a.ends_with(':')
        {
            if let Some(t) = parse_authorization(&a)
                && let Ok(pk) = t.ds_user_id.parse()
            {
                self.user_pk.get_or_insert(pk);
            }
            self.authorization = Some(a);
        }
        let set = |slot: &mut Option<String>, name: &str| {
            if let Some(v) = get(name) {
                *slot = Some(v);
            }
        };
        set(&mut self.www_claim, "x-ig-set-www-claim");
        set(&mut self.mid, "ig-set-x-mid");
        set(&mut self.ds_user_id, "ig-set-ig-u-ds-user-id");
        set(&mut self.rur, "ig-set-ig-u-rur");
        set(&mut self.shbid, "ig-set-ig-u-shbid");
        set(&mut self.shbts, "ig-set-ig-u-shbts");
        set(&mut self.region_hint, "ig-set-ig-u-ig-direct-region-hint");
        if let Some(id) = get("ig-set-password-encryption-key-id").and_then(|v| v.parse().ok()) {
            self.password_key_id = Some(id);
        }
        set(
            &mut self.password_pub_key,
            "ig-set-password-encryption-pub-key",
        );
        for sc in headers.get_all(reqwest::header::SET_COOKIE) {
            let Ok(sc) = sc.to_str() else { continue };
            let first = sc.split(';').next().unwrap_or("");
            let Some((name, value)) = first.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim(), value.trim().trim_matches('"'));
            let expired = sc.to_ascii_lowercase().contains("max-age=0")
                || value.is_empty()
                || value == "\"\"";
            if expired {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        if let Some(mid) = self.cookies.get("mid").cloned() {
            self.mid.get_or_insert(mid);
        }
        *self != before
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cookie_names: Vec<&str> = self.cookies.keys().map(String::as_str).collect();
        f.debug_struct("Session")
            .field("device", &self.device)
            .field("user_pk", &self.user_pk())
            .field("username", &self.username)
            .field("cookies", &cookie_names)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .field("www_claim", &self.www_claim.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn hv(h: &mut HeaderMap, k: &'static str, v: &str) {
        h.append(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).unwrap(),
        );
    }

    #[test]
    fn headers_update_and_roundtrip() {
        let mut s = Session::new(Device::derive(b"k", "@a:b"));
        let auth = make_authorization("42", "42%3Aabc%3A1");
        let mut h = HeaderMap::new();
        hv(&mut h, "ig-set-authorization", &auth);
        hv(&mut h, "x-ig-set-www-claim", "hmac.AR-x");
        hv(&mut h, "ig-set-ig-u-rur", "RVA,42,1");
        hv(&mut h, "ig-set-password-encryption-key-id", "41");
        hv(&mut h, "set-cookie", "csrftoken=tok; Path=/; Secure");
        hv(
            &mut h,
            "set-cookie",
            "sessionid=42%3Aabc%3A1; Domain=.instagram.com; HttpOnly",
        );
        hv(&mut h, "set-cookie", "mid=MIDV; Path=/");
        assert!(s.update_from_headers(&h));
        assert!(!s.update_from_headers(&h));
        assert_eq!(s.user_pk(), Some(UserPk(42)));
        assert_eq!(s.password_key_id, Some(41));
        assert_eq!(s.mid(), Some("MIDV"));
        assert_eq!(s.csrftoken(), "tok");
        assert_eq!(s.sessionid().as_deref(), Some("42%3Aabc%3A1"));
        // an empty authorization is ignored
        let mut h2 = HeaderMap::new();
        hv(&mut h2, "ig-set-authorization", "Bearer IGT:2:");
        s.update_from_headers(&h2);
        assert_eq!(s.authorization.as_deref(), Some(auth.as_str()));
        let token = parse_authorization(&auth).unwrap();
        assert_eq!(token.sessionid.expose(), "42%3Aabc%3A1");
        assert!(!format!("{token:?}").contains("abc"), "{token:?}");
        let restored = Session::from_json(s.to_json()).unwrap();
        assert_eq!(restored, s);
        let dbg = format!("{s:?}");
        assert!(
            !dbg.contains("abc") && !dbg.contains("hmac.AR") && !dbg.contains(&auth),
            "{dbg}"
        );
    }
}
