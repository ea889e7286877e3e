//! Fuzz target: arbitrary bytes through `fuzz/bodies.rs`: `read_csv_bytes`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../bodies.rs"]
#[allow(dead_code)] // each target runs one of the bodies
mod bodies;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = bodies::read_csv_bytes(data) {
        panic!("invariant broken: {broken}");
    }
});
