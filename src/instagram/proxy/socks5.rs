//! The client side of a SOCKS5 `CONNECT` (RFC 1928), with user name and password
//! authentication (RFC 1929). Every byte of the proxy's answers is checked.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ProxyFailure, Stream, io_failure};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USER_PASSWORD: u8 = 0x02;
const NONE_ACCEPTABLE: u8 = 0xFF;
const CONNECT: u8 = 0x01;
const ATYP_V4: u8 = 0x01;
const ATYP_NAME: u8 = 0x03;
const ATYP_V6: u8 = 0x04;

/// Where the proxy should connect.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A host name the proxy resolves (`socks5h`).
    Name(String, u16),
    /// An address resolved here (`socks5`).
    Addr(SocketAddr),
}

impl Target {
    fn shown(&self) -> String {
        match self {
            Target::Name(h, p) => format!("{h}:{p}"),
            Target::Addr(a) => a.to_string(),
        }
    }
}

fn malformed(reason: impl Into<String>) -> ProxyFailure {
    ProxyFailure::Malformed {
        protocol: "SOCKS5",
        reason: reason.into(),
    }
}

/// Runs the handshake; on `Ok` the stream is connected to `target`.
pub(crate) async fn handshake<S: Stream>(
    s: &mut S,
    target: &Target,
    credentials: Option<(&str, &str)>,
) -> Result<(), ProxyFailure> {
    let request = connect_request(target)?;
    let methods: &[u8] = if credentials.is_some() {
        &[NO_AUTH, USER_PASSWORD]
    } else {
        &[NO_AUTH]
    };
    let mut greeting = vec![VERSION, methods.len() as u8];
    greeting.extend_from_slice(methods);
    s.write_all(&greeting).await.map_err(io_failure)?;
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.map_err(io_failure)?;
    if choice[0] != VERSION {
        return Err(malformed(format!(
            "version {} in the method choice",
            choice[0]
        )));
    }
    match (choice[1], credentials) {
        (NO_AUTH, _) => {}
        (USER_PASSWORD, Some((user, password))) => authenticate(s, user, password).await?,
        (NONE_ACCEPTABLE, None) => return Err(ProxyFailure::AuthRequired),
        (NONE_ACCEPTABLE, Some(_)) => {
            return Err(ProxyFailure::Other(
                "the proxy accepts none of the offered authentication methods".into(),
            ));
        }
        (other, _) => {
            return Err(malformed(format!(
                "it chose method {other:#04x}, which was not offered"
            )));
        }
    }
    s.write_all(&request).await.map_err(io_failure)?;
    read_reply(s, target).await
}

fn connect_request(target: &Target) -> Result<Vec<u8>, ProxyFailure> {
    let mut out = vec![VERSION, CONNECT, 0x00];
    let port = match target {
        Target::Name(host, port) => {
            let len = u8::try_from(host.len())
                .ok()
                .filter(|l| *l > 0)
                .ok_or_else(|| ProxyFailure::Other("host name too long for SOCKS5".into()))?;
            out.push(ATYP_NAME);
            out.push(len);
            out.extend_from_slice(host.as_bytes());
            *port
        }
        Target::Addr(SocketAddr::V4(a)) => {
            out.push(ATYP_V4);
            out.extend_from_slice(&a.ip().octets());
            a.port()
        }
        Target::Addr(SocketAddr::V6(a)) => {
            out.push(ATYP_V6);
            out.extend_from_slice(&a.ip().octets());
            a.port()
        }
    };
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

/// RFC 1929 sub-negotiation.
async fn authenticate<S: Stream>(
    s: &mut S,
    user: &str,
    password: &str,
) -> Result<(), ProxyFailure> {
    let too_long = || ProxyFailure::Other("user name or password too long for SOCKS5".into());
    let ulen = u8::try_from(user.len()).map_err(|_| too_long())?;
    let plen = u8::try_from(password.len()).map_err(|_| too_long())?;
    let mut msg = vec![0x01, ulen];
    msg.extend_from_slice(user.as_bytes());
    msg.push(plen);
    msg.extend_from_slice(password.as_bytes());
    s.write_all(&msg).await.map_err(io_failure)?;
    let mut reply = [0u8; 2];
    // RFC 1929: a server that refuses closes the connection; some close without answering.
    s.read_exact(&mut reply)
        .await
        .map_err(|e| match io_failure(e) {
            ProxyFailure::Closed => ProxyFailure::AuthRejected,
            other => other,
        })?;
    match reply {
        [0x01, 0x00] => Ok(()),
        [0x01, _] => Err(ProxyFailure::AuthRejected),
        [v, _] => Err(malformed(format!(
            "version {v} in the authentication reply"
        ))),
    }
}

fn reply_reason(code: u8) -> String {
    match code {
        0x01 => "general SOCKS server failure".into(),
        0x02 => "connection not allowed by ruleset".into(),
        0x03 => "network unreachable".into(),
        0x04 => "host unreachable".into(),
        0x05 => "connection refused".into(),
        0x06 => "TTL expired".into(),
        0x07 => "command not supported".into(),
        0x08 => "address type not supported".into(),
        other => format!("reply code {other:#04x}"),
    }
}

async fn read_reply<S: Stream>(s: &mut S, target: &Target) -> Result<(), ProxyFailure> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.map_err(io_failure)?;
    let [version, code, reserved, atyp] = head;
    if version != VERSION {
        return Err(malformed(format!("version {version} in the reply")));
    }
    if reserved != 0 {
        return Err(malformed(format!(
            "reserved byte {reserved:#04x} in the reply"
        )));
    }
    // The bound address is read whole before anything else: a refusal carries one too.
    let addr_len = match atyp {
        ATYP_V4 => 4,
        ATYP_V6 => 16,
        ATYP_NAME => {
            let len = s.read_u8().await.map_err(io_failure)?;
            usize::from(len)
        }
        other => return Err(malformed(format!("address type {other:#04x} in the reply"))),
    };
    let mut rest = vec![0u8; addr_len + 2];
    s.read_exact(&mut rest).await.map_err(io_failure)?;
    if code != 0 {
        return Err(ProxyFailure::TargetRefused {
            target: target.shown(),
            reason: reply_reason(code),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt, duplex};

    use super::*;

    /// Runs the handshake against a scripted proxy: `script` gets what the client sent at
    /// each step and the bytes to answer. Returns the result and everything the client sent.
    async fn run(
        target: Target,
        creds: Option<(&str, &str)>,
        answers: Vec<Vec<u8>>,
    ) -> (Result<(), ProxyFailure>, Vec<u8>) {
        let (mut client, mut server) = duplex(4096);
        let proxy = tokio::spawn(async move {
            let mut seen = Vec::new();
            for answer in answers {
                let mut buf = [0u8; 512];
                let n = server.read(&mut buf).await.unwrap();
                seen.extend_from_slice(&buf[..n]);
                server.write_all(&answer).await.unwrap();
            }
            // Close: what the client reads next is the end of the stream.
            drop(server);
            seen
        });
        let creds_owned = creds.map(|(u, p)| (u.to_owned(), p.to_owned()));
        let result = handshake(
            &mut client,
            &target,
            creds_owned.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
        )
        .await;
        drop(client);
        (result, proxy.await.unwrap())
    }

    fn name() -> Target {
        Target::Name("edge-mqtt.facebook.com".into(), 443)
    }

    const OK_REPLY: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x1F, 0x90];

    #[tokio::test]
    async fn a_name_target_without_auth() {
        let (r, sent) = run(name(), None, vec![vec![5, 0], OK_REPLY.to_vec()]).await;
        assert_eq!(r, Ok(()));
        let mut want = vec![5, 1, 0, 5, 1, 0, 3, 22];
        want.extend_from_slice(b"edge-mqtt.facebook.com");
        want.extend_from_slice(&[1, 187]);
        assert_eq!(sent, want);
    }

    #[tokio::test]
    async fn user_password_then_an_address_target() {
        let target = Target::Addr("10.1.2.3:8883".parse().unwrap());
        let answers = vec![vec![5, 2], vec![1, 0], OK_REPLY.to_vec()];
        let (r, sent) = run(target, Some(("al", "pw")), answers).await;
        assert_eq!(r, Ok(()));
        assert_eq!(
            sent,
            [
                &[5, 2, 0, 2][..],
                &[1, 2, b'a', b'l', 2, b'p', b'w'],
                &[5, 1, 0, 1, 10, 1, 2, 3, 0x22, 0xB3]
            ]
            .concat()
        );
        let v6 = Target::Addr("[::1]:1".parse().unwrap());
        let reply6 = [&[5u8, 0, 0, 4][..], &[0; 16], &[0, 1]].concat();
        let (r, sent) = run(v6, None, vec![vec![5, 0], reply6]).await;
        assert_eq!(r, Ok(()));
        assert_eq!(&sent[3..8], &[5, 1, 0, 4, 0]);
    }

    #[tokio::test]
    async fn refusals_are_told_apart() {
        let (r, _) = run(name(), Some(("u", "bad")), vec![vec![5, 2], vec![1, 1]]).await;
        assert_eq!(r, Err(ProxyFailure::AuthRejected));
        let (r, _) = run(name(), None, vec![vec![5, 0xFF]]).await;
        assert_eq!(r, Err(ProxyFailure::AuthRequired));
        let (r, _) = run(name(), Some(("u", "p")), vec![vec![5, 0xFF]]).await;
        assert!(matches!(r, Err(ProxyFailure::Other(_))));
        let refused = vec![5, 5, 0, 1, 0, 0, 0, 0, 0, 0];
        let (r, _) = run(name(), None, vec![vec![5, 0], refused]).await;
        assert_eq!(
            r,
            Err(ProxyFailure::TargetRefused {
                target: "edge-mqtt.facebook.com:443".into(),
                reason: "connection refused".into()
            })
        );
        let odd = vec![5, 0x42, 0, 3, 1, b'x', 0, 0];
        let (r, _) = run(name(), None, vec![vec![5, 0], odd]).await;
        assert!(
            matches!(&r, Err(ProxyFailure::TargetRefused { reason, .. }) if reason == "reply code 0x42")
        );
    }

    #[tokio::test]
    async fn a_proxy_that_reads_the_credentials_then_closes_refused_them() {
        let (mut client, mut server) = duplex(4096);
        let proxy = tokio::spawn(async move {
            let mut greeting = [0u8; 4];
            server.read_exact(&mut greeting).await.unwrap();
            server.write_all(&[5, 2]).await.unwrap();
            let mut auth = [0u8; 7];
            server.read_exact(&mut auth).await.unwrap();
            // No RFC 1929 answer: the connection just ends (pproxy does this).
        });
        let r = handshake(&mut client, &name(), Some(("u", "bad"))).await;
        proxy.await.unwrap();
        assert_eq!(r, Err(ProxyFailure::AuthRejected));
    }

    #[tokio::test]
    async fn malformed_and_truncated_replies() {
        let cases: Vec<Vec<Vec<u8>>> = vec![
            vec![vec![4, 0]],                                     // SOCKS4 answering
            vec![vec![5, 2]],                                     // a method not offered
            vec![vec![5, 0], vec![5, 0, 1, 1, 0, 0, 0, 0, 0, 0]], // reserved byte set
            vec![vec![5, 0], vec![5, 0, 0, 9, 0, 0]],             // unknown address type
            vec![vec![5, 0], vec![4, 0, 0, 1, 0, 0, 0, 0, 0, 0]], // wrong version
            vec![b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()],   // an HTTP proxy
        ];
        for answers in cases {
            let (r, _) = run(name(), None, answers.clone()).await;
            assert!(
                matches!(r, Err(ProxyFailure::Malformed { .. })),
                "{answers:?}: {r:?}"
            );
        }
        let (r, _) = run(name(), Some(("u", "p")), vec![vec![5, 2], vec![5, 0]]).await;
        assert!(matches!(r, Err(ProxyFailure::Malformed { .. })), "{r:?}");
        for answers in [
            vec![],
            vec![vec![5]],
            vec![vec![5, 0], vec![5, 0, 0, 1, 127]],
        ] {
            let (r, _) = run(name(), None, answers.clone()).await;
            assert_eq!(r, Err(ProxyFailure::Closed), "{answers:?}");
        }
        let long = Target::Name("x".repeat(256), 1);
        let (r, _) = run(long, None, vec![]).await;
        assert!(matches!(r, Err(ProxyFailure::Other(_))));
    }
}
