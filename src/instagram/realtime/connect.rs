//! The MQTToT CONNECT payload: [`ConnectParams`] → Thrift compact struct (E.4, E.5) → zlib.
//!
//! Defaults follow the bridge posture of mautrix-instagram (M): not foreground, network subtype
//! -1, M's topic list, `auth_cache_enabled=1`. `app_specific_info` is written at field id 10.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::thrift::Writer;
use super::topics;

/// Instagram's app id for the MQTToT connection.
pub const APP_ID: i64 = 567_067_343_352_427;
/// `0b10110111`.
pub const CLIENT_CAPABILITIES: i64 = 183;
/// M's default `capabilities` value.
pub const DEFAULT_CAPABILITIES: &str = "3brTv10=";

/// The CONNECT password (field 5).
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    /// The full `Authorization` header value (`Bearer IGT:2:…`); sent as `authorization=<it>`.
    /// A value without the `Bearer ` prefix gets it added.
    Authorization(String),
    /// The `sessionid` cookie value, passed through unchanged; sent as `sessionid=<it>`.
    SessionId(String),
}

impl Password {
    pub fn wire(&self) -> String {
        match self {
            Password::Authorization(v) if v.starts_with("Bearer ") => format!("authorization={v}"),
            Password::Authorization(v) => format!("authorization=Bearer {v}"),
            Password::SessionId(v) => format!("sessionid={v}"),
        }
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Password::Authorization(_) => f.write_str("Authorization(<redacted>)"),
            Password::SessionId(_) => f.write_str("SessionId(<redacted>)"),
        }
    }
}

/// Everything that goes into the CONNECT payload. Plain values; build with [`ConnectParams::new`]
/// for the bridge posture and adjust fields as needed.
#[derive(Debug, Clone)]
pub struct ConnectParams {
    pub user_pk: i64,
    pub user_agent: String,
    /// The device's `phone_id` (UUID); its first 20 chars are the client identifier.
    pub phone_id: String,
    pub password: Password,
    pub app_version: String,
    pub capabilities: String,
    pub client_mqtt_session_id: i64,
    pub subscribe_topics: Vec<i32>,
    pub client_capabilities: i64,
    pub endpoint_capabilities: i64,
    pub publish_format: i32,
    pub no_automatic_foreground: bool,
    pub make_user_available_in_foreground: bool,
    pub is_initially_foreground: bool,
    pub network_type: i32,
    pub network_subtype: i32,
    pub client_type: String,
    pub app_id: i64,
    pub device_secret: String,
    pub client_stack: u8,
    /// Written in this order. [`ConnectParams::new`] fills M's keys.
    pub app_specific_info: Vec<(String, String)>,
}

/// M's `everclear_subscriptions` value (E.4).
pub const EVERCLEAR_SUBSCRIPTIONS: &str = r#"{"inapp_notification_subscribe_comment":"17899377895239777","inapp_notification_subscribe_comment_mention_and_reply":"17899377895239777","video_call_participant_state_delivery":"17977239895057311","presence_subscribe":"17846944882223835"}"#;

impl ConnectParams {
    /// Bridge posture (M's values). `client_mqtt_session_id` is `unix_ms & 0xFFFFFFFF`.
    pub fn new(
        user_pk: i64,
        user_agent: impl Into<String>,
        phone_id: impl Into<String>,
        password: Password,
        app_version: impl Into<String>,
    ) -> Self {
        let user_agent = user_agent.into();
        let app_version = app_version.into();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let app_specific_info = vec![
            ("app_version".to_owned(), app_version.clone()),
            ("capabilities".to_owned(), DEFAULT_CAPABILITIES.to_owned()),
            (
                "everclear_subscriptions".to_owned(),
                EVERCLEAR_SUBSCRIPTIONS.to_owned(),
            ),
            ("User-Agent".to_owned(), user_agent.clone()),
            ("Accept-Language".to_owned(), "en-US".to_owned()),
            ("platform".to_owned(), "android".to_owned()),
            ("ig_mqtt_route".to_owned(), "django".to_owned()),
            (
                "pubsub_msg_type_blacklist".to_owned(),
                "direct, typing_type".to_owned(),
            ),
            ("auth_cache_enabled".to_owned(), "1".to_owned()),
        ];
        ConnectParams {
            user_pk,
            user_agent,
            phone_id: phone_id.into(),
            password,
            app_version,
            capabilities: DEFAULT_CAPABILITIES.to_owned(),
            client_mqtt_session_id: now_ms & 0xFFFF_FFFF,
            subscribe_topics: topics::M_SUBSCRIBE_TOPICS.to_vec(),
            client_capabilities: CLIENT_CAPABILITIES,
            endpoint_capabilities: 0,
            publish_format: 1,
            no_automatic_foreground: true,
            make_user_available_in_foreground: false,
            is_initially_foreground: false,
            network_type: 1,
            network_subtype: -1,
            client_type: "cookie_auth".to_owned(),
            app_id: APP_ID,
            device_secret: String::new(),
            client_stack: 3,
            app_specific_info,
        }
    }

    /// First 20 characters of `phone_id`.
    pub fn client_identifier(&self) -> &str {
        match self.phone_id.char_indices().nth(20) {
            Some((i, _)) => &self.phone_id[..i],
            None => &self.phone_id,
        }
    }

    /// The uncompressed Thrift struct.
    pub fn to_thrift(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.binary(1, self.client_identifier().as_bytes());
        w.begin_struct(4);
        w.i64(1, self.user_pk);
        w.binary(2, self.user_agent.as_bytes());
        w.i64(3, self.client_capabilities);
        w.i64(4, self.endpoint_capabilities);
        w.i32(5, self.publish_format);
        w.bool(6, self.no_automatic_foreground);
        w.bool(7, self.make_user_available_in_foreground);
        w.binary(8, self.phone_id.as_bytes());
        w.bool(9, self.is_initially_foreground);
        w.i32(10, self.network_type);
        w.i32(11, self.network_subtype);
        w.i64(12, self.client_mqtt_session_id);
        w.list_i32(14, &self.subscribe_topics);
        w.binary(15, self.client_type.as_bytes());
        w.i64(16, self.app_id);
        w.binary(20, self.device_secret.as_bytes());
        w.byte(21, self.client_stack);
        w.end_struct();
        w.binary(5, self.password.wire().as_bytes());
        w.map_binary(10, &self.app_specific_info);
        w.into_bytes()
    }

    /// zlib (level 9) of [`Self::to_thrift`]: the raw CONNECT payload.
    pub fn to_payload(&self) -> Vec<u8> {
        zlib(&self.to_thrift())
    }
}

/// zlib, level 9 (header `78 da`).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut enc = ZlibEncoder::new(Vec::with_capacity(data.len() / 2 + 16), Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Inflates a zlib stream, refusing to produce more than `limit` bytes.
pub fn inflate(data: &[u8], limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(limit as u64 + 1);
    dec.read_to_end(&mut out)?;
    if out.len() > limit {
        return Err(std::io::Error::other("inflated payload too large"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(path: &str) -> Vec<u8> {
        let text = crate::instagram::test_fixtures::text(&format!("derived/{path}"));
        let text = text.trim();
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn vector_params() -> ConnectParams {
        let j = crate::instagram::test_fixtures::json("derived/connect_inputs.json");
        let ci = &j["client_info"];
        let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
        let password = s(&j["password"]);
        let password = Password::SessionId(password.trim_start_matches("sessionid=").to_owned());
        let mut p = ConnectParams::new(
            ci["userId"].as_i64().unwrap(),
            s(&ci["userAgent"]),
            s(&ci["deviceId"]),
            password,
            "256.0.0.18.105",
        );
        p.client_capabilities = ci["clientCapabilities"].as_i64().unwrap();
        p.endpoint_capabilities = ci["endpointCapabilities"].as_i64().unwrap();
        p.publish_format = ci["publishFormat"].as_i64().unwrap() as i32;
        p.no_automatic_foreground = ci["noAutomaticForeground"].as_bool().unwrap();
        p.make_user_available_in_foreground =
            ci["makeUserAvailableInForeground"].as_bool().unwrap();
        p.is_initially_foreground = ci["isInitiallyForeground"].as_bool().unwrap();
        p.network_type = ci["networkType"].as_i64().unwrap() as i32;
        p.network_subtype = ci["networkSubtype"].as_i64().unwrap() as i32;
        p.client_mqtt_session_id = ci["clientMqttSessionId"].as_i64().unwrap();
        p.subscribe_topics = ci["subscribeTopics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_i64().unwrap() as i32)
            .collect();
        p.client_type = s(&ci["clientType"]);
        p.app_id = ci["appId"].as_i64().unwrap();
        p.device_secret = s(&ci["deviceSecret"]);
        p.client_stack = ci["clientStack"].as_u64().unwrap() as u8;
        // serde_json without preserve_order sorts keys; the vector keeps insertion order.
        p.app_specific_info = vec![
            ("app_version".into(), "256.0.0.18.105".into()),
            ("platform".into(), "android".into()),
            ("ig_mqtt_route".into(), "django".into()),
        ];
        for (k, v) in &p.app_specific_info {
            assert_eq!(j["app_specific_info"][k].as_str(), Some(v.as_str()));
        }
        assert_eq!(
            p.client_identifier(),
            j["client_identifier"].as_str().unwrap()
        );
        p
    }

    #[test]
    fn connect_vector_is_byte_identical() {
        let p = vector_params();
        assert_eq!(p.to_thrift(), hex("connect_thrift_id10.hex"));
    }

    #[test]
    fn compressed_payload_inflates_to_the_vector_and_matches_the_packet() {
        let p = vector_params();
        let z = p.to_payload();
        assert_eq!(&z[..2], &[0x78, 0xda]);
        assert_eq!(
            inflate(&z, 1 << 20).unwrap(),
            hex("connect_thrift_id10.hex")
        );
        let packet = hex("connect_packet_keepalive20.hex");
        assert_eq!(&packet[3..15], b"\x00\x06MQTToT\x03\xc2\x00\x14");
        assert_eq!(inflate(&packet[15..], 1 << 20).unwrap(), p.to_thrift());
        assert_eq!(
            inflate(&hex("connect_thrift_id10.zlib9.hex"), 1 << 20).unwrap(),
            p.to_thrift()
        );
    }

    #[test]
    fn passwords_and_bridge_posture() {
        assert_eq!(
            Password::Authorization("Bearer IGT:2:abc".into()).wire(),
            "authorization=Bearer IGT:2:abc"
        );
        assert_eq!(
            Password::Authorization("IGT:2:abc".into()).wire(),
            "authorization=Bearer IGT:2:abc"
        );
        assert_eq!(
            Password::SessionId("1%3Aa".into()).wire(),
            "sessionid=1%3Aa"
        );
        let p = ConnectParams::new(1, "ua", "short", Password::SessionId("x".into()), "1.0");
        assert_eq!(p.client_identifier(), "short");
        assert!(p.no_automatic_foreground && !p.is_initially_foreground);
        assert_eq!(p.network_subtype, -1);
        assert!(p.client_mqtt_session_id <= 0xFFFF_FFFF);
        let t = super::super::thrift::decode_struct(&p.to_thrift()).unwrap();
        assert!(t.field(10).is_some());
        assert!(format!("{:?}", p.password).contains("redacted"));
    }
}
