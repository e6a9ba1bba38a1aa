//! A proxy URL: `socks5://`, `socks5h://` or `http://`, host, port, optionally
//! `user:password@` (percent-encoded). Shown and logged with the password masked.
//!
//! A leaf: the config reads it, the Instagram side dials through it (`instagram::proxy`).

use std::fmt;

use crate::secret::Secret;

/// The proxy's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// SOCKS5, names resolved by the bridge.
    Socks5,
    /// SOCKS5, names resolved by the proxy.
    Socks5h,
    /// HTTP proxy: `CONNECT` tunnels (and plain requests to `http://` URLs).
    Http,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Socks5 => "socks5",
            Scheme::Socks5h => "socks5h",
            Scheme::Http => "http",
        }
    }
}

/// Why a proxy URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyUrlError {
    #[error("not a URL (expected e.g. socks5://host:1080 or http://user:password@host:8080)")]
    NotAUrl,
    #[error("unsupported proxy scheme {0:?} (use socks5, socks5h or http)")]
    UnsupportedScheme(String),
    #[error("the proxy URL has no host")]
    NoHost,
    #[error("the proxy URL has no port, and {0} has no usual one")]
    NoPort(&'static str),
    #[error("a proxy URL has no path, query or fragment")]
    HasPath,
    #[error("the proxy user name or password is not valid percent-encoded UTF-8")]
    BadCredentials,
    #[error("SOCKS5 user names and passwords are at most 255 bytes")]
    CredentialsTooLong,
}

/// A proxy for an account's Instagram traffic.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyUrl {
    scheme: Scheme,
    /// Host name or IP address (IPv6 without brackets).
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<Secret>,
}

impl ProxyUrl {
    /// Parses and checks a proxy URL. The error never repeats the input (it may hold a
    /// password).
    pub fn parse(input: &str) -> Result<ProxyUrl, ProxyUrlError> {
        let url = ::url::Url::parse(input.trim()).map_err(|_| ProxyUrlError::NotAUrl)?;
        let scheme = match url.scheme() {
            "socks5" => Scheme::Socks5,
            "socks5h" => Scheme::Socks5h,
            "http" => Scheme::Http,
            other => return Err(ProxyUrlError::UnsupportedScheme(other.to_owned())),
        };
        let host = match url.host() {
            Some(::url::Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(::url::Host::Ipv4(ip)) => ip.to_string(),
            Some(::url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(ProxyUrlError::NoHost),
        };
        let port = match (url.port(), scheme) {
            (Some(p), _) => p,
            (None, Scheme::Socks5 | Scheme::Socks5h) => 1080,
            (None, Scheme::Http) => 80,
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err(ProxyUrlError::HasPath);
        }
        let user = (!url.username().is_empty())
            .then(|| decode(url.username()))
            .transpose()?;
        let password = url.password().map(decode).transpose()?.map(Secret::new);
        if scheme != Scheme::Http
            && (user.as_ref().is_some_and(|u| u.len() > 255)
                || password.as_ref().is_some_and(|p| p.expose().len() > 255))
        {
            return Err(ProxyUrlError::CredentialsTooLong);
        }
        Ok(ProxyUrl {
            scheme,
            host,
            port,
            user,
            password,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// User name and password, when a user name is set (a missing password is empty).
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        let user = self.user.as_deref()?;
        Some((user, self.password.as_ref().map_or("", Secret::expose)))
    }

    /// The full URL, password included, percent-encoded: only for the HTTP client that must
    /// send it to the proxy.
    pub(crate) fn expose(&self) -> String {
        let mut out = format!("{}://", self.scheme.as_str());
        if let Some(user) = &self.user {
            out.push_str(&encode(user));
            if let Some(p) = &self.password {
                out.push(':');
                out.push_str(&encode(p.expose()));
            }
            out.push('@');
        }
        out.push_str(&self.host_port());
        out
    }

    fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Removes the password from a failure's text, should a library have quoted it.
    pub(crate) fn redact(&self, text: &str) -> String {
        match self.password.as_ref().map(Secret::expose) {
            Some(p) if !p.is_empty() => text.replace(p, "***"),
            _ => text.to_owned(),
        }
    }
}

/// Percent-decodes URL user info (strictly: a `%` must start two hex digits).
fn decode(s: &str) -> Result<String, ProxyUrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(ProxyUrlError::BadCredentials)?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ProxyUrlError::BadCredentials)
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://user:***@host:port`: the password masked, the rest as given.
impl fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        if let Some(user) = &self.user {
            f.write_str(&encode(user))?;
            if self.password.is_some() {
                f.write_str(":***")?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host_port())
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxyUrl({self})")
    }
}

impl<'de> serde::Deserialize<'de> for ProxyUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ProxyUrl::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An optional proxy URL where an empty string (or nothing) means none.
pub fn deserialize_optional<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ProxyUrl>, D::Error> {
    let s: Option<String> = serde::Deserialize::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => ProxyUrl::parse(s)
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

impl serde::Serialize for ProxyUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.expose())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_hosts_ports_and_credentials() {
        let p = ProxyUrl::parse("socks5h://alice:s%3Acret%40x@proxy.example:1081").unwrap();
        assert_eq!(p.scheme(), Scheme::Socks5h);
        assert_eq!((p.host(), p.port()), ("proxy.example", 1081));
        assert_eq!(p.credentials(), Some(("alice", "s:cret@x")));
        assert_eq!(p.to_string(), "socks5h://alice:***@proxy.example:1081");
        assert_eq!(
            format!("{p:?}"),
            "ProxyUrl(socks5h://alice:***@proxy.example:1081)"
        );
        assert_eq!(
            p.expose(),
            "socks5h://alice:s%3Acret%40x@proxy.example:1081"
        );
        assert_eq!(ProxyUrl::parse(&p.expose()).unwrap(), p);

        let p = ProxyUrl::parse("socks5://127.0.0.1").unwrap();
        assert_eq!(
            (p.scheme(), p.port(), p.credentials()),
            (Scheme::Socks5, 1080, None)
        );
        let p = ProxyUrl::parse("http://[::1]:3128/").unwrap();
        assert_eq!((p.host(), p.port()), ("::1", 3128));
        assert_eq!(p.to_string(), "http://[::1]:3128");
        let p = ProxyUrl::parse("http://u@h").unwrap();
        assert_eq!((p.port(), p.credentials()), (80, Some(("u", ""))));
        assert_eq!(p.to_string(), "http://u@h:80");
        let p = ProxyUrl::parse("http://u:a+b@h:1").unwrap();
        assert_eq!(p.credentials(), Some(("u", "a+b")));
    }

    #[test]
    fn bad_urls_are_refused_without_repeating_them() {
        for (input, want) in [
            ("not a url", ProxyUrlError::NotAUrl),
            (
                "https://h:1",
                ProxyUrlError::UnsupportedScheme("https".into()),
            ),
            (
                "socks4://h:1",
                ProxyUrlError::UnsupportedScheme("socks4".into()),
            ),
            ("socks5://u:secretpw@h:1/path", ProxyUrlError::HasPath),
            ("http://u:secretpw@h:1/?q", ProxyUrlError::HasPath),
            ("http://u:secretpw@h:1#f", ProxyUrlError::HasPath),
        ] {
            let err = ProxyUrl::parse(input).unwrap_err();
            assert_eq!(err, want, "{input}");
            assert!(!err.to_string().contains("secretpw"));
        }
        let long = "x".repeat(256);
        assert_eq!(
            ProxyUrl::parse(&format!("socks5://u:{long}@h:1")).unwrap_err(),
            ProxyUrlError::CredentialsTooLong
        );
        assert!(ProxyUrl::parse(&format!("http://u:{long}@h:1")).is_ok());
    }

    #[test]
    fn text_loses_the_password() {
        let p = ProxyUrl::parse("http://u:hunter2@h:1").unwrap();
        assert_eq!(p.redact("it said hunter2"), "it said ***");
    }
}
