#!/usr/bin/env bash
# Usage: bash scripts/bench-cluster.sh (after a release build; nats-server from scripts/install-test-deps.sh).
# Loopback only: every server and the worker bind 127.0.0.1.
# R1 vs R3 bench, one after the other: a single nats-server, then a 3-node cluster.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${CARGO_TARGET_DIR:-/var/tmp/signal-worker-target}/release/signal-worker
NATS=$ROOT/.venv/bin/nats-server
WORK=$(mktemp -d); cd "$WORK"
rm -rf r1 c0 c1 c2; mkdir -p r1 c0 c1 c2
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ARGS="--series 1000 --candles 40 --rate 5000 --paced-seconds 5"
run_one() { # $1 label, $2 urls, $3 replicas
  M=$(port)
  SIGNAL_WORKER_NATS_URL="$2" SIGNAL_WORKER_NATS_REPLICAS=$3 SIGNAL_WORKER_METRICS_ADDR=127.0.0.1:$M \
    SIGNAL_WORKER_MODEL_DIR=$ROOT/models/default SIGNAL_WORKER_LOG=warn $BIN serve > worker-$1.log 2>&1 &
  W=$!
  sleep 3
  SIGNAL_WORKER_NATS_URL="$2" SIGNAL_WORKER_NATS_REPLICAS=$3 SIGNAL_WORKER_LOG=warn \
    SIGNAL_WORKER_MODEL_DIR=$ROOT/models/default $BIN bench $ARGS --data $ROOT/data/btcusd-1h.csv --nats-url "$2" --worker-pid $W > bench-$1.txt 2>&1
  echo "== $1 (exit $?)"; cat bench-$1.txt
  kill $W; wait $W 2>/dev/null
}
P=$(port)
$NATS -a 127.0.0.1 -p $P -js -sd r1 > r1.log 2>&1 &
S=$!
sleep 1
run_one R1 "nats://127.0.0.1:$P" 1
kill $S; wait $S 2>/dev/null
C=(); R=(); H=()
for i in 0 1 2; do C[$i]=$(port); R[$i]=$(port); H[$i]=$(port); done
ROUTES="nats-route://127.0.0.1:${R[0]}, nats-route://127.0.0.1:${R[1]}, nats-route://127.0.0.1:${R[2]}"
PIDS=()
for i in 0 1 2; do
  cat > c$i.conf <<CONF
server_name: n$i
listen: 127.0.0.1:${C[$i]}
http: 127.0.0.1:${H[$i]}
jetstream { store_dir: "$WORK/c$i" }
cluster { name: bench, listen: 127.0.0.1:${R[$i]}, routes: [$ROUTES] }
CONF
  $NATS -c c$i.conf > c$i.log 2>&1 &
  PIDS+=($!)
done
for _ in $(seq 100); do curl -s 127.0.0.1:${H[0]}/jsz | grep -q '"leader"' && break; sleep 0.2; done
URLS="nats://127.0.0.1:${C[0]},nats://127.0.0.1:${C[1]},nats://127.0.0.1:${C[2]}"
run_one R3 "$URLS" 3
kill ${PIDS[@]}; wait 2>/dev/null
