//! Test helpers: a fresh store on each backend.
//!
//! PostgreSQL comes from `DATABASE_URL` (default `postgres://postgres@127.0.0.1/test`); every
//! call gets its own schema so parallel tests and runs never collide.

use super::{PoolOptions, Store};

pub(crate) const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1/test";

/// A store on a fresh SQLite database in a temporary file.
pub(crate) async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let uri = format!("sqlite:{}", dir.path().join("test.db").display());
    let store = Store::connect(&uri, PoolOptions::default())
        .await
        .expect("sqlite store");
    (store, dir)
}

/// The prefix of the schemas tests create: `MI_TEST_SCHEMA_PREFIX` (scripts/test sets one per
/// run, and drops only the schemas that carry it), else `t_`.
pub(crate) fn schema_prefix() -> String {
    std::env::var("MI_TEST_SCHEMA_PREFIX")
        .ok()
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or_else(|| "t_".into())
}

/// A store on PostgreSQL, in a schema of its own.
pub(crate) async fn postgres() -> Store {
    Store::connect(&postgres_uri().await, PoolOptions::default())
        .await
        .expect("postgres store")
}

/// The URI of a fresh, empty PostgreSQL schema of its own.
pub(crate) async fn postgres_uri() -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_string());
    let schema = format!("{}{}", schema_prefix(), uuid::Uuid::new_v4().simple());
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base).await.unwrap_or_else(|e| {
        panic!(
            "PostgreSQL at {base} is not reachable ({e}). Start it (scripts/test does) or set \
             DATABASE_URL to a database this test may create schemas in."
        )
    });
    let create = format!("CREATE SCHEMA {schema}");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&admin)
        .await
        .expect("create test schema");
    admin.close().await;
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-c%20search_path%3D{schema}")
}

/// Runs `body` against a fresh store of each backend.
macro_rules! on_both_backends {
    (|$store:ident| $body:block) => {{
        {
            let (store, _dir) = $crate::store::testing::sqlite().await;
            let $store = &store;
            $body
        }
        {
            let store = $crate::store::testing::postgres().await;
            let $store = &store;
            $body
        }
    }};
}
pub(crate) use on_both_backends;

/// A Matrix inbox entry for a conversation key.
pub(crate) fn entry(key: &str, payload: &str) -> super::inbox::NewInboxEntry {
    super::inbox::NewInboxEntry {
        source: super::inbox::SOURCE_MATRIX.into(),
        portal_key: key.into(),
        receiver: String::new(),
        payload: payload.into(),
    }
}
