// npm pack / npm publish: put the emulator binary into bin/. Copies
// $WA_CLOUD_EMULATOR_PREPACK_BINARY, else <target>/release/wa-cloud-emulator of the repository
// (CARGO_TARGET_DIR or ../../target) when it exists, else builds it with cargo first. The copy
// must report this package's version, so a stale binary is never packed.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, "..");
const repo = resolve(packageDir, "../..");
const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, "target");
let source = process.env.WA_CLOUD_EMULATOR_PREPACK_BINARY || join(targetDir, "release", "wa-cloud-emulator");

if (!existsSync(source)) {
  if (process.env.WA_CLOUD_EMULATOR_PREPACK_BINARY) {
    throw new Error(`WA_CLOUD_EMULATOR_PREPACK_BINARY=${source} does not exist`);
  }
  console.error(`prepack: ${source} is missing; building it (cargo build --release --locked)`);
  execFileSync("cargo", ["build", "--release", "--locked", "--bin", "wa-cloud-emulator"], { cwd: repo, stdio: "inherit" });
  source = join(targetDir, "release", "wa-cloud-emulator");
}

const destination = join(packageDir, "bin", "wa-cloud-emulator");
mkdirSync(dirname(destination), { recursive: true });
copyFileSync(source, destination);
chmodSync(destination, 0o755);
const reported = execFileSync(destination, ["--version"], { encoding: "utf8" }).trim();
if (reported !== `wa-cloud-emulator ${version}`) {
  throw new Error(`prepack: ${source} reports "${reported}", expected "wa-cloud-emulator ${version}": rebuild it`);
}
console.error(`prepack: bin/wa-cloud-emulator from ${source} (${reported})`);
