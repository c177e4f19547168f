#!/usr/bin/env bash
# Benchmark of the emulator against a no-logic axum floor. See docs/development/benchmarks.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: bench/run.sh [options]

Builds in release mode, generates fixtures, and measures on loopback:
  * wrk load (register, register/deregister cycle, rate-limit rejected, bad token) against the
    emulator and against the floor (examples/floor.rs), alternating, several rounds, medians;
  * start-up time to the first successful answer and idle RSS (default fixtures);
  * load time and RSS with a large fixture (1 000 000 numbers by default);
  * RSS over a long run after warm-up (leak check);
  * criterion micro-benchmarks (benches/domain.rs).
Servers are pinned to core 0 (TOKIO_WORKER_THREADS=1), wrk to core 1.
Results: bench/results/latest.md and bench/results/latest.json.

options:
  --numbers N      numbers in the load fixture (default 100000)
  --big N          numbers in the large fixture (default 1000000; 0 skips)
  --rounds R       alternating floor/emulator rounds per scenario (default 5)
  --seconds S      seconds per wrk run (default 10)
  --connections C  wrk connections (default 64)
  --warmup S       warm-up seconds before the long run (default 20)
  --long S         long-run seconds for the RSS leak check (default 120; 0 skips)
  --quick          short everything: --rounds 3 --seconds 3 --warmup 5 --long 20
  --no-build       use the existing release binaries
  --no-criterion   skip the criterion micro-benchmarks
  --out DIR        results directory (default bench/results)
  -h, --help       this text
Requires: wrk, python3, taskset (util-linux), cargo. Install wrk with `apt-get install wrk`.
USAGE
}

invocation="bench/run.sh $*"
numbers=100000 big=1000000 rounds=5 seconds=10 connections=64 warmup=20 long=120
build=1 criterion=1
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/bench/results"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --numbers) numbers="$2"; shift 2 ;;
    --big) big="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --long) long="$2"; shift 2 ;;
    --quick) rounds=3 seconds=3 warmup=5 long=20; shift ;;
    --no-build) build=0; shift ;;
    --no-criterion) criterion=0; shift ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

for tool in wrk python3 taskset cargo curl; do
  command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool not found (wrk: apt-get install wrk)" >&2; exit 2; }
done

cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
emulator="$target/release/wa-cloud-emulator"
floor="$target/release/examples/floor"
if [[ $build == 1 ]]; then
  echo "== building (release)"
  cargo build --release --bin wa-cloud-emulator --example floor
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

token=EAABenchToken
echo "== generating fixtures ($numbers numbers)"
python3 bench/gen_fixture.py "$work/load.json" --numbers "$numbers" --token "$token"

floor_port=18090 emu_port=18080 limited_port=18081
bench_rate_limit=1000000 bench_rate_window=2s
export TOKIO_WORKER_THREADS=1 RUST_LOG=warn

last_pid=
start_server() { # name, command... (sets last_pid)
  local name="$1"; shift
  taskset -c 0 "$@" >"$work/$name.log" 2>&1 &
  last_pid=$!
  pids+=("$last_pid")
}

wait_ready() { # port
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null -X POST "http://127.0.0.1:$1/v23.0/0/register"; then return 0; fi
    sleep 0.1
  done
  echo "bench/run.sh: nothing answers on port $1" >&2; exit 1
}

check() { # description, expected substring, curl args...
  local what="$1" expected="$2"; shift 2
  local answer
  answer="$(curl -sS -w ' HTTP %{http_code}' "$@")"
  if [[ $answer != *"$expected"* ]]; then
    echo "bench/run.sh: sanity check failed ($what): $answer" >&2; exit 1
  fi
  echo "   ok: $what -> $answer"
}

echo "== starting floor and emulators (core 0)"
start_server floor "$floor" "127.0.0.1:$floor_port"
start_server emulator "$emulator" --listen "127.0.0.1:$emu_port" --fixtures "$work/load.json" \
  --rate-limit "$bench_rate_limit" --rate-window "$bench_rate_window"
emu_pid=$last_pid
start_server limited "$emulator" --listen "127.0.0.1:$limited_port" --fixtures "$work/load.json"
for port in $floor_port $emu_port $limited_port; do wait_ready "$port"; done

body='{"messaging_product":"whatsapp","pin":"123456"}'
auth=(-H "Authorization: Bearer $token" -H 'Content-Type: application/json')
last_id=$((2000000000000000 + numbers - 1))
check "register" '{"success":true} HTTP 200' -X POST "${auth[@]}" -d "$body" \
  "http://127.0.0.1:$emu_port/v23.0/$last_id/register"
check "deregister" '{"success":true} HTTP 200' -X POST "${auth[@]}" -d "$body" \
  "http://127.0.0.1:$emu_port/v23.0/$last_id/deregister"
check "deregister unregistered" '"code":100' -X POST "${auth[@]}" -d "$body" \
  "http://127.0.0.1:$emu_port/v23.0/$last_id/deregister"
check "bad token" '"code":190' -X POST -H 'Authorization: Bearer EAAUnknownBenchToken' \
  -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$emu_port/v23.0/2000000000000000/register"
for _ in $(seq 1 10); do
  curl -s -o /dev/null -X POST "${auth[@]}" -d "$body" "http://127.0.0.1:$limited_port/v23.0/2000000000000000/register"
done
check "rate limited" '"code":133016' -X POST "${auth[@]}" -d "$body" \
  "http://127.0.0.1:$limited_port/v23.0/2000000000000000/register"

mkdir -p "$out"
results="$work/results"
mkdir -p "$results"
run_wrk() { # label, scenario, port, seconds[, start counter]
  LABEL="$1" SCENARIO="$2" NUMBERS="$numbers" TOKEN="$token" START="${5:-0}" taskset -c 1 \
    wrk -t1 -c"$connections" -d"${4}s" --timeout 5s -s bench/wrk/scenario.lua "http://127.0.0.1:$3" \
    | grep '^{' | tee -a "$results/wrk.jsonl"
}

echo "== load: $rounds rounds x 4 scenarios x (floor, emulator), ${seconds}s each"
for round in $(seq 1 "$rounds"); do
  for scenario in register cycle rejected badtoken; do
    port=$emu_port
    [[ $scenario == rejected ]] && port=$limited_port
    run_wrk "floor-$round" "$scenario" "$floor_port" "$seconds"
    run_wrk "emulator-$round" "$scenario" "$port" "$seconds"
  done
done

if [[ $long -gt 0 ]]; then
  echo "== long run: ${warmup}s warm-up, then ${long}s with RSS samples (cycle scenario)"
  # Warm-up must cover a register pass and a deregister pass over every number (each
  # number's two limiter windows are allocated on first use), however slow the machine:
  # repeat it (bounded) until 2 x numbers requests have been made, continuing the passes.
  done_requests=0
  for _ in $(seq 1 20); do
    line="$(run_wrk "warmup" cycle "$emu_port" "$warmup" "$done_requests")"
    done_requests=$((done_requests + $(sed 's/.*"requests":\([0-9]*\).*/\1/' <<<"$line")))
    [[ $done_requests -ge $((2 * numbers)) ]] && break
  done
  echo "   warm-up: $done_requests requests"
  step=$(( long / 12 > 0 ? long / 12 : 1 ))
  (
    t=0
    while [[ $t -le $long ]]; do
      echo "{\"t\":$t,\"rss_kb\":$(python3 bench/measure.py rss "$emu_pid")}" >>"$results/rss.jsonl"
      sleep "$step"; t=$((t + step))
    done
  ) &
  sampler=$!
  run_wrk "long" cycle "$emu_port" "$long" "$done_requests" >/dev/null
  wait "$sampler" || true
  echo "{\"t\":\"end\",\"rss_kb\":$(python3 bench/measure.py rss "$emu_pid")}" >>"$results/rss.jsonl"
fi
for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
wait 2>/dev/null || true
pids=()

echo "== start-up and idle RSS (default fixtures)"
python3 bench/measure.py startup --binary "$emulator" --trials 10 | tee "$results/startup.jsonl"
if [[ $big -gt 0 ]]; then
  echo "== large fixture ($big numbers)"
  python3 bench/gen_fixture.py "$work/big.json" --numbers "$big" --token "$token"
  python3 bench/measure.py startup --binary "$emulator" --fixtures "$work/big.json" --trials 3 \
    --token "$token" --number 2000000000000000 --idle 2 --timeout 120 | tee "$results/big.jsonl"
  sed -i "s#\"$work/big.json\"#\"$big numbers (generated)\"#" "$results/big.jsonl"
  rm -f "$work/big.json"
fi

if [[ $criterion == 1 ]]; then
  echo "== criterion micro-benchmarks"
  rm -rf "$target/criterion"
  taskset -c 0 cargo bench --bench domain -- --warm-up-time 1 --measurement-time 3 | grep -E '^[a-z_/]+ +time:|time:' || true
  python3 bench/measure.py criterion "$target/criterion" | tee "$results/criterion.jsonl"
fi

cat >"$results/meta.json" <<META
{"date": "$(date -u +%Y-%m-%dT%H:%MZ)", "commit": "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml || echo '+dirty')",
 "rustc": "$(rustc --version)", "wrk": "$(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)",
 "command": "$invocation", "numbers": $numbers, "big_numbers": $big, "rounds": $rounds,
 "seconds": $seconds, "connections": $connections, "warmup_seconds": $warmup, "long_seconds": $long,
 "bench_rate_limit": $bench_rate_limit, "bench_rate_window": "$bench_rate_window"}
META
python3 bench/measure.py summarize "$results" "$out/latest.md" "$out/latest.json"
echo "== written $out/latest.md and $out/latest.json"
