//! The first hour of a self-hoster: start-up errors that name the fix, run against the real
//! binary. A small stand-in homeserver answers `/versions` and the appservice ping the way
//! Synapse does in each situation.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::response::IntoResponse;

const BIN: &str = env!("CARGO_BIN_EXE_matrix-instagram");

fn example_config() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/example-config.yaml");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Serves `/versions` and answers the appservice ping with `status` and `body`; anything else
/// gets `{}`. Runs on its own thread until the test process ends.
fn fake_homeserver(status: u16, body: &'static str) -> u16 {
    fake_homeserver_on(0, status, body)
}

/// As [`fake_homeserver`], on `port` (0: any free one).
fn fake_homeserver_on(port: u16, status: u16, body: &'static str) -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
                let path = uri.path();
                let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
                if path == "/_matrix/client/versions" {
                    (StatusCode::OK, r#"{"versions":["v1.11"]}"#).into_response()
                } else if path.starts_with("/_matrix/client/v1/appservice/") {
                    (code, body).into_response()
                } else {
                    (StatusCode::OK, "{}").into_response()
                }
            });
            let _ = axum::serve(listener, app).await;
        });
    });
    port
}

/// A config for a bridge on a free port against the homeserver on `hs_port`.
fn config(dir: &Path, hs_port: u16, edited: bool) -> (std::path::PathBuf, u16) {
    let as_port = free_port();
    let mut text = example_config()
        .replace("generate", "secret")
        .replace("port: 29330", &format!("port: {as_port}"))
        .replace(
            "address: http://localhost:29330",
            &format!("address: http://127.0.0.1:{as_port}"),
        )
        .replace(
            "http://localhost:8008",
            &format!("http://127.0.0.1:{hs_port}"),
        )
        .replace(
            "uri: sqlite:matrix-instagram.db",
            &format!("uri: sqlite:{}", dir.join("bridge.db").display()),
        );
    if edited {
        text = text.replace("example.com", "chat.test");
    }
    let path = dir.join("config.yaml");
    std::fs::write(&path, text).expect("write config");
    (path, as_port)
}

/// The running bridge and its stdout, line by line.
struct Bridge {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Bridge {
    fn start(config: &Path, envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .arg("-c")
            .arg(config)
            .envs(envs.iter().copied())
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the bridge");
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a log line containing `needle`; returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no log line with {needle:?} within 30 s; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_homeserver_that_cannot_reach_the_bridge_is_named_in_that_direction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hs = fake_homeserver(
        502,
        r#"{"errcode":"M_CONNECTION_FAILED","error":"Connection refused"}"#,
    );
    let (config, as_port) = config(dir.path(), hs, false);
    let mut bridge = Bridge::start(&config, &[]);
    // Example values left in are pointed out first.
    bridge.wait_for("homeserver.domain is still `example.com`");
    let line = bridge.wait_for("not ready");
    let expected =
        format!("the homeserver could not reach the bridge at http://127.0.0.1:{as_port}/");
    assert!(line.contains(&expected), "{line}");
    for key in [
        "appservice.address",
        "appservice.hostname",
        "appservice.port",
    ] {
        assert!(line.contains(key), "{key}: {line}");
    }
    // Retried quietly: the next line about it is the next attempt, with nothing between.
    let before = bridge.seen.len();
    let again = bridge.wait_for("not ready");
    assert!(again.contains(&expected), "{again}");
    assert_eq!(bridge.seen.len(), before + 1, "{:#?}", bridge.seen);
    for line in &bridge.seen {
        assert!(!line.contains("homeserver unreachable"), "{line}");
        assert!(
            !line.contains("\u{1b}["),
            "colour codes on a pipe: {line:?}"
        );
    }
}

#[test]
fn a_registration_the_homeserver_does_not_know_says_how_to_load_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hs = fake_homeserver(
        401,
        r#"{"errcode":"M_UNKNOWN_TOKEN","error":"Unrecognised access token."}"#,
    );
    let (config, _) = config(dir.path(), hs, true);
    let mut bridge = Bridge::start(&config, &[]);
    let line = bridge.wait_for("not ready");
    assert!(
        line.contains("does not know this bridge's as_token"),
        "{line}"
    );
    assert!(line.contains("app_service_config_files"), "{line}");
    assert!(!line.contains("secret"), "no token in the log: {line}");
}

#[test]
fn one_ready_line_and_the_log_file_has_no_colour() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hs = fake_homeserver(200, r#"{"duration_ms":3}"#);
    let (config, _) = config(dir.path(), hs, true);
    let log_file = dir.path().join("bridge.log");
    let log = log_file.display().to_string();
    let mut bridge = Bridge::start(&config, &[("MATRIX_INSTAGRAM__LOGGING__FILE", &log)]);
    let line = bridge.wait_for("ready:");
    assert!(
        line.ends_with(
            "ready: the homeserver reached us; open a DM with @instagrambot:chat.test and send \
             `login`"
        ),
        "{line}"
    );
    assert!(!line.contains("\u{1b}["), "{line:?}");
    assert!(
        !bridge.seen.iter().any(|l| l.contains("example.com")),
        "no example warning for an edited config: {:#?}",
        bridge.seen
    );
    // Each line goes to stdout, then to the file: wait for the file's copy.
    let deadline = Instant::now() + Duration::from_secs(30);
    let written = loop {
        let text = std::fs::read_to_string(&log_file).unwrap_or_default();
        if text.contains("ready: the homeserver reached us") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        written.contains("ready: the homeserver reached us"),
        "{written}"
    );
    assert!(
        !written.contains("\u{1b}["),
        "colour in the file: {written:?}"
    );
}

/// Runs the bridge until it exits (within 20 s); returns stdout + stderr.
fn run_to_failure(config: &Path, envs: &[(&str, &str)]) -> (String, Duration) {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("-c")
        .arg(config)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the bridge");
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the bridge did not give up within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "must fail");
    let mut out = String::new();
    for stream in [
        child.stdout.take().map(|s| Box::new(s) as Box<dyn Read>),
        child.stderr.take().map(|s| Box::new(s) as Box<dyn Read>),
    ]
    .into_iter()
    .flatten()
    {
        let mut s = stream;
        s.read_to_string(&mut out).expect("read output");
    }
    (out, started.elapsed())
}

#[test]
fn an_unreachable_postgres_fails_fast_naming_host_and_port_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, _) = config(dir.path(), free_port(), true);
    let pg_port = free_port();
    let uri = format!("postgres://bridge:hunter2@127.0.0.1:{pg_port}/ig");
    let (out, took) = run_to_failure(&config, &[("MATRIX_INSTAGRAM__DATABASE__URI", &uri)]);
    assert!(took < Duration::from_secs(12), "took {took:?}");
    assert_eq!(
        out.matches("cannot open the database").count(),
        1,
        "the error once: {out}"
    );
    assert!(out.contains(&format!("127.0.0.1:{pg_port}")), "{out}");
    assert!(
        out.contains("Connection refused") || out.contains("refused"),
        "{out}"
    );
    assert!(!out.contains("hunter2"), "{out}");
}

#[test]
fn a_sqlite_file_in_a_missing_folder_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, _) = config(dir.path(), free_port(), true);
    let db = dir.path().join("not-there").join("bridge.db");
    let uri = format!("sqlite:{}", db.display());
    let (out, _) = run_to_failure(&config, &[("MATRIX_INSTAGRAM__DATABASE__URI", &uri)]);
    assert_eq!(out.matches("cannot open the database").count(), 1, "{out}");
    assert!(out.contains(&db.display().to_string()), "{out}");
    assert!(out.contains("does not exist"), "{out}");
}

/// `GET path` on 127.0.0.1:`port`: the status and the body.
fn get(port: u16, path: &str) -> (u16, String) {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {answer}"));
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `matrix-instagram healthcheck` with `args`: whether it succeeded, and what it printed.
fn healthcheck(config: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .arg("healthcheck")
        .args(args)
        .arg("-c")
        .arg(config)
        .output()
        .expect("run healthcheck");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_health_endpoints_answer_before_and_after_the_homeserver_is_reachable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hs_port = free_port();
    let (config, as_port) = config(dir.path(), hs_port, true);
    let mut bridge = Bridge::start(&config, &[]);
    bridge.wait_for("not ready");

    // Before: the process serves (live), but is not ready, and says why without details.
    assert_eq!(get(as_port, "/_matrix/mau/live"), (200, "{}".to_string()));
    let (status, body) = get(as_port, "/_matrix/mau/ready");
    assert_eq!(status, 503, "{body}");
    let reason: serde_json::Value = serde_json::from_str(&body).expect("JSON reason");
    assert_eq!(reason["reason"], "homeserver_unreachable", "{body}");
    assert_eq!(reason["error"], "the bridge cannot reach the homeserver");
    for private in [&hs_port.to_string(), "secret", "127.0.0.1", "chat.test"] {
        assert!(!body.contains(private), "{private} in {body}");
    }
    // Unauthenticated, yet the rest of the listener still wants the hs_token.
    assert_eq!(get(as_port, "/_matrix/app/v1/users/@x:chat.test").0, 401);
    let (ok, said) = healthcheck(&config, &[]);
    assert!(ok, "live: {said}");
    assert_eq!(said.trim(), "ok: live");
    let (ok, said) = healthcheck(&config, &["--ready"]);
    assert!(!ok, "not ready yet: {said}");
    assert!(said.contains("not ready: HTTP 503"), "{said}");
    assert!(said.contains("homeserver_unreachable"), "{said}");

    // The homeserver comes up: the bridge reaches it and becomes ready.
    fake_homeserver_on(hs_port, 200, r#"{"duration_ms":3}"#);
    bridge.wait_for("ready:");
    assert_eq!(get(as_port, "/_matrix/mau/ready"), (200, "{}".to_string()));
    assert_eq!(get(as_port, "/_matrix/mau/live").0, 200);
    let (ok, said) = healthcheck(&config, &["--ready"]);
    assert!(ok, "ready: {said}");
    assert_eq!(said.trim(), "ok: ready");
}
