#!/usr/bin/env python3
"""Measure a steered generator (``emojigan export MODEL --directions FILE``) class by class, with
a judge that did not choose its directions: a linear probe on FID-Inception features, fitted on
the real images only (its held-out accuracy is printed beside every number).

    python scripts/experiments/emotion/measure.py STEERED --out DIR [--per-class 800] [--seed 0] [--strengths 0,1,2,4]

Writes DIR/results.json, DIR/README.md (the tables) and DIR/<class>.png (64 images of each class
at the default strength). Measured:
- the curve over strengths (``--strengths``; by default past the 4 that ``directions.py``
  chooses among, to show how far each class goes): per class, the share the Inception probe
  reads as the class asked for, the same for the emoji probe (the selector), how often the two
  probes agree, and FID-Inception against the class's real images (what the strength costs);
- at the default strength, per class: FID-Inception and KID against that class's real images,
  precision/recall against them and the near-duplicate share among the class's samples, beside
  the unconditional model's samples that the Inception probe sorts into that class (the same
  numbers for ``2 * per_class`` of its samples), and each set's mean colour beside the class's
  real images' (a steered class drifting off the real colours shows here first).
Needs the FID-Inception weights (`emojigan extractors fetch fid-inception`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.grid import image_grid  # noqa: E402
from keras_emojigan.metrics.evaluate import compare_features, subset  # noqa: E402
from keras_emojigan.metrics.extractors import get_extractor  # noqa: E402
from keras_emojigan.models.class_probe import ClassProbe  # noqa: E402
from keras_emojigan.reports.tables import markdown_table  # noqa: E402
from keras_emojigan.serving.generator import load_generator  # noqa: E402

STRENGTHS = "0,0.5,1,1.5,2,3,4,6"  # past directions.STRENGTHS' 4: how far each class goes, and at what cost
CURVE_IMAGES = 400  # per class and strength
METRICS = ("fid", "kid", "pr", "dup")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("steered", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--per-class", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strengths", default=STRENGTHS, help="the curve's strengths, a comma list")
    args = parser.parse_args()
    strengths = [float(s) for s in args.strengths.split(",")]
    generator = load_generator(args.steered)
    if not generator.steered:
        raise SystemExit(f"{args.steered} takes no strength: export it with `emojigan export MODEL --directions FILE`")
    base = load_generator(Path(generator.metadata["steered_from"]))
    names = generator.class_names
    real = load_images((generator.metadata.get("config") or {}).get("data", "emoji-faces"), generator.resolution)
    labels = np.asarray(real.labels)
    judges = {}
    for name in ("fid-inception", "emoji"):
        extractor = get_extractor(name)
        features = extractor.features(real.images)
        probe = ClassProbe(len(names), seed=args.seed)
        judges[name] = (extractor, features, probe, probe.fit(features.pool, labels, names))
        print(f"{name} probe: held-out accuracy {judges[name][3]['probe_heldout_accuracy']:.1%}", flush=True)

    def read(images):
        """Each probe's features and classes for ``images``."""
        found = {}
        for name, (extractor, _, probe, _) in judges.items():
            features = extractor.features(images)
            found[name] = (features, probe.predict(features.pool))
        return found

    curve = {}
    for strength in strengths:
        curve[str(strength)] = {}
        for c, name in enumerate(names):
            readings = read(generator.generate(CURVE_IMAGES, args.seed + 1, c, strength))
            (features, inception), (_, emoji) = readings["fid-inception"], readings["emoji"]
            # the cost of the strength: FID-Inception of these images against the class's real ones
            fid = compare_features(subset(judges["fid-inception"][1], labels == c), features, ("fid",))["fid"]
            curve[str(strength)][name] = {"inception_accuracy": float(np.mean(inception == c)),
                                          "emoji_accuracy": float(np.mean(emoji == c)),
                                          "probes_agree": float(np.mean(inception == emoji)),
                                          "fid_inception": float(fid)}
        print(f"strength {strength}: " + ", ".join(f"{n} {v['inception_accuracy']:.1%}"
                                                   for n, v in curve[str(strength)].items()), flush=True)

    extractor, real_features, probe, _ = judges["fid-inception"]
    default = generator.default_strength
    unconditional_images = base.generate(2 * args.per_class, args.seed)
    unconditional = extractor.features(unconditional_images)
    sorted_into = probe.predict(unconditional.pool)
    classes = {}
    args.out.mkdir(parents=True, exist_ok=True)
    for c, name in enumerate(names):
        images = generator.generate(args.per_class, args.seed, c, default)
        # a palette PNG: small enough to commit, and emoji have few colours
        image_grid(images[:64], 8).quantize(256).save(args.out / f"{name.lower()}.png", optimize=True)
        features = extractor.features(images)
        members = labels == c
        steered = compare_features(subset(real_features, members), features, METRICS)
        steered["inception_accuracy"] = float(np.mean(probe.predict(features.pool) == c))
        mine = sorted_into == c
        plain = (compare_features(subset(real_features, members), subset(unconditional, mine), METRICS)
                 if mine.sum() >= 2 else {})
        classes[name] = {"num_real": int(members.sum()), "real_mean_colour": mean_colour(real.images[members]),
                         "steered": {"num_fake": args.per_class, "mean_colour": mean_colour(images), **steered},
                         "unconditional": {"num_fake": int(mine.sum()),
                                           "mean_colour": mean_colour(unconditional_images[mine]), **plain}}
        print(f"{name}: FID-Inception {steered['fid']:.1f} (unconditional {plain.get('fid', float('nan')):.1f}), "
              f"recall {steered['recall']:.2f}, near-duplicates {steered['near_duplicate_share']:.1%}", flush=True)
    results = {"steered_from": generator.metadata["steered_from"],
               "default_strength": default, "seed": args.seed, "per_class": args.per_class,
               "curve_images": CURVE_IMAGES, "real": real.source,
               "probes": {name: judge[3] for name, judge in judges.items()}, "curve": curve, "classes": classes}
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    (args.out / "README.md").write_text(tables(results))
    print(f"wrote {args.out}")


def mean_colour(images) -> list[float]:
    """The mean red, green and blue (0-255) over every pixel of ``images``."""
    return np.asarray(images, np.float64).reshape(-1, 3).mean(axis=0).tolist() if len(images) else []


def tables(results: dict) -> str:
    """The results as Markdown: the curve over strengths, then the classes at the default strength."""
    probes = results["probes"]
    lines = [f"# `{results['steered_from']}` asked for a class, class by class", "",
             f"Written by `scripts/experiments/emotion/measure.py STEERED --per-class {results['per_class']} --seed "
             f"{results['seed']}` on the export of `{results['steered_from']}` with this folder's directions.json "
             "(`scripts/experiments/emotion/run.sh` runs both). The judge is a linear probe on FID-Inception "
             f"features fitted on the real images only (held-out accuracy "
             f"{probes['fid-inception']['probe_heldout_accuracy']:.1%}); the emoji probe chose the directions "
             f"(held-out {probes['emoji']['probe_heldout_accuracy']:.1%}).", "",
             f"## Class accuracy over strengths ({results['curve_images']} images per class and strength)", "",
             "Per class: the share the Inception probe reads as the class asked for / the same for the emoji "
             "probe / how often the two agree, and FID-Inception against the class's real images (on "
             f"{results['curve_images']} images: biased upwards against the per-class table below; compare along "
             "the column).", ""]
    names = list(next(iter(results["curve"].values())))
    lines += markdown_table(
        ["strength", *(f"{n}: Inception / emoji / agree, FID" for n in names)],
        [[strength, *(f"{v['inception_accuracy']:.1%} / {v['emoji_accuracy']:.1%} / {v['probes_agree']:.1%}"
                      + (f", {v['fid_inception']:.1f}" if "fid_inception" in v else "")  # older results lack it
                      for v in row.values())] for strength, row in results["curve"].items()])
    lines += ["", f"## Each class at the default strength ({results['default_strength']:g})", "",
              "Against that class's real images; the unconditional rows are the model's own samples that the "
              "Inception probe sorts into the class.", ""]

    def colour(values):  # the last cell; results written before it had none leave it empty
        return ", ".join(f"{v:.0f}" for v in values) if values else ""

    body = []
    for name, entry in results["classes"].items():
        if "real_mean_colour" in entry:
            body.append([f"{name}, real", entry["num_real"], *[""] * 6, colour(entry["real_mean_colour"])])
        for kind in ("steered", "unconditional"):
            row = entry[kind]
            if "fid" not in row:
                body.append([f"{name}, {kind}", row["num_fake"], *[""] * 6, colour(row.get("mean_colour"))])
                continue
            accuracy = f"{row['inception_accuracy']:.1%}" if "inception_accuracy" in row else ""
            body.append([f"{name}, {kind}", row["num_fake"], accuracy, f"{row['fid']:.1f}", f"{row['kid']:.4f}",
                         f"{row['precision']:.2f}", f"{row['recall']:.2f}", f"{row['near_duplicate_share']:.1%}",
                         colour(row.get("mean_colour"))])
    lines += markdown_table(["class", "samples", "Inception accuracy", "FID-Inception", "KID", "precision", "recall",
                             "near-duplicates", "mean colour (R, G, B)"], body)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
