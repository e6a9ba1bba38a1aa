//! Proxies for an account's Instagram traffic: the proxy URL ([`ProxyUrl`]: SOCKS5 with local
//! or proxy-side name resolution, or HTTP CONNECT, optionally with a user name and password),
//! how a proxy failed ([`ProxyError`]), and the client handshakes the realtime connection
//! dials through ([`dial`]; the HTTP API goes through reqwest's own proxy support with the same
//! URL, see `http/transport.rs`).
//!
//! A proxy is never bypassed: when one is set, every connection goes through it or fails with
//! a [`ProxyError`]. Neither `Display` nor `Debug` of anything here shows the password.

mod http_connect;
mod socks5;

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub use crate::proxy_url::{ProxyUrl, ProxyUrlError, Scheme};

/// How a proxy failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyFailure {
    /// No TCP connection to the proxy itself (refused, unreachable, name unknown).
    #[error("cannot reach the proxy: {0}")]
    Unreachable(String),
    /// The proxy wants credentials and none were given (or none of the methods offered).
    #[error("the proxy requires a user name and password")]
    AuthRequired,
    /// The proxy refused the user name and password.
    #[error("the proxy rejected the user name and password")]
    AuthRejected,
    /// The proxy would not connect to Instagram (CONNECT answered non-2xx, SOCKS reply
    /// code other than success).
    #[error("the proxy refused to connect to {target}: {reason}")]
    TargetRefused { target: String, reason: String },
    /// The proxy's answer was not the protocol it claims to speak.
    #[error("the proxy's answer is not valid {protocol}: {reason}")]
    Malformed {
        protocol: &'static str,
        reason: String,
    },
    /// The proxy closed the connection in the middle of the handshake.
    #[error("the proxy closed the connection during the handshake")]
    Closed,
    /// The handshake took too long.
    #[error("the proxy did not answer in time")]
    Timeout,
    /// Any other failure of a connection through the proxy.
    #[error("the connection through the proxy failed: {0}")]
    Other(String),
}

/// A proxy failure, with the proxy it happened on (its URL with the password masked).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("proxy {proxy}: {failure}")]
pub struct ProxyError {
    /// [`ProxyUrl`]'s masked display.
    pub proxy: String,
    pub failure: ProxyFailure,
}

impl ProxyError {
    pub fn new(proxy: &ProxyUrl, failure: ProxyFailure) -> Self {
        let failure = match failure {
            ProxyFailure::Unreachable(s) => ProxyFailure::Unreachable(proxy.redact(&s)),
            ProxyFailure::TargetRefused { target, reason } => ProxyFailure::TargetRefused {
                target,
                reason: proxy.redact(&reason),
            },
            ProxyFailure::Malformed { protocol, reason } => ProxyFailure::Malformed {
                protocol,
                reason: proxy.redact(&reason),
            },
            ProxyFailure::Other(s) => ProxyFailure::Other(proxy.redact(&s)),
            other => other,
        };
        ProxyError {
            proxy: proxy.to_string(),
            failure,
        }
    }
}

/// A byte stream a handshake can run over.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Opens a TCP connection to `host:port` through `proxy`, handshake included, within
/// `within`. There is no fallback: on any failure the caller gets the [`ProxyError`].
pub async fn dial(
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
    within: Duration,
) -> Result<TcpStream, ProxyError> {
    let fail = |failure| ProxyError::new(proxy, failure);
    let attempt = async {
        let mut tcp = TcpStream::connect((proxy.host(), proxy.port()))
            .await
            .map_err(|e| fail(ProxyFailure::Unreachable(e.to_string())))?;
        let _ = tcp.set_nodelay(true);
        handshake(proxy, &mut tcp, host, port).await.map_err(fail)?;
        Ok(tcp)
    };
    tokio::time::timeout(within, attempt)
        .await
        .map_err(|_| fail(ProxyFailure::Timeout))?
}

/// The handshake of `proxy`'s protocol over an open connection to it.
pub(crate) async fn handshake<S: Stream>(
    proxy: &ProxyUrl,
    stream: &mut S,
    host: &str,
    port: u16,
) -> Result<(), ProxyFailure> {
    match proxy.scheme() {
        Scheme::Http => http_connect::handshake(stream, host, port, proxy.credentials()).await,
        Scheme::Socks5h => {
            let target = socks5::Target::Name(host.to_owned(), port);
            socks5::handshake(stream, &target, proxy.credentials()).await
        }
        Scheme::Socks5 => {
            // Names are resolved here; the proxy is given an address.
            let addr = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| ProxyFailure::Other(format!("cannot resolve {host}: {e}")))?
                .next()
                .ok_or_else(|| ProxyFailure::Other(format!("{host} has no address")))?;
            socks5::handshake(stream, &socks5::Target::Addr(addr), proxy.credentials()).await
        }
    }
}

/// An I/O error during a handshake: a closed connection is [`ProxyFailure::Closed`].
fn io_failure(e: std::io::Error) -> ProxyFailure {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe => ProxyFailure::Closed,
        _ => ProxyFailure::Other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_lose_the_password() {
        let p = ProxyUrl::parse("http://u:hunter2@h:1").unwrap();
        let e = ProxyError::new(&p, ProxyFailure::Other("it said hunter2".into()));
        assert_eq!(e.failure, ProxyFailure::Other("it said ***".into()));
        let e = ProxyError::new(&p, ProxyFailure::Unreachable("hunter2".into()));
        assert_eq!(
            e.to_string(),
            "proxy http://u:***@h:1: cannot reach the proxy: ***"
        );
        assert!(!format!("{e:?}").contains("hunter2"), "{e:?}");
    }
}
