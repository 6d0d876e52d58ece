#!/usr/bin/env python3
"""Train an offline emoji classifier (identity = code point), deterministically.

``--classifier emoji`` (emoji-faces): reports leave-one-design-out accuracy (train on nine
designs, test on the tenth, for each design), then trains on all ten designs and writes the
weights that ship in the package. ``--classifier emoji-all`` (emoji-all, `emojigan data fetch
emoji-all` first): trains on every design but ``--heldout-designs`` and ships that model, its
accuracy on the held-out designs (whole designs it never saw) in its report.

    python scripts/tools/train_emoji_classifier.py                          # emoji: LODO + weights
    python scripts/tools/train_emoji_classifier.py --no-lodo                # emoji: weights only
    python scripts/tools/train_emoji_classifier.py --classifier emoji-all   # emoji-all

Outputs in keras_emojigan/models/: <stem>.weights.h5, <stem>.classes.txt, <stem>.report.json
(stems in ``keras_emojigan.models.emoji_classifier.CLASSIFIERS``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.models.emoji_classifier import CLASSIFIERS, build_classifier  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "keras_emojigan" / "models"


def augmenter(seed):
    """Shifts, zooms and colour changes on a white background: designs differ in all three."""
    return keras.Sequential([
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=255.0, seed=seed),
        keras.layers.RandomZoom(0.15, fill_mode="constant", fill_value=255.0, seed=seed + 1),
        keras.layers.RandomContrast(0.3, value_range=(0, 255), seed=seed + 2),
        keras.layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed + 3),
    ], name="augment")


def train(images, labels, num_classes, *, epochs, seed, widths, batch_size=64):
    keras.utils.set_random_seed(seed)
    model = build_classifier(num_classes, seed, widths)
    augment = augmenter(seed)
    steps = int(np.ceil(len(images) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=epochs * steps)
    model.compile(keras.optimizers.Adam(schedule), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    data = (tf.data.Dataset.from_tensor_slices((images.astype(np.float32), labels))
            .shuffle(len(images), seed=seed).batch(batch_size)
            .map(lambda x, y: (augment(x, training=True), y)).prefetch(2))
    model.fit(data, epochs=epochs, verbose=0, shuffle=False)
    return model


def accuracy(model, images, labels):
    logits = model.predict(images.astype(np.float32), batch_size=128, verbose=0)
    return float((logits.argmax(axis=1) == labels).mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classifier", choices=sorted(CLASSIFIERS), default="emoji")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-lodo", action="store_true", help="(emoji) skip the leave-one-design-out report")
    parser.add_argument("--heldout-designs", default="noto-blob,emojione-1",
                        help="(emoji-all) designs left out of training, to measure accuracy on")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    spec = CLASSIFIERS[args.classifier]
    tf.config.experimental.enable_op_determinism()
    image_set = load_images(spec.data)
    codes = [row["codepoints"] for row in image_set.manifest]
    designs = np.array([row["design"] for row in image_set.manifest])
    classes = sorted(set(codes))
    labels = np.array([classes.index(c) for c in codes], np.int32)
    report = {"data": spec.data, "classes": len(classes), "images": len(labels), "epochs": args.epochs,
              "seed": args.seed, "widths": list(spec.widths)}

    def fit(mask):
        return train(image_set.images[mask], labels[mask], len(classes), epochs=args.epochs, seed=args.seed,
                     widths=spec.widths)

    if args.classifier == "emoji-all":
        heldout = [d.strip() for d in args.heldout_designs.split(",") if d.strip()]
        unknown = sorted(set(heldout) - set(designs))
        if unknown:
            raise SystemExit(f"--heldout-designs: {', '.join(unknown)} not in {spec.data} "
                             f"({', '.join(sorted(set(designs)))})")
        test = np.isin(designs, heldout)
        started = time.time()
        model = fit(~test)
        report["heldout_designs"] = {d: {"accuracy": round(accuracy(model, image_set.images[designs == d],
                                                                    labels[designs == d]), 4),
                                         "images": int((designs == d).sum())} for d in heldout}
        report["heldout_accuracy"] = round(accuracy(model, image_set.images[test], labels[test]), 4)
        report["train_images"] = int((~test).sum())
        report["train_accuracy"] = round(accuracy(model, image_set.images[~test], labels[~test]), 4)
        report["seconds"] = round(time.time() - started, 1)
    else:
        report["leave_one_design_out"] = {}
        if not args.no_lodo:
            for design in sorted(set(designs)):
                started = time.time()
                model = fit(designs != design)
                acc = accuracy(model, image_set.images[designs == design], labels[designs == design])
                report["leave_one_design_out"][design] = {"accuracy": round(acc, 4),
                                                          "images": int((designs == design).sum())}
                print(json.dumps({"held_out": design, "accuracy": round(acc, 4),
                                  "seconds": round(time.time() - started, 1)}), flush=True)
            held = report["leave_one_design_out"].values()
            report["lodo_mean_accuracy"] = round(float(np.mean([h["accuracy"] for h in held])), 4)
            report["lodo_pooled_accuracy"] = round(
                sum(h["accuracy"] * h["images"] for h in held) / sum(h["images"] for h in held), 4)
        model = fit(np.ones(len(labels), bool))
        report["train_accuracy_all_designs"] = round(accuracy(model, image_set.images, labels), 4)
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = build_classifier(len(classes), args.seed, spec.widths)  # uncompiled: no optimizer state in the file
    shipped.set_weights(model.get_weights())
    shipped.save_weights(args.out / spec.weights_file)
    (args.out / spec.classes_file).write_text("\n".join(classes) + "\n", encoding="utf-8")
    (args.out / spec.report_file).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "leave_one_design_out"}))


if __name__ == "__main__":
    main()
