#!/usr/bin/env bash
# HTTPS compose section of CI: brings up docker/docker-compose.https.yml with podman-compose (the
# emulator as graph.facebook.com on 443 with its CA on a named volume, and the example client
# trusting that CA through SSL_CERT_FILE), checks that the client exited 0, and tears everything
# down, volumes included.
#
# Called at the end of .ci/container.sh with WA_EMU_IMAGE (the image it built) and
# CONTAINERS_CONF exported. Run alone, it sets up podman the same way, builds the static binary
# and the image itself, and removes the image afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

section_start=$SECONDS
project="wa-emu-https-ci-$$"
compose_file=docker/docker-compose.https.yml
work_dir=$(mktemp -d)
failures=0

# pass, fail, die
source .ci/lib.sh   # the scripts run from the repository root (cd above)

cleanup() {
    status=$?
    set +e
    if [ -n "${compose_up:-}" ]; then
        podman-compose -f "$compose_file" -p "$project" down -v -t 2 >/dev/null 2>&1
        podman volume rm -f "${project}_emulator-ca" >/dev/null 2>&1
    fi
    if [ -n "${own_image:-}" ]; then
        podman rmi -f "$WA_EMU_IMAGE" >/dev/null 2>&1
    fi
    rm -rf "$work_dir"
    exit "$status"
}
trap cleanup EXIT

for tool in podman podman-compose; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (run .ci/container.sh, which installs it)"
done
if [ -z "${CONTAINERS_CONF:-}" ]; then
    cat >"$work_dir/containers.conf" <<'CONF'
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
CONF
    export CONTAINERS_CONF="$work_dir/containers.conf"
fi
if [ -z "${WA_EMU_IMAGE:-}" ]; then
    echo "-- static binary and image (run alone)"
    binary=target/static/x86_64-unknown-linux-gnu/release/wa-cloud-emulator
    RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=target/static \
        cargo build --release --locked --target x86_64-unknown-linux-gnu
    WA_EMU_IMAGE="localhost/wa-cloud-emulator:$project"
    own_image=1
    podman build --pull=never --layers=false --format docker --target from-host \
        --build-arg "BINARY=$binary" -f docker/Dockerfile -t "$WA_EMU_IMAGE" . >/dev/null ||
        die "podman build"
fi
export WA_EMU_IMAGE

echo "-- HTTPS compose example (graph.facebook.com alias, port 443, CA volume) with podman-compose"
compose_up=1
podman-compose -f "$compose_file" -p "$project" up -d >"$work_dir/up.log" 2>&1 || {
    sed 's/^/  up| /' "$work_dir/up.log"
    die "podman-compose up"
}
client="${project}_client_1"
emulator="${project}_emulator_1"
client_exit=$(timeout 120 podman wait "$client" || echo timeout)
podman logs "$client" >"$work_dir/client.log" 2>&1 || true
sed 's/^/  client| /' "$work_dir/client.log"
if [ "$client_exit" = 0 ]; then
    pass "https compose: client exited 0"
else
    podman logs "$emulator" 2>&1 | tail -n 20 | sed 's/^/  emulator| /'
    fail "https compose: client exited '$client_exit'"
fi
# The exit code is the verdict; these say what it covered, so a weakened client shows here.
expect_line() {
    if grep -q -- "$1" "$work_dir/client.log"; then
        pass "https compose: $2"
    else
        fail "https compose: $2 (no line matching '$1')"
    fi
}
expect_line 'PASS trusting 1 CA certificate(s) from /ca/ca.pem' \
    "client trusted only the CA from the shared volume (SSL_CERT_FILE)"
expect_line 'PASS emulator at https://graph.facebook.com is healthy (certificate verified)' \
    "graph.facebook.com resolved to the emulator on 443, certificate verified"
expect_line 'PASS register: POST https://graph.facebook.com/v21.0/106540352242922/register 200' \
    "register by name over HTTPS"
expect_line 'PASS send a message after deregistering: .* 400 .*133010' \
    "after deregister, /messages answers 133010"
user=$(podman inspect --format '{{.Config.User}}' "$emulator" 2>/dev/null || true)
case "$user" in
"" | root | 0 | 0:*) fail "https compose: emulator runs as root (User=\"$user\")" ;;
*) pass "https compose: emulator bound 443 as non-root user $user (sysctl ip_unprivileged_port_start=0)" ;;
esac

podman-compose -f "$compose_file" -p "$project" down -v -t 2 >/dev/null 2>&1 || true
podman volume rm -f "${project}_emulator-ca" >/dev/null 2>&1 || true
if podman volume exists "${project}_emulator-ca" 2>/dev/null; then
    fail "https compose: CA volume left behind"
else
    pass "https compose: torn down, CA volume removed"
fi
compose_up=

finish_section "https compose"
