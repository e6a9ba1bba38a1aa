//! Real mautrix-instagram databases for the import tests: created by mautrix-instagram 0.3.1's
//! own schema migrations and table classes (`scripts/lib/mautrix_db.py`, run with the python
//! of the virtualenv `scripts/lib/mautrix.sh` installs), on SQLite or PostgreSQL. A PostgreSQL
//! database lives in a schema of its own, dropped when the value is dropped.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Which database a test uses (for the source and this bridge's alike).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The PostgreSQL the tests may create schemas in.
pub fn pg_base() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".into())
}

/// A PostgreSQL URI whose connections use `schema`.
pub fn pg_uri(schema: &str) -> String {
    let base = pg_base();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// A fresh schema name carrying the test run's prefix (scripts/test drops what is left).
pub fn new_schema(tag: &str) -> String {
    let prefix = std::env::var("MI_TEST_SCHEMA_PREFIX")
        .ok()
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| "t_".into());
    format!("{prefix}{tag}_{}", uuid::Uuid::new_v4().simple())
}

pub fn psql(sql: &str) -> String {
    let out = Command::new("psql")
        .args([pg_base().as_str(), "-qtAc", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql is needed for this test (postgresql-client): {e}"));
    assert!(out.status.success(), "psql {sql}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A PostgreSQL schema, dropped with the value.
pub struct Schema(pub String);

impl Schema {
    pub fn new(tag: &str) -> Schema {
        let name = new_schema(tag);
        psql(&format!("CREATE SCHEMA {name}"));
        Schema(name)
    }

    pub fn uri(&self) -> String {
        pg_uri(&self.0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                pg_base().as_str(),
                "-qc",
                &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.0),
            ])
            .output();
    }
}

/// The python of the mautrix-instagram virtualenv.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("MI_MAUTRIX_PYTHON") {
        return p.into();
    }
    let cached = PathBuf::from(format!("{ROOT}/.cache/mautrix-instagram-venv/bin/python"));
    if cached.exists() {
        return cached;
    }
    panic!(
        "the import tests need mautrix-instagram in a virtualenv: run them with scripts/test, \
         which installs it into .cache/mautrix-instagram-venv (or set MI_MAUTRIX_PYTHON)"
    );
}

/// A mautrix-instagram database made and filled by mautrix-instagram itself.
pub struct MautrixDb {
    pub kind: Kind,
    /// The SQLite file (its folder is removed with the value).
    pub file: Option<PathBuf>,
    pub schema: Option<Schema>,
    _dir: Option<tempfile::TempDir>,
}

impl MautrixDb {
    /// Creates the database with mautrix-instagram's migrations and fills it from
    /// `description` (the JSON `scripts/lib/mautrix_db.py` documents).
    pub fn create(kind: Kind, description: &Value) -> MautrixDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let spec = dir.path().join("description.json");
        std::fs::write(&spec, description.to_string()).expect("write the description");
        let mut cmd = Command::new(python());
        cmd.arg(format!("{ROOT}/scripts/lib/mautrix_db.py"));
        let db = match kind {
            Kind::Sqlite => {
                let file = dir.path().join("mautrix-instagram.db");
                cmd.arg(format!("sqlite://{}", file.display())).arg(&spec);
                MautrixDb {
                    kind,
                    file: Some(file),
                    schema: None,
                    _dir: None,
                }
            }
            Kind::Postgres => {
                let schema = Schema::new("mautrix");
                cmd.arg(pg_base())
                    .arg(&spec)
                    .args(["--schema", schema.0.as_str()]);
                MautrixDb {
                    kind,
                    file: None,
                    schema: Some(schema),
                    _dir: None,
                }
            }
        };
        let out = cmd.output().expect("run mautrix_db.py");
        assert!(
            out.status.success(),
            "mautrix-instagram could not create its database: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        MautrixDb {
            _dir: Some(dir),
            ..db
        }
    }

    /// The URI as mautrix-instagram's config would have it.
    pub fn uri(&self) -> String {
        match (&self.file, &self.schema) {
            (Some(file), _) => format!("sqlite://{}", file.display()),
            (None, Some(schema)) => schema.uri(),
            (None, None) => unreachable!("a database is a file or a schema"),
        }
    }

    /// A fingerprint of everything in the database: the file's bytes and the names beside it
    /// (SQLite), or every row of every table (PostgreSQL).
    pub fn fingerprint(&self) -> String {
        match (&self.file, &self.schema) {
            (Some(file), _) => {
                let bytes = std::fs::read(file).expect("read the source file");
                let mut beside: Vec<String> = std::fs::read_dir(file.parent().expect("folder"))
                    .expect("list the folder")
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                beside.sort();
                format!("{:x} {beside:?}", fnv1a(&bytes))
            }
            (None, Some(schema)) => {
                let tables = [
                    "\"user\"",
                    "portal",
                    "puppet",
                    "message",
                    "reaction",
                    "backfill_queue",
                    "user_portal",
                    "version",
                ];
                tables
                    .iter()
                    .map(|t| {
                        psql(&format!(
                            "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' \
                             ORDER BY x::text)), '') FROM {}.{t} x",
                            schema.0
                        ))
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            (None, None) => unreachable!(),
        }
    }
}

/// A 128-bit FNV-1a of the bytes (a change detector, not a cryptographic hash).
fn fnv1a(bytes: &[u8]) -> u128 {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in bytes {
        h ^= u128::from(*b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    h
}
