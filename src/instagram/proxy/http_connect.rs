//! The client side of an HTTP `CONNECT` tunnel (RFC 9110 §9.3.6), with Basic proxy
//! authentication. The answer's head is read byte by byte, so nothing of the tunnel behind it
//! is consumed, and checked line by line.

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ProxyFailure, Stream, io_failure};

/// The longest answer head accepted.
const MAX_HEAD: usize = 8 * 1024;

fn malformed(reason: impl Into<String>) -> ProxyFailure {
    ProxyFailure::Malformed {
        protocol: "HTTP",
        reason: reason.into(),
    }
}

/// Runs the handshake; on `Ok` the stream is a tunnel to `host:port`.
pub(crate) async fn handshake<S: Stream>(
    s: &mut S,
    host: &str,
    port: u16,
    credentials: Option<(&str, &str)>,
) -> Result<(), ProxyFailure> {
    if host.is_empty()
        || host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(ProxyFailure::Other("invalid target host name".into()));
    }
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, password)) = credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes()).await.map_err(io_failure)?;
    s.flush().await.map_err(io_failure)?;
    let head = read_head(s).await?;
    let status = parse_head(&head)?;
    match status {
        (200..=299, _) => Ok(()),
        (407, _) if credentials.is_some() => Err(ProxyFailure::AuthRejected),
        (407, _) => Err(ProxyFailure::AuthRequired),
        (code, reason) => Err(ProxyFailure::TargetRefused {
            target: authority,
            reason: format!("HTTP {code} {reason}").trim_end().to_owned(),
        }),
    }
}

/// Reads up to and including the blank line that ends the head.
async fn read_head<S: Stream>(s: &mut S) -> Result<Vec<u8>, ProxyFailure> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return Err(malformed(format!("an answer head over {MAX_HEAD} bytes")));
        }
        head.push(s.read_u8().await.map_err(io_failure)?);
    }
    Ok(head)
}

/// The status code and reason phrase of a well-formed answer head.
fn parse_head(head: &[u8]) -> Result<(u16, String), ProxyFailure> {
    let text = std::str::from_utf8(head).map_err(|_| malformed("a head that is not UTF-8"))?;
    let mut lines = text.strip_suffix("\r\n\r\n").unwrap_or(text).split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .ok_or_else(|| malformed("no HTTP/1.x status line"))?;
    let (code, reason) = rest.split_at_checked(3).unwrap_or((rest, ""));
    let code = (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse::<u16>().ok())
        .flatten()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| malformed("no three-digit status code"))?;
    if !(reason.is_empty() || reason.starts_with(' ')) {
        return Err(malformed("no space after the status code"));
    }
    for line in lines {
        let well_formed = line
            .split_once(':')
            .is_some_and(|(name, _)| !name.is_empty() && name.bytes().all(is_token_byte));
        if !well_formed || line.contains('\n') || line.contains('\r') {
            return Err(malformed("a malformed header line"));
        }
    }
    if code < 200 {
        return Err(malformed("an interim (1xx) answer to CONNECT"));
    }
    Ok((code, reason.trim().to_owned()))
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    /// Runs the handshake against a proxy that answers `answer` (then the tunnel's first
    /// bytes, `after`) and closes. Returns the result, the request and what the tunnel read.
    async fn run(
        creds: Option<(&str, &str)>,
        answer: &[u8],
        after: &[u8],
    ) -> (Result<(), ProxyFailure>, String, Vec<u8>) {
        let (mut client, mut server) = duplex(64 * 1024);
        let (answer, after) = (answer.to_vec(), after.to_vec());
        let proxy = tokio::spawn(async move {
            let mut req = Vec::new();
            while !req.ends_with(b"\r\n\r\n") {
                req.push(server.read_u8().await.unwrap());
            }
            server.write_all(&answer).await.unwrap();
            server.write_all(&after).await.unwrap();
            String::from_utf8(req).unwrap()
        });
        let result = handshake(&mut client, "i.instagram.com", 443, creds).await;
        let req = proxy.await.unwrap();
        let mut tunnel = Vec::new();
        if result.is_ok() {
            client.read_to_end(&mut tunnel).await.unwrap();
        }
        (result, req, tunnel)
    }

    #[tokio::test]
    async fn a_tunnel_with_basic_auth_keeps_the_bytes_behind_the_head() {
        let (r, req, tunnel) = run(
            Some(("al", "pw")),
            b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n",
            b"\x16\x03\x01",
        )
        .await;
        assert_eq!(r, Ok(()));
        assert_eq!(
            req,
            "CONNECT i.instagram.com:443 HTTP/1.1\r\nHost: i.instagram.com:443\r\n\
             Proxy-Authorization: Basic YWw6cHc=\r\n\r\n"
        );
        assert_eq!(tunnel, b"\x16\x03\x01");
        let (r, req, _) = run(None, b"HTTP/1.0 200\r\n\r\n", b"").await;
        assert_eq!(r, Ok(()));
        assert!(!req.contains("Proxy-Authorization"));
    }

    #[tokio::test]
    async fn refusals_are_told_apart() {
        let ask =
            b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n";
        assert_eq!(
            run(Some(("u", "bad")), ask, b"").await.0,
            Err(ProxyFailure::AuthRejected)
        );
        assert_eq!(run(None, ask, b"").await.0, Err(ProxyFailure::AuthRequired));
        assert_eq!(
            run(None, b"HTTP/1.1 502 Bad Gateway\r\n\r\n", b"").await.0,
            Err(ProxyFailure::TargetRefused {
                target: "i.instagram.com:443".into(),
                reason: "HTTP 502 Bad Gateway".into()
            })
        );
    }

    #[tokio::test]
    async fn malformed_and_truncated_answers() {
        let bad: [&[u8]; 9] = [
            b"SSH-2.0-OpenSSH\r\n\r\n",
            b"HTTP/2 200\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200OK\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
            b"HTTP/1.1 200 \xff\xfe\r\n\r\n",
        ];
        for answer in bad {
            let (r, _, _) = run(None, answer, b"").await;
            assert!(
                matches!(r, Err(ProxyFailure::Malformed { .. })),
                "{:?}: {r:?}",
                String::from_utf8_lossy(answer)
            );
        }
        let huge = [b"HTTP/1.1 200 OK\r\nX: ".as_slice(), &[b'a'; MAX_HEAD]].concat();
        let (r, _, _) = run(None, &huge, b"").await;
        assert!(matches!(r, Err(ProxyFailure::Malformed { .. })), "{r:?}");
        let (r, _, _) = run(None, b"HTTP/1.1 200 OK\r\n", b"").await;
        assert_eq!(r, Err(ProxyFailure::Closed));
    }
}
