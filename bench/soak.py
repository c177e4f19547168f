#!/usr/bin/env python3
"""Soak driver for bench/soak.sh: mixed Graph traffic against a running emulator.

Rotates register / deregister / PIN set / GET node / GET settings over several numbers on
keep-alive connections, paced to a target rate, and prints one line per interval: requests,
errors (non-2xx/4xx or transport), latency p50/p95/p99/max and the emulator's RSS (VmRSS from
/proc/PID/status). At the end it checks that RSS stayed flat after warm-up. Standard library only.
"""
import argparse
import http.client
import json
import threading
import time

NUMBERS = ["106540352242922", "106540352242924", "106540352242925", "106540352242926"]
TOKEN = "EAAEmulatorDevToken"


def requests_for(i):
    number = NUMBERS[i % len(NUMBERS)]
    kind = (i // len(NUMBERS)) % 5
    pin = {"106540352242924": "123456", "106540352242925": "654321", "106540352242926": "111111"}.get(
        number, "123456")
    if kind == 0:
        return "POST", f"/v23.0/{number}/register", {"messaging_product": "whatsapp", "pin": pin}
    if kind == 1:
        return "GET", f"/v23.0/{number}?fields=status,platform_type,is_pin_enabled", None
    if kind == 2:
        return "POST", f"/v23.0/{number}/deregister", {}
    if kind == 3:
        return "POST", f"/v23.0/{number}", {"pin": pin}
    return "GET", f"/v23.0/{number}/settings", None


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def pct(sorted_values, p):
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True, help="seconds")
    ap.add_argument("--interval", type=float, default=60.0, help="seconds per report line")
    ap.add_argument("--rate", type=float, default=400.0, help="requests per second, all workers")
    ap.add_argument("--max-requests", type=int, default=2_000_000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--tolerance", type=float, default=0.05, help="allowed RSS growth after warm-up")
    args = ap.parse_args()

    lock = threading.Lock()
    bucket = {"lat": [], "errors": 0, "success": 0}
    counter = {"next": 0}
    start = time.monotonic()
    deadline = start + args.duration
    per_worker_gap = args.workers / args.rate

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        next_at = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            with lock:
                i = counter["next"]
                if i >= args.max_requests:
                    break
                counter["next"] += 1
            method, path, body = requests_for(i)
            t0 = time.monotonic()
            ok = False
            success = False
            try:
                conn.request(method, path, body=json.dumps(body) if body is not None else None,
                             headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status < 500
                success = response.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=10)
            elapsed = (time.monotonic() - t0) * 1000.0
            with lock:
                bucket["lat"].append(elapsed)
                if not ok:
                    bucket["errors"] += 1
                if success:
                    bucket["success"] += 1
            next_at += per_worker_gap
            sleep = next_at - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
            else:
                next_at = time.monotonic()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(args.workers)]
    for thread in threads:
        thread.start()

    print(f"{'t (s)':>6} {'requests':>9} {'2xx':>7} {'errors':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'RSS KiB':>8}",
          flush=True)
    samples = []
    total = errors_total = 0
    intervals = max(1, int(-(-args.duration // args.interval)))
    for n in range(1, intervals + 1):
        target = start + min(n * args.interval, args.duration)
        while time.monotonic() < target and any(t.is_alive() for t in threads):
            time.sleep(min(0.5, max(0.0, target - time.monotonic())))
        if n == intervals:
            for thread in threads:
                thread.join()
        with lock:
            lat, errors, success = sorted(bucket["lat"]), bucket["errors"], bucket["success"]
            bucket["lat"], bucket["errors"], bucket["success"] = [], 0, 0
        rss = rss_kib(args.pid)
        samples.append(rss)
        total += len(lat)
        errors_total += errors
        elapsed = time.monotonic() - start
        print(f"{elapsed:>6.0f} {len(lat):>9} {success:>7} {errors:>6} {pct(lat, .5):>7.2f} {pct(lat, .95):>7.2f} "
              f"{pct(lat, .99):>7.2f} {(lat[-1] if lat else 0):>7.2f} {rss:>8}", flush=True)

    # Warm-up: the first interval (allocator arenas, journal filling up to its capacity).
    baseline = samples[0]
    peak = max(samples[1:] or samples)
    growth = (peak - baseline) / baseline if baseline else 0.0
    print(f"total {total} requests, {errors_total} errors (5xx or transport); "
          f"RSS after warm-up {baseline} KiB, peak {peak} KiB, growth {growth * 100:+.1f}% "
          f"(limit {args.tolerance * 100:.0f}%)")
    if errors_total:
        print("FAIL: errors during the soak")
        return 1
    if growth > args.tolerance:
        print("FAIL: RSS grew beyond the limit after warm-up")
        return 1
    print("OK: RSS flat")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
