#!/usr/bin/env python3
"""Generation speed of an exported generator: images/s of its SavedModel signatures; JSON lines.

    python scripts/benchmarks/bench_generate.py [MODEL] [--batches 1,16,256] [--repeats 20] [--model dcgan]

MODEL is a SavedModel folder (or a run dir). Without it, an untrained generator of the
``default`` preset's size (ngf 64, 64x64) is exported to a temporary folder: the time of a
call does not depend on the weights. For each batch size, the ``serving_default`` signature
(latents in) and the ``generate`` signature (count and seed in: the noise is drawn inside)
are called ``--repeats`` times after two warm-up calls, in this process (no HTTP); the line
gives the best and the median time per call and images/s at the best. For the HTTP server
under load, see scripts/benchmarks/load_test_serve.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_emojigan.serving.generator import load_generator  # noqa: E402


def export_untrained(model: str, folder: Path) -> Path:
    from keras_emojigan.config import make_config
    from keras_emojigan.models.savedmodel import export_saved_model
    from keras_emojigan.training.rundir import build_from_config

    gan = build_from_config(make_config("default", model=model))
    return export_saved_model(gan, folder / "generator", {"model": model, "untrained": True})


def time_calls(call, repeats: int) -> list[float]:
    call()
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_path", nargs="?", type=Path)
    parser.add_argument("--model", default="dcgan", help="the untrained generator's kind, without MODEL")
    parser.add_argument("--batches", default="1,16,256")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.model_path or export_untrained(args.model, Path(scratch))
        generator = load_generator(path)
        serve = generator.module.signatures["serving_default"]
        generate = generator.module.signatures["generate"]
        noise_dim = int(serve.structured_input_signature[1]["latent"].shape[1])
        for batch in (int(b) for b in args.batches.split(",")):
            latent = tf.constant(np.random.default_rng(0).normal(size=(batch, noise_dim)), tf.float32)
            calls = {"serving_default": lambda latent=latent: serve(latent=latent)["images"].numpy(),
                     "generate": lambda batch=batch: generate(count=tf.constant(batch, tf.int32),
                                                              seed=tf.constant(0, tf.int64))["images"].numpy()}
            for name, call in calls.items():
                times = time_calls(call, args.repeats)
                print(json.dumps({"signature": name, "batch": batch, "best_ms": round(min(times) * 1000, 2),
                                  "median_ms": round(statistics.median(times) * 1000, 2),
                                  "img_per_s": round(batch / min(times), 1),
                                  "model": str(args.model_path) if args.model_path else f"untrained {args.model}"}),
                      flush=True)


if __name__ == "__main__":
    main()
