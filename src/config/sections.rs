//! The config file's sections, with their defaults (`example-config.yaml` documents each
//! key).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use url::Url;

use super::GENERATE;
use super::status::{self, StatusNotices};
use crate::secret::Secret;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HomeserverConfig {
    /// Where the bridge reaches the homeserver's client-server API.
    pub address: Url,
    /// The server name (the part after `:` in user ids).
    pub domain: String,
    /// `standard` or `synapse`, `conduit`, `dendrite` (only used to pick workarounds).
    #[serde(default = "default_software")]
    pub software: String,
    #[serde(default)]
    pub retry: RetryConfig,
    /// Where `com.beeper.bridge_state` updates are POSTed (with the as_token); none: not sent.
    #[serde(default)]
    pub status_endpoint: Option<Url>,
    /// Where per-message checkpoints are POSTed (with the as_token); none: not sent.
    #[serde(default)]
    pub message_send_checkpoint_endpoint: Option<Url>,
}

fn default_software() -> String {
    "standard".into()
}

/// How homeserver requests are retried on 429, 5xx and connection errors.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    pub max_attempts: u32,
    pub initial_delay_ms: u64,
    pub max_delay_ms: u64,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            initial_delay_ms: 500,
            max_delay_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppserviceConfig {
    /// Where the homeserver reaches the bridge (goes into the registration's `url`).
    #[serde(default = "default_as_address")]
    pub address: Url,
    /// The address the appservice HTTP server listens on.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_as_id")]
    pub id: String,
    #[serde(default)]
    pub bot: BotConfig,
    pub as_token: Secret,
    pub hs_token: Secret,
    /// Ask the homeserver for typing, receipts and presence (MSC2409).
    #[serde(default = "yes")]
    pub ephemeral_events: bool,
    /// The largest transaction body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_size: usize,
}

fn default_as_address() -> Url {
    Url::parse("http://localhost:29330").unwrap_or_else(|_| unreachable!("constant URL"))
}
fn default_hostname() -> String {
    "127.0.0.1".into()
}
fn default_port() -> u16 {
    29330
}
fn default_as_id() -> String {
    "instagram".into()
}
fn default_max_body() -> usize {
    10 * 1024 * 1024
}
fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotConfig {
    pub username: String,
    pub displayname: String,
    /// An `mxc://` URI, or empty for none.
    #[serde(default)]
    pub avatar: String,
}

impl Default for BotConfig {
    fn default() -> Self {
        Self {
            username: "instagrambot".into(),
            displayname: "Instagram bridge bot".into(),
            avatar: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite:<file>` (created if missing) or `postgres://user@host/db`.
    /// May hold a password: never printed.
    pub uri: Secret,
    pub max_open_conns: u32,
    pub min_idle_conns: u32,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            uri: "sqlite:matrix-instagram.db".into(),
            max_open_conns: 10,
            min_idle_conns: 1,
        }
    }
}

/// Who may use the bridge, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PermissionLevel {
    /// May talk in rooms where a relay is set up, cannot log in.
    Relay,
    /// May log in and use the bridge.
    User,
    /// May also run administrative commands.
    Admin,
}

impl fmt::Display for PermissionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Relay => "relay",
            Self::User => "user",
            Self::Admin => "admin",
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeConfig {
    /// Localpart of ghost users; `{userid}` is the Instagram numeric id.
    pub username_template: String,
    /// Display name of ghosts; `{displayname}` (full name, else username) and `{username}`.
    pub displayname_template: String,
    /// Name of DM rooms; `{displayname}` and `{username}` of the contact. Empty: no name.
    pub private_chat_name_template: String,
    /// Name of group rooms; `{name}` is the Instagram thread title.
    pub group_chat_name_template: String,
    /// Prefix of bot commands outside the management room.
    pub command_prefix: String,
    /// `*`, a server name or a user id → `relay`, `user` or `admin`.
    pub permissions: BTreeMap<String, PermissionLevel>,
    pub management_room_text: ManagementRoomText,
    /// Send notices into rooms when something failed to bridge.
    pub bridge_notices: bool,
    /// Send `com.beeper.message_send_status` events for messages sent from Matrix.
    pub message_status_events: bool,
    /// Mark messages sent from Matrix as read by the bot once Instagram has them.
    pub delivery_receipts: bool,
    /// What to do with message requests (threads Instagram files as pending).
    pub message_requests: MessageRequests,
    /// Seconds a conversation's worker stays after its last event (each costs a little
    /// memory); the next event starts a new one.
    pub portal_idle_secs: u64,
    /// Which connection state changes the bot tells in the management room.
    pub bridge_status_notices: StatusNotices,
    /// Seconds a transient disconnection must last before `errors` notices tell it.
    pub bridge_status_notice_delay_secs: u64,
    /// Relay mode (see [`super::relay`]).
    pub relay: super::RelayConfig,
    /// Presence both ways (off by default).
    pub presence: PresenceConfig,
}

/// Presence: contacts' Instagram activity status as their ghosts' Matrix presence, and the
/// user's own Matrix presence as "active" on Instagram. Both off by default.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PresenceConfig {
    /// Contacts' active status (realtime and `direct_v2/get_presence/`) → their ghosts'
    /// presence (the homeserver must have presence on).
    pub from_instagram: bool,
    /// The user's Matrix presence (online or not) → Instagram's foreground state, which
    /// shows them active. Needs `appservice.ephemeral_events`.
    pub to_instagram: bool,
}

/// The message-request policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRequests {
    /// Bridge them like any thread.
    Bridge,
    /// Tell the user and wait for `accept`.
    Hold,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            username_template: "instagram_{userid}".into(),
            displayname_template: "{displayname} (Instagram)".into(),
            private_chat_name_template: "{displayname}".into(),
            group_chat_name_template: "{name}".into(),
            command_prefix: "!ig".into(),
            permissions: BTreeMap::new(),
            management_room_text: ManagementRoomText::default(),
            bridge_notices: true,
            message_status_events: true,
            delivery_receipts: true,
            message_requests: MessageRequests::Bridge,
            portal_idle_secs: 300,
            bridge_status_notices: StatusNotices::Errors,
            bridge_status_notice_delay_secs: status::DEFAULT_NOTICE_DELAY_SECS,
            relay: super::RelayConfig::default(),
            presence: PresenceConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManagementRoomText {
    /// Sent when a user opens a DM with the bot.
    pub welcome: String,
    /// Added when the user is not logged in.
    pub welcome_unconnected: String,
    /// Added when the user is logged in.
    pub welcome_connected: String,
    /// Extra text appended to `help`.
    pub additional_help: String,
}

impl Default for ManagementRoomText {
    fn default() -> Self {
        Self {
            welcome: "Hello, I'm the Instagram bridge bot.".into(),
            welcome_unconnected: "Use `help` for help or `login` to log in.".into(),
            welcome_connected: "Use `help` for help.".into(),
            additional_help: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InstagramConfig {
    /// Base of the private API, ending in `/api/v1/`.
    pub api_base_url: Url,
    /// Base of the media upload host (`rupload`).
    pub upload_base_url: Url,
    pub mqtt: MqttConfig,
    /// A PEM file of extra CA certificates to trust (for tests or a TLS-inspecting proxy).
    pub extra_ca_file: Option<PathBuf>,
    pub app_version: String,
    pub version_code: String,
    pub bloks_version_id: String,
    /// Secret from which each user's Instagram device ids are derived; `generate` fills it.
    pub device_seed: Secret,
    /// Minimum gap between two HTTP requests of one account, in milliseconds, in the long run.
    pub min_request_gap_ms: u64,
    /// Requests one account may make at once before the gap applies.
    pub request_burst: u32,
    /// The proxy of every account without one of its own (`proxy` command): `socks5://`,
    /// `socks5h://` or `http://`, optionally `user:password@`. Empty: connect directly.
    #[serde(deserialize_with = "crate::proxy_url::deserialize_optional")]
    pub proxy: Option<crate::proxy_url::ProxyUrl>,
}

impl Default for InstagramConfig {
    fn default() -> Self {
        Self {
            api_base_url: Url::parse("https://i.instagram.com/api/v1/")
                .unwrap_or_else(|_| unreachable!("constant URL")),
            upload_base_url: Url::parse("https://rupload.facebook.com/")
                .unwrap_or_else(|_| unreachable!("constant URL")),
            mqtt: MqttConfig::default(),
            extra_ca_file: None,
            app_version: "256.0.0.18.105".into(),
            version_code: "407842973".into(),
            bloks_version_id: "0928297a84f74885ff39fc1628f8a40da3ef1c467555d555bfd9f8fe1aaacafe"
                .into(),
            device_seed: Secret::new(GENERATE),
            min_request_gap_ms: 1000,
            request_burst: 4,
            proxy: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
    /// Seconds between keepalive pings.
    pub keepalive: u16,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            host: "edge-mqtt.facebook.com".into(),
            port: 443,
            tls: true,
            keepalive: 60,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackfillConfig {
    pub enabled: bool,
    /// How many of the most recent threads get a room at login.
    pub max_initial_conversations: u32,
    /// Threads idle for longer than this many days get no room at login (0: no limit).
    pub max_conversation_age_days: u32,
    /// How many messages of history each new room gets.
    pub initial_messages: u32,
    /// How far back a conversation is caught up after a gap (reconnect, restart): at most this
    /// many missed messages, the newest; the room is told when older ones are left out.
    pub max_missed_messages: u32,
}

impl Default for BackfillConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_initial_conversations: 20,
            max_conversation_age_days: 0,
            initial_messages: 50,
            max_missed_messages: 1000,
        }
    }
}

/// Media conversion (video and voice go through an external ffmpeg).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// The ffmpeg binary; none: `ffmpeg` on `PATH`, and without one video and voice are
    /// bridged unconverted or refused.
    pub ffmpeg_path: Option<PathBuf>,
    /// The largest media file converted or bridged, in megabytes.
    pub max_size_mb: u64,
    /// How long one ffmpeg run may take, in seconds.
    pub timeout_secs: u64,
    /// Send Instagram voice messages to Matrix as Ogg Opus (what Element and Beeper record and
    /// play as voice messages) when ffmpeg is available; otherwise as Instagram's AAC.
    pub voice_as_ogg: bool,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            ffmpeg_path: None,
            max_size_mb: 100,
            timeout_secs: 300,
            voice_as_ogg: true,
        }
    }
}

impl MediaConfig {
    /// `max_size_mb` in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_size_mb.saturating_mul(1_000_000)
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_secs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A tracing filter: `info`, `debug`, `matrix_instagram=debug,info`, …
    pub level: String,
    pub format: LogFormat,
    /// Log to standard output.
    pub stdout: bool,
    /// Also append the log to this file (empty: no file).
    pub file: String,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Pretty,
            stdout: true,
            file: String::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    pub listen: String,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "127.0.0.1:8001".into(),
        }
    }
}
