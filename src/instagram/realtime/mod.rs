//! The Instagram MQTToT realtime client (PROTOCOL.md E), shaped like rumqttc:
//!
//! - [`codec`]: MQTT 3.1.1 framing (the "frame"); [`thrift`]: compact protocol;
//!   [`connect`]: the CONNECT payload; [`topics`]: topic ids;
//! - [`iris`], [`pubsub`], [`commands`]: JSON/Thrift payloads in and out; [`events`]: what
//!   comes out;
//! - [`state`]: the I/O-free protocol state machine;
//! - [`eventloop`]: owns the socket, reconnects with backoff;
//! - this module: [`RealtimeClient`], the cheap cloneable handle, and [`RealtimeConfig`].
//!
//! ```no_run
//! # async fn demo(params: matrix_instagram::instagram::realtime::ConnectParams) -> Result<(), matrix_instagram::instagram::realtime::Error> {
//! use matrix_instagram::instagram::realtime::*;
//! let cursor = Cursor { seq_id: 100, snapshot_at_ms: 1_700_000_000_000 };
//! let (client, mut events) = RealtimeClient::start(RealtimeConfig::default(), params, cursor)?;
//! while let Some(ev) = events.recv().await {
//!     if let RealtimeEvent::MessageSync(batch) = ev {
//!         // apply + persist batch.events, then:
//!         if let Some(seq_id) = batch.seq_id {
//!             client.update_cursor(Cursor { seq_id, snapshot_at_ms: 1_700_000_000_001 }).await?;
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod codec;
pub mod commands;
pub mod connect;
pub mod error;
pub mod eventloop;
pub mod events;
#[doc(hidden)]
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod iris;
pub mod pubsub;
pub mod state;
pub mod thrift;
pub mod topics;

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

pub use commands::{Command, ReplyTo, SendAck, new_client_context};
pub use connect::{ConnectParams, Password};
pub use error::Error;
pub use events::{
    ConnectionState, DisconnectCause, ItemEvent, Presence, Reaction, RealtimeEvent, SyncBatch,
    SyncEvent, Typing, Undecodable,
};
pub use iris::Cursor;

/// Plain connection settings; the bridge maps its own config into this.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    pub host: String,
    pub port: u16,
    /// TLS (SNI = `host`); off only for tests.
    pub tls: bool,
    /// An extra PEM CA file trusted besides the webpki roots.
    pub extra_ca: Option<PathBuf>,
    /// The account's proxy: the TCP connection is tunnelled through it (TLS runs inside the
    /// tunnel, to `host`), never opened directly.
    pub proxy: Option<crate::instagram::proxy::ProxyUrl>,
    /// PINGREQ after this much idleness (either direction); also sent in CONNECT.
    pub keepalive: Duration,
    /// Inbound silence after which a PINGREQ checks the socket (more often than `keepalive`,
    /// which the server holds us to for outbound traffic).
    pub liveness: Duration,
    /// A PINGREQ unanswered this long means a dead (half-open) socket.
    pub ping_timeout: Duration,
    /// TCP + TLS + CONNECT + CONNACK.
    pub connect_timeout: Duration,
    /// Wait for `/ig_sub_iris_response`.
    pub iris_timeout: Duration,
    /// Default deadline of a send (including waiting for a reconnect).
    pub send_timeout: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A connection that lasted this long resets the backoff.
    pub stable_after: Duration,
    /// Capacity of the bounded event channel.
    pub event_buffer: usize,
    pub request_buffer: usize,
    pub max_packet: usize,
    /// Initial read buffer per connection (it grows on demand).
    pub read_buffer: usize,
    /// Seconds east of UTC, sent with the iris subscribe.
    pub timezone_offset: i64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            host: "edge-mqtt.facebook.com".to_owned(),
            port: 443,
            tls: true,
            extra_ca: None,
            proxy: None,
            keepalive: Duration::from_secs(60),
            liveness: Duration::from_secs(15),
            ping_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(20),
            iris_timeout: Duration::from_secs(20),
            send_timeout: Duration::from_secs(60),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            stable_after: Duration::from_secs(600),
            event_buffer: 64,
            request_buffer: 32,
            max_packet: codec::DEFAULT_MAX_PACKET,
            read_buffer: 1024,
            timezone_offset: 0,
        }
    }
}

/// What the handle asks of the event loop.
pub(crate) enum Request {
    Command {
        /// Boxed: each account's request channel has slots as large as its largest request.
        cmd: Box<Command>,
        reply: state::Reply,
        deadline: Instant,
    },
    Foreground(bool),
    Reconnect,
    Shutdown,
}

/// Options of a text send.
#[derive(Debug, Clone, Default)]
pub struct TextOptions {
    /// Reuse a stored client_context (idempotent retries); a new OTID otherwise.
    pub client_context: Option<String>,
    pub reply_to: Option<ReplyTo>,
    pub mentioned_user_ids: Vec<i64>,
}

/// The cursor the caller confirmed, shared with the event loop. A plain slot rather than a
/// request: confirming must never wait for the event loop, which may itself be waiting for the
/// caller to take events (that would deadlock under load).
#[derive(Clone, Default)]
pub(crate) struct SharedCursor(std::sync::Arc<std::sync::Mutex<Option<Cursor>>>);

impl SharedCursor {
    fn set(&self, cursor: Cursor) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(cursor);
    }
    pub(crate) fn get(&self) -> Option<Cursor> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The cheap, cloneable handle. Dropping every handle stops the client.
#[derive(Clone)]
pub struct RealtimeClient {
    tx: mpsc::Sender<Request>,
    send_timeout: Duration,
    cursor: SharedCursor,
}

impl RealtimeClient {
    /// Spawns the event loop on the current tokio runtime and starts connecting, subscribing
    /// iris from `cursor`. Events come out of the returned bounded receiver.
    pub fn start(
        config: RealtimeConfig,
        params: ConnectParams,
        cursor: Cursor,
    ) -> Result<(RealtimeClient, mpsc::Receiver<RealtimeEvent>), Error> {
        let (tx, rx) = mpsc::channel(config.request_buffer.max(1));
        let (etx, erx) = mpsc::channel(config.event_buffer.max(1));
        let send_timeout = config.send_timeout;
        let shared = SharedCursor::default();
        let ev = eventloop::EventLoop::new(config, params, cursor, shared.clone(), rx, etx)?;
        tokio::spawn(ev.run());
        Ok((
            RealtimeClient {
                tx,
                send_timeout,
                cursor: shared,
            },
            erx,
        ))
    }

    /// As [`Self::start`], but every connection is opened by `connector` instead of TCP/TLS to
    /// `config.host` (tests over in-memory pipes, where paused time is deterministic).
    pub fn start_with_connector(
        config: RealtimeConfig,
        params: ConnectParams,
        cursor: Cursor,
        connector: eventloop::Connector,
    ) -> Result<(RealtimeClient, mpsc::Receiver<RealtimeEvent>), Error> {
        let (tx, rx) = mpsc::channel(config.request_buffer.max(1));
        let (etx, erx) = mpsc::channel(config.event_buffer.max(1));
        let send_timeout = config.send_timeout;
        let shared = SharedCursor::default();
        let mut ev = eventloop::EventLoop::new(config, params, cursor, shared.clone(), rx, etx)?;
        ev.set_connector(connector);
        tokio::spawn(ev.run());
        Ok((
            RealtimeClient {
                tx,
                send_timeout,
                cursor: shared,
            },
            erx,
        ))
    }

    async fn request(&self, req: Request) -> Result<(), Error> {
        self.tx.send(req).await.map_err(|_| Error::Shutdown)
    }

    /// Sends any command and waits for its `item_ack`, at most `send_timeout` (also while
    /// disconnected: the command waits for the reconnect).
    pub async fn send_command(&self, cmd: Command) -> Result<SendAck, Error> {
        self.send_command_within(cmd, self.send_timeout).await
    }

    /// As [`Self::send_command`] with an explicit deadline.
    pub async fn send_command_within(
        &self,
        cmd: Command,
        within: Duration,
    ) -> Result<SendAck, Error> {
        let (reply, rx) = oneshot::channel();
        let deadline = Instant::now() + within;
        self.request(Request::Command {
            cmd: Box::new(cmd),
            reply,
            deadline,
        })
        .await?;
        // The event loop enforces the deadline; this is a backstop.
        match tokio::time::timeout_at(deadline + Duration::from_secs(1), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Error::Shutdown),
            Err(_) => Err(Error::AckTimeout),
        }
    }

    /// Text, optionally a reply and with mentions.
    pub async fn send_text(
        &self,
        thread_id: &str,
        text: &str,
        opts: TextOptions,
    ) -> Result<SendAck, Error> {
        self.send_command(Command::Text {
            thread_id: thread_id.to_owned(),
            client_context: opts.client_context.unwrap_or_else(new_client_context),
            text: text.to_owned(),
            reply_to: opts.reply_to,
            mentioned_user_ids: opts.mentioned_user_ids,
        })
        .await
    }

    /// A link message (`text` contains the URLs listed in `urls`).
    pub async fn send_link(
        &self,
        thread_id: &str,
        text: &str,
        urls: Vec<String>,
        client_context: Option<String>,
    ) -> Result<SendAck, Error> {
        self.send_command(Command::Link {
            thread_id: thread_id.to_owned(),
            client_context: client_context.unwrap_or_else(new_client_context),
            text: text.to_owned(),
            urls,
        })
        .await
    }

    /// Adds (`Some(emoji)`) or removes (`None`) our reaction. `target_item_type` is the
    /// reacted item's `item_type`. An unsupported emoji gives [`Error::InvalidEmoji`].
    pub async fn send_reaction(
        &self,
        thread_id: &str,
        item_id: &str,
        emoji: Option<&str>,
        target_item_type: &str,
    ) -> Result<SendAck, Error> {
        self.send_command(Command::Reaction {
            thread_id: thread_id.to_owned(),
            client_context: new_client_context(),
            item_id: item_id.to_owned(),
            emoji: emoji.map(str::to_owned),
            target_item_type: target_item_type.to_owned(),
        })
        .await
    }

    pub async fn mark_seen(&self, thread_id: &str, item_id: &str) -> Result<SendAck, Error> {
        self.send_command(Command::MarkSeen {
            thread_id: thread_id.to_owned(),
            client_context: new_client_context(),
            item_id: item_id.to_owned(),
        })
        .await
    }

    /// Typing on/off.
    pub async fn indicate_activity(&self, thread_id: &str, typing: bool) -> Result<SendAck, Error> {
        self.send_command(Command::IndicateActivity {
            thread_id: thread_id.to_owned(),
            client_context: new_client_context(),
            typing,
        })
        .await
    }

    /// Publishes the foreground state now and after every reconnect (E.11). Fire and forget.
    pub async fn set_foreground(&self, foreground: bool) -> Result<(), Error> {
        self.request(Request::Foreground(foreground)).await
    }

    /// Confirms the cursor the caller has durably stored; the next (re)subscribe starts there.
    /// Never waits (safe to call from the task that consumes the events).
    pub async fn update_cursor(&self, cursor: Cursor) -> Result<(), Error> {
        self.cursor.set(cursor);
        Ok(())
    }

    /// Drops the connection and reconnects at once (e.g. after a resync).
    pub async fn reconnect(&self) -> Result<(), Error> {
        self.request(Request::Reconnect).await
    }

    /// Sends DISCONNECT, fails pending sends with [`Error::Shutdown`], emits
    /// [`ConnectionState::Stopped`] and ends the event loop.
    pub async fn shutdown(&self) -> Result<(), Error> {
        self.request(Request::Shutdown).await
    }
}

#[cfg(test)]
mod size_tests {
    /// Every account has a request and an event channel, and tokio allocates each channel's
    /// first block of 32 slots up front, each slot as large as the type: large payloads are
    /// boxed so that a connected account's two blocks stay around 3 KiB together.
    #[test]
    fn channel_slots_stay_small() {
        assert!(
            std::mem::size_of::<super::Request>() <= 48,
            "Request is {} bytes",
            std::mem::size_of::<super::Request>()
        );
        assert!(
            std::mem::size_of::<super::RealtimeEvent>() <= 64,
            "RealtimeEvent is {} bytes",
            std::mem::size_of::<super::RealtimeEvent>()
        );
    }
}
