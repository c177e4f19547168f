#!/usr/bin/env bash
# Whether webhook delivery slows Graph answers: POST /{id}/messages (each accepted send queues
# its sent/delivered/read status webhooks) with no app subscribed ("none"), against the same
# with the app subscribed and its callback answering 200 ("up") or down ("down": every
# delivery fails and waits for its retry; the queue per callback is bounded). Alternating runs,
# so every variant sees the same machine conditions. Two loads:
# - one connection (CONNECTIONS_LATENCY, default 1): the answer's latency, which shows whether a
#   send waits for its deliveries (it must not);
# - saturating (CONNECTIONS, default 32): requests/s, where deliveries (three POSTs per send,
#   and the receiver's own work) compete for the same cores.
#
#   cargo build --release --bin wa-cloud-emulator --example webhook_sink && bench/webhooks.sh
#
# The callback is examples/webhook_sink.rs (the library's Rust test receiver), so the figures
# are the emulator's delivery work rather than a slow callback's.
#
# Needs wrk and python3. Settings: BIN, DURATION (5s), CONNECTIONS (32), CONNECTIONS_LATENCY
# (1), THREADS (2), ROUNDS (3). Prints each run, the means and each variant's ratio to "none".
set -euo pipefail
# Settings come from the environment only; -h prints the header above.
source "$(dirname "$0")/lib.sh"
environment_only "$0" "$@"
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/wa-cloud-emulator}
DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18231}
BASE="http://127.0.0.1:$PORT"
TOKEN=EAAEmulatorDevToken
WABA=102290129340398
NUMBER=106540352242924   # registered in the default fixtures
APP=880000000000001

work=$(mktemp -d)
cleanup() { kill "${emu_pid:-}" "${hook_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

SINK=${SINK:-$(dirname "$BIN")/examples/webhook_sink}
cat >"$work/send.lua" <<LUA
wrk.method = "POST"
wrk.path = "/v23.0/$NUMBER/messages"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"messaging_product":"whatsapp","to":"15550001111","type":"text","text":{"body":"hi"}}'
LUA

start_emulator() {
  "$BIN" --listen "127.0.0.1:$PORT" --log-format json >"$work/emu.log" 2>&1 &
  emu_pid=$!
  for _ in $(seq 100); do curl -fsS "$BASE/__emulator/health" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "the emulator did not start" >&2; exit 1
}

# variant: none | up | down
prepare() {
  kill "${emu_pid:-}" "${hook_pid:-}" 2>/dev/null || true
  wait 2>/dev/null || true
  start_emulator
  [[ $1 == none ]] && return
  "$SINK" >"$work/sink.url" &
  hook_pid=$!
  for _ in $(seq 100); do [[ -s $work/sink.url ]] && break; sleep 0.05; done
  curl -fsS -X PUT "$BASE/__emulator/apps/$APP/webhook" \
    -d "{\"callback_url\":\"$(cat "$work/sink.url")\",\"verify_token\":\"t\"}" >/dev/null
  curl -fsS -X POST "$BASE/v23.0/$WABA/subscribed_apps" -H "Authorization: Bearer $TOKEN" >/dev/null
  if [[ $1 == down ]]; then
    kill "$hook_pid"; wait "$hook_pid" 2>/dev/null || true; hook_pid=
  fi
}

CONNECTIONS_LATENCY=${CONNECTIONS_LATENCY:-1}
# wrk's latency line: "Latency  avg  stdev  max  +/-": the average, in microseconds.
to_us() { python3 -c "
import re, sys
value, unit = re.match(r'([0-9.]+)([a-z]+)', sys.argv[1]).groups()
print(float(value) * {'us': 1, 'ms': 1000, 's': 1000000}[unit])" "$1"; }
declare -A rps latency
for variant in none up down; do rps[$variant]=0; latency[$variant]=0; done
for round in $(seq "$ROUNDS"); do
  for variant in none up down; do
    prepare "$variant"
    one=$(wrk -t1 -c"$CONNECTIONS_LATENCY" -d"$DURATION" -s "$work/send.lua" "$BASE")
    avg=$(to_us "$(awk '/Latency/ {print $2}' <<<"$one")")
    prepare "$variant"
    many=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$work/send.lua" "$BASE" \
      | awk '/Requests\/sec/ {print $2}')
    echo "round $round $variant: ${avg} us average latency on $CONNECTIONS_LATENCY connection(s), $many requests/s on $CONNECTIONS"
    rps[$variant]=$(python3 -c "print(${rps[$variant]} + $many)")
    latency[$variant]=$(python3 -c "print(${latency[$variant]} + $avg)")
  done
done
python3 - "${latency[none]}" "${latency[up]}" "${latency[down]}" "${rps[none]}" "${rps[up]}" "${rps[down]}" "$ROUNDS" <<'PY'
import sys
ln, lu, ld, rn, ru, rd, rounds = (float(x) for x in sys.argv[1:])
print(f"mean latency (us): none {ln/rounds:,.0f}, callback up {lu/rounds:,.0f} ({lu/ln:.2f}x), callback down {ld/rounds:,.0f} ({ld/ln:.2f}x)")
print(f"mean requests/s:   none {rn/rounds:,.0f}, callback up {ru/rounds:,.0f} ({ru/rn:.2f}x), callback down {rd/rounds:,.0f} ({rd/rn:.2f}x)")
PY
