#!/usr/bin/env python3
"""Load-test `emojigan serve`: N requests, C at a time, on loopback; one JSON line per phase.

    python scripts/benchmarks/load_test_serve.py saved_models/emoji [--requests 500] [--concurrency 8]
                                      [--images 4] [--sheet-every 5]

Starts the server in a subprocess (port 0), warms it up with 50 requests, then sends the
requests: row-format predicts of ``--images`` latents each, and every ``--sheet-every``-th a
16-image PNG sheet. Reports errors, requests/s, images/s, p50/p95/max latency and the
server's RSS before and after (flat memory = no leak per request).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from keras_emojigan.serving.launcher import Server, http


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_base", type=Path)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--images", type=int, default=4, help="latents per predict request")
    parser.add_argument("--sheet-every", type=int, default=5)
    args = parser.parse_args()

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


if __name__ == "__main__":
    main()
