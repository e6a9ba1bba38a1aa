//! A real proxy for the proxy tests: pproxy (from PyPI, installed by `scripts/test` into
//! `.cache/pproxy-venv` and named by `MI_PPROXY`) listening on loopback as a SOCKS5 and an
//! HTTP proxy, both with a user name and password, its connection log read as it goes.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const USER: &str = "proxyuser";
pub const PASSWORD: &str = "pr0xy-s3cret";

pub struct Pproxy {
    pub socks: SocketAddr,
    pub http: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    _child: Child,
}

/// A loopback port nothing listens on (bound, then let go).
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn program() -> String {
    std::env::var("MI_PPROXY").unwrap_or_else(|_| {
        let cached = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/pproxy-venv/bin/pproxy");
        assert!(
            std::path::Path::new(cached).exists(),
            "the proxy tests need pproxy: run them with `scripts/test` (MI_PPROXY is not set \
             and {cached} does not exist)"
        );
        cached.to_owned()
    })
}

impl Pproxy {
    /// Starts pproxy and waits until both listeners serve.
    pub async fn start() -> Pproxy {
        let (socks, http) = (dead_port(), dead_port());
        let auth = format!("#{USER}:{PASSWORD}");
        let mut child = Command::new(program())
            .args([
                "-l",
                &format!("socks5://127.0.0.1:{socks}{auth}"),
                "-l",
                &format!("http://127.0.0.1:{http}{auth}"),
                "-v",
                // Check the credentials on every connection (not once per client address).
                "--auth",
                "0",
            ])
            .env("PYTHONUNBUFFERED", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("pproxy starts");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn tokio::io::AsyncRead + Send + Unpin>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    eprintln!("pproxy: {line}");
                    log.lock().unwrap_or_else(|p| p.into_inner()).push(line);
                }
            });
        }
        let proxy = Pproxy {
            socks: SocketAddr::from(([127, 0, 0, 1], socks)),
            http: SocketAddr::from(([127, 0, 0, 1], http)),
            log,
            _child: child,
        };
        let serving = proxy
            .wait_for_line(Duration::from_secs(20), |l| {
                l.starts_with("Serving on") && l.contains("by http")
            })
            .await
            && proxy
                .wait_for_line(Duration::from_secs(5), |l| {
                    l.starts_with("Serving on") && l.contains("by socks5")
                })
                .await;
        assert!(serving, "pproxy did not start: {:?}", proxy.lines());
        proxy
    }

    /// `scheme://user:password@127.0.0.1:port` for `socks5`, `socks5h` or `http`.
    pub fn url(&self, scheme: &str) -> String {
        self.url_with(scheme, PASSWORD)
    }

    /// As [`Pproxy::url`] with another password.
    pub fn url_with(&self, scheme: &str, password: &str) -> String {
        let addr = if scheme == "http" {
            self.http
        } else {
            self.socks
        };
        format!("{scheme}://{USER}:{password}@{addr}")
    }

    /// Everything pproxy printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The connections pproxy relayed to `port` (its `-v` lines `proto client -> host:port`).
    pub fn relayed_to(&self, port: u16) -> usize {
        let suffix = format!(":{port}");
        self.lines()
            .iter()
            .filter(|l| l.contains(" -> ") && l.ends_with(&suffix))
            .count()
    }

    /// Waits until a line matching `pred` was printed.
    pub async fn wait_for_line(&self, within: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.lines().iter().any(|l| pred(l)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until pproxy relayed a connection of `proto` (`socks5` or `http`) to `port`.
    pub async fn wait_relayed(&self, proto: &str, port: u16) -> bool {
        let (prefix, suffix) = (format!("{proto} "), format!(":{port}"));
        self.wait_for_line(Duration::from_secs(10), |l| {
            l.starts_with(&prefix) && l.contains(" -> ") && l.ends_with(&suffix)
        })
        .await
    }
}
