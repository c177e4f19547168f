#!/usr/bin/env bash
# One version for the crate and its packages.
#   scripts/bump-version.sh 0.2.0    sets it in Cargo.toml, Cargo.lock (this crate's entry),
#                                    packages/python/pyproject.toml, packages/node/package.json
#   scripts/bump-version.sh --check  prints each and exits 1 unless they all agree
# Needs only bash, grep and perl (no cargo, python or node).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo_version() { perl -0ne 'print $1 if /^\[package\][^\[]*?^version\s*=\s*"([^"]+)"/ms' Cargo.toml; }
lock_version() { perl -0ne 'print $1 if /^name = "wa-cloud-emulator"\nversion = "([^"]+)"/m' Cargo.lock; }
pyproject_version() { perl -0ne 'print $1 if /^\[project\][^\[]*?^version\s*=\s*"([^"]+)"/ms' packages/python/pyproject.toml; }
package_json_version() { perl -0ne 'print $1 if /^\s*"version"\s*:\s*"([^"]+)"/m' packages/node/package.json; }

check() {
    local cargo lock pyproject npm
    cargo=$(cargo_version) lock=$(lock_version) pyproject=$(pyproject_version) npm=$(package_json_version)
    printf '%-34s %s\n' Cargo.toml "$cargo" Cargo.lock "$lock" \
        packages/python/pyproject.toml "$pyproject" packages/node/package.json "$npm"
    if [ -n "$cargo" ] && [ "$cargo" = "$lock" ] && [ "$cargo" = "$pyproject" ] && [ "$cargo" = "$npm" ]; then
        echo "PASS versions agree: $cargo"
    else
        echo "FAIL versions disagree (scripts/bump-version.sh NEW sets them all)"
        return 1
    fi
}

case "${1:-}" in
--check) check ;;
"" | -h | --help)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    [ -n "${1:-}" ] || exit 2
    ;;
*)
    new=$1
    if ! [[ "$new" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
        echo "not a version: $new (expected MAJOR.MINOR.PATCH or MAJOR.MINOR.PATCH-PRE)" >&2
        exit 2
    fi
    # PEP 440 spells a pre-release differently (0.2.0-rc.1 -> 0.2.0rc1): refuse rather than guess.
    if [[ "$new" == *-* ]]; then
        echo "pre-release versions differ between Cargo/npm and PEP 440; set them by hand" >&2
        exit 2
    fi
    export NEW=$new
    perl -0pi -e 's/(^\[package\][^\[]*?^version\s*=\s*")[^"]+"/${1}$ENV{NEW}"/ms' Cargo.toml
    perl -0pi -e 's/(^name = "wa-cloud-emulator"\nversion = ")[^"]+"/${1}$ENV{NEW}"/m' Cargo.lock
    perl -0pi -e 's/(^\[project\][^\[]*?^version\s*=\s*")[^"]+"/${1}$ENV{NEW}"/ms' packages/python/pyproject.toml
    perl -0pi -e 's/(^\s*"version"\s*:\s*")[^"]+"/${1}$ENV{NEW}"/m' packages/node/package.json
    check
    ;;
esac
