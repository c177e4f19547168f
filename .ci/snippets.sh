#!/usr/bin/env bash
# Runs the Python (httpx) and Node (undici) transport snippets of docs/guide/https.md ("Clients
# that take a custom transport"), extracted verbatim (the blocks marked `python snippets` and
# `js snippets`), against real emulators, so the page stays true.
# Needs the debug binary (built by `cargo test`), python3, node and npm; installs httpx and
# undici (pinned) into target/snippets.
set -euo pipefail
cd "$(dirname "$0")/.."

binary=target/debug/wa-cloud-emulator
[ -x "$binary" ] || cargo build --locked --bin wa-cloud-emulator
binary=$(realpath "$binary")
work=$(realpath -m target/snippets)
rm -rf "$work/run"
mkdir -p "$work/run"

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; exit 1; }

python3 - docs/guide/https.md "$work/run" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
def block(lang):
    blocks = re.findall(r"^```" + lang + r" snippets\n(.*?)^```", page, re.S | re.M)
    if len(blocks) != 1:
        sys.exit(f"expected one ```{lang} snippets block in {sys.argv[1]}, found {len(blocks)}")
    return blocks[0]
open(sys.argv[2] + "/snippet.py", "w").write(block("python"))
open(sys.argv[2] + "/snippet.mjs", "w").write(block("js"))
PY

if [ ! -x "$work/venv/bin/python" ] || ! "$work/venv/bin/python" -c 'import httpx' 2>/dev/null; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet 'httpx==0.28.1'
fi
if [ ! -d "$work/node_modules/undici" ]; then
    (cd "$work" && npm install --silent --no-audit --no-fund --prefix "$work" 'undici@6.21.3' >/dev/null)
fi
ln -sfn "$work/node_modules" "$work/run/node_modules"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # start HTTPS_ADDR HTTP_PORT
    (cd "$work/run" && exec "$binary" --listen "127.0.0.1:$2" --https-listen "$1" --ca-dir ca \
        >"$work/run/emulator-$2.log" 2>&1) &
    pids+=($!)
    for _ in $(seq 1 100); do
        curl -fsS "http://127.0.0.1:$2/__emulator/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$work/run/emulator-$2.log"
    fail "emulator with HTTPS on $1 did not start"
}

# As the page says: --https-listen 127.0.0.1:8443 --ca-dir ./ca.
start 127.0.0.1:8443 18391
out=$(cd "$work/run" && "$work/venv/bin/python" snippet.py)
[ "$out" = '200 {"success":true}' ] || fail "Python httpx snippet printed: $out"
pass "docs/guide/https.md Python (httpx) snippet: $out"

# The Node snippet keeps the URL's port 443: a second emulator on 443 with the same CA directory.
start 127.0.0.1:443 18392
out=$(cd "$work/run" && node snippet.mjs)
[ "$out" = '200 {"success":true}' ] || fail "Node undici snippet printed: $out"
pass "docs/guide/https.md Node (undici) snippet: $out"
