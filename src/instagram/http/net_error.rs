//! A failed HTTP exchange → [`Error`]: a network failure, or, for an account with a proxy,
//! how the proxy failed (reqwest connects through it, see `transport.rs`, and reports its
//! failures as connect errors whose causes say what went wrong).

use crate::instagram::Error;
use crate::instagram::proxy::{ProxyError, ProxyFailure, ProxyUrl, dial};

/// The error for a request that got no answer. `what` starts the message ("network error").
///
/// When reqwest's account of a proxy failure is vague (an I/O error in the middle of the
/// handshake: some proxies close the connection instead of answering), the proxy is asked
/// once more with this crate's own handshake, which says at which step it failed. Nothing is
/// sent through that connection; it is closed at once.
pub(crate) async fn send_error(
    e: &reqwest::Error,
    proxy: Option<&ProxyUrl>,
    url: &str,
    what: &str,
) -> Error {
    let chain = causes(e);
    let Some(proxy) = proxy.filter(|_| {
        e.is_connect() || chain.contains("tunnel error") || chain.contains("SOCKS error")
    }) else {
        return Error::Transient {
            message: format!("{what}: {chain}"),
        };
    };
    let mut failure = classify(&chain, proxy, url);
    if matches!(failure, ProxyFailure::Other(_) | ProxyFailure::Closed)
        && let Some((host, port)) = host_port(url)
        && let Err(precise) = dial(proxy, &host, port, DIAGNOSE_WITHIN).await
    {
        failure = precise.failure;
    }
    Error::Proxy(ProxyError::new(proxy, failure))
}

/// How long the second look at a failed proxy may take.
const DIAGNOSE_WITHIN: std::time::Duration = std::time::Duration::from_secs(10);

fn host_port(url: &str) -> Option<(String, u16)> {
    let u = ::url::Url::parse(url).ok()?;
    Some((u.host_str()?.to_owned(), u.port_or_known_default()?))
}

/// The error for an HTTP 407 answer: only a proxy sends one.
pub(crate) fn proxy_status(status: u16, proxy: Option<&ProxyUrl>) -> Option<Error> {
    let proxy = proxy.filter(|_| status == 407)?;
    let failure = if proxy.credentials().is_some() {
        ProxyFailure::AuthRejected
    } else {
        ProxyFailure::AuthRequired
    };
    Some(Error::Proxy(ProxyError::new(proxy, failure)))
}

/// The error and its causes, `: `-separated, without the request URL.
fn causes(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    if let Some(url) = e.url() {
        out = out.replace(&format!(" for url ({url})"), "");
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// What the causes of a connect error through `proxy` say.
fn classify(chain: &str, proxy: &ProxyUrl, url: &str) -> ProxyFailure {
    let has = |s: &str| chain.contains(s);
    if has("proxy authorization required") || has("credentials not accepted") {
        return if proxy.credentials().is_some() {
            ProxyFailure::AuthRejected
        } else {
            ProxyFailure::AuthRequired
        };
    }
    if has("does not support user/pass authentication") {
        return ProxyFailure::Other("the proxy does not take a user name and password".into());
    }
    // Without a handshake error, the connection to the proxy itself failed (a request
    // forwarded by an HTTP proxy goes through the plain connector).
    let handshake = has("tunnel error") || has("SOCKS error");
    if !handshake || has("failed to create underlying connection") {
        return ProxyFailure::Unreachable(last_cause(chain));
    }
    let target = host_port(url)
        .map(|(h, p)| format!("{h}:{p}"))
        .unwrap_or_default();
    if has("tunnel error: unsuccessful") {
        return ProxyFailure::TargetRefused {
            target,
            reason: "the proxy answered the CONNECT request with an error".into(),
        };
    }
    for reason in [
        "general server failure",
        "connection not allowed",
        "network unreachable",
        "host unreachable",
        "connection refused",
        "ttl expired",
        "command not supported",
        "address type not supported",
    ] {
        if has(&format!("SOCKS error: {reason}")) {
            return ProxyFailure::TargetRefused {
                target,
                reason: reason.into(),
            };
        }
    }
    if has("unexpected end of file") {
        return ProxyFailure::Closed;
    }
    if has("failed parsing server response")
        || has("implements authentication incorrectly")
        || has("headers too long")
    {
        return ProxyFailure::Malformed {
            protocol: if proxy.scheme() == crate::instagram::proxy::Scheme::Http {
                "HTTP"
            } else {
                "SOCKS5"
            },
            reason: last_cause(chain),
        };
    }
    ProxyFailure::Other(last_cause(chain))
}

fn last_cause(chain: &str) -> String {
    chain.rsplit(": ").next().unwrap_or(chain).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_407_is_the_proxys_refusal_only_behind_a_proxy() {
        let with = ProxyUrl::parse("http://u:pw@127.0.0.1:1").unwrap();
        let without = ProxyUrl::parse("http://127.0.0.1:1").unwrap();
        let failure = |e: Option<Error>| match e {
            Some(Error::Proxy(p)) => p.failure,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            failure(proxy_status(407, Some(&with))),
            ProxyFailure::AuthRejected
        );
        assert_eq!(
            failure(proxy_status(407, Some(&without))),
            ProxyFailure::AuthRequired
        );
        assert!(proxy_status(407, None).is_none());
        assert!(proxy_status(403, Some(&with)).is_none());
    }

    #[test]
    fn causes_are_classified() {
        let http = ProxyUrl::parse("http://u:pw@127.0.0.1:1").unwrap();
        let socks = ProxyUrl::parse("socks5h://127.0.0.1:1").unwrap();
        let url = "https://i.instagram.com/api/v1/x/";
        let c = |chain: &str, p: &ProxyUrl| classify(chain, p, url);
        assert_eq!(
            c(
                "error sending request: client error (Connect): tunnel error: proxy authorization required",
                &http
            ),
            ProxyFailure::AuthRejected
        );
        assert_eq!(
            c(
                "error sending request: client error (Connect): SOCKS error: credentials not accepted",
                &socks
            ),
            ProxyFailure::AuthRequired
        );
        assert_eq!(
            c(
                "error sending request: client error (Connect): tunnel error: failed to create underlying connection: tcp connect error: Connection refused (os error 111)",
                &http
            ),
            ProxyFailure::Unreachable("Connection refused (os error 111)".into())
        );
        assert_eq!(
            c(
                "error sending request: client error (Connect): tunnel error: unsuccessful",
                &http
            ),
            ProxyFailure::TargetRefused {
                target: "i.instagram.com:443".into(),
                reason: "the proxy answered the CONNECT request with an error".into()
            }
        );
        assert_eq!(
            c(
                "error sending request: client error (Connect): SOCKS error: host unreachable",
                &socks
            ),
            ProxyFailure::TargetRefused {
                target: "i.instagram.com:443".into(),
                reason: "host unreachable".into()
            }
        );
        assert!(matches!(
            c(
                "error sending request: client error (Connect): SOCKS error: failed parsing server response",
                &socks
            ),
            ProxyFailure::Malformed {
                protocol: "SOCKS5",
                ..
            }
        ));
        assert_eq!(
            c(
                "error sending request: client error (Connect): tunnel error: unexpected end of file",
                &http
            ),
            ProxyFailure::Closed
        );
        assert_eq!(
            c(
                "error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)",
                &http
            ),
            ProxyFailure::Unreachable("Connection refused (os error 111)".into())
        );
    }
}
