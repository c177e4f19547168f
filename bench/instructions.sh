#!/usr/bin/env bash
# User-space instructions per request, floor and emulator, counted by callgrind. Unlike
# requests/s this does not depend on what else the machine is doing, so it shows whether a
# change made the request path cheaper even on a busy or shared machine. See
# docs/development/benchmarks.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/instructions.sh [options]

Runs the floor (examples/floor.rs) and the emulator under valgrind's callgrind, warms each up
with wrk, zeroes the counters, drives a scenario for a while, and prints the instructions
executed per request (user space only: the kernel's share is not counted) and the ratio.

options:
  --scenario S   register | cycle | rejected | badtoken (default register; see bench/wrk/scenario.lua)
  --numbers N    numbers in the fixture (default 100000)
  --seconds S    measured seconds per server (default 10)
  --top K        also list the emulator's K most expensive functions, inclusive (default 0)
  --keep FILE    copy the emulator's callgrind dump to FILE and the floor's to FILE.floor
                 (for callgrind_annotate)
  --profile P    cargo profile to build and run (default release; `profiling` adds line
                 tables, so `callgrind_annotate --auto=yes` can show costs per source line)
  --no-build     use the existing binaries of the profile
  -h, --help     this text
Requires: valgrind, wrk, python3, curl, cargo (apt-get install valgrind wrk).
USAGE
}

scenario=register numbers=100000 seconds=10 top=0 build=1 keep= profile=release
while [[ $# -gt 0 ]]; do
  case "$1" in
    --scenario) scenario="$2"; shift 2 ;;
    --numbers) numbers="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --top) top="$2"; shift 2 ;;
    --keep) keep="$2"; shift 2 ;;
    --profile) profile="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/instructions.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
for tool in valgrind callgrind_control callgrind_annotate wrk python3 curl cargo; do
  command -v "$tool" >/dev/null || { echo "bench/instructions.sh: $tool not found (apt-get install valgrind wrk)" >&2; exit 2; }
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
if [[ $build == 1 ]]; then
  cargo build --profile "$profile" --bin wa-cloud-emulator --example floor
fi
work="$(mktemp -d)"
server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

token=EAABenchToken
python3 bench/gen_fixture.py "$work/load.json" --numbers "$numbers" --token "$token"
export TOKIO_WORKER_THREADS=1 RUST_LOG=warn
port=18097

drive() { # seconds, start counter -> prints the request count
  SCENARIO="$scenario" NUMBERS="$numbers" TOKEN="$token" START="$2" \
    wrk -t1 -c16 -d"$1s" --timeout 30s -s bench/wrk/scenario.lua "http://127.0.0.1:$port" |
    grep '^{' | sed 's/.*"requests":\([0-9]*\).*/\1/'
}

measure() { # name, command... -> prints "name instructions-per-request"
  local name="$1"; shift
  local out="$work/callgrind.$name"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >"$work/$name.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$port/v23.0/0/register" && break
    sleep 0.2
  done
  drive 3 0 >/dev/null # warm-up: connections, allocator, first passes
  callgrind_control --zero "$server" >/dev/null 2>&1
  local requests
  requests="$(drive "$seconds" 1000000)"
  callgrind_control --dump "$server" >/dev/null 2>&1
  sleep 0.5
  kill "$server"; wait "$server" 2>/dev/null || true; server=
  local dump
  dump="$(ls -t "$out".* | head -1)"
  local total
  total="$(grep -E '^(summary|totals):' "$dump" | head -1 | awk '{print $2}')"
  echo "$name $((total / requests)) $requests $dump"
}

echo "== $scenario, $numbers numbers, ${seconds}s each under callgrind (slow: ~50x)"
floor_line="$(measure floor "$target/$profile/examples/floor" "127.0.0.1:$port")"
# As in bench/run.sh: the stateful scenarios lift the rate limit so the register/deregister
# logic runs; `rejected` keeps the default limit so it measures the 133016 answer.
limits=(--rate-limit 1000000 --rate-window 2s)
[[ $scenario == rejected ]] && limits=()
emu_line="$(measure emulator "$target/$profile/wa-cloud-emulator" --listen "127.0.0.1:$port" \
  --fixtures "$work/load.json" "${limits[@]}")"
read -r _ floor_ir floor_requests floor_dump <<<"$floor_line"
read -r _ emu_ir emu_requests emu_dump <<<"$emu_line"
python3 - "$floor_ir" "$floor_requests" "$emu_ir" "$emu_requests" <<'PY'
import sys
floor, floor_n, emu, emu_n = map(int, sys.argv[1:])
print(f"floor:    {floor:>7,} instructions per request ({floor_n:,} requests)")
print(f"emulator: {emu:>7,} instructions per request ({emu_n:,} requests)")
print(f"emulator / floor: {emu / floor:.2f}")
PY
if [[ -n $keep ]]; then
  cp "$emu_dump" "$keep"
  cp "$floor_dump" "$keep.floor"
  echo "== callgrind dumps: $keep ($emu_requests requests), $keep.floor ($floor_requests requests)"
fi
if [[ $top -gt 0 ]]; then
  echo "== the emulator's most expensive functions (inclusive, instructions per request)"
  callgrind_annotate --inclusive=yes "$emu_dump" 2>/dev/null |
    grep -E 'wa_cloud_emulator::' | head -"$top" |
    awk -v n="$emu_requests" '{ c = $1; gsub(",", "", c); f = $0; sub(/^.*\?\?\?:/, "", f); sub(/ \[.*$/, "", f); printf "%8d  %s\n", c / n, f }'
fi
