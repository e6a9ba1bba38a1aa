//! Errors of the realtime client, layered like rumqttc: wire ([`CodecError`]), connection, send.

use super::codec::CodecError;

/// Everything that can go wrong in the realtime client.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// TCP/TLS failure (connect, read, write).
    #[error("network: {0}")]
    Network(String),
    /// The account's proxy failed (nothing was sent around it).
    #[error("{0}")]
    Proxy(crate::instagram::proxy::ProxyError),
    /// TLS configuration (bad extra CA file, bad host name).
    #[error("tls: {0}")]
    Tls(String),
    /// The peer sent bytes that are not MQTT.
    #[error("protocol: {0}")]
    Protocol(String),
    /// CONNACK 5: the session's credentials were refused. Probe the HTTP session.
    #[error("not authorized (CONNACK 5)")]
    NotAuthorized,
    /// CONNACK with another non-zero return code.
    #[error("connection refused with code {0}")]
    Refused(u8),
    /// No CONNACK / no PINGRESP / no iris response in time, or a silent socket.
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    /// The server closed the connection.
    #[error("connection closed by the server")]
    Closed,
    /// The server asked for a reconnect (`/pp`) or the caller did.
    #[error("reconnect requested")]
    ReconnectRequested,
    /// A negative `item_ack`.
    #[error("send rejected: {message}")]
    Rejected {
        message: String,
        status_code: Option<String>,
    },
    /// A negative `item_ack` saying the reaction emoji is not supported.
    #[error("invalid unicode emoji")]
    InvalidEmoji,
    /// No `item_ack` before the deadline (the command was published).
    #[error("no acknowledgement before the deadline")]
    AckTimeout,
    /// The deadline passed while the client was disconnected; the command was never published.
    #[error("not connected before the deadline")]
    NotConnected,
    /// The client was shut down.
    #[error("realtime client stopped")]
    Shutdown,
}

impl From<CodecError> for Error {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Io(io) => Error::Network(io.to_string()),
            other => Error::Protocol(other.to_string()),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Network(e.to_string())
    }
}
