#!/usr/bin/env python3
"""At which scale a generator's samples differ from the real images, as FID-Inception sees it:
the samples and one random half of the real set against the other half, after the same
low-pass on all three (none; Gaussian blur of radius 1 px; 16x16 and back), and the mean
high-frequency residual (image minus its 1-px blur) on near-white backgrounds and overall, of
the samples, the real images, and the real images with pixel noise (for scale).

    python scripts/experiments/lite-backbone/scale_gap.py MODEL [--count 800] [--seed 1] [--out FILE.json]

Why: ``degradation_floor.py`` showed that a defect a viewer barely sees (noise of sigma 8/255)
costs real images as much FID as row 1's whole gap. This asks the converse of a model: if its
ratio to the floor falls to ~1 once fine detail is removed from both sides, the gap is texture;
if it stays high at 16x16, shapes and colours differ too. MODEL is anything ``emojigan sample``
takes. Prints one JSON line per low-pass; needs the FID-Inception weights.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from degradation_floor import DEGRADATIONS, each_image, emit, pixel_noise, real_halves
from PIL import Image

LOW_PASSES = {
    "none": lambda images: images,
    "blur radius 1": DEGRADATIONS["blur radius 1"],
    "16x16 and back (bilinear)": lambda images: each_image(
        images, lambda im: im.resize((16, 16), Image.BILINEAR).resize(im.size, Image.BILINEAR)),
}


def high_frequency(images: np.ndarray) -> dict:
    """Mean |image - blur(image, 1 px)| in 8-bit steps: over all pixels, and over the pixels whose
    blurred value is near white (> 235 in every channel: an emoji's background)."""
    blurred = LOW_PASSES["blur radius 1"](images).astype(np.float32)
    residual = np.abs(images.astype(np.float32) - blurred)
    background = blurred.min(axis=-1) > 235
    return {"all": round(float(residual.mean()), 3),
            "background": round(float(residual[background].mean()), 3),
            "background_share": round(float(background.mean()), 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="a run dir or a SavedModel, as `emojigan sample` takes")
    parser.add_argument("--count", type=int, default=800)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the lines as one JSON list here")
    args = parser.parse_args()

    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.evaluate import evaluate_images
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.serving.generator import load_generator

    generator = load_generator(args.model)
    data = generator.metadata.get("config", {}).get("data", "emoji-faces")  # the set the model trained on
    images = load_images(data, generator.resolution).images
    clean, other = real_halves(images)
    samples = generator.generate(args.count, args.seed)
    extractor = get_extractor("fid-inception")
    noisy = {f"real, noise sigma {sigma}/255": high_frequency(pixel_noise(images, float(sigma))) for sigma in (2, 4, 8)}
    lines = []
    emit(lines, {"high_frequency": {"real": high_frequency(images), "samples": high_frequency(samples), **noisy}})
    for name, low_pass in LOW_PASSES.items():
        reference = low_pass(clean)
        features = extractor.features(reference)
        found = {side: evaluate_images(reference, low_pass(compared), extractor, seed=0, metrics=("fid", "pr"),
                                       real_features=features)
                 for side, compared in (("floor", other), ("samples", samples))}
        line = {"low_pass": name, "num_reference": len(clean), "num_other_half": len(other), "num_samples": args.count,
                **{f"{side}_{k}": round(float(found[side][k]), 4)
                   for side in found for k in ("fid", "precision", "recall")},
                "fid_over_floor": round(float(found["samples"]["fid"] / found["floor"]["fid"]), 2)}
        emit(lines, line)
    if args.out:
        args.out.write_text(json.dumps(lines, indent=1) + "\n")


if __name__ == "__main__":
    main()
