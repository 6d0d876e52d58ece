#!/usr/bin/env python3
"""One change to the training step, before and after, in one process: paired, interleaved steps.

    python scripts/benchmarks/ab_train_step.py CHANGE [--model dcgan] [--precision mixed_bfloat16]
        [--arch dcgan] [--pairs 40]

Builds the GAN twice, without the change (A) and with it (B), and times one compiled train_step
of each in turn (A B, B A, A B, ...) on the same random batch, so that the machine's changes of
speed, which on our VMs are larger than most changes to the step, fall on both alike. Prints one
JSON line: each side's best and median ms, and the median of the per-pair ratios A/B with the
2.5-97.5% range of a bootstrap of the pairs (> 1 means B is faster).

Changes (each is on in the package; A switches it off):
  fused-bn   networks' batch norm as one FusedBatchNormV3 op (models/fused_batch_norm.py)
             against Keras' BatchNormalization
  matmul-kernel-gradient  in bfloat16, the kernel gradient of convs with 4x4 maps as one matmul
             (models/matmul_kernel_gradient.py) against TensorFlow's Conv2DBackpropFilter
  fused-adam Adam's update as one ResourceApplyAdam per variable (training/fused_adam.py)
             against Keras' Adam
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_emojigan.config import make_config  # noqa: E402
from keras_emojigan.models import matmul_kernel_gradient, networks  # noqa: E402
from keras_emojigan.training import rundir  # noqa: E402


@contextlib.contextmanager
def swapped(module, name, value):
    """``module.name`` set to ``value`` inside the block: the step as it was before a change."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


# each change -> the block in which the step is built without it
CHANGES = {
    "fused-bn": lambda: swapped(networks, "FusedBatchNormalization", keras.layers.BatchNormalization),
    "fused-adam": lambda: swapped(rundir, "FusedAdam", keras.optimizers.Adam),
    "matmul-kernel-gradient": lambda: swapped(matmul_kernel_gradient, "SMALL_MAP", 0),  # no layer qualifies
}


def compiled_step(config, without=None):
    """The GAN's train_step as a tf.function, built and traced (one call) inside ``without``."""
    real = tf.random.stateless_uniform([config.batch_size, config.resolution, config.resolution, 3], [1, 2], -1, 1)
    with without() if without else contextlib.nullcontext():
        gan = rundir.build_from_config(config)
        step = tf.function(lambda: gan.train_step(real))
        timed(step)
    return step


def timed(step) -> float:
    started = time.perf_counter()
    tf.nest.map_structure(lambda t: t.numpy(), step())
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("change", choices=sorted(CHANGES))
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--arch", default="dcgan")
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--batch-size", type=int, default=35)
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    config = make_config("default", model=args.model, arch=args.arch, precision=args.precision,
                         batch_size=args.batch_size)
    steps = {"A": compiled_step(config, CHANGES[args.change]), "B": compiled_step(config)}
    for _ in range(args.warmup):
        for step in steps.values():
            timed(step)
    seconds = {"A": [], "B": []}
    for pair in range(args.pairs):
        for side in ("AB" if pair % 2 == 0 else "BA"):
            seconds[side].append(timed(steps[side]))
    ratios = [a / b for a, b in zip(seconds["A"], seconds["B"], strict=True)]
    rng = random.Random(0)
    boot = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(2000))
    line = {"change": args.change, "model": args.model, "arch": args.arch, "precision": args.precision,
            "batch": args.batch_size, "pairs": args.pairs}
    for side, label in (("A", "without"), ("B", "with")):
        line[f"{label}_ms_best"] = round(min(seconds[side]) * 1000, 1)
        line[f"{label}_ms_median"] = round(statistics.median(seconds[side]) * 1000, 1)
    line.update(speedup_median=round(statistics.median(ratios), 3),
                speedup_range=[round(boot[50], 3), round(boot[1949], 3)])
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
