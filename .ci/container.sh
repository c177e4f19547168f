#!/usr/bin/env bash
# Container section of CI: builds the FROM-scratch image from a static binary built here (no base
# image is pulled: no registry is reachable), runs it with podman and checks it over HTTP, its
# health check, its size, its SIGTERM stop, and the docker-compose example with podman-compose;
# then the HTTPS compose example (.ci/https-compose.sh) with the same image.
# Works on a fresh Debian machine as root without a terminal; installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
section_start=$SECONDS
run_id="wa-emu-ci-$$"
image="localhost/wa-cloud-emulator:$run_id"
container="$run_id-emulator"
project="$run_id"
compose_file=docker/docker-compose.yml
max_image_bytes=$((15 * 1024 * 1024))
max_stop_ms=5000
work_dir=$(mktemp -d)
failures=0

# pass, fail, die
source .ci/lib.sh   # the scripts run from the repository root (cd above)

cleanup() {
    status=$?
    set +e
    if command -v podman >/dev/null 2>&1; then
        if [ -n "${compose_up:-}" ]; then
            podman-compose -f "$compose_file" -p "$project" down -v -t 2 >/dev/null 2>&1
        fi
        podman rm -f -t 2 "$container" >/dev/null 2>&1
        podman rmi -f "$image" >/dev/null 2>&1
    fi
    rm -rf "$work_dir"
    exit "$status"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

echo "-- install podman, runc, podman-compose"
missing=()
for tool in podman runc curl python3; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq podman runc curl python3 python3-pip >/dev/null
fi
if ! command -v podman-compose >/dev/null 2>&1; then
    if command -v pip >/dev/null 2>&1; then
        pip install -q podman-compose
    else
        command -v pip3 >/dev/null 2>&1 || apt-get install -y -qq python3-pip >/dev/null
        # Debian's system Python refuses plain pip installs (PEP 668) unless told otherwise.
        pip3 install -q podman-compose 2>/dev/null || pip3 install -q --break-system-packages podman-compose
    fi
    hash -r
fi
command -v podman-compose >/dev/null 2>&1 || die "podman-compose is not on PATH after pip install"

# runc (the default crun may be missing or unusable here) and ulimits every container can get.
cat >"$work_dir/containers.conf" <<'EOF'
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
EOF
export CONTAINERS_CONF="$work_dir/containers.conf"
echo "$(podman --version), $(podman-compose --version 2>/dev/null | head -n 1)"

echo "-- static binary (host build, separate target dir)"
binary=target/static/x86_64-unknown-linux-gnu/release/wa-cloud-emulator
RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=target/static \
    cargo build --release --locked --target x86_64-unknown-linux-gnu
linkage=$(ldd "$binary" 2>&1 || true)
case "$linkage" in
*"statically linked"* | *"not a dynamic executable"*) pass "binary is statically linked" ;;
*) die "$binary is dynamically linked: $(echo "$linkage" | tr '\n' ' ')" ;;
esac

echo "-- image (--target from-host: FROM scratch, nothing pulled)"
podman build --pull=never --layers=false --format docker --target from-host \
    --build-arg "BINARY=$binary" -f docker/Dockerfile -t "$image" . ||
    die "podman build"
pass "image built: $image"
size=$(podman image inspect --format '{{.Size}}' "$image")
if [ "$size" -lt "$max_image_bytes" ]; then
    pass "image size $size bytes ($((size / 1024)) KiB) < 15 MiB"
else
    fail "image size $size bytes >= $max_image_bytes"
fi
user=$(podman image inspect --format '{{.Config.User}}' "$image")
case "$user" in
"" | root | 0 | 0:*) fail "image runs as root (User=\"$user\")" ;;
*) pass "image runs as non-root user $user" ;;
esac

echo "-- run the container"
port=$(free_port)
podman run -d --name "$container" -p "127.0.0.1:$port:8080" "$image" >/dev/null ||
    die "podman run"
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "$base/__emulator/health" 2>/dev/null && break
    sleep 0.2
done
health_body=$(curl -sS "$base/__emulator/health" || true)
if [ "$health_body" = '{"status":"ok"}' ]; then
    pass "GET /__emulator/health through the published port"
else
    podman logs "$container" || true
    die "health endpoint answered '$health_body'"
fi

status=$(curl -sS -o "$work_dir/register.json" -w '%{http_code}' -X POST \
    "$base/v23.0/106540352242922/register" \
    -H 'Authorization: Bearer EAAEmulatorDevToken' -H 'Content-Type: application/json' \
    -d '{"messaging_product":"whatsapp","pin":"123456"}' || true)
body=$(cat "$work_dir/register.json" 2>/dev/null || true)
if [ "$status" = 200 ] && [ "$body" = '{"success":true}' ]; then
    pass "register inside the container: $status $body"
else
    fail "register inside the container: expected 200 {\"success\":true}, got $status $body"
fi

if podman healthcheck run "$container"; then
    pass "podman healthcheck run: healthy"
else
    fail "podman healthcheck run: unhealthy"
fi
health=$(podman inspect --format '{{.State.Health.Status}}' "$container" 2>/dev/null ||
    podman inspect --format '{{.State.Healthcheck.Status}}' "$container")
if [ "$health" = healthy ]; then
    pass "podman inspect: health status $health"
else
    fail "podman inspect: health status '$health'"
fi

start_ns=$(date +%s%N)
podman stop -t 10 "$container" >/dev/null
stop_ms=$((($(date +%s%N) - start_ns) / 1000000))
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
if [ "$stop_ms" -lt "$max_stop_ms" ] && [ "$exit_code" = 0 ]; then
    pass "SIGTERM: podman stop took ${stop_ms} ms, exit code $exit_code"
else
    fail "SIGTERM: podman stop took ${stop_ms} ms (limit $max_stop_ms), exit code $exit_code"
fi
podman rm -f "$container" >/dev/null

echo "-- docker-compose example with podman-compose"
compose_up=1
WA_EMU_HOST_PORT=$(free_port)
export WA_EMU_IMAGE="$image" WA_EMU_HOST_PORT
podman-compose -f "$compose_file" -p "$project" up -d ||
    die "podman-compose up"
client="${project}_client_1"
client_exit=$(timeout 120 podman wait "$client" || echo timeout)
podman logs "$client" 2>&1 | sed 's/^/  client| /'
if [ "$client_exit" = 0 ]; then
    pass "compose: example client exited 0 (resolved 'emulator' and ran the flow)"
else
    podman logs "${project}_emulator_1" 2>&1 | tail -n 20 | sed 's/^/  emulator| /'
    fail "compose: example client exited '$client_exit'"
fi
# The data volume keeps the limiter across a restart: the flow's two registers spent 2 of the 5
# (WA_EMU_RATE_LIMIT=5 in the compose file; its unknown-token register is not counted), so after
# a restart 3 succeed and the fourth is 133016.
podman-compose -f "$compose_file" -p "$project" restart emulator >/dev/null 2>&1 ||
    podman restart "${project}_emulator_1" >/dev/null
register_url="http://127.0.0.1:$WA_EMU_HOST_PORT/v23.0/106540352242922/register"
for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$WA_EMU_HOST_PORT/__emulator/health" >/dev/null 2>&1 && break
    sleep 0.2
done
codes=""
for _ in 1 2 3 4; do
    body=$(curl -sS -X POST "$register_url" -H 'Authorization: Bearer EAAEmulatorDevToken' \
        -d messaging_product=whatsapp -d pin=123456 || true)
    case "$body" in
        *'"success":true'*) codes="$codes ok" ;;
        *'"code":133016'*) codes="$codes 133016" ;;
        *) codes="$codes other($body)" ;;
    esac
done
if [ "$codes" = " ok ok ok 133016" ]; then
    pass "compose: state survived a restart on the data volume (registers after restart:$codes)"
else
    fail "compose: state after a restart: registers gave$codes, expected ok ok ok 133016"
fi
podman-compose -f "$compose_file" -p "$project" down -v -t 2 >/dev/null 2>&1 || true
compose_up=

echo "-- HTTPS compose example (.ci/https-compose.sh, same image)"
https_start=$SECONDS
if bash .ci/https-compose.sh; then
    pass "HTTPS compose example ($((SECONDS - https_start))s)"
else
    fail "HTTPS compose example ($((SECONDS - https_start))s)"
fi

finish_section "container"
