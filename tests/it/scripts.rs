//! The test script itself: its options, and that it drops only the schemas its own run made.

use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn script(args: &[&str]) -> std::process::Output {
    Command::new(format!("{ROOT}/scripts/test"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {ROOT}/scripts/test: {e}"))
}

#[test]
fn help_prints_usage_and_unknown_arguments_are_refused() {
    let out = script(&["--help"]);
    assert!(out.status.success(), "{out:?}");
    let usage = String::from_utf8_lossy(&out.stdout);
    assert!(usage.starts_with("usage: scripts/test"), "{usage}");
    assert!(
        usage.contains("--no-e2e") && usage.contains("DATABASE_URL"),
        "{usage}"
    );

    let out = script(&["--frobnicate"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: unknown argument --frobnicate"),
        "{err}"
    );

    let out = script(&["--no-e2e", "--e2e-only"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-qtAc", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql is needed for this test (postgresql-client): {e}"));
    assert!(out.status.success(), "psql {sql}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_run_drops_only_its_own_schemas() {
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1/test".to_string());
    let hex = |n: u128| format!("{:012x}", n % (1 << 48));
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(7);
    let (run, other) = (hex(seed), hex(seed.wrapping_mul(31).wrapping_add(17)));
    let ours = [
        format!("t_{run}_a"),
        format!("t_{run}_b"),
        format!("e2e_{run}"),
    ];
    let theirs = [
        format!("t_{other}_a"),
        format!("e2e_{other}"),
        format!("t_{run}x"),
    ];
    for schema in ours.iter().chain(&theirs) {
        psql(&url, &format!("CREATE SCHEMA \"{schema}\""));
    }
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            ". {ROOT}/scripts/lib/pg.sh && drop_run_schemas \"$1\" {run}"
        ))
        .arg("drop")
        .arg(&url)
        .output()
        .expect("bash");
    let left = |schema: &str| {
        psql(
            &url,
            &format!("SELECT count(*) FROM pg_namespace WHERE nspname = '{schema}'"),
        )
    };
    let ours_left: Vec<_> = ours.iter().filter(|s| left(s) == "1").collect();
    let theirs_left: Vec<_> = theirs.iter().filter(|s| left(s) == "1").collect();
    for schema in &theirs {
        psql(&url, &format!("DROP SCHEMA IF EXISTS \"{schema}\""));
    }
    assert!(out.status.success(), "{out:?}");
    assert!(ours_left.is_empty(), "not dropped: {ours_left:?}");
    assert_eq!(
        theirs_left.len(),
        theirs.len(),
        "another run's schemas must stay"
    );
}

#[test]
fn the_structure_check_finds_cycles_long_files_and_outside_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bridge = dir.path().join("src/bridge");
    std::fs::create_dir_all(&bridge).expect("mkdir");
    let write = |name: &str, text: String| {
        std::fs::write(bridge.join(name), text).expect("write");
    };
    write("mod.rs", "pub mod a;\npub mod b;\npub mod c;\n".into());
    write("a.rs", "use super::b::Thing;\npub struct Other;\n".into());
    write(
        "b.rs",
        "use crate::bridge::a::Other;\npub struct Thing;\n".into(),
    );
    let long_fn = format!("fn long() {{\n{}}}\n", "    let _ = 1;\n".repeat(100));
    write("c.rs", long_fn + "// filler\n".repeat(600).as_str());
    std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
    // Spelled in pieces so that this file does not trip the check itself.
    let outside = format!("../{}/", "shared");
    std::fs::write(
        dir.path().join("tests/reads.rs"),
        format!("const F: &str = \"{outside}fixtures/x.json\";\n"),
    )
    .expect("write");
    let out = Command::new("python3")
        .arg(format!("{ROOT}/scripts/check-structure"))
        .arg(dir.path())
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("import cycle in src/bridge: bridge::a ↔ bridge::b"),
        "{text}"
    );
    assert!(text.contains("src/bridge/c.rs: 702 lines"), "{text}");
    assert!(text.contains("fn long is 102 lines"), "{text}");
    assert!(
        text.contains(&format!("tests/reads.rs reads {outside}")),
        "{text}"
    );
    // The repository itself passes.
    let out = Command::new("python3")
        .arg(format!("{ROOT}/scripts/check-structure"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
