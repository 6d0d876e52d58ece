"""Do two class probes agree on what class an image is? On real images, and on generated ones.

Class accuracy (``emojigan evaluate --per-class``) trusts one linear probe, trained on real
images, to say which class a generated image shows. This script trains the probe on two
extractors' features (by default the FID Inception and the emoji classifier), with the same
held-out real images, and prints how often the two agree, and Cohen's kappa (agreement beyond
what the two probes' class shares give by chance): on held-out real images, then on each
model's generated images (a conditional model: the same number for each class, with each probe's
class accuracy). Where the probes agree on real images but not on generated ones, a class
accuracy of the generated images says more about the probe than about the generator.

    python scripts/experiments/conditional/probe_agreement.py runs/quality/100/runs/deligan-s0 \\
        runs/conditional/modern/runs/deligan-class_guide_weight1.0-conditionalTrue-s0 [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from keras_emojigan.reports.tables import markdown_table  # noqa: E402


def kappa(a: np.ndarray, b: np.ndarray, num_classes: int) -> float:
    """Cohen's kappa of two label vectors: 1 all agree, 0 what independent guesses with these class
    shares would give."""
    observed = float(np.mean(a == b))
    chance = float(sum(np.mean(a == c) * np.mean(b == c) for c in range(num_classes)))
    return (observed - chance) / (1 - chance) if chance < 1 else 1.0


def agreement(predictions: dict[str, np.ndarray], num_classes: int, labels=None) -> dict:
    (first, a), (second, b) = predictions.items()
    row = {"images": int(len(a)), "agreement": float(np.mean(a == b)), "kappa": kappa(a, b, num_classes),
           "shares": {name: [float(np.mean(p == c)) for c in range(num_classes)] for name, p in predictions.items()}}
    if labels is not None:
        row["class_accuracy"] = {name: [float(np.mean(p[labels == c] == c)) for c in range(num_classes)]
                                 for name, p in predictions.items()}
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="run dirs or exported models")
    parser.add_argument("--data", default="emoji-faces")
    parser.add_argument("--extractors", default="fid-inception,emoji", help="two extractors, comma-separated")
    parser.add_argument("-n", "--num-samples", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    extractor_names = [name.strip() for name in args.extractors.split(",") if name.strip()]
    if len(extractor_names) != 2:
        parser.error(f"--extractors {args.extractors!r}: name exactly two, e.g. fid-inception,emoji")

    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.extractors import get_extractor
    from keras_emojigan.models.class_probe import ClassProbe
    from keras_emojigan.serving.generator import load_generator

    generators = [load_generator(model) for model in args.models]  # a bad path fails before the slow part
    real = load_images(args.data, generators[0].resolution if generators else 64)
    classes = list(real.class_names)
    if len(classes) < 2:
        parser.error(f"--data {args.data}: has no classes to probe")
    labels = np.asarray(real.labels, np.int32)
    if extractor_names[0] == extractor_names[1]:  # allowed as a check: one probe twice agrees always
        extractor_names = [f"{extractor_names[0]}#1", f"{extractor_names[0]}#2"]
    extractors = {name: get_extractor(name.split("#")[0]) for name in extractor_names}
    real_features = {name: extractor.features(real.images).pool for name, extractor in extractors.items()}
    probes = {name: ClassProbe(len(classes), seed=args.seed) for name in extractor_names}
    for name, probe in probes.items():  # one seed: both hold out the same images, then refit on all
        probe.fit(real_features[name], labels, classes)
    test = probes[extractor_names[0]].heldout_predictions[0]
    heldout = {name: probe.heldout_predictions[1] for name, probe in probes.items()}
    results = {"data": args.data, "classes": classes, "extractors": extractor_names, "seed": args.seed,
               "heldout_real": agreement(heldout, len(classes), labels[test]), "models": {}}
    for model, generator in zip(args.models, generators, strict=True):
        if generator.class_names:
            per_class = args.num_samples // len(classes)
            images = np.concatenate([generator.generate(per_class, args.seed, label=c) for c in range(len(classes))])
            requested = np.repeat(np.arange(len(classes)), per_class)
        else:
            images, requested = generator.generate(args.num_samples, args.seed), None
        predictions = {name: probes[name].predict(extractor.features(images).pool)
                       for name, extractor in extractors.items()}
        results["models"][str(model)] = agreement(predictions, len(classes), requested)

    def line(name, row):
        shares = "; ".join(f"{e} " + "/".join(f"{s:.0%}" for s in row["shares"][e]) for e in extractor_names)
        accuracy = "; ".join(f"{e} " + "/".join(f"{s:.1%}" for s in row["class_accuracy"][e])
                             for e in extractor_names) if "class_accuracy" in row else "n/a"
        return [name, row["images"], f"{row['agreement']:.1%}", f"{row['kappa']:.2f}", shares, accuracy]

    print(f"Probes on `{extractor_names[0]}` and `{extractor_names[1]}` features, classes "
          f"{'/'.join(classes)}, seed {args.seed}\n")
    print("\n".join(markdown_table(
        ["images", "n", "agreement", "Cohen's kappa", "class shares", "class accuracy"],
        [line("held-out real", results["heldout_real"]),
         *(line(Path(model).name, row) for model, row in results["models"].items())])))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
