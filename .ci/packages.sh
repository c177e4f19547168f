#!/usr/bin/env bash
# Packages section of CI: builds the Python wheel (maturin, packages/python) and the npm tarball
# (npm pack, packages/node), checks what they contain, installs each into a fresh environment
# (a new venv; a new npm project) with no Rust on PATH, and runs the example suites there
# (pytest with pywa; node --test with whatsapp-api-js; the Vitest and Jest examples), Testcontainers
# included: against the image built here from the static binary, through podman's socket.
# Works on a fresh Debian machine as root; installs what it needs; idempotent; cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

export DEBIAN_FRONTEND=noninteractive CARGO_TERM_COLOR=never
section_start=$SECONDS
image="localhost/wa-cloud-emulator:packages-ci"
static_binary=target/static/x86_64-unknown-linux-gnu/release/wa-cloud-emulator
out="$repo/target/packages-ci"   # the build venv and the built packages (kept between runs)
work=$(mktemp -d /tmp/wa-emu-packages.XXXXXX)   # fresh install environments (removed)
failures=0
podman_pid=""

# pass, fail, die
source .ci/lib.sh   # the scripts run from the repository root (cd above)

cleanup() {
    status=$?
    set +e
    cleanup_start=$SECONDS
    if command -v podman >/dev/null 2>&1; then
        # Containers the suites may have left behind (a test killed mid-way): only our image's.
        ids=$(podman ps -aq --filter "ancestor=$image" 2>/dev/null)
        [ -n "$ids" ] && podman rm -f -t 2 $ids >/dev/null 2>&1
        podman rmi -f "$image" >/dev/null 2>&1
    fi
    if [ -n "$podman_pid" ]; then
        kill "$podman_pid" 2>/dev/null
        wait "$podman_pid" 2>/dev/null
    fi
    rm -rf "$work"
    echo "-- cleaned up (containers of $image, the image, podman's API service, $work) in $((SECONDS - cleanup_start))s"
    exit "$status"
}
trap cleanup EXIT

# The install and test steps run with this PATH only: no ~/.cargo/bin, no rustup.
clean_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
clean_env() {
    env -i HOME="$HOME" PATH="$clean_path" LANG=C.UTF-8 TMPDIR="${TMPDIR:-/tmp}" "$@"
}

echo "-- tools: python3 (venv), node and npm, podman, runc"
missing=()
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv python3-pip)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v podman >/dev/null 2>&1 || missing+=(podman)
command -v runc >/dev/null 2>&1 || missing+=(runc)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The steps below call these by absolute path under the clean PATH; Debian installs them there.
python=$(command -v python3)
node_bin=$(command -v node)
npm_bin=$(command -v npm)
echo "$("$python" --version), node $("$node_bin" --version), npm $("$npm_bin" --version), $(podman --version)"

echo "-- versions (scripts/bump-version.sh --check)"
if bash scripts/bump-version.sh --check; then :; else fail "versions disagree"; fi

echo "-- build the wheel: maturin build --release (packages/python)"
mkdir -p "$out"
# The build venv also type-checks the package (mypy needs the libraries it imports).
if [ ! -x "$out/build-venv/bin/maturin" ] || [ ! -x "$out/build-venv/bin/mypy" ]; then
    rm -rf "$out/build-venv"
    "$python" -m venv "$out/build-venv"
    "$out/build-venv/bin/pip" install -q --disable-pip-version-check 'maturin>=1.9,<2' mypy pytest httpx 'testcontainers>=4'
fi
rm -rf "$out/dist" && mkdir -p "$out/dist"
step_start=$SECONDS
(cd packages/python && "$out/build-venv/bin/maturin" build --release --out "$out/dist") ||
    die "maturin build"
wheel=$(ls "$out"/dist/wa_cloud_emulator-*.whl)
pass "wheel built in $((SECONDS - step_start))s: $(basename "$wheel"), $(stat -c %s "$wheel") bytes"

# Only the package, the binary and the metadata: no tests, caches or sources of the crate.
unzip -Z1 "$wheel" | sort >"$work/wheel.txt"
unexpected=$(grep -Ev '^wa_cloud_emulator/(__init__|_control|_emulator|_errors|_types|_webhooks|httpx_transport|pytest_plugin|testcontainers)\.py$|^wa_cloud_emulator/py\.typed$|^wa_cloud_emulator-[^/]+\.data/scripts/wa-cloud-emulator$|^wa_cloud_emulator-[^/]+\.dist-info/' "$work/wheel.txt" || true)
if [ -z "$unexpected" ] && grep -q '\.data/scripts/wa-cloud-emulator$' "$work/wheel.txt"; then
    pass "wheel holds $(wc -l <"$work/wheel.txt") files: the package, py.typed, the binary, metadata"
else
    fail "wheel contents: unexpected [$unexpected] or no binary"
fi
unzip -l "$wheel" | sed 's/^/  wheel| /'
if (cd packages/python && "$out/build-venv/bin/mypy" --strict --cache-dir=/dev/null python/wa_cloud_emulator); then
    pass "mypy --strict on wa_cloud_emulator"
else
    fail "mypy --strict on wa_cloud_emulator"
fi

echo "-- build the npm tarball: npm pack (packages/node; prepack copies target/release/wa-cloud-emulator)"
step_start=$SECONDS
rm -f packages/node/bin/wa-cloud-emulator
(cd packages/node && "$npm_bin" pack --silent --pack-destination "$out/dist" >/dev/null) || die "npm pack"
tarball=$(ls "$out"/dist/wa-cloud-emulator-*.tgz)
pass "tarball built in $((SECONDS - step_start))s: $(basename "$tarball"), $(stat -c %s "$tarball") bytes"
tar tzf "$tarball" | sort >"$work/tarball.txt"
expected_tarball=$(printf 'package/%s\n' README.md bin/wa-cloud-emulator index.d.ts index.js package.json \
    setup/index.d.ts setup/index.js setup/jest-global-setup.d.ts setup/jest-global-setup.js \
    setup/jest-global-teardown.d.ts setup/jest-global-teardown.js setup/vitest-global-setup.d.ts \
    setup/vitest-global-setup.js testcontainers.d.ts testcontainers.js | sort)
if [ "$(cat "$work/tarball.txt")" = "$expected_tarball" ]; then
    pass "tarball holds exactly the $(wc -l <"$work/tarball.txt") files it needs"
else
    fail "tarball contents differ from the expected list:"
    diff <(echo "$expected_tarball") "$work/tarball.txt" | sed 's/^/  /' || true
fi
tar tvzf "$tarball" | sed 's/^/  tarball| /'

echo "-- container image for the Testcontainers suites ($image, from the static binary)"
step_start=$SECONDS
# Same build as .ci/container.sh: a no-op when that section already built it.
RUSTFLAGS='-C target-feature=+crt-static' CARGO_TARGET_DIR=target/static \
    cargo build --release --locked --target x86_64-unknown-linux-gnu --bin wa-cloud-emulator ||
    die "static binary build"
cat >"$work/containers.conf" <<'EOF'
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
EOF
export CONTAINERS_CONF="$work/containers.conf"
podman build -q --pull=never --layers=false --format docker --target from-host \
    --build-arg "BINARY=$static_binary" -f docker/Dockerfile -t "$image" . >/dev/null ||
    die "podman build"
pass "image built in $((SECONDS - step_start))s: $image"

# podman's Docker-compatible API on a socket of our own (no clash with another service).
socket="$work/podman.sock"
podman system service --time=0 "unix://$socket" >"$work/podman-service.log" 2>&1 &
podman_pid=$!
for _ in $(seq 1 100); do
    [ -S "$socket" ] && break
    sleep 0.1
done
[ -S "$socket" ] || die "podman system service did not create $socket: $(cat "$work/podman-service.log")"
pass "podman API on unix://$socket (pid $podman_pid)"
# TESTCONTAINERS_CONNECTION_MODE: this CI may itself run in a container (/.dockerenv), where
# testcontainers-python would guess Docker-in-Docker and ask for the gateway's address (which
# podman 4's API does not answer); podman runs on this host, so its published ports are local.
container_env=(DOCKER_HOST="unix://$socket" TESTCONTAINERS_RYUK_DISABLED=true TESTCONTAINERS_CONNECTION_MODE=docker_host
    WA_CLOUD_EMULATOR_IMAGE="$image" WA_CLOUD_EMULATOR_REQUIRE_IMAGE=1 REPO_ROOT="$repo")

echo "-- Python: fresh venv, install the wheel with no Rust on PATH, run pytest"
if clean_env sh -c 'command -v cargo || command -v rustc'; then
    die "the clean PATH still finds cargo or rustc"
fi
step_start=$SECONDS
"$python" -m venv "$work/venv"
clean_env "$work/venv/bin/pip" install -q --disable-pip-version-check \
    "$wheel[testcontainers]" pytest pywa || die "pip install of the wheel"
pass "wheel installed in a fresh venv in $((SECONDS - step_start))s ($(clean_env "$work/venv/bin/wa-cloud-emulator" --version))"
cp -r packages/python/tests "$work/python-tests"
step_start=$SECONDS
if (cd "$work/python-tests" && clean_env "${container_env[@]}" PATH="$work/venv/bin:$clean_path" \
    "$work/venv/bin/python" -m pytest -p no:cacheprovider -v -rs .); then
    pass "pytest in the fresh venv ($((SECONDS - step_start))s)"
else
    fail "pytest in the fresh venv ($((SECONDS - step_start))s)"
fi

echo "-- Node: fresh npm project, install the tarball with no Rust on PATH, run node --test"
step_start=$SECONDS
mkdir -p "$work/node-project"
(
    cd "$work/node-project"
    printf '{"name":"wa-emu-packages-check","private":true,"type":"module"}\n' >package.json
    # testcontainers 11: the newest line that supports Node 20 (12 needs Node 22).
    clean_env "$npm_bin" install --no-audit --no-fund --loglevel=error \
        "$tarball" whatsapp-api-js@^6 testcontainers@^11 vitest@^3 jest@^30 typescript@^5
) || die "npm install of the tarball"
pass "tarball installed in a fresh npm project in $((SECONDS - step_start))s"
cp -r packages/node/tests "$work/node-project/tests"
step_start=$SECONDS
if (cd "$work/node-project" && clean_env "${container_env[@]}" "$node_bin" --test tests/); then
    pass "node --test in the fresh npm project ($((SECONDS - step_start))s)"
else
    fail "node --test in the fresh npm project ($((SECONDS - step_start))s)"
fi

echo "-- Vitest and Jest with the documented global setup, TypeScript types (packages/node/examples)"
cp -r packages/node/examples "$work/node-project/examples"
step_start=$SECONDS
if (cd "$work/node-project/examples/vitest" && clean_env WA_EMULATOR_CLOCK_START=2030-01-01T00:00:00Z \
    "$work/node-project/node_modules/.bin/vitest" run); then
    pass "vitest run with wa-cloud-emulator/vitest-global-setup ($((SECONDS - step_start))s)"
else
    fail "vitest run with wa-cloud-emulator/vitest-global-setup"
fi
step_start=$SECONDS
if (cd "$work/node-project/examples/jest" && clean_env NODE_OPTIONS=--experimental-vm-modules \
    "$work/node-project/node_modules/.bin/jest" --ci 2>&1 | grep -v ExperimentalWarning; exit "${PIPESTATUS[0]}"); then
    pass "jest with wa-cloud-emulator/jest-global-setup and -teardown ($((SECONDS - step_start))s)"
else
    fail "jest with wa-cloud-emulator/jest-global-setup and -teardown"
fi
if (cd "$work/node-project/examples/typescript" && clean_env "$work/node-project/node_modules/.bin/tsc" -p .); then
    pass "tsc --strict: the .d.ts files of the installed package type-check a user's code"
else
    fail "tsc --strict on examples/typescript"
fi

# No emulator started from the fresh environments may outlive its suite (read from /proc: no
# procps needed).
survivors=""
for exe in /proc/[0-9]*/exe; do
    case "$(readlink "$exe" 2>/dev/null)" in
    "$work"/*/wa-cloud-emulator) survivors="$survivors $(basename "$(dirname "$exe")")" ;;
    esac
done
if [ -z "$survivors" ]; then
    pass "no emulator process of the suites is left (the fixtures, stop() and the global teardowns stopped theirs)"
else
    fail "emulator processes left running:$survivors"
fi

leftover=$(podman ps -aq --filter "ancestor=$image")
if [ -z "$leftover" ]; then
    pass "no container of $image left running"
else
    fail "containers left behind: $leftover"
fi

finish_section "packages"
