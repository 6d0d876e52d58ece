#!/usr/bin/env python3
"""Load-test `emojigan serve`: N requests, C at a time, on loopback; one JSON line per phase.

    python scripts/benchmarks/load_test_serve.py saved_models/emoji [--requests 500] [--concurrency 8]
                                      [--images 4] [--sheet-every 5]
    python scripts/benchmarks/load_test_serve.py saved_models/emoji --hostile [--stalled 48] [--partial 300]

Starts the server in a subprocess (port 0, default options), warms it up with 50 requests, then:
- by default sends the requests: row-format predicts of ``--images`` latents each, and every
  ``--sheet-every``-th a 16-image PNG sheet. Reports errors, requests/s, images/s, p50/p95/max
  latency and the server's RSS before and after (flat memory = no leak per request);
- with ``--hostile``, three phases, each with the slowest status answer seen (asked every 0.25 s)
  and the server's RSS: 8 clients that each ask for the most images a request may (256) and read
  them; ``--stalled`` clients that ask the same and never read (a 4 kB receive window) while
  ``--partial`` connections send half a header and wait; then the time until the server has
  dropped them all (its timeouts) and its RSS after, against idle.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from keras_emojigan.serving.launcher import Server, http, json_post, open_connection


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_base", type=Path)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--images", type=int, default=4, help="latents per predict request")
    parser.add_argument("--sheet-every", type=int, default=5)
    parser.add_argument("--hostile", action="store_true", help="clients that hold what they can (see above)")
    parser.add_argument("--stalled", type=int, default=48, help="--hostile: clients that never read their reply")
    parser.add_argument("--partial", type=int, default=300, help="--hostile: connections that send half a header")
    args = parser.parse_args()
    if args.hostile:
        return hostile(args)

    server = Server(args.model_base, "--poll-seconds", "0")
    try:
        name = args.model_base.resolve().name
        meta = http("GET", f"{server.url}/v1/models/{name}/metadata")[1]
        dims = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["latent"]
        noise_dim = int(dims["tensor_shape"]["dim"][1]["size"])
        noise = np.random.default_rng(0).normal(size=(args.images, noise_dim)).round(5).tolist()

        def one(i):
            started = time.perf_counter()
            if args.sheet_every and i % args.sheet_every == args.sheet_every - 1:
                status, _, _ = http("GET", f"{server.url}/sheet.png?seed={i}&count=16")
                images = 16
            else:
                status, _, _ = http("POST", f"{server.url}/v1/models/{name}:predict", {"instances": noise})
                images = args.images
            return status, time.perf_counter() - started, images

        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(one, range(50)))
            rss_before = server.rss_bytes()
            started = time.perf_counter()
            results = list(pool.map(one, range(args.requests)))
            seconds = time.perf_counter() - started
            rss_after = server.rss_bytes()
        latencies = sorted(r[1] for r in results)
        print(json.dumps({
            "requests": args.requests, "concurrency": args.concurrency,
            "errors": sum(r[0] != 200 for r in results), "seconds": round(seconds, 2),
            "requests_per_s": round(args.requests / seconds, 1),
            "images_per_s": round(sum(r[2] for r in results) / seconds, 1),
            "latency_ms": {"p50": round(1000 * statistics.median(latencies), 1),
                           "p95": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1),
                           "max": round(1000 * latencies[-1], 1)},
            "rss_mib": {"before": round(rss_before / 2**20, 1), "after": round(rss_after / 2**20, 1)}}), flush=True)
    finally:
        server.stop()


class StatusWatch:
    """Asks for the model's status every 0.25 s in a thread; ``worst()`` is the slowest answer (s)
    since the last call (a timeout or error counts as 30 s)."""

    def __init__(self, url: str):
        self.url, self.slowest, self.running = url, 0.0, True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            started = time.perf_counter()
            try:
                ok = http("GET", self.url, timeout=30)[0] == 200
            except OSError:
                ok = False
            self.slowest = max(self.slowest, time.perf_counter() - started if ok else 30.0)
            time.sleep(0.25)

    def worst(self) -> float:
        worst, self.slowest = self.slowest, 0.0
        return round(worst, 3)

    def stop(self):
        self.running = False
        self.thread.join()


def _sockets(server) -> int:
    """The server process's open sockets (its listener, polls and clients)."""
    fds = Path(f"/proc/{server.process.pid}/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            count += fd.readlink().name.startswith("socket:")
        except OSError:  # closed while we looked
            pass
    return count


def hostile(args):
    server = Server(args.model_base, "--poll-seconds", "0")
    name = args.model_base.resolve().name
    predict_url = f"{server.url}/v1/models/{name}:predict"
    most = {"signature_name": "generate", "inputs": {"count": 256, "seed": 0}}
    post = json_post(f"/v1/models/{name}:predict", most)
    report = {"model": name}
    try:
        with ThreadPoolExecutor(2) as pool:  # warm-up: the largest requests, as many at once as it computes
            list(pool.map(lambda i: http("POST", predict_url, {**most, "inputs": {"count": 256, "seed": i}}),
                          range(4)))
        time.sleep(2)
        idle = server.rss_bytes()  # its working set: TensorFlow keeps the buffers of a 256-image batch
        watch = StatusWatch(f"{server.url}/v1/models/{name}")
        time.sleep(1)

        started = time.perf_counter()  # phase 1: 8 clients that read 256 images each
        with ThreadPoolExecutor(8) as pool:  # (raw bytes: parsing 66 MB of JSON here would stall the watch's thread)
            statuses = list(pool.map(lambda i: http("POST", predict_url, {**most, "inputs": {"count": 256, "seed": i}},
                                                    timeout=300, parse=False)[0], range(8)))
        report["readers"] = {"clients": 8, "images_each": 256, "ok": statuses.count(200),
                             "seconds": round(time.perf_counter() - started, 2), "status_worst_s": watch.worst(),
                             "rss_mib": round(server.rss_bytes() / 2**20, 1)}

        time.sleep(2)  # phase 2: clients that never read, half headers; until the server holds none of them
        baseline, peak, started = _sockets(server), 0, time.perf_counter()
        stalled = [open_connection(server.url, post, receive_buffer=4096) for _ in range(args.stalled)]
        partial = [open_connection(server.url, f"GET /v1/models/{name} HTTP/1.1\r\nHost: loopback\r\n".encode())
                   for _ in range(args.partial)]
        held = _sockets(server) - baseline
        while held > 0 and time.perf_counter() - started < 600:
            peak = max(peak, server.rss_bytes())
            time.sleep(0.5)
            held = _sockets(server) - baseline
        report["hostile"] = {"stalled": args.stalled, "partial": args.partial, "still_held": held,
                             "seconds_until_all_dropped": round(time.perf_counter() - started, 1),
                             "status_worst_s": watch.worst(), "rss_peak_mib": round(peak / 2**20, 1)}
        for sock in stalled + partial:
            sock.close()
        time.sleep(2)
        watch.stop()
        after = server.rss_bytes()
        report["rss_mib"] = {"idle": round(idle / 2**20, 1), "after": round(after / 2**20, 1),
                             "after_minus_idle": round((after - idle) / 2**20, 1)}
        report["dropped_unread_replies"] = sum("(--write-timeout)" in line for line in server.stderr_lines)
        report["answers_after"] = http("POST", predict_url, {**most, "inputs": {"count": 4, "seed": 1}})[0]
        print(json.dumps(report), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
