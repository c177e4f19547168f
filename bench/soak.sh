#!/usr/bin/env bash
# Soak benchmark (not run in CI): the release binary with a capped journal under mixed Graph
# traffic for an hour (or 2 minutes with --quick), one report line per interval (requests,
# errors, latency p50/p95/p99/max, RSS), then a check that RSS stayed flat: it fails (exit 1)
# if RSS grew more than 5% over its value after the first interval (warm-up), or on any 5xx or
# transport error.
#
#   bash bench/soak.sh             # 1 hour, a line per minute
#   bash bench/soak.sh --quick     # 2 minutes, a line per 15 s (or SOAK_QUICK=1)
#
# Environment: SOAK_DURATION (seconds, default 3600), SOAK_INTERVAL (default 60), SOAK_RATE
# (requests/s, default 400), SOAK_MAX_REQUESTS (default 2000000), SOAK_PORT (default 18282),
# SOAK_JOURNAL (journal capacity, default 1000), SOAK_TOLERANCE (default 0.05), SOAK_BINARY (a
# prebuilt emulator binary; default: build and use target/release/wa-cloud-emulator).
#
# The rate limit is set to 100 requests per number per 1 s window and a 1 s block, so the
# register/deregister rotation keeps succeeding most of the time and the limiter's per-number log
# stays bounded (it holds at most `limit` instants).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${SOAK_DURATION:-3600}"
INTERVAL="${SOAK_INTERVAL:-60}"
if [ "${1:-}" = --quick ] || [ "${SOAK_QUICK:-0}" = 1 ]; then
    DURATION="${SOAK_DURATION:-120}"
    INTERVAL="${SOAK_INTERVAL:-15}"
fi
PORT="${SOAK_PORT:-18282}"

BINARY="${SOAK_BINARY:-}"
if [ -z "$BINARY" ]; then
    cargo build --release --locked --quiet --bin wa-cloud-emulator
    BINARY=target/release/wa-cloud-emulator
fi
"$BINARY" --listen "127.0.0.1:$PORT" \
    --journal-capacity "${SOAK_JOURNAL:-1000}" \
    --rate-limit 100 --rate-window 1s --rate-block 1s \
    >target/soak-emulator.log 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$PORT/__emulator/health" >/dev/null 2>&1 && break
    sleep 0.1
done
echo "== soak: $DURATION s, report every $INTERVAL s, pid $PID, journal capacity ${SOAK_JOURNAL:-1000}"
python3 bench/soak.py --port "$PORT" --pid "$PID" --duration "$DURATION" --interval "$INTERVAL" \
    --rate "${SOAK_RATE:-400}" --max-requests "${SOAK_MAX_REQUESTS:-2000000}" \
    --tolerance "${SOAK_TOLERANCE:-0.05}"
