//! The I/O-free protocol state machine (the rumqttc `state.rs` of this client).
//!
//! Incoming packet → replies + events; caller request → packets; `now` → keepalive pings,
//! dead-socket detection, iris and ack deadlines. Pending sends survive reconnects: a command not
//! yet acknowledged is (re)published after the next CONNACK with the same `client_context`, which
//! Instagram dedupes, until its deadline passes. Time comes in as `tokio::time::Instant` so tests
//! can pause it.

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::codec::{Connect, Packet, Publish};
use super::commands::{AckStatus, Command, SendAck, foreground_state, parse_ack};
use super::connect::{ConnectParams, inflate, zlib};
use super::error::Error;
use super::events::{ConnectionState, RealtimeEvent};
use super::iris::{Cursor, IrisResponse, decode_message_sync, parse_response, subscribe_json};
use super::{pubsub, topics};

/// Inflated payloads larger than this are dropped.
const MAX_INFLATED: usize = 8 * 1024 * 1024;

/// Timing knobs of the state machine.
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub keepalive: Duration,
    /// Inbound silence after which a PINGREQ checks the socket still answers (at most
    /// `keepalive`): a half-open socket is noticed within `liveness + ping_timeout`.
    pub liveness: Duration,
    /// How long a PINGREQ may stay unanswered.
    pub ping_timeout: Duration,
    /// How long to wait for the iris subscribe response.
    pub iris_timeout: Duration,
    pub timezone_offset: i64,
}

/// What a caller is waiting for.
pub type Reply = oneshot::Sender<Result<SendAck, Error>>;

struct PendingSend {
    cmd: Command,
    deadline: Instant,
    reply: Option<Reply>,
    published: bool,
}

/// Replies to write and events to emit, filled by the state machine.
#[derive(Debug, Default)]
pub struct Output {
    pub packets: Vec<Packet>,
    pub events: Vec<RealtimeEvent>,
}

/// The protocol state of one client (across connections).
pub struct MqttState {
    cfg: StateConfig,
    user_pk: i64,
    app_version: String,
    cursor: Cursor,
    foreground: Option<bool>,
    next_pid: u16,
    connected: bool,
    last_in: Instant,
    last_out: Instant,
    ping_sent: Option<Instant>,
    iris_deadline: Option<Instant>,
    pending: Vec<PendingSend>,
}

impl MqttState {
    pub fn new(cfg: StateConfig, params: &ConnectParams, cursor: Cursor, now: Instant) -> Self {
        MqttState {
            cfg,
            user_pk: params.user_pk,
            app_version: params.app_version.clone(),
            cursor,
            foreground: None,
            next_pid: 0,
            connected: false,
            last_in: now,
            last_out: now,
            ping_sent: None,
            iris_deadline: None,
            pending: Vec::new(),
        }
    }

    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// The CONNECT for a fresh connection; resets per-connection state.
    pub fn connect_packet(&mut self, params: &ConnectParams, now: Instant) -> Packet {
        self.connected = false;
        self.ping_sent = None;
        self.iris_deadline = None;
        self.last_in = now;
        self.last_out = now;
        let keepalive = u16::try_from(self.cfg.keepalive.as_secs()).unwrap_or(u16::MAX);
        Packet::Connect(Connect::mqttot(keepalive, Bytes::from(params.to_payload())))
    }

    /// The connection is gone: every published-but-unacked command will be republished.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.ping_sent = None;
        self.iris_deadline = None;
        for p in &mut self.pending {
            p.published = false;
        }
    }

    fn pid(&mut self) -> u16 {
        self.next_pid = self.next_pid.wrapping_add(1);
        if self.next_pid == 0 {
            self.next_pid = 1;
        }
        self.next_pid
    }

    fn publish(&mut self, topic: u16, body: &[u8], out: &mut Output, now: Instant) {
        let pid = self.pid();
        out.packets.push(Packet::Publish(Publish::qos1(
            topics::wire(topic),
            pid,
            zlib(body),
        )));
        self.last_out = now;
    }

    /// The caller confirmed it persisted `cursor`; the next subscribe starts there.
    pub fn set_cursor(&mut self, cursor: Cursor) {
        self.cursor = cursor;
    }

    /// Queues a command; publishes it now if connected.
    pub fn submit(
        &mut self,
        cmd: Command,
        reply: Reply,
        deadline: Instant,
        now: Instant,
        out: &mut Output,
    ) {
        let mut p = PendingSend {
            cmd,
            deadline,
            reply: Some(reply),
            published: false,
        };
        if self.connected {
            let body = p.cmd.to_json();
            self.publish(topics::SEND_MESSAGE, &body, out, now);
            p.published = true;
        }
        self.pending.push(p);
    }

    /// Records the wanted foreground state and publishes it if connected (E.11).
    pub fn set_foreground(&mut self, foreground: bool, now: Instant, out: &mut Output) {
        self.foreground = Some(foreground);
        if self.connected {
            self.publish_foreground(foreground, now, out);
        }
    }

    fn publish_foreground(&mut self, fg: bool, now: Instant, out: &mut Output) {
        let keepalive = i32::try_from(self.cfg.keepalive.as_secs()).unwrap_or(i32::MAX);
        let body = foreground_state(fg, fg, Some(keepalive), &[], None);
        self.publish(topics::FOREGROUND_STATE, &body, out, now);
    }

    /// After CONNACK 0 (E.6): realtime subs, skywalker, iris subscribe, then queued sends.
    fn post_connect(&mut self, now: Instant, out: &mut Output) {
        let pk = self.user_pk;
        let sub = |query: &str, input: serde_json::Value| {
            format!(
                "1/graphqlsubscriptions/{query}/{}",
                serde_json::json!({ "input_data": input })
            )
        };
        let realtime = serde_json::json!({ "sub": [
            sub("17846944882223835", serde_json::json!({"client_subscription_id": uuid::Uuid::new_v4().to_string()})),
            sub("17867973967082385", serde_json::json!({"user_id": pk.to_string()})),
            sub("17854499065530643", serde_json::json!({"client_subscription_id": uuid::Uuid::new_v4().to_string()})),
        ]});
        self.publish(
            topics::REALTIME_SUB,
            realtime.to_string().as_bytes(),
            out,
            now,
        );
        let skywalker = serde_json::json!({ "sub": [
            format!("ig/u/v1/{pk}"),
            format!("ig/live_notification_subscribe/{pk}"),
        ]});
        self.publish(topics::PUBSUB, skywalker.to_string().as_bytes(), out, now);
        let iris = subscribe_json(self.cursor, &self.app_version, self.cfg.timezone_offset);
        self.publish(topics::SUB_IRIS, &iris, out, now);
        self.iris_deadline = Some(now + self.cfg.iris_timeout);
        if let Some(fg) = self.foreground {
            self.publish_foreground(fg, now, out);
        }
        for i in 0..self.pending.len() {
            if !self.pending[i].published {
                let body = self.pending[i].cmd.to_json();
                self.publish(topics::SEND_MESSAGE, &body, out, now);
                self.pending[i].published = true;
            }
        }
    }

    /// Handles one incoming packet.
    pub fn handle(&mut self, packet: Packet, now: Instant, out: &mut Output) -> Result<(), Error> {
        self.last_in = now;
        match packet {
            Packet::ConnAck { code, .. } => match code {
                0 => {
                    self.connected = true;
                    out.events
                        .push(RealtimeEvent::State(ConnectionState::Connected));
                    self.post_connect(now, out);
                }
                5 => return Err(Error::NotAuthorized),
                other => return Err(Error::Refused(other)),
            },
            Packet::Publish(p) => {
                if let Some(pid) = p.packet_id {
                    out.packets.push(Packet::PubAck(pid));
                    self.last_out = now;
                }
                self.on_publish(p, out)?;
            }
            Packet::PingResp => self.ping_sent = None,
            Packet::PingReq => {
                out.packets.push(Packet::PingResp);
                self.last_out = now;
            }
            Packet::PubAck(_) => {}
            Packet::Disconnect => return Err(Error::Closed),
            Packet::Connect(_) => return Err(Error::Protocol("unexpected CONNECT".into())),
        }
        Ok(())
    }

    fn on_publish(&mut self, p: Publish, out: &mut Output) -> Result<(), Error> {
        let Some(topic) = topics::parse(&p.topic) else {
            tracing::debug!(topic = %p.topic, "skipping publish on unknown topic");
            return Ok(());
        };
        let body = if p.payload.first() == Some(&0x78) {
            match inflate(&p.payload, MAX_INFLATED) {
                Ok(b) => b,
                Err(e) => {
                    tracing::debug!(topic, error = %e, "dropping undecompressable payload");
                    return Ok(());
                }
            }
        } else {
            p.payload.to_vec()
        };
        match topic {
            topics::MESSAGE_SYNC => match decode_message_sync(&body) {
                Ok(batch) => out.events.push(RealtimeEvent::MessageSync(batch)),
                Err(e) => tracing::debug!(error = %e, "undecodable message sync"),
            },
            topics::SUB_IRIS_RESPONSE => {
                self.iris_deadline = None;
                match parse_response(&body) {
                    Some(IrisResponse::Subscribed {
                        seq_id,
                        latest_seq_id,
                        subscribed_at_ms,
                    }) => out.events.push(RealtimeEvent::IrisSubscribed {
                        seq_id,
                        latest_seq_id,
                        subscribed_at_ms,
                    }),
                    Some(IrisResponse::Refused {
                        error_type,
                        error_message,
                    }) => out.events.push(RealtimeEvent::ResyncRequired {
                        error_type,
                        error_message,
                    }),
                    None => tracing::debug!("undecodable iris response"),
                }
            }
            topics::SEND_MESSAGE_RESPONSE => match parse_ack(&body) {
                Some(ack) => self.on_ack(ack),
                None => tracing::debug!("undecodable send response"),
            },
            topics::REALTIME_SUB => out.events.extend(pubsub::decode_realtime_sub(&body)),
            topics::PUBSUB => out.events.extend(pubsub::decode_pubsub(&body)),
            topics::REGION_HINT => {
                if let Some(h) = pubsub::decode_region_hint(&body) {
                    out.events.push(RealtimeEvent::RegionHint(h));
                }
            }
            topics::PP => return Err(Error::ReconnectRequested),
            other => tracing::debug!(topic = other, "skipping publish"),
        }
        Ok(())
    }

    fn on_ack(&mut self, ack: SendAck) {
        let idx = match &ack.client_context {
            Some(ctx) => self
                .pending
                .iter()
                .position(|p| p.published && p.cmd.client_context() == ctx),
            // Some acks lack client_context: attribute it only when unambiguous.
            None => {
                let mut published = self.pending.iter().enumerate().filter(|(_, p)| p.published);
                match (published.next(), published.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            }
        };
        let Some(idx) = idx else {
            tracing::debug!(client_context = ?ack.client_context, "ack for no pending send");
            return;
        };
        let p = self.pending.remove(idx);
        let result = match &ack.status {
            AckStatus::Ok => Ok(ack.clone()),
            AckStatus::Failed { message } if message == "invalid unicode emoji" => {
                Err(Error::InvalidEmoji)
            }
            AckStatus::Failed { message } => Err(Error::Rejected {
                message: message.clone(),
                status_code: ack.status_code.clone(),
            }),
        };
        if let Some(reply) = p.reply {
            let _ = reply.send(result);
        }
    }

    /// Expires sends past their deadline (also while disconnected).
    pub fn expire_sends(&mut self, now: Instant) {
        self.pending.retain_mut(|p| {
            if p.deadline > now {
                return true;
            }
            if let Some(reply) = p.reply.take() {
                let err = if p.published {
                    Error::AckTimeout
                } else {
                    Error::NotConnected
                };
                let _ = reply.send(Err(err));
            }
            false
        });
    }

    /// Fails every pending send (shutdown).
    pub fn fail_all(&mut self, err: &Error) {
        for mut p in self.pending.drain(..) {
            if let Some(reply) = p.reply.take() {
                let _ = reply.send(Err(err.clone()));
            }
        }
    }

    /// Keepalive and deadlines. An error means the connection is dead.
    pub fn poll_timers(&mut self, now: Instant, out: &mut Output) -> Result<(), Error> {
        self.expire_sends(now);
        if let Some(sent) = self.ping_sent {
            if now >= sent + self.cfg.ping_timeout {
                return Err(Error::Timeout("PINGRESP"));
            }
        } else if self.connected {
            let idle_out = now >= self.last_out + self.cfg.keepalive;
            let idle_in = now >= self.last_in + self.silence();
            if idle_out || idle_in {
                out.packets.push(Packet::PingReq);
                self.ping_sent = Some(now);
                self.last_out = now;
            }
        }
        if !self.connected && now >= self.last_in + self.cfg.keepalive + self.cfg.ping_timeout {
            return Err(Error::Timeout("CONNACK"));
        }
        if let Some(deadline) = self.iris_deadline
            && now >= deadline
        {
            return Err(Error::Timeout("iris subscribe response"));
        }
        Ok(())
    }

    /// How long the server may stay silent before we ask whether it is still there.
    fn silence(&self) -> Duration {
        self.cfg.liveness.min(self.cfg.keepalive)
    }

    /// The next instant [`Self::poll_timers`] has something to do.
    pub fn next_deadline(&self) -> Instant {
        let mut next = match self.ping_sent {
            Some(sent) => sent + self.cfg.ping_timeout,
            None if self.connected => {
                (self.last_out + self.cfg.keepalive).min(self.last_in + self.silence())
            }
            None => self.last_in + self.cfg.keepalive + self.cfg.ping_timeout,
        };
        if let Some(d) = self.iris_deadline {
            next = next.min(d);
        }
        for p in &self.pending {
            next = next.min(p.deadline);
        }
        next
    }

    /// The earliest send deadline, if any (used while disconnected).
    pub fn next_send_deadline(&self) -> Option<Instant> {
        self.pending.iter().map(|p| p.deadline).min()
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
