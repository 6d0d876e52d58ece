"""Does a conditional GAN use its label? D's side and G's side, from a run's checkpoint.

Class accuracy can be low for two different reasons: D never learned to tell the classes apart
(so G is never pushed), or D did and G still ignores the label. This script separates them:

- **D**: its logit on every real image with the image's own label against the same image with
  another label (the next class): the share of images where the own label scores higher (0.5:
  D ignores the label) and the mean gap.
- **G**: for the same noise, how far apart the images for two different classes are, against how
  far apart the images of two different noises are in one class (mean absolute pixel difference,
  in [-1, 1] units). A ratio near 0: the label does not change the image; near 1 or above: it
  changes it as much as the noise does.

    python scripts/experiments/conditional/label_use.py runs/conditional/runs/deligan-conditionalTrue-s0 [RUN ...] \
        [--json out.json]
        [--keep earlier.json]

``--keep`` takes the row of a run that has no checkpoint here (compare restored it from its
published records on a new machine) from an earlier JSON of this script, matched by the run's
folder name, instead of failing.
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


def _logits(gan, images, labels):
    out = gan.discriminator([images, labels], training=False)
    return np.asarray(out[0] if isinstance(out, (list, tuple)) else out, np.float64).ravel()


def discriminator_label_use(gan, images: np.ndarray, labels: np.ndarray, batch: int = 100) -> dict:
    """D's logits on real images (float [-1, 1]) with their own label and with the next class's."""
    other = (labels + 1) % gan.num_classes
    own = np.concatenate([_logits(gan, images[i:i + batch], labels[i:i + batch]) for i in range(0, len(labels), batch)])
    swapped = np.concatenate([_logits(gan, images[i:i + batch], other[i:i + batch])
                              for i in range(0, len(labels), batch)])
    return {"own_label_higher": float(np.mean(own > swapped)), "mean_gap": float(np.mean(own - swapped)),
            "logit_std": float(np.std(own))}


def generator_label_use(gan, count: int = 200, seed: int = 0) -> dict:
    """Mean |G(z, a) - G(z, b)| over class pairs, against mean |G(z, a) - G(z', a)|, same count."""
    import tensorflow as tf

    from keras_emojigan.models.gan import noise_for

    noise = noise_for(2 * count, seed, gan.noise_dim)
    first, second = noise[:count], noise[count:]

    def images(z, label):
        return gan.sampling_generator([z, tf.fill([count], label)], training=False).numpy()

    between_classes, between_noises = [], []
    for a in range(gan.num_classes):
        images_a = images(first, a)
        between_noises.append(np.mean(np.abs(images_a - images(second, a))))
        for b in range(a + 1, gan.num_classes):
            images_b = images(first, b)
            between_classes.append(np.mean(np.abs(images_a - images_b)))
    classes, noises = float(np.mean(between_classes)), float(np.mean(between_noises))
    return {"between_classes": classes, "between_noises": noises, "ratio": classes / noises if noises else 0.0}


def _has_checkpoint(run_dir: Path) -> bool:
    import tensorflow as tf

    return tf.train.latest_checkpoint(str(Path(run_dir) / "checkpoints")) is not None


def measure(run_dir: Path, count: int = 200, seed: int = 0) -> dict:
    import tensorflow as tf

    from keras_emojigan.data.pipeline import to_unit_range
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.errors import UserInputError
    from keras_emojigan.training.rundir import restore_gan

    gan, config, epochs = restore_gan(run_dir)
    if not gan.num_classes:
        raise UserInputError(f"{run_dir}: an unconditional run has no label to use (train with --set conditional=true)")
    data = load_images(config.data, config.resolution)
    images = to_unit_range(tf.constant(data.images)).numpy()
    return {"run": str(run_dir), "preset": config.preset, "epochs": epochs,
            "discriminator": discriminator_label_use(gan, images, data.labels),
            "generator": generator_label_use(gan, count, seed)}


def markdown(rows: list[dict]) -> str:
    lines = ["# Does each conditional GAN use its label?", "",
             "Written by `python scripts/experiments/conditional/label_use.py RUN ...` "
             "(`scripts/experiments/conditional/conditional_experiment.sh` runs it on every "
             "conditional run; each run's last checkpoint). D: its logit on each of the real images with the "
             "image's own label against another class's (50%: D ignores the label). G: the mean absolute pixel "
             "difference between the images of two classes from the same noise, over the difference between two "
             "noises in one class (0: the label does not change the image).", ""]
    lines += markdown_table(
        ["run", "preset", "epochs", "D: own label scores higher", "D: mean logit gap (logit sd)",
         "G: class change / noise change"],
        [[Path(row["run"]).name, f"`{row['preset']}`", row["epochs"], f"{100 * d['own_label_higher']:.1f}%",
          f"{d['mean_gap']:.2f} ({d['logit_std']:.2f})",
          f"{g['between_classes']:.3f} / {g['between_noises']:.3f} = {g['ratio']:.2f}"]
         for row, d, g in ((r, r["discriminator"], r["generator"]) for r in rows)])
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="conditional run dirs (emojigan fit --run-dir)")
    parser.add_argument("-n", "--count", type=int, default=200, help="noises per class for G's measure")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", type=Path, help="an earlier --json: rows for runs without a checkpoint here")
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"-n {args.count}: give at least 1 noise per class")
    from keras_emojigan.errors import UserInputError

    kept = {Path(row["run"]).name: row for row in json.loads(args.keep.read_text())} \
        if args.keep and args.keep.exists() else {}
    try:
        rows = [kept[run.name] if run.name in kept and not _has_checkpoint(run) else measure(run, args.count, args.seed)
                for run in args.runs]
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(markdown(rows), end="")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
