//! The seeded mutation loop behind the fuzzers (a stable-toolchain stand-in for `cargo fuzz`):
//! a deterministic PRNG, byte-level mutations and a runner that catches panics, so a failing
//! input is reported with the iteration and seed that reproduce it.
//!
//! Built for the library's own tests and with the `fuzzing` feature (the fuzz examples require
//! it); the normal build leaves it out. The targets live next to the code they feed:
//! [`crate::instagram::realtime::fuzz`] (realtime decoders) and [`crate::bridge::convert::fuzz`]
//! (the conversions both ways).

use std::panic::{AssertUnwindSafe, catch_unwind};

/// A small deterministic PRNG (xorshift64*), so a failing seed reproduces.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True once in `n` draws.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One mutation of `input` (bit flip, byte set, insert, delete, truncate, duplicate a range,
/// splice from another seed, or interesting values).
pub fn mutate(rng: &mut Rng, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let len = v.len();
        match rng.below(9) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = rng.next_u64() as u8;
            }
            2 => {
                let i = rng.below(len + 1);
                v.insert(i, rng.next_u64() as u8);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                v.drain(i..i + n);
            }
            4 => v.truncate(rng.below(len + 1)),
            5 if len > 1 => {
                let a = rng.below(len);
                let b = a + rng.below(len - a).min(64);
                let chunk = v[a..b].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, chunk);
            }
            6 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let at = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
            7 if len > 0 => {
                let i = rng.below(len);
                let vals = [0x00, 0x7f, 0x80, 0xff, b'{', b'[', b'"', 0x0f, 0xf0, b'0'];
                v[i] = vals[rng.below(vals.len())];
            }
            _ => {
                let n = rng.below(32);
                for _ in 0..n {
                    v.push(rng.next_u64() as u8);
                }
            }
        }
    }
    v
}

/// A failing input.
#[derive(Debug)]
pub struct Failure {
    /// 0 for a seed itself, else the mutated input's number.
    pub iteration: u64,
    pub input: Vec<u8>,
    pub message: String,
}

/// Makes the next input from a base seed (and the other seeds, for splicing).
pub type Mutator = dyn Fn(&mut Rng, &[u8], &[Vec<u8>]) -> Vec<u8>;

/// How one run derives inputs and what it feeds them to.
pub struct Target<'a> {
    pub mutate: &'a Mutator,
    /// Feeds one input to the code under test; a panic is a failure.
    pub exercise: &'a dyn Fn(&[u8]),
}

/// Runs the seeds, then `iterations` mutated inputs derived from them, stopping at the first
/// panic.
pub fn run(
    target: &Target<'_>,
    seeds: &[Vec<u8>],
    iterations: u64,
    seed: u64,
) -> Result<(), Failure> {
    let mut rng = Rng::new(seed);
    let check = |iteration: u64, input: Vec<u8>| -> Result<(), Failure> {
        match catch_unwind(AssertUnwindSafe(|| (target.exercise)(&input))) {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Err(Failure {
                    iteration,
                    input,
                    message,
                })
            }
        }
    };
    for s in seeds {
        check(0, s.clone())?;
    }
    for i in 0..iterations {
        let base: &[u8] = if seeds.is_empty() {
            &[]
        } else {
            &seeds[rng.below(seeds.len())]
        };
        let input = (target.mutate)(&mut rng, base, seeds);
        check(i + 1, input)?;
    }
    Ok(())
}

/// Every string (longer than two bytes) and every object of a JSON document, recursively;
/// strings holding JSON are opened too. Seeds for fuzzers from recorded payloads.
pub fn json_seeds(v: &serde_json::Value, out: &mut Vec<Vec<u8>>) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.len() > 2 => {
            out.push(s.as_bytes().to_vec());
            let t = s.trim_start();
            if (t.starts_with('{') || t.starts_with('['))
                && let Ok(inner) = crate::instagram::types::parse_lossless::<Value>(s)
            {
                json_seeds(&inner, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| json_seeds(x, out)),
        Value::Object(o) => {
            out.push(serde_json::to_vec(v).unwrap_or_default());
            o.values().for_each(|x| json_seeds(x, out));
        }
        _ => {}
    }
}

/// The seeds of every JSON file in a directory (not recursive); unreadable files are skipped.
pub fn json_seeds_in(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return seeds;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let Ok(v) = crate::instagram::types::parse_lossless::<serde_json::Value>(&text) {
            json_seeds(&v, &mut seeds);
        }
    }
    seeds
}

/// The command line of a fuzz example: `[iterations] [seed]` after the program's own
/// arguments. Runs `run_all(iterations, seed)`; on a panic prints the input as hex, saves it
/// to `fuzz-crash-<name>-<seed>.bin` and exits with 1.
pub fn main(name: &str, args: &[String], run_all: impl Fn(u64, u64) -> Result<(), Failure>) {
    let iterations: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let seed: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0x5eed_1234);
    eprintln!("fuzzing {name}: {iterations} inputs, seed {seed}");
    std::panic::set_hook(Box::new(|_| {}));
    let started = std::time::Instant::now();
    match run_all(iterations, seed) {
        Ok(()) => println!(
            "ok: {name}, {iterations} inputs, no panic ({:.1}s)",
            started.elapsed().as_secs_f64()
        ),
        Err(f) => {
            let path = format!("fuzz-crash-{name}-{seed}.bin");
            let _ = std::fs::write(&path, &f.input);
            println!(
                "PANIC in {name} at iteration {}: {}",
                f.iteration, f.message
            );
            let shown = &f.input[..f.input.len().min(4096)];
            println!(
                "input ({} bytes, saved to {path}): {}",
                f.input.len(),
                shown.escape_ascii()
            );
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_reproduce_and_report_the_panicking_input() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let seeds = vec![b"hello".to_vec()];
        for _ in 0..100 {
            assert_eq!(
                mutate(&mut a, b"hello", &seeds),
                mutate(&mut b, b"hello", &seeds)
            );
        }
        let target = Target {
            mutate: &mutate,
            exercise: &|d: &[u8]| assert!(!d.contains(&b'!'), "found !"),
        };
        let f = run(&target, &[b"ok".to_vec(), b"bad!".to_vec()], 10, 1).unwrap_err();
        assert_eq!((f.iteration, f.input.as_slice()), (0, b"bad!".as_slice()));
        assert!(f.message.contains("found !"), "{}", f.message);
    }
}
