#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of the input edges with cargo-fuzz (libFuzzer):
#   decode_validate  arbitrary bytes as a MessagePack/JSON candle, then every validation rule
#   csv_reader       arbitrary bytes as a recorded CSV file
#   jsonl_reader     arbitrary bytes as a recorded JSON-lines file
# Each target runs FUZZ_SECONDS (default 60) from fuzz/corpus/<target>/, where libFuzzer adds
# every input that reached new code; commit what it adds (tests/fuzz_corpus.rs replays it all
# on every `cargo test`). A crash leaves its input in fuzz/artifacts/<target>/ and fails.
#
# Stable toolchain: no sanitizer (-s none) needs only stable codegen flags; RUSTC_BOOTSTRAP lets
# cargo-fuzz pass the one unstable flag it always adds.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-/var/tmp/signal-worker-fuzz-target}
targets=${*:-decode_validate csv_reader jsonl_reader}
cargo fuzz build -s none
for target in $targets; do
  echo "fuzz: $target for ${seconds}s"
  cargo fuzz run -s none "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | tail -n 25
done
