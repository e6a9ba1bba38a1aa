//! Fuzzes the conversions both ways on the stable toolchain (a stand-in for `cargo fuzz`).
//!
//! `cargo run --release --features fuzzing --example fuzz_convert -- <to-instagram|to-matrix>
//! [iterations] [seed]` (or `scripts/fuzz to-instagram`, `scripts/fuzz to-matrix`). Seeds:
//! built-in Matrix contents / Instagram items, plus every item in tests/fixtures/instagram.
//! A panic prints the failing input, writes it to `fuzz-crash-<direction>-<seed>.bin` and
//! exits with 1.

use matrix_instagram::bridge::convert::fuzz::{self, Direction};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(direction) = args.first().and_then(|a| Direction::from_name(a)) else {
        eprintln!("usage: fuzz_convert <to-instagram|to-matrix> [iterations] [seed]");
        std::process::exit(2);
    };
    let mut seeds = fuzz::builtin_seeds(direction);
    if direction == Direction::ToMatrix {
        let dir = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/instagram"
        ));
        seeds.extend(
            matrix_instagram::fuzz::json_seeds_in(dir)
                .into_iter()
                .filter(|s| s.windows(11).any(|w| w == b"\"item_type\"")),
        );
    }
    eprintln!("{} seeds", seeds.len());
    matrix_instagram::fuzz::main(direction.name(), &args[1..], |iterations, seed| {
        fuzz::run(direction, &seeds, iterations, seed, fuzz::MAX_HOSTILE_LEN)
    });
}
