//! Fuzz target: arbitrary bytes through `signal_worker::testkit::fuzz::decode_and_validate`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = signal_worker::testkit::fuzz::decode_and_validate(data) {
        panic!("invariant broken: {broken}");
    }
});
