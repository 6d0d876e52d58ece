#!/usr/bin/env python3
"""Measure the projector (``emojigan project``) on emoji the model never saw, and the edits made
from its latents.

    python scripts/benchmarks/bench_projector.py [--model saved_models/emoji-faces]
        [--steered saved_models/emoji-faces-conditional] [--count 50] [--steps 300] [--out DIR]

The unseen emoji: ``--count`` images of emoji-all (`emojigan data fetch emoji-all`) from the face
subgroups that emoji-faces leaves out (neutral/skeptical, sleepy, hand-over-mouth and costume
faces, every design), drawn with a fixed seed, spread evenly over the subgroups. For each:
- the projection (the SavedModel's rendering of the latent found): LPIPS and PSNR against the
  input, and seconds per image (wall clock, this process; the note says what else ran);
- the baseline: the nearest emoji-faces training image by LPIPS, its LPIPS and PSNR;
- edits at the steered model's strengths (``--strengths``; its default among them): the share a
  probe fitted on real images only (FID-Inception features, emoji-faces' labels; its held-out
  accuracy is reported) reads as the class asked for, and the identity cost, LPIPS between the
  projection and its edit.
Writes DIR/results.json, DIR/README.md (the tables) and DIR/examples.png (per row: the input, the
nearest training image, the projection, then Negative and Positive at the default strength).
Needs `emojigan extractors fetch lpips` and `... fid-inception`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.grid import image_grid  # noqa: E402
from keras_emojigan.metrics.extractors import get_extractor  # noqa: E402
from keras_emojigan.metrics.lpips import load_lpips  # noqa: E402
from keras_emojigan.models.class_probe import ClassProbe  # noqa: E402
from keras_emojigan.models.restored_generator import restore_generator  # noqa: E402
from keras_emojigan.projector import ProjectionSettings, Projector, psnr  # noqa: E402
from keras_emojigan.reports.tables import markdown_table  # noqa: E402
from keras_emojigan.serving.generator import load_generator  # noqa: E402
from keras_emojigan.training.precision import resolve_precision  # noqa: E402

UNSEEN_SUBGROUPS = ("face-neutral-skeptical", "face-sleepy", "face-hand", "face-costume")


def unseen_emoji(count: int, seed: int, resolution: int):
    """``count`` emoji-all images of UNSEEN_SUBGROUPS, evenly over them, and their manifest rows."""
    every = load_images("emoji-all", resolution)
    rng = np.random.default_rng(seed)
    chosen = []
    for i, subgroup in enumerate(UNSEEN_SUBGROUPS):
        members = [j for j, row in enumerate(every.manifest) if row["subgroup"] == subgroup]
        share = count // len(UNSEEN_SUBGROUPS) + (i < count % len(UNSEEN_SUBGROUPS))
        chosen += sorted(rng.choice(members, size=min(share, len(members)), replace=False).tolist())
    return every.images[chosen], [every.manifest[j] for j in chosen]


def to_unit(images):
    return images.astype(np.float32) / 127.5 - 1.0


def nearest(lpips, targets, training, chunk: int = 64):
    """Per target, the index and LPIPS of the nearest training image."""
    best_index, best = np.zeros(len(targets), int), np.full(len(targets), np.inf)
    target_features = [[np.asarray(f)[t:t + 1] for f in lpips.features(to_unit(targets))] for t in range(len(targets))]
    for start in range(0, len(training), chunk):
        train_features = [np.asarray(f) for f in lpips.features(to_unit(training[start:start + chunk]))]
        for t, features in enumerate(target_features):
            distances = np.asarray(lpips.distance(train_features, features))
            k = int(np.argmin(distances))
            if distances[k] < best[t]:
                best[t], best_index[t] = distances[k], start + k
    return best_index, best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=Path("saved_models/emoji-faces"))
    parser.add_argument("--steered", type=Path, default=Path("saved_models/emoji-faces-conditional"))
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--steps", type=int, default=ProjectionSettings.steps)
    parser.add_argument("--restarts", type=int, default=ProjectionSettings.restarts)
    parser.add_argument("--learning-rate", type=float, default=ProjectionSettings.learning_rate)
    parser.add_argument("--pixel-weight", type=float, default=ProjectionSettings.pixel_weight)
    parser.add_argument("--precision", default="auto", help="LPIPS's: auto, float32 or mixed_bfloat16")
    parser.add_argument("--strengths", default="1,2,4", help="edit strengths besides the model's default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("docs/results/projector"))
    parser.add_argument("--note", default="", help="what else ran on the machine (for the timing)")
    args = parser.parse_args()

    model, steered = load_generator(args.model), load_generator(args.steered)
    if not steered.steered:
        raise SystemExit(f"{args.steered}: not a steered model (export --directions)")
    precision = resolve_precision(args.precision)
    lpips = load_lpips(precision)
    projector = Projector(restore_generator(model.path, model.from_latent), lpips,
                          ProjectionSettings(steps=args.steps, restarts=args.restarts, learning_rate=args.learning_rate,
                                             pixel_weight=args.pixel_weight))
    targets, rows = unseen_emoji(args.count, args.seed, model.resolution)
    training = load_images("emoji-faces", model.resolution)
    near_index, near_lpips = nearest(lpips, targets, training.images)
    near_images = training.images[near_index]

    latents, seconds = [], []
    for i, target in enumerate(targets):
        start = time.perf_counter()
        latents.append(projector.project(target, seed=args.seed).latent)
        seconds.append(time.perf_counter() - start)
        print(f"{i + 1}/{len(targets)} {rows[i]['design']} {rows[i]['name']}: {seconds[-1]:.1f} s", flush=True)
    latents = np.stack(latents)
    projected = model.from_latent(latents)
    projected_lpips = np.asarray(lpips(to_unit(targets), to_unit(projected)))
    if np.abs(steered.from_latent(latents, -1).astype(float) - projected).mean() > 2.0:
        raise SystemExit(f"{args.steered} does not draw {args.model}'s latents alike: give its steered export")

    extractor = get_extractor("fid-inception")
    real_features = extractor.features(training.images)
    probe = ClassProbe(len(steered.class_names), seed=args.seed)
    probe_info = probe.fit(real_features.pool, np.asarray(training.labels), steered.class_names)
    strengths = sorted({steered.default_strength, *(float(s) for s in args.strengths.split(","))})
    edits, examples = {}, {}
    for c, name in enumerate(steered.class_names):
        edits[name] = {}
        for strength in strengths:
            images = steered.from_latent(latents, np.full(len(latents), c), np.full(len(latents), strength, np.float32))
            read = probe.predict(extractor.features(images).pool)
            cost = np.asarray(lpips(to_unit(projected), to_unit(images)))
            edits[name][f"{strength:g}"] = {"read_as_asked": float(np.mean(read == c)),
                                            "identity_lpips_median": float(np.median(cost))}
            if strength == steered.default_strength:
                examples[name] = images
    unedited = probe.predict(extractor.features(projected).pool)

    results = {
        "model": str(model.path), "steered": str(steered.path), "count": len(targets), "seed": args.seed,
        "settings": {k: getattr(projector.settings, k) for k in ("steps", "restarts", "candidates", "learning_rate",
                                                                  "pixel_weight", "prior_weight", "noise_scale")},
        "subgroups": {s: sum(r["subgroup"] == s for r in rows) for s in UNSEEN_SUBGROUPS},
        "designs": sorted({r["design"] for r in rows}),
        "projection": {"lpips_median": float(np.median(projected_lpips)), "lpips_mean": float(np.mean(projected_lpips)),
                       "psnr_median": float(np.median([psnr(a, b) for a, b in zip(targets, projected, strict=True)]))},
        "nearest_training_image": {"lpips_median": float(np.median(near_lpips)),
                                   "lpips_mean": float(np.mean(near_lpips)),
                                   "psnr_median": float(np.median([psnr(a, b) for a, b in
                                                                   zip(targets, near_images, strict=True)]))},
        "projection_beats_nearest": float(np.mean(projected_lpips < near_lpips)),
        "seconds_per_image": {"median": float(np.median(seconds)), "max": float(np.max(seconds))},
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "note": args.note,
                    "lpips_precision": precision},
        "probe": probe_info, "projections_read_as": {n: float(np.mean(unedited == c))
                                                     for c, n in enumerate(steered.class_names)},
        "default_strength": steered.default_strength, "edits": edits,
        "per_image": [{"name": r["name"], "design": r["design"], "subgroup": r["subgroup"],
                       "lpips": float(a), "nearest_lpips": float(b), "seconds": float(s)}
                      for r, a, b, s in zip(rows, projected_lpips, near_lpips, seconds, strict=True)],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "README.md").write_text(report(results))
    shown = slice(0, min(12, len(targets)))
    grid = np.stack([targets[shown], near_images[shown], projected[shown],
                     *(examples[n][shown] for n in steered.class_names)], axis=1)
    image_grid(grid.reshape(-1, *grid.shape[2:]), grid.shape[1]).quantize(256).save(args.out / "examples.png",
                                                                                    optimize=True)
    print(report(results))


def report(results: dict) -> str:
    p, n = results["projection"], results["nearest_training_image"]
    lines = [f"# The projector on {results['count']} unseen emoji", "",
             f"`python scripts/benchmarks/bench_projector.py` ({results['settings']}; model {results['model']}, "
             f"edits by {results['steered']}). Subgroups: "
             + ", ".join(f"{k} {v}" for k, v in results["subgroups"].items())
             + f"; designs: {', '.join(results['designs'])}.", "",
             *markdown_table(["", "LPIPS median", "LPIPS mean", "PSNR median (dB)"],
                            [["projection", f"{p['lpips_median']:.3f}", f"{p['lpips_mean']:.3f}",
                              f"{p['psnr_median']:.1f}"],
                             ["nearest training image (by LPIPS)", f"{n['lpips_median']:.3f}",
                              f"{n['lpips_mean']:.3f}", f"{n['psnr_median']:.1f}"]]), "",
             f"The projection is closer than the nearest training image for "
             f"{results['projection_beats_nearest']:.0%} of the images. Seconds per image: median "
             f"{results['seconds_per_image']['median']:.1f}, max {results['seconds_per_image']['max']:.1f} "
             f"({results['machine']['cores']} cores, LPIPS in {results['machine'].get('lpips_precision', 'float32')}; "
             f"{results['machine']['note'] or 'nothing else noted'}).", "",
             f"Edits (probe: FID-Inception features, fitted on real emoji-faces only, held-out accuracy "
             f"{results['probe']['probe_heldout_accuracy']:.1%}; unedited projections read as "
             + ", ".join(f"{k} {v:.0%}" for k, v in results["projections_read_as"].items())
             + f"; the model's default strength is {results['default_strength']:g}):", ""]
    header = ["class"] + [f"strength {s}" for s in next(iter(results["edits"].values()))]
    body = [[name] + [f"{v['read_as_asked']:.0%} (identity LPIPS {v['identity_lpips_median']:.3f})"
                      for v in by_strength.values()] for name, by_strength in results["edits"].items()]
    lines += [*markdown_table(header, body), "",
              "examples.png: per row the input, the nearest training image, the projection, then each class at the "
              "default strength.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
