"""The one callback that makes a run watchable and safe to kill: ``EpochRecorder``.

At the end of every epoch it does, in this order, each step reading what the ones before put
into the epoch's logs: record collapse and instability; write the sample grid; evaluate
IS/FID/KID (every ``eval_every`` epochs); append the row to history.csv; save the checkpoint
(and the best-FID one). The order is the code's, not a list's: a checkpoint exists only for an
epoch whose records were written, and after a non-finite loss (watched every step) nothing of
the bad epoch is recorded. Keras' TensorBoard callback goes after it, so it sees the
instability columns and the metrics too.
"""

from __future__ import annotations

import csv
import math
import os
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_emojigan.grid import image_grid
from keras_emojigan.metrics.keys import EVALUATED
from keras_emojigan.training.history import COLUMNS, selection_key
from keras_emojigan.training.instability import InstabilityTracker, epoch_collapsed, non_finite


class SampleWriter:
    """A grid from fixed latents: samples/epoch_NNNN.png (written atomically) and a TensorBoard image."""

    def __init__(self, samples_dir: Path, log_dir: Path, count: int, seed: int):
        self.samples_dir, self.count, self.seed = Path(samples_dir), count, seed
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "samples"))

    def __call__(self, gan, epoch: int) -> None:
        if gan.num_classes:  # one block of whole rows per class
            columns = math.ceil(math.sqrt(self.count))
            per_class = math.ceil(self.count / gan.num_classes / columns) * columns
            images = np.concatenate([gan.generate(per_class, seed=self.seed, label=c) for c in range(gan.num_classes)])
            grid = image_grid(images, columns)
        else:
            grid = image_grid(gan.generate(self.count, seed=self.seed))
        path = self.samples_dir / f"epoch_{epoch:04d}.png"
        tmp = path.with_suffix(".tmp.png")
        grid.save(tmp)
        os.replace(tmp, path)
        with self.writer.as_default():
            tf.summary.image("samples", tf.convert_to_tensor(grid)[None], step=epoch)
        self.writer.flush()


class Evaluator:
    """IS, FID, KID, precision/recall and the near-duplicate share of ``count`` generated images
    against the real set (its features are extracted once: the real side never changes)."""

    def __init__(self, every: int, count: int, seed: int, real_images, extractor):
        self.every, self.count, self.seed, self.real_images = every, count, seed, real_images
        self.extractor, self.real_features = extractor, None

    def due(self, epoch: int) -> bool:
        return self.every > 0 and (epoch + 1) % self.every == 0

    def __call__(self, gan) -> dict:
        from keras_emojigan.metrics.evaluate import evaluate_images

        if self.real_features is None:
            self.real_features = self.extractor.features(self.real_images)
        result = evaluate_images(self.real_images, gan.generate(self.count, seed=self.seed), self.extractor,
                                 seed=self.seed, metrics=("is", "fid", "kid", "pr", "dup"),
                                 real_features=self.real_features)
        return {key: result[key] for key in EVALUATED if result.get(key) is not None}


def append_history_row(path: Path, row: dict) -> None:
    """One row of history.csv with fixed columns (Keras' CSVLogger adds empty ``val_*``
    columns to runs without validation data), flushed to disk before the checkpoint."""
    new = not path.exists()
    columns = COLUMNS
    if not new:  # a run begun by an older version keeps its own columns
        with open(path, newline="") as fh:
            columns = next(csv.reader(fh), None) or COLUMNS
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore", restval="")
        if new:
            writer.writeheader()
        writer.writerow(row)
        fh.flush()
        os.fsync(fh.fileno())


class Checkpoints:
    """The latest-epoch and best checkpoints (best by ``history.selection_key``: the lowest FID
    among epochs that did not collapse). tf.train.CheckpointManager writes the data first and
    then swaps the index file, so a kill never leaves one that cannot be loaded."""

    def __init__(self, manager: tf.train.CheckpointManager, best_manager: tf.train.CheckpointManager,
                 epoch_variable: tf.Variable, best: dict | None = None):
        self.manager, self.best_manager, self.epoch_variable = manager, best_manager, epoch_variable
        self.best = best

    def __call__(self, epoch: int, row: dict) -> None:
        self.epoch_variable.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
        if row.get("fid") is not None and (self.best is None or selection_key(row) < selection_key(self.best)):
            self.best = row
            self.best_manager.save(checkpoint_number=epoch + 1)


class EpochRecorder(keras.callbacks.Callback):
    """Watches every step for a non-finite loss and does each epoch's records in order (the
    module docstring). ``diverged`` says what went non-finite, where; ``stop_on_collapse`` stops
    at the first unstable epoch."""

    def __init__(self, tracker: InstabilityTracker, history_path: Path, checkpoints: Checkpoints, *,
                 samples: SampleWriter | None = None, evaluator: Evaluator | None = None,
                 stop_on_collapse: bool = False):
        super().__init__()
        self.tracker, self.history_path, self.checkpoints = tracker, Path(history_path), checkpoints
        self.samples, self.evaluator, self.stop_on_collapse = samples, evaluator, stop_on_collapse
        self.diverged: str | None = None
        self._epoch, self._started = 0, time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._started = epoch, time.time()

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite(logs or {})
        if bad and self.diverged is None:
            self.diverged = f"{', '.join(bad)} became non-finite at epoch {self._epoch}, step {batch}"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged is not None or logs is None:
            return
        logs["collapsed"] = float(epoch_collapsed(logs["d_loss"], logs["d_fake"]))
        logs["bfloat16"] = float(self.model.generator.compute_dtype == "bfloat16")  # the precision G trained in
        unstable = self.tracker.update(epoch, logs["d_loss"], logs["d_fake"])
        logs["unstable"] = float(unstable)
        if unstable and self.stop_on_collapse:
            self.model.stop_training = True
        if self.samples is not None:
            self.samples(self.model, epoch)
        if self.evaluator is not None and self.evaluator.due(epoch):
            logs.update(self.evaluator(self.model))
        row = {**{k: float(v) for k, v in logs.items()}, "epoch": epoch,
               "seconds": round(time.time() - self._started, 3)}
        append_history_row(self.history_path, row)
        self.checkpoints(epoch, row)
