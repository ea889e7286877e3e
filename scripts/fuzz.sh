#!/usr/bin/env bash
# Bounded coverage-guided fuzzing of the input edges with cargo-fuzz (libFuzzer):
#   decode_validate  arbitrary bytes as a MessagePack/JSON candle, then every validation rule
#   csv_reader       arbitrary bytes as a recorded CSV file
#   jsonl_reader     arbitrary bytes as a recorded JSON-lines file
# Each target runs FUZZ_SECONDS (default 60) from the hand-written fuzz/seeds/<target>/ and the
# generated fuzz/corpus/<target>/, where libFuzzer adds every input that reached new code; the
# corpus is then minimised. Commit both (tests/pipeline/fuzz_corpus.rs replays them on every
# `cargo test`). A crash leaves its input in fuzz/artifacts/<target>/ and fails the script;
# once fixed, copy it into fuzz/seeds/<target>/ under a name that says what it found.
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
  # libFuzzer's progress lines (#N ...) are dropped; findings and final stats are kept.
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run -s none "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 2>&1 | grep -vE '^#[0-9]+'
  # Keep only inputs that add coverage, so the committed corpus stays small.
  cargo fuzz cmin -s none "$target" "fuzz/corpus/$target" -- -max_len=4096 2>&1 | tail -n 2
done
