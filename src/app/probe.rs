//! `matrix-instagram healthcheck`: asks the running bridge's health endpoint, for container
//! health checks in images without curl. Plain blocking HTTP/1.0 over loopback.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::config::Config;

/// Why the bridge is not healthy (or could not be asked).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("cannot connect to the bridge at {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("no answer from the bridge at {address}: {source}")]
    Exchange {
        address: String,
        source: std::io::Error,
    },
    #[error("the bridge's answer is not HTTP: {0:?}")]
    NotHttp(String),
    #[error("not {what}: HTTP {status} {body}")]
    Unhealthy {
        what: &'static str,
        status: u16,
        body: String,
    },
}

/// Where the bridge listens, as seen from the same host: a wildcard address becomes loopback.
pub fn local_address(config: &Config) -> String {
    let host = config.appservice.hostname.trim_matches(['[', ']']);
    let host = match host {
        "" | "0.0.0.0" => "127.0.0.1",
        "::" => "::1",
        other => other,
    };
    if host.contains(':') {
        format!("[{host}]:{}", config.appservice.port)
    } else {
        format!("{host}:{}", config.appservice.port)
    }
}

/// Asks `/_matrix/mau/ready` (`ready`) or `/_matrix/mau/live`; `Ok` with the body on 200.
pub fn check(config: &Config, ready: bool, timeout: Duration) -> Result<String, ProbeError> {
    let (what, path) = if ready {
        ("ready", "/_matrix/mau/ready")
    } else {
        ("live", "/_matrix/mau/live")
    };
    let address = local_address(config);
    let connect = |source| ProbeError::Connect {
        address: address.clone(),
        source,
    };
    let exchange = |source| ProbeError::Exchange {
        address: address.clone(),
        source,
    };
    let target = address
        .to_socket_addrs()
        .map_err(connect)?
        .next()
        .ok_or_else(|| connect(std::io::ErrorKind::NotFound.into()))?;
    let mut stream = TcpStream::connect_timeout(&target, timeout).map_err(connect)?;
    stream.set_read_timeout(Some(timeout)).map_err(exchange)?;
    stream.set_write_timeout(Some(timeout)).map_err(exchange)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(exchange)?;
    let mut answer = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut answer)
        .map_err(exchange)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1."))
        .and_then(|l| l.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| ProbeError::NotHttp(text.chars().take(80).collect()))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_string())
        .unwrap_or_default();
    if status == 200 {
        Ok(body)
    } else {
        Err(ProbeError::Unhealthy { what, status, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hostname: &str) -> Config {
        let text = include_str!("../../example-config.yaml")
            .replace("generate", "tok")
            .replace("hostname: 127.0.0.1", &format!("hostname: \"{hostname}\""));
        Config::from_yaml(&text, "t", std::iter::empty()).expect("config")
    }

    #[test]
    fn wildcard_addresses_are_probed_on_loopback() {
        assert_eq!(local_address(&config("0.0.0.0")), "127.0.0.1:29330");
        assert_eq!(local_address(&config("::")), "[::1]:29330");
        assert_eq!(local_address(&config("10.1.2.3")), "10.1.2.3:29330");
        assert_eq!(local_address(&config("localhost")), "localhost:29330");
    }

    #[test]
    fn a_closed_port_is_an_error_naming_the_address() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut c = config("127.0.0.1");
        c.appservice.port = port;
        let e = check(&c, false, Duration::from_secs(2)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("cannot connect to the bridge at 127.0.0.1:{port}")),
            "{e}"
        );
    }
}
