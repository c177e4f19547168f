#!/usr/bin/env bash
# Throughput with --data-dir (redb, group commit, fsync before each answer) against the
# in-memory default, on the same machine, alternating runs so both see the same conditions.
#
#   cargo build --release && bench/persistence.sh
#
# Needs wrk (apt-get install wrk). Settings: BIN, DURATION (5s), CONNECTIONS (32),
# THREADS (2), ROUNDS (3). Prints requests/s of each run and the ratio of the means.
# Two workloads, both POST /register spread over the default fixture's numbers:
# - "refused": the default limits, so after the first ten per number nearly every answer is
#   the 133016 block. A refusal during a block changes nothing, so nothing is committed for it:
#   this measures what a rate-limited client hammering costs.
# - "changes": POST /{id} with {"pin":"123456"} on the same numbers (sets the two-step PIN):
#   every answer is a state change, queued, committed and fsynced before it is sent. (Lifting
#   the register limit instead would grow each number's limiter log without bound, and the
#   store would write that ever longer log for every request.)
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
PORT=${PORT:-18391}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[ -x "$BIN" ] || { echo "$BIN is missing: cargo build --release" >&2; exit 1; }

work=$(mktemp -d)
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/register.lua" <<'LUA'
local numbers = {"106540352242922", "106540352242923", "106540352242924", "106540352242925",
                 "106540352242926", "106540352242927", "106540352242930"}
local counter = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer EAAEmulatorDevToken"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"messaging_product":"whatsapp","pin":"123456"}'
request = function()
    counter = counter + 1
    local id = numbers[(counter % #numbers) + 1]
    return wrk.format(nil, "/v23.0/" .. id .. "/register")
end
LUA
sed -e 's|wrk.body = .*|wrk.body = '"'"'{"pin":"123456"}'"'"'|' \
    -e 's|"/v23.0/" .. id .. "/register"|"/v23.0/" .. id|' "$work/register.lua" > "$work/pin.lua"

run() { # $1: label, $2: wrk script, rest: extra flags
    local label=$1 script=$2; shift 2
    "$BIN" --listen "127.0.0.1:$PORT" --journal-capacity 1000 "$@" >/dev/null 2>"$work/stderr" &
    server=$!
    for _ in $(seq 100); do
        curl -fsS "http://127.0.0.1:$PORT/__emulator/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
    local rps
    rps=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$script" \
        "http://127.0.0.1:$PORT" | awk '/Requests\/sec/ {print $2}')
    kill -TERM "$server"; wait "$server" || true; server=""
    echo "$label $rps"
}

results="$work/results"
: > "$results"
for round in $(seq "$ROUNDS"); do
    run memory-refused "$work/register.lua" | tee -a "$results"
    run persisted-refused "$work/register.lua" --data-dir "$work/data-refused-$round" \
        | tee -a "$results"
    run memory-changes "$work/pin.lua" | tee -a "$results"
    run persisted-changes "$work/pin.lua" --data-dir "$work/data-changes-$round" \
        | tee -a "$results"
done
awk '{ sum[$1] += $2; n[$1]++ }
     END { for (load in n) if (load ~ /^memory-/) {
               kind = substr(load, 8); m = sum[load] / n[load];
               p = sum["persisted-" kind] / n["persisted-" kind];
               printf "%s: mean requests/s memory %.0f, persisted %.0f, ratio %.2f\n", kind, m, p, p / m } }' "$results"
