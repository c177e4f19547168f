#!/usr/bin/env python3
"""First paint of the web console against a trivial static page, in the same headless Chromium.

Starts the emulator (release binary by default), a static server for a one-heading page and
chromedriver, then loads the two pages alternately and prints the median first-contentful-paint
of each (ms from navigation start, read with a PerformanceObserver so a paint after the load
event is not missed). The trivial page is the browser's own floor on this machine.

usage: bench/console_paint.py [--binary target/release/wa-cloud-emulator] [--loads 15]
needs: chromium and chromium-driver (apt-get install chromium chromium-driver)
"""

import argparse
import http.server
import json
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request

TRIVIAL = b"<!doctype html><html><head><title>t</title></head><body><h1>Hello</h1><p>trivial page</p></body></html>"

PAINT = """const done = arguments[0];
new PerformanceObserver((list) => {
  const paint = list.getEntriesByName('first-contentful-paint')[0];
  if (paint) done(paint.startTime);
}).observe({type: 'paint', buffered: true});
setTimeout(() => done(null), 3000);"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"console_paint: nothing answers at {url}")


class Trivial(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(TRIVIAL)))
        self.end_headers()
        self.wfile.write(TRIVIAL)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/wa-cloud-emulator")
    parser.add_argument("--loads", type=int, default=15)
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_binary = shutil.which("chromedriver")
    if not chromium or not driver_binary:
        raise SystemExit("console_paint: needs chromium and chromedriver (apt-get install chromium chromium-driver)")

    emulator_port, static_port, driver_port = free_port(), free_port(), free_port()
    processes = []
    try:
        processes.append(subprocess.Popen(
            [args.binary, "--listen", f"127.0.0.1:{emulator_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        static = http.server.ThreadingHTTPServer(("127.0.0.1", static_port), Trivial)
        threading.Thread(target=static.serve_forever, daemon=True).start()
        processes.append(subprocess.Popen(
            [driver_binary, f"--port={driver_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        console = f"http://127.0.0.1:{emulator_port}/__emulator/console"
        trivial = f"http://127.0.0.1:{static_port}/"
        wait_http(f"http://127.0.0.1:{emulator_port}/__emulator/health")
        wait_http(f"http://127.0.0.1:{driver_port}/status")

        def call(method, path, body=None):
            request = urllib.request.Request(
                f"http://127.0.0.1:{driver_port}{path}", method=method,
                data=json.dumps(body).encode() if body is not None else None,
                headers={"Content-Type": "application/json"})
            return json.load(urllib.request.urlopen(request))["value"]

        profile = tempfile.mkdtemp(prefix="console-paint-")
        options = {"binary": chromium, "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--window-size=1280,800",
            f"--user-data-dir={profile}"]}
        session = call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options}}})["sessionId"]

        def paint(url):
            call("POST", f"/session/{session}/url", {"url": url})
            return call("POST", f"/session/{session}/execute/async", {"script": PAINT, "args": []})

        pages = {"trivial page": trivial, "console": console}
        for url in pages.values():  # the first navigation also starts the renderer
            paint(url)
        results = {name: [] for name in pages}
        for _ in range(args.loads):
            for name, url in pages.items():
                value = paint(url)
                if value is not None:
                    results[name].append(value)
        call("DELETE", f"/session/{session}")
        shutil.rmtree(profile, ignore_errors=True)
        for name, values in results.items():
            if not values:
                print(f"{name:>12}: no first-contentful-paint reported")
                continue
            print(f"{name:>12}: median {statistics.median(values):.0f} ms "
                  f"(min {min(values):.0f}, max {max(values):.0f}, {len(values)} loads)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()


if __name__ == "__main__":
    main()
