"""A run's best-FID and last checkpoints, measured again with a second extractor.

During ``fit`` the per-epoch metrics use the cheap emoji extractor; the numbers a comparison
publishes also need the standard FID's network (the FID Inception) and the memorisation
check. ``CheckpointMeter`` restores a run's best-FID checkpoint and its last one, generates
``samples`` images from each (the evaluation seed), and records FID, KID (and IS when the
extractor has logits), precision/recall, the near-duplicate share and groups (``metrics/diversity.py``),
the memorised shares in feature and pixel space, with a nearest-neighbour figure for the best
checkpoint, and FID over the real-vs-real floor (half the real set's count of generated images
against each real half, over one half against the other: ``evaluate_halves``). Results are
cached in ``RUN_DIR/checkpoint_metrics.json`` by extractor name, so a rerun of ``compare``
measures only what is new.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from keras_emojigan.metrics.keys import CHECKPOINT
from keras_emojigan.reports.tables import times

FILE = "checkpoint_metrics.json"
NEAREST_FIGURE = "nearest_best.png"
KEYS = CHECKPOINT
# Measured since these were added: older caches without them are measured again.
ADDED_LATER = ("recall", "near_duplicate_share", "fid_over_floor")


class CheckpointMeter:
    """Measures runs against the real images each was trained on: its config's data source at its
    resolution (loaded, and their features computed, once per source and resolution)."""

    def __init__(self, extractor, samples: int = 800, seed: int = 0, figure: bool = True):
        """``figure``: draw the best checkpoint's nearest-neighbour figure (one meter of several does)."""
        self.extractor, self.samples, self.seed, self.figure = extractor, samples, seed, figure
        self._real = {}  # (data, resolution) -> (images, features)

    def real(self, data: str, resolution: int):
        if (data, resolution) not in self._real:
            from keras_emojigan.data.sources import load_images

            images = load_images(data, resolution).images
            self._real[(data, resolution)] = images, self.extractor.features(images)
        return self._real[(data, resolution)]

    def __call__(self, run_dir: Path, log=print) -> dict:
        """{"best": {...}, "last": {...}} for this extractor (from the cache when it is there)."""
        import keras

        from keras_emojigan.config import ConfigError, TrainConfig
        from keras_emojigan.metrics.evaluate import evaluate_halves, evaluate_images, subset
        from keras_emojigan.training.rundir import CONFIG, restore_gan

        run_dir = Path(run_dir)
        path = run_dir / FILE
        cached = json.loads(path.read_text()) if path.exists() else {}
        entry = cached.get(self.extractor.name)
        if entry and all(key in part for part in entry.values() for key in ADDED_LATER):
            return entry
        config = TrainConfig.load(run_dir / CONFIG)
        real_images, real_features = self.real(config.data, config.resolution)
        measured = {}
        for which in ("best", "last"):
            started = time.perf_counter()
            try:
                gan, _, epochs = restore_gan(run_dir, best=which == "best")
            except ConfigError:  # no best-FID checkpoint (a run that was never evaluated)
                continue
            fake = gan.generate(self.samples, seed=self.seed)
            fake_features = self.extractor.features(fake)  # once, for both measures
            result = evaluate_images(real_images, fake, self.extractor, seed=self.seed,
                                     metrics=("is", "fid", "kid", "pr", "dup"), real_features=real_features,
                                     fake_features=fake_features, memorisation=True,
                                     nearest=run_dir / NEAREST_FIGURE if which == "best" and self.figure else None)
            half = np.arange(min(len(fake), max(2, len(real_images) // 2)))  # as many as half the real set
            halves = evaluate_halves(real_images, fake[half], self.extractor, seed=self.seed,
                                     real_features=real_features, fake_features=subset(fake_features, half))
            result.update({key: halves[key] for key in ("fid_over_floor", "floor_fid")})
            measured[which] = {"epoch": epochs - 1, "samples": self.samples,
                               **{k: result[k] for k in KEYS if result.get(k) is not None},
                               "seconds": round(time.perf_counter() - started, 1)}
            del gan
            keras.backend.clear_session()
        if not measured:  # no checkpoints here (a run restored from its published records): keep what was cached
            log(f"{run_dir.name}: no checkpoints, so no new {self.extractor.name} numbers for its table row")
            return entry or measured
        log(f"{run_dir.name}: {self.extractor.name} " + "; ".join(
            f"{which} (epoch {m['epoch']}) FID {m['fid']:.4g} ({times(m.get('fid_over_floor'))} the floor), "
            f"recall {m['recall']:.2f}, "
            f"near-duplicates {m['near_duplicate_share']:.0%}, memorised {m.get('memorised_share', 0):.1%}"
            for which, m in measured.items()))
        cached[self.extractor.name] = measured
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(cached, indent=2) + "\n")
        tmp.replace(path)
        return measured
