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
cargo test --release --no-fail-fast
