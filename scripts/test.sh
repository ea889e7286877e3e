#!/usr/bin/env bash
# The whole test suite on a fresh machine: installs the real servers (NATS 2.15
# with JetStream, Redis, SecantusDB, promtool), checks formatting and lints,
# then runs every test in release mode (unoptimised burn is far too slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-test-deps.sh
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings
# The ndarray backend is a cargo feature (default on): the flex-only build must stay clean too.
cargo clippy --release --no-default-features --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --release --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line over every test binary, so the total is read at a glance.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) g += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, g }' "$log"
exit "$status"
