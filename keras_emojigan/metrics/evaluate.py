"""Run the metric registry on real and generated images through one extractor.

Every result records the extractor, the number of real and generated images and the seed, so
a number is never read without its conditions.
"""

from __future__ import annotations

import numpy as np

from keras_emojigan.errors import UserInputError
from keras_emojigan.metrics.extractors import Extractor, Features
from keras_emojigan.metrics.fid import fid
from keras_emojigan.metrics.inception_score import inception_score
from keras_emojigan.metrics.kid import kid
from keras_emojigan.metrics.precision_recall import precision_recall

METRICS = {
    "is": lambda real, fake: inception_score(fake.logits) if fake.logits is not None else {},  # no head, no IS
    "fid": lambda real, fake: fid(real.pool, fake.pool),
    "kid": lambda real, fake: kid(real.pool, fake.pool),
    "pr": lambda real, fake: precision_recall(real.pool, fake.pool),
}


def compare_features(real: Features, fake: Features, metrics=tuple(METRICS)) -> dict:
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise UserInputError(f"--metrics: unknown metric(s) {', '.join(unknown)}: use {', '.join(METRICS)}")
    results = {}
    for name in metrics:
        results.update(METRICS[name](real, fake))
    return results


def evaluate_images(real: np.ndarray, fake: np.ndarray, extractor: Extractor, *, seed=None,
                    metrics=tuple(METRICS), real_features: Features | None = None) -> dict:
    """Metrics of ``fake`` against ``real`` (uint8 image arrays) in ``extractor``'s feature space."""
    for side, images in (("real", real), ("generated", fake)):
        if len(images) < 2:
            raise UserInputError(f"the metrics need at least 2 {side} images, got {len(images)}")
    real_features = real_features or extractor.features(real)
    results = compare_features(real_features, extractor.features(fake), metrics)
    return {"extractor": extractor.name, "num_real": int(len(real)), "num_fake": int(len(fake)), "seed": seed,
            **results}
