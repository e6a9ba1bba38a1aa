//! The event loop: owns the socket, `select!`s over the network, caller requests and timers, and
//! reconnects with jittered exponential backoff (capped, reset after a stable period).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until, timeout};
use tokio_util::codec::Framed;

use super::codec::{MqttCodec, Packet};
use super::connect::ConnectParams;
use super::error::Error;
use super::events::{ConnectionState, DisconnectCause, RealtimeEvent};
use super::state::{MqttState, Output, StateConfig};
use super::{RealtimeConfig, Request};

/// A byte stream the client can speak MQTToT over.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Opens the transport instead of TCP/TLS (in-memory pipes in paused-time tests).
pub type Connector = std::sync::Arc<
    dyn Fn() -> std::pin::Pin<
            Box<dyn std::future::Future<Output = std::io::Result<Box<dyn Io>>> + Send>,
        > + Send
        + Sync,
>;

type Conn = Framed<Box<dyn Io>, MqttCodec>;

/// A large message (an iris answer, a big sync batch) grows a connection's buffers, and a
/// `Framed` never gives that memory back (consumed bytes keep their allocation alive); a
/// thousand idle connections should not each keep their largest message's worth. Once a
/// buffer is empty it is replaced by a fresh one: `read_buffer` bytes to read into, nothing
/// to write with (the write buffer starts at 8 KiB and grows to the largest send otherwise).
/// An empty read buffer of exactly `read_buffer` is kept, so a quiet connection allocates
/// nothing.
pub(crate) fn shrink_idle_buffers<T, C>(conn: &mut Framed<T, C>, read_buffer: usize) {
    let read = conn.read_buffer_mut();
    if read.is_empty() && read.capacity() != read_buffer {
        *read = bytes::BytesMut::with_capacity(read_buffer);
    }
    let write = conn.write_buffer_mut();
    if write.is_empty() && write.capacity() > 0 {
        *write = bytes::BytesMut::new();
    }
}

/// Why one connection ended.
enum End {
    Shutdown,
    Failed(Error),
}

/// Jittered exponential backoff ("equal jitter"): a delay in `[b/2, b]` with
/// `b = min(initial * 2^n, max)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            failures: 0,
        }
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The next delay; each call counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
        use rand::Rng;
        let factor = 1u32 << self.failures.min(16);
        self.failures = self.failures.saturating_add(1);
        let base = self.initial.saturating_mul(factor).min(self.max);
        let half = base / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

/// Owns the connection of one client.
pub struct EventLoop {
    config: RealtimeConfig,
    params: ConnectParams,
    state: MqttState,
    requests: mpsc::Receiver<Request>,
    events: mpsc::Sender<RealtimeEvent>,
    tls: Option<(
        tokio_rustls::TlsConnector,
        rustls::pki_types::ServerName<'static>,
    )>,
    backoff: Backoff,
    out: Output,
    connector: Option<Connector>,
    /// The cursor the caller last confirmed (see [`super::RealtimeClient::update_cursor`]).
    confirmed: super::SharedCursor,
}

impl EventLoop {
    pub(super) fn new(
        config: RealtimeConfig,
        params: ConnectParams,
        cursor: super::iris::Cursor,
        confirmed: super::SharedCursor,
        requests: mpsc::Receiver<Request>,
        events: mpsc::Sender<RealtimeEvent>,
    ) -> Result<Self, Error> {
        let tls = if config.tls {
            let cfg = crate::tls::shared_client_config(config.extra_ca.as_deref())
                .map_err(|e| Error::Tls(e.to_string()))?;
            let name = rustls::pki_types::ServerName::try_from(config.host.clone())
                .map_err(|e| Error::Tls(e.to_string()))?;
            Some((tokio_rustls::TlsConnector::from(cfg), name))
        } else {
            None
        };
        let state_cfg = StateConfig {
            keepalive: config.keepalive,
            liveness: config.liveness,
            ping_timeout: config.ping_timeout,
            iris_timeout: config.iris_timeout,
            timezone_offset: config.timezone_offset,
        };
        let state = MqttState::new(state_cfg, &params, cursor, Instant::now());
        let backoff = Backoff::new(config.backoff_initial, config.backoff_max);
        Ok(EventLoop {
            config,
            params,
            state,
            requests,
            events,
            tls,
            backoff,
            out: Output::default(),
            connector: None,
            confirmed,
        })
    }

    async fn emit(&self, ev: RealtimeEvent) {
        // A dropped receiver is not fatal: sends keep working.
        let _ = self.events.send(ev).await;
    }

    /// Runs until `shutdown` (or every handle is dropped).
    pub async fn run(mut self) {
        loop {
            let attempt = self.backoff.failures();
            self.emit(RealtimeEvent::State(ConnectionState::Connecting {
                attempt,
            }))
            .await;
            let connected_at = Instant::now();
            let end = self.connect_and_run().await;
            let was_connected = self.state.is_connected();
            self.state.disconnected();
            let err = match end {
                End::Shutdown => break,
                End::Failed(e) => e,
            };
            tracing::info!(error = %err, "realtime connection ended");
            let state = match &err {
                Error::NotAuthorized => ConnectionState::AuthFailed,
                Error::Refused(code) => ConnectionState::Refused { code: *code },
                other => ConnectionState::Disconnected {
                    reason: other.to_string(),
                    cause: DisconnectCause::of(other),
                },
            };
            self.emit(RealtimeEvent::State(state)).await;
            if was_connected && connected_at.elapsed() >= self.config.stable_after {
                self.backoff.reset();
            }
            let delay = match err {
                Error::ReconnectRequested => Duration::ZERO,
                _ => self.backoff.next_delay(),
            };
            if self.wait(delay).await {
                break;
            }
        }
        self.state.fail_all(&Error::Shutdown);
        self.emit(RealtimeEvent::State(ConnectionState::Stopped))
            .await;
    }

    /// Waits `delay` while serving requests. Returns true on shutdown.
    async fn wait(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            let now = Instant::now();
            self.state.expire_sends(now);
            if now >= until {
                return false;
            }
            let wake = self
                .state
                .next_send_deadline()
                .map_or(until, |d| d.min(until));
            tokio::select! {
                req = self.requests.recv() => match req {
                    None | Some(Request::Shutdown) => return true,
                    Some(Request::Reconnect) => return false,
                    Some(other) => self.apply(other, Instant::now()),
                },
                _ = sleep_until(wake) => {}
            }
        }
    }

    pub(super) fn set_connector(&mut self, connector: Connector) {
        self.connector = Some(connector);
    }

    async fn open(&self) -> Result<Box<dyn Io>, Error> {
        if let Some(connector) = &self.connector {
            return Ok(connector().await?);
        }
        let (host, port) = (self.config.host.as_str(), self.config.port);
        let tcp = match &self.config.proxy {
            Some(proxy) => {
                crate::instagram::proxy::dial(proxy, host, port, self.config.connect_timeout)
                    .await
                    .map_err(Error::Proxy)?
            }
            None => TcpStream::connect((host, port)).await?,
        };
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            Some((connector, name)) => {
                let tls = connector.connect(name.clone(), tcp).await?;
                Ok(Box::new(tls))
            }
            None => Ok(Box::new(tcp)),
        }
    }

    async fn connect_and_run(&mut self) -> End {
        // Subscribe from the latest cursor the caller confirmed.
        if let Some(cursor) = self.confirmed.get() {
            self.state.set_cursor(cursor);
        }
        let deadline = self.config.connect_timeout;
        let conn = match timeout(deadline, self.handshake()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return End::Failed(e),
            Err(_) => return End::Failed(Error::Timeout("CONNACK")),
        };
        self.run_connection(conn).await
    }

    /// TCP (+TLS), CONNECT, CONNACK.
    async fn handshake(&mut self) -> Result<Conn, Error> {
        self.out.packets.clear();
        let io = self.open().await?;
        let codec = MqttCodec::new(self.config.max_packet);
        let mut conn = Framed::with_capacity(io, codec, self.config.read_buffer);
        let connect = self.state.connect_packet(&self.params, Instant::now());
        conn.send(connect).await?;
        match conn.next().await {
            Some(Ok(p @ Packet::ConnAck { .. })) => {
                self.state.handle(p, Instant::now(), &mut self.out)?;
                Ok(conn)
            }
            Some(Ok(other)) => Err(Error::Protocol(format!("expected CONNACK, got {other:?}"))),
            Some(Err(e)) => Err(e.into()),
            None => Err(Error::Closed),
        }
    }

    fn apply(&mut self, req: Request, now: Instant) {
        match req {
            Request::Command {
                cmd,
                reply,
                deadline,
            } => self.state.submit(*cmd, reply, deadline, now, &mut self.out),
            Request::Foreground(fg) => self.state.set_foreground(fg, now, &mut self.out),
            Request::Reconnect | Request::Shutdown => {}
        }
    }

    /// Writes queued packets and delivers queued events.
    async fn flush(&mut self, conn: &mut Conn) -> Result<(), Error> {
        let events = std::mem::take(&mut self.out.events);
        for ev in events {
            self.emit(ev).await;
        }
        if !self.out.packets.is_empty() {
            let packets = std::mem::take(&mut self.out.packets);
            for p in packets {
                conn.feed(p).await?;
            }
            conn.flush().await?;
        }
        Ok(())
    }

    async fn run_connection(&mut self, mut conn: Conn) -> End {
        if let Err(e) = self.flush(&mut conn).await {
            return End::Failed(e);
        }
        loop {
            let wake = self.state.next_deadline();
            let step: Result<(), Error> = tokio::select! {
                packet = conn.next() => match packet {
                    Some(Ok(p)) => self.state.handle(p, Instant::now(), &mut self.out),
                    Some(Err(e)) => Err(e.into()),
                    None => Err(Error::Closed),
                },
                req = self.requests.recv() => match req {
                    None | Some(Request::Shutdown) => {
                        let _ = conn.send(Packet::Disconnect).await;
                        return End::Shutdown;
                    }
                    Some(Request::Reconnect) => Err(Error::ReconnectRequested),
                    Some(other) => {
                        self.apply(other, Instant::now());
                        Ok(())
                    }
                },
                _ = sleep_until(wake) => self.state.poll_timers(Instant::now(), &mut self.out),
            };
            // Write what is queued even when the step failed (e.g. a PUBACK before /pp).
            let flushed = self.flush(&mut conn).await;
            if let Err(e) = step.and(flushed) {
                return End::Failed(e);
            }
            shrink_idle_buffers(&mut conn, self.config.read_buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::Publish;
    use super::*;

    #[tokio::test]
    async fn buffers_go_back_to_small_once_a_large_message_is_through() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut writer = Framed::new(a, MqttCodec::new(1 << 20));
        let mut reader = Framed::with_capacity(b, MqttCodec::new(1 << 20), 1024);
        assert_eq!(
            writer.write_buffer().capacity(),
            8 * 1024,
            "tokio-util's default"
        );
        let big = Publish::qos0("/ig_message_sync", vec![7u8; 200_000]);
        writer
            .send(Packet::Publish(big.clone()))
            .await
            .expect("send");
        let got = reader.next().await.expect("a packet").expect("decoded");
        assert_eq!(got, Packet::Publish(big));
        drop(got);
        assert!(reader.read_buffer().is_empty());

        shrink_idle_buffers(&mut writer, 1024);
        shrink_idle_buffers(&mut reader, 1024);
        assert_eq!(writer.write_buffer().capacity(), 0);
        assert_eq!(reader.read_buffer().capacity(), 1024);

        // Both still work, and a buffer holding part of a packet is left alone.
        writer
            .send(Packet::Publish(Publish::qos0("/t", vec![1u8; 10])))
            .await
            .expect("send again");
        let again = reader.next().await.expect("a packet").expect("decoded");
        assert!(matches!(again, Packet::Publish(p) if p.payload.len() == 10));
        reader.read_buffer_mut().extend_from_slice(&[0x30]);
        shrink_idle_buffers(&mut reader, 1024);
        assert_eq!(&reader.read_buffer()[..], &[0x30]);
    }
}
