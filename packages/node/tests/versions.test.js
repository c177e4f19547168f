// The npm package, the binary inside it, the crate and the Python package carry one version.
// REPO_ROOT points at the repository when the suite runs outside it (.ci/packages.sh sets it).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

import { findBinary } from "wa-cloud-emulator";

const repo = process.env.REPO_ROOT || resolve(fileURLToPath(new URL("../../..", import.meta.url)));

test("one version in Cargo.toml, Cargo.lock, pyproject.toml, package.json and the binary", () => {
  const cargo = readFileSync(join(repo, "Cargo.toml"), "utf8");
  const version = /^\[package\][^[]*?^version\s*=\s*"([^"]+)"/ms.exec(cargo)?.[1];
  assert.ok(version, "Cargo.toml has a [package] version");
  const lock = readFileSync(join(repo, "Cargo.lock"), "utf8");
  assert.ok(lock.includes(`name = "wa-cloud-emulator"\nversion = "${version}"`), "Cargo.lock entry");
  const pyproject = readFileSync(join(repo, "packages/python/pyproject.toml"), "utf8");
  assert.match(pyproject, new RegExp(`^version = "${version.replaceAll(".", "\\.")}"$`, "m"));
  const installed = createRequire(import.meta.url)("wa-cloud-emulator/package.json");
  assert.equal(installed.version, version, "the installed npm package");
  const source = JSON.parse(readFileSync(join(repo, "packages/node/package.json"), "utf8"));
  assert.equal(source.version, version);
  assert.equal(execFileSync(findBinary(), ["--version"], { encoding: "utf8" }).trim(), `wa-cloud-emulator ${version}`);
});
