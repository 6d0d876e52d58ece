#!/usr/bin/env python3
"""Check `models/efficientnet_lite.py` (with the converted ImageNet weights) against the reference
implementation on the same random images; one JSON line.

    python scripts/tools/check_efficientnet_lite.py --torch-python PATH [--images 2] [--size 224]

PATH is a Python with torch and the reference package (``pip install torch==2.13.0 numpy`` and
``pip install --no-deps efficientnet-lite-pytorch==0.1.0``; neither is our dependency). Ours needs
``emojigan extractors fetch efficientnet-lite0``; the reference loads the same cached .pth. The four
feature maps the projected discriminator reads (after blocks 2, 4, 10 and 15) are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_emojigan.models.efficientnet_lite import (  # noqa: E402
    FEATURE_BLOCKS,
    cached_state_file,
    load_efficientnet_lite0,
)

REFERENCE = f"""
import sys, numpy as np, torch
from efficientnet_lite_pytorch import EfficientNet
model = EfficientNet.from_name("efficientnet-lite0")
model.load_state_dict(torch.load(sys.argv[1], map_location="cpu"))
model.eval()
x = torch.from_numpy(np.load(sys.argv[2]).transpose(0, 3, 1, 2).copy())
out = []
with torch.no_grad():
    t = model._swish(model._bn0(model._conv_stem(x)))
    for i, block in enumerate(model._blocks):
        t = block(t)
        if i in {FEATURE_BLOCKS}:
            out.append(t.numpy().transpose(0, 2, 3, 1))
np.savez(sys.argv[3], *out)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--torch-python", required=True)
    parser.add_argument("--images", type=int, default=2)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    x = np.random.default_rng(0).uniform(-1, 1, (args.images, args.size, args.size, 3)).astype(np.float32)
    ours = [np.asarray(f) for f in load_efficientnet_lite0()(x, training=False)]
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "x.npy", x)
        subprocess.run([args.torch_python, "-c", REFERENCE, str(cached_state_file(log=lambda *_: None)),
                        str(Path(tmp) / "x.npy"), str(Path(tmp) / "ref.npz")], check=True)
        with np.load(Path(tmp) / "ref.npz") as ref:
            reference = [ref[f"arr_{i}"] for i in range(4)]
    print(json.dumps({"images": args.images, "size": args.size, "maps": [list(r.shape[1:]) for r in reference],
                      "max_abs_difference": [float(np.abs(a - b).max()) for a, b in zip(ours, reference, strict=True)],
                      "reference_max_abs": [float(np.abs(b).max()) for b in reference]}))


if __name__ == "__main__":
    main()
