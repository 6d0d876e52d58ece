#!/usr/bin/env python3
"""Time the evaluation: FID (sample-space and TF-GAN), KID and IS on 800 vs 800 activations,
and feature extraction per extractor; one JSON line per case.

    python scripts/benchmarks/bench_eval.py [--samples 800] [--dims 2048] [--repeats 3] [--skip-tfgan-fid]

Activations are ReLU'd correlated Gaussians (like Inception pool features). Each time is the
median of ``--repeats`` calls after one warm-up call. The Inception extractor is timed with
randomly initialised weights when no ImageNet weights are present (the same cost). The FID
lines also give the relative difference between the two FID paths.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

import keras_emojigan  # noqa: E402,F401  (sets the oneDNN default before TensorFlow loads)
from keras_emojigan.metrics.extractors import EmojiExtractor, InceptionExtractor, inception_weights_path  # noqa: E402
from keras_emojigan.metrics.fid import fid  # noqa: E402
from keras_emojigan.metrics.inception_score import inception_score  # noqa: E402
from keras_emojigan.metrics.kid import kid  # noqa: E402


def timed(fn, repeats: int, *args):
    result = fn(*args)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn(*args)
        seconds.append(time.perf_counter() - started)
    return result, round(statistics.median(seconds), 4)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=800)
    parser.add_argument("--dims", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-tfgan-fid", action="store_true", help="TF-GAN's FID takes ~15 s a call here")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    n, d = args.samples, args.dims
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    real = np.maximum(rng.normal(size=(n, d)) @ mixing, 0).astype(np.float32)
    fake = np.maximum(rng.normal(size=(n, d)) @ mixing * 1.2 + 0.1, 0).astype(np.float32)
    logits = rng.normal(size=(n, 1000)).astype(np.float32)
    shape = {"real": n, "fake": n, "dims": d}

    fast, fast_s = timed(lambda: fid(real, fake, method="sample")["fid"], args.repeats)
    print(json.dumps({"case": "fid-sample-space", **shape, "seconds": fast_s, "fid": round(fast, 4)}), flush=True)
    if not args.skip_tfgan_fid:
        slow, slow_s = timed(lambda: fid(real, fake, method="tfgan")["fid"], 1)
        print(json.dumps({"case": "fid-tfgan", **shape, "seconds": slow_s, "fid": round(slow, 4),
                          "relative_difference": float(f"{abs(fast - slow) / abs(slow):.2e}"),
                          "speedup": round(slow_s / fast_s, 1)}), flush=True)
    _, kid_s = timed(lambda: kid(real, fake), args.repeats)
    print(json.dumps({"case": "kid-tfgan", **shape, "seconds": kid_s}), flush=True)
    _, is_s = timed(lambda: inception_score(logits), args.repeats)
    print(json.dumps({"case": "is-tfgan", "fake": n, "classes": 1000, "seconds": is_s}), flush=True)

    images = rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8)
    weights = inception_weights_path()
    for name, build in (("emoji", EmojiExtractor),
                        ("inception", lambda: InceptionExtractor(weights if weights else "random"))):
        _, seconds = timed(build().features, 1, images)
        note = {} if name != "inception" or weights else {"weights": "random (no ImageNet weights here; same cost)"}
        print(json.dumps({"case": f"features-{name}", "images": n, "seconds": seconds,
                          "img_per_s": round(n / seconds, 1), **note}), flush=True)


if __name__ == "__main__":
    main()
