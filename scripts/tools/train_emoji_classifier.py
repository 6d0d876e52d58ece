#!/usr/bin/env python3
"""Train the offline emoji classifier (identity = code point) on emoji-faces, deterministically.

Reports leave-one-design-out accuracy (train on nine designs, test on the tenth, for each
design) and then trains on all ten designs and writes the weights that ship in the package:

    python scripts/tools/train_emoji_classifier.py            # LODO report + shipped weights
    python scripts/tools/train_emoji_classifier.py --no-lodo  # shipped weights only

Outputs in keras_emojigan/models/: emoji_classifier.weights.h5, emoji_classifier.classes.txt,
emoji_classifier.report.json.
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
from keras_emojigan.models.emoji_classifier import CLASSES_FILE, WEIGHTS_FILE, build_classifier  # noqa: E402

OUT = Path(__file__).resolve().parents[2] / "keras_emojigan" / "models"


def augmenter(seed):
    """Shifts, zooms and colour changes on a white background: designs differ in all three."""
    return keras.Sequential([
        keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", fill_value=255.0, seed=seed),
        keras.layers.RandomZoom(0.15, fill_mode="constant", fill_value=255.0, seed=seed + 1),
        keras.layers.RandomContrast(0.3, value_range=(0, 255), seed=seed + 2),
        keras.layers.RandomBrightness(0.2, value_range=(0, 255), seed=seed + 3),
    ], name="augment")


def train(images, labels, num_classes, *, epochs, seed, batch_size=64):
    keras.utils.set_random_seed(seed)
    model = build_classifier(num_classes, seed)
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
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-lodo", action="store_true", help="skip the leave-one-design-out report")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    tf.config.experimental.enable_op_determinism()
    image_set = load_images()
    codes = [row["codepoints"] for row in image_set.manifest]
    designs = np.array([row["design"] for row in image_set.manifest])
    classes = sorted(set(codes))
    labels = np.array([classes.index(c) for c in codes], np.int32)
    report = {"classes": len(classes), "images": len(labels), "epochs": args.epochs, "seed": args.seed,
              "leave_one_design_out": {}}
    if not args.no_lodo:
        for design in sorted(set(designs)):
            started = time.time()
            train_mask = designs != design
            model = train(image_set.images[train_mask], labels[train_mask], len(classes), epochs=args.epochs,
                          seed=args.seed)
            acc = accuracy(model, image_set.images[~train_mask], labels[~train_mask])
            report["leave_one_design_out"][design] = {"accuracy": round(acc, 4), "images": int((~train_mask).sum())}
            print(json.dumps({"held_out": design, "accuracy": round(acc, 4),
                              "seconds": round(time.time() - started, 1)}), flush=True)
        held = report["leave_one_design_out"].values()
        report["lodo_mean_accuracy"] = round(float(np.mean([h["accuracy"] for h in held])), 4)
        report["lodo_pooled_accuracy"] = round(
            sum(h["accuracy"] * h["images"] for h in held) / sum(h["images"] for h in held), 4)
    model = train(image_set.images, labels, len(classes), epochs=args.epochs, seed=args.seed)
    report["train_accuracy_all_designs"] = round(accuracy(model, image_set.images, labels), 4)
    args.out.mkdir(parents=True, exist_ok=True)
    shipped = build_classifier(len(classes), args.seed)  # uncompiled: no optimizer state in the file
    shipped.set_weights(model.get_weights())
    shipped.save_weights(args.out / WEIGHTS_FILE)
    (args.out / CLASSES_FILE).write_text("\n".join(classes) + "\n", encoding="utf-8")
    (args.out / "emoji_classifier.report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "leave_one_design_out"}))


if __name__ == "__main__":
    main()
