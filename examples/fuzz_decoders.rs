//! Fuzzes the realtime decoders on the stable toolchain (a stand-in for `cargo fuzz`).
//!
//! `cargo run --release --features fuzzing --example fuzz_decoders -- [iterations] [seed]`
//! (or `scripts/fuzz realtime`). Seeds: every payload in tests/fixtures/instagram plus
//! built-in encoded packets. A panic prints the failing input, writes it to
//! `fuzz-crash-realtime-<seed>.bin` and exits with 1.

use matrix_instagram::instagram::realtime::fuzz;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/instagram"
    ));
    let mut seeds = fuzz::builtin_seeds();
    seeds.extend(fuzz::fixture_seeds(dir));
    eprintln!("{} seeds", seeds.len());
    matrix_instagram::fuzz::main("realtime", &args, |iterations, seed| {
        fuzz::run(&seeds, iterations, seed)
    });
}
