//! `import-mautrix` against databases created by mautrix-instagram 0.3.1 itself, on SQLite and
//! on PostgreSQL: what is written, that a re-run writes nothing more, that the source does not
//! change, and the refusals (either bridge running, ghost templates that differ).

use std::process::{Command, Output};

use serde_json::{Value, json};
use sqlx::{AnyPool, Row};

use crate::support::mautrix::{Kind, MautrixDb, Schema};

const BIN: &str = env!("CARGO_BIN_EXE_matrix-instagram");

const ALICE_PK: i64 = 4_100_000_001;
const BOB_PK: i64 = 4_100_000_002;
const CAROL_PK: i64 = 4_100_000_003;

/// An installation: Alice logged in with a DM with Bob and a group, Dave logged out, one
/// placeholder message row of mautrix's own, a reaction and an unfinished backfill task.
fn description() -> Value {
    json!({
        "users": [
            {"mxid": "@alice:hs.test", "igpk": ALICE_PK, "notice_room": "!mgmt:hs.test",
             "seq_id": 9001, "snapshot_at_ms": 1_700_000_000_000_i64, "device_seed": "alice",
             "authorization": "Bearer IGT:2:eyJkc191c2VyX2lkIjoiNDEwMDAwMDAwMSJ9",
             "ds_user_id": ALICE_PK.to_string(), "www_claim": "hmac.AR-claim",
             "cookies": {"sessionid": "4100000001%3Asecretsession", "csrftoken": "csrf", "mid": "MIDV"}},
            {"mxid": "@dave:hs.test"}
        ],
        "puppets": [
            {"pk": ALICE_PK, "name": "Alice A", "username": "alice_ig"},
            {"pk": BOB_PK, "name": "Bob B", "username": "bob_ig", "photo_id": "p1",
             "photo_mxc": "mxc://hs.test/bob", "name_set": true, "avatar_set": true},
            {"pk": CAROL_PK, "name": "Carol", "username": "carol_ig"}
        ],
        "portals": [
            {"thread_id": "340282366841710300949128100000001", "receiver": ALICE_PK,
             "other_user_pk": BOB_PK, "mxid": "!dm:hs.test", "name": "Bob B", "name_set": true},
            {"thread_id": "340282366841710300949128100000002", "receiver": 0,
             "mxid": "!group:hs.test", "name": "Friends", "name_set": true},
            {"thread_id": "340282366841710300949128100000003", "receiver": ALICE_PK,
             "other_user_pk": CAROL_PK}
        ],
        "messages": [
            {"mxid": "$m1", "mx_room": "!dm:hs.test", "item_id": "30000000000000000000000001",
             "receiver": ALICE_PK, "sender": BOB_PK, "ig_timestamp": 1_700_000_000_000_001_i64},
            {"mxid": "$m2", "mx_room": "!dm:hs.test", "item_id": "30000000000000000000000002",
             "receiver": ALICE_PK, "sender": ALICE_PK, "client_context": "7000000000000000001",
             "ig_timestamp": 1_700_000_000_000_002_i64},
            {"mxid": "$m3", "mx_room": "!group:hs.test", "item_id": "30000000000000000000000003",
             "receiver": 0, "sender": CAROL_PK, "ig_timestamp": 1_700_000_000_000_003_i64},
            {"mxid": "$dummy", "mx_room": "!dm:hs.test",
             "item_id": "fi.mau.instagram.post_backfill_dummy.1", "receiver": ALICE_PK,
             "sender": 0}
        ],
        "reactions": [
            {"mxid": "$r1", "mx_room": "!dm:hs.test", "ig_item_id": "30000000000000000000000001",
             "ig_receiver": ALICE_PK, "ig_sender": ALICE_PK, "reaction": "❤️",
             "mx_timestamp": 1_700_000_000_100_i64}
        ],
        "backfill": [
            {"user_mxid": "@alice:hs.test", "portal_thread_id": "340282366841710300949128100000001",
             "portal_receiver": ALICE_PK, "num_pages": 2}
        ]
    })
}

/// This bridge's config and database for one test.
struct Target {
    dir: tempfile::TempDir,
    uri: String,
    _schema: Option<Schema>,
}

impl Target {
    fn new(kind: Kind) -> Target {
        let dir = tempfile::tempdir().unwrap();
        let (uri, schema) = match kind {
            Kind::Sqlite => (
                format!("sqlite:{}", dir.path().join("bridge.db").display()),
                None,
            ),
            Kind::Postgres => {
                let schema = Schema::new("import");
                (schema.uri(), Some(schema))
            }
        };
        let config =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/example-config.yaml"))
                .unwrap()
                .replace("domain: example.com", "domain: hs.test")
                .replace("port: 29330", &format!("port: {}", free_port()));
        std::fs::write(dir.path().join("config.yaml"), config).unwrap();
        Target {
            dir,
            uri,
            _schema: schema,
        }
    }

    fn config(&self) -> std::path::PathBuf {
        self.dir.path().join("config.yaml")
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .arg("import-mautrix")
            .arg("-c")
            .arg(self.config())
            .args(args)
            .env("MATRIX_INSTAGRAM__DATABASE__URI", &self.uri)
            .output()
            .unwrap()
    }

    async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPool::connect(&self.uri).await.unwrap()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn strings(pool: &AnyPool, sql: &str) -> Vec<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect()
}

async fn import_keeps_everything(kind: Kind) {
    let source = MautrixDb::create(kind, &description());
    let before = source.fingerprint();
    let target = Target::new(kind);
    let from = source.uri();

    let out = target.run(&["--from", &from, "--dry-run"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("Dry run, nothing written"), "{stdout}");
    assert!(
        stdout.contains("portals (rooms)    2 to import"),
        "{stdout}"
    );
    assert!(
        stdout.contains("messages           3 to import"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("secretsession"),
        "no secret printed: {stdout}"
    );
    if kind == Kind::Sqlite {
        assert!(
            !target.dir.path().join("bridge.db").exists(),
            "a dry run creates no database"
        );
    }

    let out = target.run(&["--from", &from]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for expected in [
        "users              2 imported, 0 already here",
        "Instagram logins   1 imported",
        "management rooms   1 imported",
        "portals (rooms)    2 imported",
        "ghosts             3 imported",
        "messages           3 imported",
        "reactions          1 imported",
        "DM people          1 imported",
        "1 unfinished backfill task(s) not carried over",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }

    let pool = target.pool().await;
    let portals = strings(
        &pool,
        "SELECT thread_id || ' ' || receiver || ' ' || room_id || ' ' || is_group \
         FROM portals ORDER BY thread_id",
    )
    .await;
    assert_eq!(
        portals,
        [
            format!("340282366841710300949128100000001 {ALICE_PK} !dm:hs.test 0"),
            "340282366841710300949128100000002  !group:hs.test 1".to_string(),
        ]
    );
    let messages = strings(
        &pool,
        "SELECT item_id || ' ' || receiver || ' ' || event_id || ' ' || sender_pk || ' ' || \
         timestamp_us || ' ' || content_hash FROM messages ORDER BY item_id",
    )
    .await;
    assert_eq!(
        messages,
        [
            format!(
                "30000000000000000000000001 {ALICE_PK} $m1 {BOB_PK} 1700000000000001 \
                 imported:mautrix-instagram"
            ),
            format!(
                "30000000000000000000000002 {ALICE_PK} $m2 {ALICE_PK} 1700000000000002 \
                 imported:mautrix-instagram"
            ),
            format!(
                "30000000000000000000000003  $m3 {CAROL_PK} 1700000000000003 \
                 imported:mautrix-instagram"
            ),
        ]
    );
    let reactions = strings(
        &pool,
        "SELECT item_id || ' ' || receiver || ' ' || event_id || ' ' || emoji FROM reactions",
    )
    .await;
    assert_eq!(
        reactions,
        [format!("30000000000000000000000001 {ALICE_PK} $r1 ❤️")]
    );
    let ghosts = strings(
        &pool,
        "SELECT username || ' ' || display_name FROM ghosts ORDER BY ig_pk",
    )
    .await;
    assert_eq!(
        ghosts,
        ["alice_ig Alice A", "bob_ig Bob B", "carol_ig Carol"]
    );
    let row = sqlx::query(
        "SELECT l.ig_pk, l.ig_username, l.session, u.management_room, l.seq_id, \
         l.snapshot_at_ms, u.preferred_login FROM users u JOIN logins l ON l.mxid = u.mxid \
         WHERE u.mxid = '@alice:hs.test'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.try_get::<i64, _>("ig_pk").unwrap(), ALICE_PK);
    assert_eq!(row.try_get::<i64, _>("preferred_login").unwrap(), ALICE_PK);
    assert_eq!(row.try_get::<String, _>("ig_username").unwrap(), "alice_ig");
    assert_eq!(
        row.try_get::<String, _>("management_room").unwrap(),
        "!mgmt:hs.test"
    );
    assert_eq!(row.try_get::<i64, _>("seq_id").unwrap(), 9001);
    let session: Value =
        serde_json::from_str(&row.try_get::<String, _>("session").unwrap()).unwrap();
    let restored = matrix_instagram::instagram::http::Session::from_json(session.clone())
        .expect("this bridge's session format");
    assert!(restored.device.android_id.starts_with("android-"));
    assert_eq!(
        restored.sessionid().as_deref(),
        Some("4100000001%3Asecretsession")
    );
    assert_eq!(restored.www_claim.as_deref(), Some("hmac.AR-claim"));
    assert_eq!(
        restored.user_pk().map(|p| p.get()),
        Some(ALICE_PK),
        "{restored:?}"
    );
    let people = strings(
        &pool,
        "SELECT thread_id || ' ' || mxid || ' ' || display_name FROM thread_members \
         ORDER BY pk",
    )
    .await;
    assert_eq!(
        people,
        [
            "340282366841710300949128100000001 @alice:hs.test alice_ig".to_string(),
            format!(
                "340282366841710300949128100000001 @instagram_{BOB_PK}:hs.test Bob B (Instagram)"
            ),
        ]
    );
    let dave = strings(
        &pool,
        "SELECT mxid FROM users WHERE mxid NOT IN (SELECT mxid FROM logins) ORDER BY mxid",
    )
    .await;
    assert_eq!(dave, ["@dave:hs.test"]);
    let devices = mautrix_devices(&source).await;
    assert_eq!(
        devices,
        [
            restored.device.android_id.clone(),
            restored.device.uuid.clone(),
            restored.device.phone_id.clone(),
            restored.device.adid.clone(),
            restored.device.fdid.clone(),
        ],
        "the device ids are mautrix-instagram's"
    );
    pool.close().await;

    // Again: nothing new, nothing changed.
    let out = target.run(&["--from", &from]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    for table in [
        "users",
        "portals",
        "ghosts",
        "messages",
        "reactions",
        "DM people",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(table))
            .unwrap_or_else(|| panic!("{table} in {stdout}"));
        assert!(line.contains(" 0 imported,"), "{line}");
    }
    let pool = target.pool().await;
    let again = strings(
        &pool,
        "SELECT item_id || ' ' || receiver || ' ' || event_id || ' ' || sender_pk || ' ' || \
         timestamp_us || ' ' || content_hash FROM messages ORDER BY item_id",
    )
    .await;
    assert_eq!(again, messages);
    pool.close().await;

    assert_eq!(source.fingerprint(), before, "the source did not change");
}

/// The device ids in mautrix-instagram's stored state, read with its own drivers' view.
async fn mautrix_devices(source: &MautrixDb) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let uri = match source.kind {
        Kind::Sqlite => format!(
            "sqlite:{}?mode=ro&immutable=true",
            source.file.as_ref().unwrap().display()
        ),
        Kind::Postgres => source.uri(),
    };
    let pool = AnyPool::connect(&uri).await.unwrap();
    let state: String =
        sqlx::query("SELECT CAST(state AS TEXT) AS s FROM \"user\" WHERE igpk IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap()
            .try_get("s")
            .unwrap();
    pool.close().await;
    let state: Value = serde_json::from_str(&state).unwrap();
    let d = &state["device"];
    ["id", "uuid", "phoneId", "adid", "fdid"]
        .iter()
        .map(|k| d[*k].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn an_import_from_sqlite_keeps_rooms_ghosts_mappings_and_logins() {
    import_keeps_everything(Kind::Sqlite).await;
}

#[tokio::test]
async fn an_import_from_postgres_keeps_rooms_ghosts_mappings_and_logins() {
    import_keeps_everything(Kind::Postgres).await;
}

#[tokio::test]
async fn the_import_refuses_while_a_bridge_runs_or_ghost_names_differ() {
    let source = MautrixDb::create(Kind::Sqlite, &description());
    let before = source.fingerprint();
    let target = Target::new(Kind::Sqlite);
    let from = source.uri();
    let refused = |out: &Output, needle: &str| {
        let (stdout, stderr) = text(out);
        assert!(!out.status.success(), "refused: {stdout}");
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    };

    // mautrix-instagram's appservice port answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let old_config = target.dir.path().join("mautrix-config.yaml");
    std::fs::write(
        &old_config,
        format!(
            "homeserver:\n    domain: hs.test\nappservice:\n    hostname: 0.0.0.0\n    port: \
             {port}\n    database: {from}\n    id: instagram\nbridge:\n    username_template: \
             \"instagram_{{userid}}\"\n"
        ),
    )
    .unwrap();
    let config_arg = old_config.display().to_string();
    let out = target.run(&["--mautrix-config", &config_arg]);
    refused(&out, "mautrix-instagram seems to be running");
    refused(&out, &format!("127.0.0.1:{port} accepts connections"));
    drop(listener);

    // Its SQLite database is open (a write-ahead log beside it).
    let wal = format!("{}-wal", source.file.as_ref().unwrap().display());
    std::fs::write(&wal, b"").unwrap();
    let out = target.run(&["--mautrix-config", &config_arg]);
    refused(&out, "mautrix-instagram has its database open");
    std::fs::remove_file(&wal).unwrap();

    // Other ghost names.
    let other = std::fs::read_to_string(&old_config)
        .unwrap()
        .replace("instagram_{userid}", "ig_{userid}");
    std::fs::write(&old_config, other).unwrap();
    let out = target.run(&["--mautrix-config", &config_arg]);
    refused(&out, "Set `bridge.username_template: ig_{userid}`");
    let same = std::fs::read_to_string(&old_config)
        .unwrap()
        .replace("ig_{userid}", "instagram_{userid}");
    std::fs::write(&old_config, same).unwrap();

    // This bridge works on its database: a live conversation claim.
    let out = target.run(&["--mautrix-config", &config_arg]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("registration differs"), "{stdout}");
    let pool = target.pool().await;
    sqlx::query(
        "INSERT INTO conversation_claims (conversation, owner, expires_at_ms) \
         VALUES ('thread:1', 'instagram', $1)",
    )
    .bind(i64::MAX / 2)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let out = target.run(&["--mautrix-config", &config_arg]);
    refused(&out, "matrix-instagram is working on this database");

    // This bridge's appservice port answers.
    let config = std::fs::read_to_string(target.config()).unwrap();
    let ours = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let our_port = ours.local_addr().unwrap().port();
    let config = regex_port(&config, our_port);
    std::fs::write(target.config(), config).unwrap();
    let out = target.run(&["--from", &from]);
    refused(&out, "matrix-instagram seems to be running");

    assert_eq!(source.fingerprint(), before, "the source did not change");
}

/// The config with the appservice listening on `port`.
fn regex_port(config: &str, port: u16) -> String {
    config
        .lines()
        .map(|l| {
            if l.starts_with("    port: ") {
                format!("    port: {port}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}
