"""Keras callbacks that make a run watchable and safe to kill.

Order matters and ``fit.py`` keeps it: RunMonitor first (it adds the instability columns to
the epoch's logs and stops on NaN/Inf), then the sample grid and the evaluator (which adds
IS/FID/KID), then history.csv and TensorBoard (which read those logs), and the checkpoints
last, so a checkpoint only exists for an epoch whose records were written.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from keras_emojigan.grid import image_grid
from keras_emojigan.training.history import COLUMNS
from keras_emojigan.training.instability import InstabilityTracker, epoch_collapsed, non_finite


class RunMonitor(keras.callbacks.Callback):
    """Stops on a non-finite loss; records collapse per epoch and, if asked, stops on it."""

    def __init__(self, tracker: InstabilityTracker, stop_on_collapse: bool = False):
        super().__init__()
        self.tracker, self.stop_on_collapse = tracker, stop_on_collapse
        self.diverged: str | None = None  # what went non-finite, where
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        bad = non_finite(logs or {})
        if bad and self.diverged is None:
            self.diverged = f"{', '.join(bad)} became non-finite at epoch {self._epoch}, step {batch}"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.diverged is not None or logs is None:
            return
        logs["collapsed"] = float(epoch_collapsed(logs["d_loss"], logs["d_fake"]))
        unstable = self.tracker.update(epoch, logs["d_loss"], logs["d_fake"])
        logs["unstable"] = float(unstable)
        if unstable and self.stop_on_collapse:
            self.model.stop_training = True


class SampleGrid(keras.callbacks.Callback):
    """A grid from fixed latents every epoch: samples/epoch_NNNN.png and a TensorBoard image."""

    def __init__(self, samples_dir: Path, log_dir: Path, count: int, seed: int, monitor: RunMonitor):
        super().__init__()
        self.samples_dir, self.count, self.seed, self.monitor = Path(samples_dir), count, seed, monitor
        self.samples_dir.mkdir(parents=True, exist_ok=True)
        self.writer = tf.summary.create_file_writer(str(Path(log_dir) / "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.diverged is not None:
            return
        images = self.model.generate(self.count, seed=self.seed)
        grid = image_grid(images)
        path = self.samples_dir / f"epoch_{epoch:04d}.png"
        tmp = path.with_suffix(".tmp.png")
        grid.save(tmp)
        os.replace(tmp, path)
        with self.writer.as_default():
            tf.summary.image("samples", tf.convert_to_tensor(grid)[None], step=epoch)
        self.writer.flush()


class CheckpointSaver(keras.callbacks.Callback):
    """Writes the training state at the end of each good epoch, and again into ``best_manager``
    when the epoch's FID (if it was evaluated) is the lowest so far. tf.train.CheckpointManager
    writes the data first and then swaps the index file, so a kill never leaves a checkpoint
    that cannot be loaded."""

    def __init__(self, manager: tf.train.CheckpointManager, best_manager: tf.train.CheckpointManager,
                 epoch_variable: tf.Variable, monitor: RunMonitor, best_fid: float | None = None):
        super().__init__()
        self.manager, self.best_manager, self.epoch_variable = manager, best_manager, epoch_variable
        self.monitor, self.best_fid = monitor, best_fid

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.diverged is not None:
            return
        self.epoch_variable.assign(epoch + 1)
        self.manager.save(checkpoint_number=epoch + 1)
        fid = (logs or {}).get("fid")
        if fid is not None and (self.best_fid is None or fid < self.best_fid):
            self.best_fid = fid
            self.best_manager.save(checkpoint_number=epoch + 1)


class HistoryWriter(keras.callbacks.Callback):
    """history.csv, one row per finished epoch with fixed columns (Keras' CSVLogger adds empty
    ``val_*`` columns to runs without validation data)."""

    def __init__(self, path: Path, monitor: RunMonitor):
        super().__init__()
        self.path, self.monitor = Path(path), monitor

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.diverged is not None or logs is None:
            return
        row = {**{k: float(v) for k, v in logs.items()}, "epoch": epoch,
               "seconds": round(time.time() - self._started, 3)}
        new = not self.path.exists()
        with open(self.path, "a", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore", restval="")
            if new:
                writer.writeheader()
            writer.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())


class EpochEvaluator(keras.callbacks.Callback):
    """IS, FID and KID every ``every`` epochs, into the epoch's logs: history.csv, TensorBoard
    and the best-FID checkpoint (CheckpointSaver) read them there."""

    def __init__(self, every: int, count: int, seed: int, real_images, extractor, monitor: RunMonitor):
        super().__init__()
        self.every, self.count, self.seed, self.real_images = every, count, seed, real_images
        self.extractor, self.monitor = extractor, monitor
        self.real_features = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor.diverged is not None or logs is None or (epoch + 1) % self.every:
            return
        from keras_emojigan.metrics.evaluate import evaluate_images

        if self.real_features is None:  # the real side never changes: extract it once
            self.real_features = self.extractor.features(self.real_images)
        fake = self.model.generate(self.count, seed=self.seed)
        result = evaluate_images(self.real_images, fake, self.extractor, seed=self.seed,
                                 metrics=("is", "fid", "kid"), real_features=self.real_features)
        logs.update({"is_mean": result["is_mean"], "fid": result["fid"], "kid": result["kid"]})
