//! Test-only access to the recorded payloads in `tests/fixtures/instagram/` (inside the
//! repository: a clone needs nothing beside it). A missing or unreadable file fails the test
//! with its path.

use std::path::PathBuf;

/// The path of a fixture, relative to `tests/fixtures/instagram/`.
pub(crate) fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/instagram")
        .join(name)
}

/// The text of a fixture; panics naming the file when it cannot be read.
pub(crate) fn text(name: &str) -> String {
    let path = path(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()))
}

/// A fixture parsed as JSON; panics naming the file when it is not JSON.
pub(crate) fn json(name: &str) -> serde_json::Value {
    serde_json::from_str(&text(name))
        .unwrap_or_else(|e| panic!("fixture {} is not JSON: {e}", path(name).display()))
}
