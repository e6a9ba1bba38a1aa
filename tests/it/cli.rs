//! The command line: generate-registration, config errors, graceful shutdown on SIGTERM.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_matrix-instagram");

fn example_config() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/example-config.yaml")).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn generate_registration_fills_secrets_and_writes_the_registration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let registration = dir.path().join("registration.yaml");
    std::fs::write(&config, example_config()).unwrap();
    let out = Command::new(BIN)
        .args(["generate-registration", "-c"])
        .arg(&config)
        .arg("-r")
        .arg(&registration)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let filled = std::fs::read_to_string(&config).unwrap();
    assert!(
        !filled.contains(": generate"),
        "every generate secret is filled"
    );
    assert!(
        filled.contains("# The homeserver the bridge belongs to."),
        "comments are kept"
    );
    let reg = std::fs::read_to_string(&registration).unwrap();
    let as_token = filled
        .lines()
        .find_map(|l| l.trim().strip_prefix("as_token: "))
        .unwrap();
    assert!(reg.contains(&format!("as_token: {as_token}")), "{reg}");
    assert!(reg.contains("rate_limited: false"));
    assert!(reg.contains("sender_localpart: instagrambot"));
    // The crypto store's pickle key is generated too, and never printed.
    let pickle_key = filled
        .lines()
        .find_map(|l| l.trim().strip_prefix("pickle_key: "))
        .unwrap();
    assert_eq!(pickle_key.len(), 64);
    for printed in [&out.stdout, &out.stderr] {
        assert!(!String::from_utf8_lossy(printed).contains(pickle_key));
    }
    // A second run keeps the secrets.
    let out = Command::new(BIN)
        .args(["generate-registration", "-c"])
        .arg(&config)
        .arg("-r")
        .arg(&registration)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), filled);
}

#[test]
fn generate_registration_writes_the_double_puppet_registration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let (registration, puppet) = (
        dir.path().join("registration.yaml"),
        dir.path().join("doublepuppet.yaml"),
    );
    let run = || {
        Command::new(BIN)
            .args(["generate-registration", "-c"])
            .arg(&config)
            .arg("-r")
            .arg(&registration)
            .arg("--double-puppet")
            .arg(&puppet)
            .output()
            .unwrap()
    };
    // Without a secret in the config: a fresh token, and the user is told where it goes.
    std::fs::write(&config, example_config()).unwrap();
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("double_puppet.secrets.example.com"), "{said}");
    let reg = std::fs::read_to_string(&puppet).unwrap();
    assert!(reg.contains("url: null"), "{reg}");
    assert!(reg.contains("exclusive: false"), "{reg}");
    assert!(
        reg.contains("regex: '@.*:example\\.com'")
            || reg.contains("regex: \"@.*:example\\\\.com\""),
        "{reg}"
    );
    assert!(reg.contains("rate_limited: false"), "{reg}");
    assert!(!said.contains(reg.lines().find(|l| l.starts_with("as_token")).unwrap()));

    // With `as_token:generate` in the config: filled there, and the file uses the same token.
    let text = example_config().replace(
        "    secrets: {}",
        "    secrets:\n        example.com: as_token:generate",
    );
    std::fs::write(&config, text).unwrap();
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let filled = std::fs::read_to_string(&config).unwrap();
    let token = filled
        .lines()
        .find_map(|l| l.trim().strip_prefix("example.com: \"as_token:"))
        .map(|t| t.trim_end_matches('"').to_string())
        .expect("the secret is filled");
    assert_eq!(token.len(), 64);
    let reg = std::fs::read_to_string(&puppet).unwrap();
    assert!(reg.contains(&format!("as_token: {token}")), "{reg}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Then set"));
}

#[test]
fn a_bad_config_stops_start_up_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let cases = [
        (
            "permissions:\n        \"*\": relay",
            "permissions:\n        \"*\": everyone",
            "bridge.permissions.*`: unknown variant `everyone",
        ),
        ("port: 29330", "port: lots", "appservice.port"),
        (
            "address: http://localhost:8008",
            "address: not a url",
            "homeserver.address",
        ),
        ("    domain: example.com\n", "", "homeserver.domain"),
    ];
    for (from, to, key) in cases {
        let text = example_config()
            .replace("generate", "secret")
            .replacen(from, to, 1);
        std::fs::write(&config, text).unwrap();
        let out = Command::new(BIN).arg("-c").arg(&config).output().unwrap();
        assert!(!out.status.success(), "{key}: must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains(&format!("config key `{key}")),
            "names {key}: {stderr}"
        );
    }
    // An environment override is checked the same way.
    std::fs::write(&config, example_config().replace("generate", "secret")).unwrap();
    let out = Command::new(BIN)
        .arg("-c")
        .arg(&config)
        .env("MATRIX_INSTAGRAM__DATABASE__URI", "mysql://nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`database.uri`"));
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let port = free_port();
    let text = example_config()
        .replace("generate", "secret")
        .replace("port: 29330", &format!("port: {port}"))
        .replace(
            "http://localhost:8008",
            &format!("http://127.0.0.1:{}", free_port()),
        )
        .replace(
            "uri: sqlite:matrix-instagram.db",
            &format!("uri: sqlite:{}", dir.path().join("bridge.db").display()),
        );
    std::fs::write(&config, text).unwrap();
    let mut child = Command::new(BIN)
        .arg("-c")
        .arg(&config)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the appservice port answers.
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "bridge did not listen");
        assert!(child.try_wait().unwrap().is_none(), "bridge exited early");
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "bridge did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut logs = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(exit.success(), "clean exit: {exit:?}\n{logs}");
    assert!(
        logs.contains("shutting down") && logs.contains("stopped"),
        "{logs}"
    );
    // The database was closed cleanly and opens again.
    assert!(dir.path().join("bridge.db").exists());
}
