#!/usr/bin/env python3
"""Runs the shell examples of README.md and docs/**/*.md against fresh emulators and checks
their outputs; checks the JSON blocks, the relative links and the book's table of contents.

Python 3.11 standard library only. Called by .ci/docs-examples.sh (which builds the binary and
installs curl and jq); the conventions are described in docs/development/docs.md:

- A fenced block whose info string starts with `sh`, `bash` or `shell` is run, unless the info
  string also has the word `no-run`. Every page (file) gets a fresh emulator on
  127.0.0.1:8080 (another free port, substituted in commands and outputs, when 8080 is taken)
  with the default fixtures, `--id-seed 24301` and a manual clock starting at
  2026-11-25T12:00:00Z; the blocks of a page run in order in one bash session (variables,
  functions and the working directory carry over), in a fresh temporary directory, with the
  binary's directory first on PATH.
- A command is one or more lines, up to the first point where bash can parse it (`\\`
  continuations, loops, functions). It must exit 0.
- The `# ` comment lines right after a command are its expected output (stdout and stderr
  together, trailing newlines ignored). `...` in them matches any text. Without `...`, an
  expected output that is JSON may be wrapped over several lines: it is compared as JSON with
  its key order. A command with no comment lines right after it has its output ignored.
  Prose comments after an output are separated from it by a blank line.
- `json` blocks must parse (unless `no-run`). `rust` blocks are checked by
  `cargo test --test docs` (each must appear verbatim in a test under tests/), unless marked
  `rust,ignore` or `no-run`. Other code
  blocks (`python`, `js`) must say where they are tested: `snippets` (.ci/snippets.sh runs
  them) or `no-run`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8080
EMULATOR_ARGS = ["--clock", "manual", "--clock-start", "2026-11-25T12:00:00Z", "--id-seed", "24301"]
SHELL_LANGS = {"sh", "bash", "shell"}
TESTED_ELSEWHERE_LANGS = {"python", "py", "js", "javascript", "ts", "typescript", "mjs"}
# Files that other branches add (Python and Node packages, the architecture document): a link to
# them is reported as pending until they exist, then checked like any other.
PENDING_ELSEWHERE = {"packages/python/README.md", "packages/node/README.md", "docs/ARCHITECTURE.md"}
PAGE_TIMEOUT_S = 180


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    attrs: list[str]
    lines: list[str]

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


@dataclass
class Command:
    block: Block
    line: int
    text: str
    expected: list[str] | None


@dataclass
class Report:
    run_blocks: int = 0
    commands: int = 0
    outputs_checked: int = 0
    json_blocks: int = 0
    not_run: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    links: int = 0
    pending_links: set[str] = field(default_factory=set)


# ---------------------------------------------------------------------------------------------
# Markdown


FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def fenced_blocks(path: Path) -> list[Block]:
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, info = match["indent"], match["fence"], match["info"].strip()
        words = [w for w in re.split(r"[\s,]+", info) if w]
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            closing = lines[i].strip()
            if closing.startswith(fence[0] * len(fence)) and set(closing) == {fence[0]}:
                break
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            i += 1
        blocks.append(Block(path, start + 1, words[0] if words else "", words[1:], body))
        i += 1
    return blocks


def github_slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links and images: their text
    text = text.replace("`", "").replace("*", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result: set[str] = set()
    in_fence = False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = github_slug(match[1])
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.M)


def strip_code(text: str) -> str:
    """Text without fenced blocks and inline code, where links are not links."""
    out: list[str] = []
    in_fence = False
    for line in text.split("\n"):
        if FENCE.match(line):
            in_fence = not in_fence
            out.append("")
            continue
        out.append("" if in_fence else re.sub(r"`[^`]*`", "", line))
    return "\n".join(out)


def check_links(path: Path, report: Report) -> None:
    text = strip_code(path.read_text(encoding="utf-8"))
    targets = [m[1] for m in LINK.finditer(text)] + REF_DEF.findall(text)
    for target in targets:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        report.links += 1
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}: link {target}"
        try:
            relative = resolved.relative_to(ROOT).as_posix()
        except ValueError:
            report.failures.append(f"{where} leaves the repository")
            continue
        if not resolved.exists():
            if relative in PENDING_ELSEWHERE:
                report.pending_links.add(relative)
            else:
                report.failures.append(f"{where}: {relative} does not exist")
            continue
        if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            report.failures.append(f"{where}: no heading with anchor #{anchor} in {relative}")


def check_summary(pages: list[Path], report: Report) -> None:
    """Every page under docs/ is in the book's table of contents (docs/SUMMARY.md) and in the
    overview of docs/README.md, and so is every page the contents list."""
    summary = ROOT / "docs" / "SUMMARY.md"
    overview = ROOT / "docs" / "README.md"
    for index in (summary, overview):
        if not index.exists():
            report.failures.append(f"{index.relative_to(ROOT)} is missing")
            continue
        listed = {
            (index.parent / m[1].partition("#")[0]).resolve()
            for m in LINK.finditer(strip_code(index.read_text(encoding="utf-8")))
        }
        expected = {p.resolve() for p in pages if p.is_relative_to(ROOT / "docs")}
        expected |= {(ROOT / p).resolve() for p in PENDING_ELSEWHERE if p.startswith("docs/")}
        for page in sorted(expected - listed - {summary.resolve(), overview.resolve()}):
            report.failures.append(
                f"{page.relative_to(ROOT)} is not listed in {index.relative_to(ROOT)}"
            )


# ---------------------------------------------------------------------------------------------
# Shell blocks


HEREDOC = re.compile(r"<<(-?)\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")


def parses(text: str) -> bool:
    if text.rstrip().endswith("\\"):
        return False
    result = subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True)
    return result.returncode == 0


def commands_of(block: Block, report: Report) -> list[Command]:
    commands: list[Command] = []
    lines = block.lines
    i = 0
    while i < len(lines):
        stripped = lines[i].strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i
        text: list[str] = []
        while True:
            if i >= len(lines):
                report.failures.append(
                    f"{block.where}: the command at line {block.line + 1 + start} never ends"
                )
                return commands
            line = lines[i]
            text.append(line)
            i += 1
            # A here-document's body runs up to its delimiter (bash -n accepts it unterminated).
            for dash, delimiter in HEREDOC.findall(line):
                while i < len(lines):
                    body = lines[i]
                    text.append(body)
                    i += 1
                    if (body.lstrip("\t") if dash else body) == delimiter:
                        break
            if parses("\n".join(text)):
                break
        expected: list[str] | None = None
        while i < len(lines) and (lines[i].startswith("# ") or lines[i] == "#"):
            expected = (expected or []) + [lines[i][2:]]
            i += 1
        commands.append(Command(block, block.line + 1 + start, "\n".join(text), expected))
    return commands


def json_pairs(text: str):
    return json.loads(text, object_pairs_hook=lambda pairs: pairs)


def output_matches(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    if "..." in expected:
        pattern = ".*?".join(re.escape(piece) for piece in expected.split("..."))
        return re.fullmatch(pattern, actual, re.S) is not None
    try:
        return json_pairs(expected) == json_pairs(actual)
    except ValueError:
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def substitute_port(text: str, port: int) -> str:
    if port == DEFAULT_PORT:
        return text
    for host in ("127.0.0.1", "localhost"):
        text = text.replace(f"{host}:{DEFAULT_PORT}", f"{host}:{port}")
    return text


def start_emulator(binary: Path, port: int, workdir: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_EMU_")}
    log = open(workdir / "emulator.log", "wb")
    process = subprocess.Popen(
        [str(binary), "--listen", f"127.0.0.1:{port}", *EMULATOR_ARGS],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__emulator/health", timeout=1):
                return process
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(
        f"emulator on port {port} did not start:\n{(workdir / 'emulator.log').read_text()}"
    )


def stop_group(process: subprocess.Popen) -> None:
    """Kills the process and everything it left in its process group (background emulators),
    and waits until they are gone, so that their ports are free for the next page."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        reap_orphans()
        time.sleep(0.02)


def become_subreaper() -> None:
    """Background processes a page leaves behind are re-parented to this script (not to PID 1,
    which may never reap them), so that stop_group can reap them and know they are gone."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_page(path: Path, commands: list[Command], binary: Path, port: int, report: Report,
             keep: bool) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="docs-examples-"))
    (workdir / "fixtures").symlink_to(ROOT / "fixtures")
    scripts = workdir / ".run"
    scripts.mkdir()
    driver = ["set -o pipefail"]
    for index, command in enumerate(commands):
        (scripts / f"{index}.sh").write_text(substitute_port(command.text, port) + "\n")
        driver.append(
            f'. "{scripts}/{index}.sh" >"{scripts}/{index}.out" 2>&1 </dev/null; '
            f'__rc=$?; echo $__rc >"{scripts}/{index}.rc"; [ $__rc -eq 0 ] || exit 100'
        )
    (scripts / "driver.sh").write_text("\n".join(driver) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WA_EMU_")}
    env["PATH"] = f"{binary.parent}{os.pathsep}{env.get('PATH', '')}"
    emulator = start_emulator(binary, port, workdir)
    try:
        with open(scripts / "driver.log", "wb") as log:
            driver_process = subprocess.Popen(
                ["bash", str(scripts / "driver.sh")], cwd=workdir, env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
            try:
                driver_process.wait(timeout=PAGE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                report.failures.append(
                    f"{path.relative_to(ROOT)}: examples did not finish in {PAGE_TIMEOUT_S} s"
                )
            stop_group(driver_process)
    finally:
        stop_group(emulator)
    for index, command in enumerate(commands):
        where = f"{path.relative_to(ROOT)}:{command.line}"
        rc_file = scripts / f"{index}.rc"
        if not rc_file.exists():
            break  # an earlier command failed or the page timed out
        report.commands += 1
        actual = (scripts / f"{index}.out").read_text(errors="replace").replace("\r", "")
        actual = actual.rstrip("\n")
        rc = int(rc_file.read_text())
        if rc != 0:
            report.failures.append(
                f"{where}: exit code {rc}\n    $ {indent(command.text)}\n    {indent(actual)}"
            )
            continue
        if command.expected is None:
            continue
        report.outputs_checked += 1
        expected = substitute_port("\n".join(command.expected), port)
        if not output_matches(expected, actual):
            report.failures.append(
                f"{where}: unexpected output\n    $ {indent(command.text)}\n"
                f"    expected: {indent(expected)}\n    actual:   {indent(actual)}"
            )
    if keep:
        print(f"  kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def indent(text: str) -> str:
    return text.replace("\n", "\n      ")


# ---------------------------------------------------------------------------------------------


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def link_checked_files() -> list[Path]:
    extra = [ROOT / "CHANGELOG.md", ROOT / "bench" / "results" / "HISTORY.md"]
    return pages() + [p for p in extra if p.exists()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", type=Path, default=ROOT / "target/debug/wa-cloud-emulator")
    parser.add_argument("--keep", action="store_true", help="keep each page's working directory")
    parser.add_argument("files", nargs="*", type=Path, help="pages to run (default: all)")
    args = parser.parse_args()
    become_subreaper()
    binary = args.binary.resolve()
    if not binary.exists():
        print(f"no emulator binary at {binary} (cargo build first)", file=sys.stderr)
        return 2
    selected = [p.resolve() for p in args.files] or pages()
    port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
    report = Report()

    for path in selected:
        commands: list[Command] = []
        for block in fenced_blocks(path):
            first = next((l.strip() for l in block.lines if l.strip()), "")
            label = f"{block.where} [{' '.join([block.lang, *block.attrs])}] {first[:70]}"
            if "no-run" in block.attrs or (block.lang == "rust" and "ignore" in block.attrs):
                report.not_run.append(label)
            elif block.lang in SHELL_LANGS:
                report.run_blocks += 1
                commands += commands_of(block, report)
            elif block.lang == "json":
                report.json_blocks += 1
                try:
                    json.loads("\n".join(block.lines))
                except ValueError as error:
                    report.failures.append(f"{block.where}: json block does not parse: {error}")
            elif block.lang.startswith("rust"):
                report.elsewhere.append(f"{label} -> cargo test --test docs")
            elif block.lang in TESTED_ELSEWHERE_LANGS:
                if "snippets" in block.attrs:
                    report.elsewhere.append(f"{label} -> .ci/snippets.sh")
                else:
                    report.failures.append(
                        f"{block.where}: a {block.lang} block must be marked `snippets` (run by "
                        ".ci/snippets.sh) or `no-run`"
                    )
        if commands:
            started = time.monotonic()
            run_page(path, commands, binary, port, report, args.keep)
            print(f"ran {len(commands):3} commands of {path.relative_to(ROOT)} "
                  f"({time.monotonic() - started:.1f} s)")

    if not args.files:
        all_pages = pages()
        for path in link_checked_files():
            check_links(path, report)
        check_summary(all_pages, report)

    print(f"\nport {port}; {report.run_blocks} shell blocks run: {report.commands} commands, "
          f"{report.outputs_checked} outputs checked; {report.json_blocks} JSON blocks parsed; "
          f"{report.links} relative links checked")
    print(f"\nnot run ({len(report.not_run)}), marked no-run:")
    for label in report.not_run:
        print(f"  {label}")
    print(f"\nchecked elsewhere ({len(report.elsewhere)}):")
    for label in report.elsewhere:
        print(f"  {label}")
    if report.pending_links:
        print("\nlinks to files another branch adds (not there yet): "
              + ", ".join(sorted(report.pending_links)))
    if report.failures:
        print(f"\nFAILURES ({len(report.failures)}):")
        for failure in report.failures:
            print(f"- {failure}")
    checks = report.commands + report.json_blocks + report.links
    print(f"\ndocs-examples: {max(checks - len(report.failures), 0)} passed, "
          f"{len(report.failures)} failed")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
