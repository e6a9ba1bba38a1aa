//! Config loading, defaults, errors and secret generation.
use super::*;
use url::Url;

const MINIMAL: &str = "
homeserver:
  address: http://localhost:8008
  domain: example.com
appservice:
  as_token: aaa
  hs_token: bbb
bridge:
  permissions:
    '*': relay
    example.com: user
    '@admin:example.com': admin
";

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_yaml(
        text,
        "test.yaml",
        env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
    )
}

#[test]
fn example_config_loads_after_generation() {
    let text = include_str!("../../example-config.yaml");
    let (filled, changed) = fill_generated_secrets(text);
    assert!(changed);
    assert!(!filled.contains("as_token: generate"));
    let config = load(&filled, &[]).expect("example config is valid");
    assert_eq!(config.appservice.port, 29330);
    assert_eq!(config.bridge.command_prefix, "!ig");
    assert!(!config.needs_generation());
    // Comments survive.
    assert!(filled.contains("# "));
}

#[test]
fn defaults_and_permissions() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(c.appservice.port, 29330);
    assert!(c.database.uri.expose().starts_with("sqlite:"));
    assert_eq!(
        c.permission_level("@admin:example.com"),
        Some(PermissionLevel::Admin)
    );
    assert_eq!(
        c.permission_level("@bob:example.com"),
        Some(PermissionLevel::User)
    );
    assert_eq!(
        c.permission_level("@eve:elsewhere.org"),
        Some(PermissionLevel::Relay)
    );
    assert_eq!(c.bot_user_id(), "@instagrambot:example.com");
    assert_eq!(c.media.ffmpeg_path, None);
    assert_eq!(c.media.max_bytes(), 100_000_000);
    assert_eq!(c.media.timeout().as_secs(), 300);
    assert_eq!(c.ghosts().localpart(123), "instagram_123");
}

#[test]
fn env_overrides_keep_types() {
    let c = load(
        MINIMAL,
        &[
            ("MATRIX_INSTAGRAM__APPSERVICE__PORT", "4000"),
            ("MATRIX_INSTAGRAM__DATABASE__URI", "postgres://x@y/z"),
            ("MATRIX_INSTAGRAM__APPSERVICE__AS_TOKEN", "12345"),
            ("MATRIX_INSTAGRAM__LOGGING__FORMAT", "json"),
            ("UNRELATED", "x"),
        ],
    )
    .unwrap();
    assert_eq!(c.appservice.port, 4000);
    assert_eq!(c.database.uri.expose(), "postgres://x@y/z");
    assert_eq!(c.appservice.as_token.expose(), "12345");
    assert_eq!(c.logging.format, LogFormat::Json);
}

fn err(text: &str, env: &[(&str, &str)]) -> String {
    load(text, env).unwrap_err().to_string()
}

#[test]
fn a_log_level_that_is_not_one_is_a_config_error() {
    // tracing takes `verbose` as a target name and would silence every line.
    let e = err(MINIMAL, &[("MATRIX_INSTAGRAM__LOGGING__LEVEL", "verbose")]);
    assert!(e.starts_with("config key `logging.level`"), "{e}");
    assert!(e.contains("error, warn, info, debug, trace"), "{e}");
    let c = load(
        MINIMAL,
        &[(
            "MATRIX_INSTAGRAM__LOGGING__LEVEL",
            "matrix_instagram=debug,info",
        )],
    )
    .expect("a target=level filter is fine");
    assert_eq!(c.logging.level, "matrix_instagram=debug,info");
    let e = err(MINIMAL, &[("MATRIX_INSTAGRAM__LOGGING__STDOUT", "false")]);
    assert!(e.starts_with("config key `logging.stdout`"), "{e}");
}

#[test]
fn example_values_left_in_are_named() {
    let c = load(MINIMAL, &[]).unwrap();
    let warnings = c.example_values_left();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].starts_with("homeserver.domain is still `example.com`"));
    let c = load(
        MINIMAL,
        &[("MATRIX_INSTAGRAM__HOMESERVER__DOMAIN", "matrix.org.test")],
    )
    .unwrap();
    let warnings = c.example_values_left();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("bridge.permissions") && warnings[0].contains("@admin:example.com"),
        "{warnings:?}"
    );
    let edited = MINIMAL
        .replace("example.com", "chat.test")
        .replace("localhost", "127.0.0.1");
    assert!(load(&edited, &[]).unwrap().example_values_left().is_empty());
}

#[test]
fn errors_name_the_key() {
    let no_domain = MINIMAL.replace("  domain: example.com\n", "");
    assert_eq!(
        err(&no_domain, &[]),
        "config key `homeserver.domain`: is missing"
    );
    let e = err(MINIMAL, &[("MATRIX_INSTAGRAM__APPSERVICE__PORT", "lots")]);
    assert!(e.starts_with("config key `appservice.port`"), "{e}");
    let bad_level = MINIMAL.replace("example.com: user", "example.com: superuser");
    let e = err(&bad_level, &[]);
    assert!(e.contains("bridge.permissions"), "{e}");
    assert!(e.contains("superuser"), "{e}");
    let bad_url = MINIMAL.replace("http://localhost:8008", "localhost:8008");
    let e = err(&bad_url, &[]);
    assert!(e.starts_with("config key `homeserver.address`"), "{e}");
    let e = err(
        MINIMAL,
        &[("MATRIX_INSTAGRAM__DATABASE__URI", "mysql://nope")],
    );
    assert!(e.starts_with("config key `database.uri`"), "{e}");
    let unknown = format!("{MINIMAL}bogus_section: 1\n");
    let e = err(&unknown, &[]);
    assert!(e.contains("bogus_section"), "{e}");
    let e = err(MINIMAL, &[("MATRIX_INSTAGRAM__MEDIA__MAX_SIZE_MB", "0")]);
    assert_eq!(e, "config key `media.max_size_mb`: must be at least 1");
    let e = err("homeserver: [", &[]);
    assert!(e.contains("not valid YAML"), "{e}");
}

#[test]
fn generated_secrets_are_filled_once() {
    let text = "a:\n  as_token: generate # comment\n  hs_token: \"generate\"\n  other: generate\n";
    let (out, changed) = fill_generated_secrets(text);
    assert!(changed);
    assert!(out.contains("other: generate"));
    assert!(!out.contains("as_token: generate"));
    assert!(!out.contains("hs_token: \"generate\""));
    let (again, changed_again) = fill_generated_secrets(&out);
    assert!(!changed_again);
    assert_eq!(again, out);
}

#[test]
fn status_endpoints_and_notices() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(c.homeserver.status_endpoint, None);
    assert_eq!(c.homeserver.message_send_checkpoint_endpoint, None);
    assert_eq!(c.bridge.bridge_status_notices, StatusNotices::Errors);
    assert_eq!(c.bridge.bridge_status_notice_delay_secs, 180);
    let c = load(
        MINIMAL,
        &[
            (
                "MATRIX_INSTAGRAM__HOMESERVER__STATUS_ENDPOINT",
                "http://127.0.0.1:9/state",
            ),
            ("MATRIX_INSTAGRAM__BRIDGE__BRIDGE_STATUS_NOTICES", "all"),
        ],
    )
    .unwrap();
    assert_eq!(
        c.homeserver.status_endpoint.as_ref().map(Url::as_str),
        Some("http://127.0.0.1:9/state")
    );
    assert_eq!(c.bridge.bridge_status_notices, StatusNotices::All);
    let bad = load(
        MINIMAL,
        &[(
            "MATRIX_INSTAGRAM__HOMESERVER__MESSAGE_SEND_CHECKPOINT_ENDPOINT",
            "ftp://x/y",
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(
        bad.contains("homeserver.message_send_checkpoint_endpoint"),
        "{bad}"
    );
    let bad = load(
        MINIMAL,
        &[("MATRIX_INSTAGRAM__BRIDGE__BRIDGE_STATUS_NOTICES", "some")],
    )
    .unwrap_err()
    .to_string();
    assert!(bad.contains("bridge.bridge_status_notices"), "{bad}");
}

#[test]
fn the_default_proxy_is_checked_and_never_shown_with_its_password() {
    let c = load(MINIMAL, &[]).unwrap();
    assert_eq!(c.instagram.proxy, None);
    let with = |proxy: &str| format!("{MINIMAL}instagram:\n  proxy: \"{proxy}\"\n");
    let c = load(&with("socks5h://me:hunter2@127.0.0.1:1080"), &[]).unwrap();
    let proxy = c.instagram.proxy.as_ref().expect("a proxy");
    assert_eq!(proxy.to_string(), "socks5h://me:***@127.0.0.1:1080");
    assert!(!format!("{c:?}").contains("hunter2"));
    assert_eq!(load(&with(""), &[]).unwrap().instagram.proxy, None);
    let bad = load(&with("https://me:hunter2@h:1"), &[])
        .unwrap_err()
        .to_string();
    assert!(bad.contains("instagram.proxy"), "{bad}");
    assert!(bad.contains("unsupported proxy scheme"), "{bad}");
    assert!(!bad.contains("hunter2"), "{bad}");
    let c = load(
        MINIMAL,
        &[(
            "MATRIX_INSTAGRAM__INSTAGRAM__PROXY",
            "http://proxy.local:3128",
        )],
    )
    .unwrap();
    assert_eq!(
        c.instagram.proxy.map(|p| p.to_string()).as_deref(),
        Some("http://proxy.local:3128")
    );
}

#[test]
fn encryption_section() {
    let c = load(MINIMAL, &[]).unwrap();
    assert!(!c.encryption.allow);
    assert_eq!(c.encryption.store_path, "matrix-instagram-crypto");
    let err = |env: &[(&str, &str)]| load(MINIMAL, env).unwrap_err().to_string();
    let e = err(&[("MATRIX_INSTAGRAM__ENCRYPTION__DEFAULT", "true")]);
    assert!(
        e.contains("encryption.default") && e.contains("allow"),
        "{e}"
    );
    let allow = ("MATRIX_INSTAGRAM__ENCRYPTION__ALLOW", "true");
    let e = err(&[allow]);
    assert!(e.contains("encryption.appservice"), "{e}");
    let appservice = ("MATRIX_INSTAGRAM__ENCRYPTION__APPSERVICE", "true");
    let e = err(&[allow, appservice]);
    assert!(e.contains("encryption.pickle_key"), "{e}");
    let key = ("MATRIX_INSTAGRAM__ENCRYPTION__PICKLE_KEY", "s3cret-pickle");
    let c = load(MINIMAL, &[allow, appservice, key]).unwrap();
    assert!(c.encryption.allow && c.encryption.appservice);
    assert!(!format!("{c:?}").contains("s3cret-pickle"));
    let e = err(&[
        allow,
        appservice,
        key,
        (
            "MATRIX_INSTAGRAM__ENCRYPTION__DELETE_KEYS__RATCHET_ON_DECRYPT",
            "true",
        ),
    ]);
    assert!(
        e.contains("encryption.delete_keys.ratchet_on_decrypt"),
        "{e}"
    );
    let e = err(&[(
        "MATRIX_INSTAGRAM__ENCRYPTION__VERIFICATION_LEVELS__SEND",
        "trusted",
    )]);
    assert!(e.contains("encryption.verification_levels.send"), "{e}");
}

#[test]
fn verification_levels_and_self_sign() {
    fn with(extra: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut env = vec![
            ("MATRIX_INSTAGRAM__ENCRYPTION__ALLOW", "true"),
            ("MATRIX_INSTAGRAM__ENCRYPTION__APPSERVICE", "true"),
            ("MATRIX_INSTAGRAM__ENCRYPTION__PICKLE_KEY", "s3cret-pickle"),
        ];
        env.extend_from_slice(extra);
        load(MINIMAL, &env)
    }
    // self_sign is accepted now; every level of `send` but `verified` too.
    let c = with(&[("MATRIX_INSTAGRAM__ENCRYPTION__SELF_SIGN", "true")]).unwrap();
    assert!(c.encryption.self_sign);
    let send = "MATRIX_INSTAGRAM__ENCRYPTION__VERIFICATION_LEVELS__SEND";
    let receive = "MATRIX_INSTAGRAM__ENCRYPTION__VERIFICATION_LEVELS__RECEIVE";
    for level in [
        "unverified",
        "cross-signed-untrusted",
        "cross-signed-tofu",
        "cross-signed-verified",
    ] {
        let c = with(&[(send, level)]).unwrap();
        assert_eq!(c.encryption.verification_levels.send.name(), level);
    }
    let e = with(&[(send, "verified")]).unwrap_err().to_string();
    assert!(
        e.contains("encryption.verification_levels.send") && e.contains("one by one"),
        "{e}"
    );
    // Sharing keys by cross-signing needs the bot's own identity.
    let e = with(&[(receive, "cross-signed-tofu")])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("encryption.verification_levels.receive") && e.contains("self_sign"),
        "{e}"
    );
    with(&[
        (receive, "cross-signed-tofu"),
        ("MATRIX_INSTAGRAM__ENCRYPTION__SELF_SIGN", "true"),
    ])
    .unwrap();
    let e = with(&[
        (receive, "verified"),
        ("MATRIX_INSTAGRAM__ENCRYPTION__SELF_SIGN", "true"),
    ])
    .unwrap_err()
    .to_string();
    assert!(e.contains("encryption.verification_levels.receive"), "{e}");
    // Any `share` level: the bridge answers no key requests.
    with(&[(
        "MATRIX_INSTAGRAM__ENCRYPTION__VERIFICATION_LEVELS__SHARE",
        "verified",
    )])
    .unwrap();
    // Every delete_keys option is refused by name.
    for option in [
        "DELETE_OUTBOUND_ON_ACK",
        "DONT_STORE_OUTBOUND",
        "RATCHET_ON_DECRYPT",
        "DELETE_FULLY_USED_ON_DECRYPT",
        "DELETE_PREV_ON_NEW_SESSION",
        "DELETE_ON_DEVICE_DELETE",
        "PERIODICALLY_DELETE_EXPIRED",
        "DELETE_OUTDATED_INBOUND",
    ] {
        let var = format!("MATRIX_INSTAGRAM__ENCRYPTION__DELETE_KEYS__{option}");
        let e = with(&[(var.as_str(), "true")]).unwrap_err().to_string();
        let key = format!("encryption.delete_keys.{}", option.to_lowercase());
        assert!(e.contains(&key), "{e}");
    }
}

#[test]
fn pickle_key_is_generated() {
    let text = include_str!("../../example-config.yaml");
    assert!(text.contains("pickle_key: generate"));
    let (filled, _) = fill_generated_secrets(text);
    assert!(!filled.contains("pickle_key: generate"));
    let config = load(&filled, &[]).unwrap();
    assert_eq!(config.encryption.pickle_key.expose().len(), 64);
}
