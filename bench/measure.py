#!/usr/bin/env python3
"""Helpers of bench/run.sh that wrk cannot do: start-up time to the first successful answer
(with idle and loaded RSS), RSS sampling, and the summary (medians, ratios to the floor,
targets) written to bench/results/.

  measure.py startup --binary BIN [--fixtures F] [--token T] [--number ID] [--trials N] [--port P]
  measure.py rss PID
  measure.py summarize RESULTS_DIR OUT_MD OUT_JSON
"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not found for pid {pid}")


def try_register(port, token, number):
    """One register request on a fresh connection; the HTTP status, or None if refused."""
    body = b'{"messaging_product":"whatsapp","pin":"123456"}'
    request = (
        f"POST /v23.0/{number}/register HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(request)
            head = conn.recv(64)
    except (ConnectionRefusedError, ConnectionResetError):
        return None
    if not head.startswith(b"HTTP/1.1 "):
        return None
    return int(head[9:12])


def one_startup(args):
    command = [args.binary, "--listen", f"127.0.0.1:{args.port}"]
    if args.fixtures:
        command += ["--fixtures", args.fixtures]
    env = dict(os.environ, TOKIO_WORKER_THREADS="1", RUST_LOG="warn")
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=lambda: os.sched_setaffinity(0, {0}),
    )
    try:
        deadline = started + args.timeout
        while True:
            status = try_register(args.port, args.token, args.number)
            if status == 200:
                elapsed_ms = (time.perf_counter() - started) * 1000
                break
            if status is not None:
                raise RuntimeError(f"first answer was HTTP {status}, expected 200")
            if process.poll() is not None:
                raise RuntimeError(f"emulator exited with {process.returncode}")
            if time.perf_counter() > deadline:
                raise RuntimeError("no answer before the timeout")
            time.sleep(0.0002)
        loaded_rss = rss_kb(process.pid)
        time.sleep(args.idle)
        idle_rss = rss_kb(process.pid)
        peak_rss = rss_kb(process.pid, "VmHWM")
        return elapsed_ms, loaded_rss, idle_rss, peak_rss
    finally:
        process.terminate()
        process.wait(timeout=30)


def startup(args):
    runs = [one_startup(args) for _ in range(args.trials)]
    times = [run[0] for run in runs]
    print(
        json.dumps(
            {
                "fixtures": args.fixtures or "<embedded default>",
                "trials": args.trials,
                "first_answer_ms_median": round(statistics.median(times), 2),
                "first_answer_ms_all": [round(t, 2) for t in times],
                "rss_kb_at_first_answer": statistics.median(run[1] for run in runs),
                "rss_kb_idle": statistics.median(run[2] for run in runs),
                "rss_kb_peak": max(run[3] for run in runs),
            }
        )
    )


def load_jsonl(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip().startswith("{")]


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    distro = ""
    try:
        with open("/etc/os-release", encoding="utf-8") as release:
            for line in release:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {distro}, Linux {platform.release()}"


def verdict(ok):
    return "met" if ok else "NOT met"


def summarize(args):
    d = args.results_dir
    meta = json.load(open(os.path.join(d, "meta.json"), encoding="utf-8"))
    runs = load_jsonl(os.path.join(d, "wrk.jsonl"))
    rows = []
    targets = []
    scenarios = ["register", "cycle", "rejected", "badtoken"]
    per = {}
    for scenario in scenarios:
        floor = [r for r in runs if r["scenario"] == scenario and r["label"].startswith("floor")]
        emu = [r for r in runs if r["scenario"] == scenario and r["label"].startswith("emulator")]
        if not floor or not emu:
            continue
        ratios = [e["rps"] / f["rps"] for f, e in zip(floor, emu)]
        p99_ratios = [e["p99_us"] / f["p99_us"] for f, e in zip(floor, emu)]
        entry = {
            "rounds": len(emu),
            "floor_rps_median": statistics.median(r["rps"] for r in floor),
            "emulator_rps_median": statistics.median(r["rps"] for r in emu),
            "throughput_ratio_median": statistics.median(ratios),
            "throughput_ratios": [round(x, 3) for x in ratios],
            "floor_p50_us": statistics.median(r["p50_us"] for r in floor),
            "emulator_p50_us": statistics.median(r["p50_us"] for r in emu),
            "floor_p99_us": statistics.median(r["p99_us"] for r in floor),
            "emulator_p99_us": statistics.median(r["p99_us"] for r in emu),
            "p99_ratio_median": statistics.median(p99_ratios),
            "emulator_non2xx": sum(r["non2xx"] for r in emu),
            "emulator_requests": sum(r["requests"] for r in emu),
        }
        per[scenario] = entry
        rows.append(
            f"| {scenario} | {entry['floor_rps_median']:,.0f} | {entry['emulator_rps_median']:,.0f} "
            f"| **{entry['throughput_ratio_median']:.2f}** ({', '.join(f'{x:.2f}' for x in ratios)}) "
            f"| {entry['floor_p50_us'] / 1000:.2f} / {entry['floor_p99_us'] / 1000:.2f} "
            f"| {entry['emulator_p50_us'] / 1000:.2f} / {entry['emulator_p99_us'] / 1000:.2f} "
            f"| **{entry['p99_ratio_median']:.2f}** "
            f"| {entry['emulator_non2xx']:,} / {entry['emulator_requests']:,} |"
        )
    for scenario in ("register", "cycle"):
        if scenario in per:
            ratio = per[scenario]["throughput_ratio_median"]
            targets.append((f"{scenario} throughput ≥ 0.85 × floor", f"{ratio:.2f} ×", ratio >= 0.85))
    for scenario in ("register", "cycle"):
        if scenario in per:
            ratio = per[scenario]["p99_ratio_median"]
            targets.append((f"{scenario} p99 at 64 conns ≤ 1.2 × floor", f"{ratio:.2f} ×", ratio <= 1.2))
    startup_default = load_jsonl(os.path.join(d, "startup.jsonl"))
    if startup_default:
        s = startup_default[0]
        targets.append(("start-up to first answer < 20 ms (default fixtures)",
                        f"{s['first_answer_ms_median']:.1f} ms (median of {s['trials']})",
                        s["first_answer_ms_median"] < 20))
        targets.append(("idle RSS < 10 MB", f"{s['rss_kb_idle'] / 1024:.1f} MB",
                        s["rss_kb_idle"] < 10 * 1024))
    big = load_jsonl(os.path.join(d, "big.jsonl"))
    if big:
        b = big[0]
        targets.append((f"{meta['big_numbers']:,} numbers loaded < 2 s",
                        f"{b['first_answer_ms_median'] / 1000:.2f} s", b["first_answer_ms_median"] < 2000))
        targets.append((f"{meta['big_numbers']:,} numbers RSS < 300 MB",
                        f"{b['rss_kb_idle'] / 1024:.0f} MB (peak {b['rss_kb_peak'] / 1024:.0f} MB)",
                        b["rss_kb_idle"] < 300 * 1024))
    samples = load_jsonl(os.path.join(d, "rss.jsonl"))
    long_run = None
    if len(samples) >= 2:
        base = samples[0]["rss_kb"]
        last = samples[-1]["rss_kb"]
        peak = max(s["rss_kb"] for s in samples)
        growth = (last - base) / base
        long_run = {"after_warmup_kb": base, "final_kb": last, "max_kb": peak, "growth": growth,
                    "samples": samples}
        targets.append((f"RSS growth ≤ 5 % over {meta['long_seconds']} s after {meta['warmup_seconds']} s warm-up",
                        f"{growth * 100:+.1f} % ({base / 1024:.1f} → {last / 1024:.1f} MB, max {peak / 1024:.1f} MB)",
                        growth <= 0.05))
    criterion = load_jsonl(os.path.join(d, "criterion.jsonl"))

    out = []
    out.append("# Benchmark results\n")
    out.append(f"- Date: {meta['date']}")
    out.append(f"- Machine: {machine()}")
    out.append(f"- Commit: {meta['commit']}; {meta['rustc']}; {meta['wrk']}")
    out.append(f"- Command: `{meta['command']}`")
    out.append(f"- Setup: servers pinned to core 0 with `TOKIO_WORKER_THREADS=1`, wrk pinned to core 1 "
               f"(`wrk -t1 -c{meta['connections']}`), loopback, {meta['rounds']} rounds of "
               f"{meta['seconds']} s per scenario, floor and emulator alternating; medians. "
               f"Fixture: {meta['numbers']:,} numbers; register/cycle use "
               f"`--rate-limit {meta['bench_rate_limit']} --rate-window {meta['bench_rate_window']}` "
               f"so the real register/deregister logic runs; rejected uses the default limit.\n")
    out.append("## Targets\n")
    out.append("| target | measured | verdict |")
    out.append("| --- | --- | --- |")
    for name, value, ok in targets:
        out.append(f"| {name} | {value} | {verdict(ok)} |")
    out.append("\n## Throughput and latency against the floor\n")
    out.append("Floor: `examples/floor.rs`, axum answering `{\"success\":true}` on the same routes, no logic. "
               "Ratios are emulator / floor per round (median, then each round).\n")
    out.append("| scenario | floor req/s | emulator req/s | throughput ratio | floor p50 / p99 ms "
               "| emulator p50 / p99 ms | p99 ratio | emulator non-2xx / requests |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    out.extend(rows)
    out.append("\nScenarios: `register` rotates register over every number; `cycle` alternates passes of "
               "register and deregister over every number (every deregister hits a registered number); "
               "`rejected` hammers one number under the default limit (133016 after the first 10); "
               "`badtoken` sends an unknown token (401, code 190). For the last two the emulator's "
               "non-2xx answers are the expected errors.\n")
    if startup_default or big:
        out.append("## Start-up and memory\n")
        out.append("| fixture | first successful answer | RSS at first answer | RSS idle | peak RSS |")
        out.append("| --- | --- | --- | --- | --- |")
        for s in startup_default + big:
            out.append(f"| {s['fixtures']} | {s['first_answer_ms_median']:.1f} ms "
                       f"| {s['rss_kb_at_first_answer'] / 1024:.1f} MB | {s['rss_kb_idle'] / 1024:.1f} MB "
                       f"| {s['rss_kb_peak'] / 1024:.1f} MB |")
        out.append("")
    if long_run:
        out.append("## Long run (cycle scenario)\n")
        out.append("RSS samples (s since warm-up end → MB): " + ", ".join(
            f"{s['t']}→{s['rss_kb'] / 1024:.1f}" for s in samples) + "\n")
    if criterion:
        out.append("## Criterion micro-benchmarks\n")
        out.append("| benchmark | mean | 95 % CI |")
        out.append("| --- | --- | --- |")
        for c in criterion:
            out.append(f"| {c['name']} | {c['mean_ns']:.1f} ns | {c['low_ns']:.1f} – {c['high_ns']:.1f} ns |")
        out.append("")
    with open(args.out_md, "w", encoding="utf-8") as md:
        md.write("\n".join(out))
    result = {"meta": meta, "machine": machine(), "scenarios": per, "long_run": long_run,
              "criterion": criterion,
              "startup": startup_default, "big": big,
              "targets": [{"target": n, "measured": v, "met": ok} for n, v, ok in targets]}
    with open(args.out_json, "w", encoding="utf-8") as js:
        json.dump(result, js, indent=2)
        js.write("\n")
    print("\n".join(out))


def criterion_results(args):
    """Prints one JSON line per criterion benchmark found under target/criterion."""
    for group in sorted(os.listdir(args.criterion_dir)):
        group_dir = os.path.join(args.criterion_dir, group)
        if not os.path.isdir(group_dir) or group == "report":
            continue
        for bench in sorted(os.listdir(group_dir)):
            estimates = os.path.join(group_dir, bench, "new", "estimates.json")
            if os.path.exists(estimates):
                mean = json.load(open(estimates, encoding="utf-8"))["mean"]
                print(json.dumps({
                    "name": f"{group}/{bench}",
                    "mean_ns": mean["point_estimate"],
                    "low_ns": mean["confidence_interval"]["lower_bound"],
                    "high_ns": mean["confidence_interval"]["upper_bound"],
                }))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("startup", help="time to the first successful register, and RSS")
    s.add_argument("--binary", required=True)
    s.add_argument("--fixtures")
    s.add_argument("--token", default="EAAEmulatorDevToken")
    s.add_argument("--number", default="106540352242922")
    s.add_argument("--trials", type=int, default=10)
    s.add_argument("--port", type=int, default=18082)
    s.add_argument("--idle", type=float, default=1.0, help="seconds idle before the idle RSS")
    s.add_argument("--timeout", type=float, default=60.0)
    r = sub.add_parser("rss", help="VmRSS of a process in kB")
    r.add_argument("pid", type=int)
    m = sub.add_parser("summarize", help="write the results files")
    m.add_argument("results_dir")
    m.add_argument("out_md")
    m.add_argument("out_json")
    c = sub.add_parser("criterion", help="criterion estimates as JSON lines")
    c.add_argument("criterion_dir")
    args = parser.parse_args()
    if args.command == "startup":
        startup(args)
    elif args.command == "rss":
        print(rss_kb(args.pid))
    elif args.command == "summarize":
        summarize(args)
    else:
        criterion_results(args)


if __name__ == "__main__":
    main()
