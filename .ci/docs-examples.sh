#!/usr/bin/env bash
# Runs every shell example of README.md and docs/ against fresh emulators and checks the outputs
# they show, parses the JSON blocks, and checks relative links and the book's contents
# (.ci/docs_examples.py; conventions in docs/development/docs.md). Lists the blocks it does not
# run. Builds the debug binary (a no-op after `cargo test`); needs python3 (stdlib only), curl
# and jq (installed when missing).
# Usage: bash .ci/docs-examples.sh [--keep] [PAGE.md ...]
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in curl jq python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update && apt-get install -y "${missing[@]}"
fi
cargo build --locked --quiet --bin wa-cloud-emulator   # a no-op when up to date
exec python3 .ci/docs_examples.py --binary target/debug/wa-cloud-emulator "$@"
