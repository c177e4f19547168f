"""The crate, the wheel, the binary and the npm package carry one version."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import wa_cloud_emulator
from wa_cloud_emulator import find_binary

# REPO_ROOT points at the repository when the suite runs outside it (.ci/packages.sh sets it).
REPO = Path(os.environ.get("REPO_ROOT") or Path(__file__).resolve().parents[3])


def _cargo_version() -> str:
    text = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    match = re.search(r'^\[package\][^\[]*?^version\s*=\s*"([^"]+)"', text, re.MULTILINE | re.DOTALL)
    assert match, "no [package] version in Cargo.toml"
    return match.group(1)


def test_one_version_everywhere() -> None:
    version = _cargo_version()
    pyproject = (REPO / "packages/python/pyproject.toml").read_text(encoding="utf-8")
    assert re.search(rf'^version = "{re.escape(version)}"$', pyproject, re.MULTILINE)
    package_json = json.loads((REPO / "packages/node/package.json").read_text(encoding="utf-8"))
    assert package_json["version"] == version
    lock = (REPO / "Cargo.lock").read_text(encoding="utf-8")
    assert f'name = "wa-cloud-emulator"\nversion = "{version}"' in lock
    # The installed wheel and the binary it carries.
    assert wa_cloud_emulator.__version__ == version
    output = subprocess.run([find_binary(), "--version"], capture_output=True, text=True, check=True).stdout
    assert output.strip() == f"wa-cloud-emulator {version}"
