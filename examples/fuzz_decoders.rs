//! Fuzzes the realtime decoders on the stable toolchain (a stand-in for `cargo fuzz`).
//!
//! `cargo run --release --example fuzz_decoders -- [iterations] [seed]`
//! Seeds: every payload in tests/fixtures/instagram plus built-in encoded packets. A panic
//! prints the failing input as hex, writes it to `fuzz-crash-<seed>.bin` and exits with 1.

use std::time::Instant;

use matrix_instagram::instagram::realtime::fuzz;

fn fixture_seeds() -> Vec<Vec<u8>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/instagram/");
    let mut seeds = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return seeds;
    };
    for entry in entries.flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        collect_strings(&v, &mut seeds);
    }
    for hex in [
        "connect_thrift_id10.hex",
        "connect_packet_keepalive20.hex",
        "foreground_state.hex",
    ] {
        if let Ok(text) = std::fs::read_to_string(format!("{dir}derived/{hex}")) {
            let t = text.trim();
            let bytes: Vec<u8> = (0..t.len() / 2)
                .filter_map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16).ok())
                .collect();
            seeds.push(bytes);
        }
    }
    seeds
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    match v {
        serde_json::Value::String(s) if s.len() > 2 => out.push(s.as_bytes().to_vec()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => {
            out.push(serde_json::to_vec(v).unwrap_or_default());
            o.values().for_each(|x| collect_strings(x, out));
        }
        _ => {}
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x5eed_1234);
    let mut seeds = fuzz::builtin_seeds();
    seeds.extend(fixture_seeds());
    eprintln!(
        "fuzzing {iterations} inputs from {} seeds, seed {seed}",
        seeds.len()
    );
    std::panic::set_hook(Box::new(|_| {}));
    let started = Instant::now();
    match fuzz::run(&seeds, iterations, seed) {
        Ok(()) => println!(
            "ok: {iterations} inputs, no panic ({:.1}s)",
            started.elapsed().as_secs_f64()
        ),
        Err(f) => {
            let path = format!("fuzz-crash-{seed}.bin");
            let _ = std::fs::write(&path, &f.input);
            println!("PANIC at iteration {}: {}", f.iteration, f.message);
            println!(
                "input ({} bytes, saved to {path}): {:02x?}",
                f.input.len(),
                f.input
            );
            std::process::exit(1);
        }
    }
}
