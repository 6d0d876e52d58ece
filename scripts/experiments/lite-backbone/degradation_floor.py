#!/usr/bin/env python3
"""How far small image defects alone move FID-Inception on emoji-faces: one random half of the
real images against the other half, the second half clean and then degraded.

    python scripts/experiments/lite-backbone/degradation_floor.py [--out FILE.json]

Why: the `lite` rows draw varied faces (no near-duplicates; emoji-extractor recall 0.63) yet sit
far from the real set in FID-Inception's feature space (3.39x the floor, recall 0.02). If
defects a viewer barely sees (a slight blur, speckle noise, JPEG artefacts, 2x resampling) move
real images as far, the gap is texture, and the next rows should attack texture (sharper
upsampling, a higher training resolution, less blur from the EMA); if not, it is shape.
Prints one JSON line per degradation: FID, precision and recall (k = 3, the project's
``evaluate`` metrics) against the clean half. Needs the FID-Inception weights
(`emojigan extractors fetch fid-inception`).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def real_halves(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The real images split in two random halves (seed 0; the first the reference), as the
    project's floor splits them."""
    order = np.random.default_rng(0).permutation(len(images))
    return images[order[: len(images) // 2]], images[order[len(images) // 2:]]


def emit(lines: list, line: dict) -> None:
    """Print ``line`` as JSON at once and keep it for ``--out``."""
    lines.append(line)
    print(json.dumps(line), flush=True)


def each_image(images, transform):
    """``transform`` (a PIL image -> PIL image) applied to each of N x H x W x 3 uint8 images."""
    return np.stack([np.asarray(transform(Image.fromarray(image)).convert("RGB")) for image in images])


def _jpeg(quality):
    def encode(image):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        return Image.open(io.BytesIO(buffer.getvalue()))
    return encode


def pixel_noise(images, sigma, seed=0):
    noisy = images.astype(np.float32) + np.random.default_rng(seed).normal(0, sigma, images.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


DEGRADATIONS = {
    "none": lambda images: images,
    "blur radius 0.5": lambda images: each_image(images, lambda im: im.filter(ImageFilter.GaussianBlur(0.5))),
    "blur radius 1": lambda images: each_image(images, lambda im: im.filter(ImageFilter.GaussianBlur(1.0))),
    "half size and back (bilinear)": lambda images: each_image(
        images, lambda im: im.resize((im.width // 2, im.height // 2), Image.BILINEAR).resize(im.size, Image.BILINEAR)),
    "JPEG quality 75": lambda images: each_image(images, _jpeg(75)),
    "noise sigma 4/255": lambda images: pixel_noise(images, 4.0),
    "noise sigma 8/255": lambda images: pixel_noise(images, 8.0),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="emoji-faces")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--out", type=Path, help="also write the lines as one JSON list here")
    args = parser.parse_args()

    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.evaluate import evaluate_images
    from keras_emojigan.metrics.extractors import get_extractor

    images = load_images(args.data, args.resolution).images
    clean, other = real_halves(images)
    extractor = get_extractor("fid-inception")
    clean_features = extractor.features(clean)
    lines = []
    for name, degrade in DEGRADATIONS.items():
        found = evaluate_images(clean, degrade(other), extractor, seed=0, metrics=("fid", "pr"),
                                real_features=clean_features)
        line = {"degradation": name, "num_clean": len(clean), "num_degraded": len(other),
                **{k: round(float(found[k]), 4) for k in ("fid", "precision", "recall") if k in found}}
        emit(lines, line)
    if args.out:
        args.out.write_text(json.dumps(lines, indent=1) + "\n")


if __name__ == "__main__":
    main()
