"""Run the metric registry on real and generated images through one extractor.

Every result records the extractor, the number of real and generated images and the seed, so
a number is never read without its conditions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_emojigan.errors import UserInputError
from keras_emojigan.metrics.diversity import near_duplicates
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
    "dup": lambda real, fake: near_duplicates(real.pool, fake.pool),
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
                    metrics=tuple(METRICS), real_features: Features | None = None,
                    fake_features: Features | None = None, memorisation: bool = False,
                    nearest: Path | None = None) -> dict:
    """Metrics of ``fake`` against ``real`` (uint8 image arrays) in ``extractor``'s feature space
    (features already computed with it may be given). With ``memorisation`` (implied by
    ``nearest``, a PNG path for its figure), also the memorisation check (``memorisation.py``) in
    that feature space and in pixel space."""
    for side, images in (("real", real), ("generated", fake)):
        if len(images) < 2:
            raise UserInputError(f"the metrics need at least 2 {side} images, got {len(images)}")
    real_features = real_features or extractor.features(real)
    fake_features = fake_features or extractor.features(fake)
    results = {"extractor": extractor.name, "num_real": int(len(real)), "num_fake": int(len(fake)), "seed": seed,
               **compare_features(real_features, fake_features, metrics)}
    if memorisation or nearest is not None:
        from keras_emojigan.metrics import memorisation as check

        in_features = check.memorisation(real_features.pool, fake_features.pool)
        in_pixels = check.memorisation(check.pixels(real), check.pixels(fake))
        results.update({"memorised_share": in_features["memorised_share"],
                        "memorised_share_pixels": in_pixels["memorised_share"],
                        "median_nearest_ratio": in_features["median_nearest_ratio"],
                        "median_nearest_ratio_pixels": in_pixels["median_nearest_ratio"],
                        "memorised_threshold_quantile": in_features["threshold_quantile"]})
        if nearest is not None:
            check.nearest_figure(fake, real, in_features, in_pixels, nearest, feature_name=extractor.name)
            results["nearest_figure"] = str(nearest)
    return results


def evaluate_classes(generate, real: np.ndarray, real_labels: np.ndarray, class_names, extractor: Extractor, *,
                     per_class: int, seed: int = 0) -> dict:
    """A conditional generator, class by class: FID and KID of ``per_class`` images generated for
    each class against that class's real images, and the class accuracy (``class_accuracy.py``):
    the share of them that a probe trained on the real images puts in the requested class.
    ``generate(count, seed, label)`` makes uint8 images."""
    real_labels = np.asarray(real_labels)
    real_features, probe, results = _class_probe(real, real_labels, class_names, extractor, seed)
    for index, name in enumerate(class_names):
        fake_features = extractor.features(generate(per_class, seed, index))
        results["classes"][name] = {
            **_class_metrics(real_features, real_labels == index, fake_features),
            "class_accuracy": probe.accuracy(fake_features.pool, np.full(len(fake_features.pool), index))}
    return results


def evaluate_classes_unconditional(fake: np.ndarray, real: np.ndarray, real_labels: np.ndarray, class_names,
                                   extractor: Extractor, *, seed: int = 0) -> dict:
    """An unconditional generator's numbers per class, to set beside a conditional one's: the
    probe (trained on the real images) sorts the generated images into classes, and each class's
    share is measured against that class's real images (FID/KID; none below 2 images)."""
    real_labels = np.asarray(real_labels)
    real_features, probe, results = _class_probe(real, real_labels, class_names, extractor, seed)
    fake_features = extractor.features(fake)
    predicted = probe.predict(fake_features.pool)
    for index, name in enumerate(class_names):
        chosen = predicted == index
        entry = {"share": float(chosen.mean())}
        if chosen.sum() >= 2:
            entry.update(_class_metrics(real_features, real_labels == index, subset(fake_features, chosen)))
        else:
            entry.update({"num_real": int((real_labels == index).sum()), "num_fake": int(chosen.sum()),
                          "fid": None, "kid": None, "recall": None, "near_duplicate_share": None})
        results["classes"][name] = entry
    return results


def _class_probe(real, real_labels, class_names, extractor, seed):
    from keras_emojigan.models.class_probe import ClassProbe

    real_features = extractor.features(real)
    probe = ClassProbe(len(class_names), seed=seed)
    results = {"extractor": extractor.name, "seed": seed, **probe.fit(real_features.pool, real_labels, class_names),
               "classes": {}}
    return real_features, probe, results


def _class_metrics(real_features: Features, members: np.ndarray, fake_features: Features) -> dict:
    """FID and KID against the class's real images, with the diversity beside them: precision and
    recall against those images and the near-duplicate share among the class's generated ones."""
    metrics = compare_features(subset(real_features, members), fake_features, ("fid", "kid", "pr", "dup"))
    return {"num_real": int(members.sum()), "num_fake": int(len(fake_features.pool)), **metrics}


def split_halves(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A random split of ``count`` indices into two halves (the second one larger when count is odd)."""
    order = np.random.default_rng(seed).permutation(count)
    return order[: count // 2], order[count // 2:]


def subset(features: Features, index: np.ndarray) -> Features:
    return Features(features.pool[index], None if features.logits is None else features.logits[index])


def evaluate_halves(real: np.ndarray, fake: np.ndarray, extractor: Extractor, *, seed: int = 0,
                    real_features: Features | None = None, fake_features: Features | None = None) -> dict:
    """FID and KID of ``fake`` against each random half of ``real``, their mean, and the floor at
    the same sample sizes: one real half against the other. FID's bias grows as samples shrink, so
    a small set's FID means something only beside that floor (``fid_over_floor``). Precision,
    recall and the near-duplicate share come beside it, with their real-vs-real values. Features
    already computed with ``extractor`` may be given."""
    if len(real) < 4 or len(fake) < 2:
        raise UserInputError(f"halves need at least 4 real and 2 generated images, got {len(real)} and {len(fake)}")
    real_features = real_features if real_features is not None else extractor.features(real)
    fake_features = fake_features if fake_features is not None else extractor.features(fake)
    a, b = (subset(real_features, half) for half in split_halves(len(real), seed))
    versus_a, versus_b = (compare_features(half, fake_features, ("fid", "kid")) for half in (a, b))
    floor = compare_features(a, b, ("fid", "kid"))
    results = {"extractor": extractor.name, "num_fake": int(len(fake)), "num_half_a": int(len(a.pool)),
               "num_half_b": int(len(b.pool)), "seed": seed}
    for key in ("fid", "kid"):
        mean = (versus_a[key] + versus_b[key]) / 2
        # KID is unbiased, so on small sets its floor can be 0 or below: a ratio to it means nothing
        # (it gave -290x on a 160-image folder), and is None then.
        ratio = mean / floor[key] if floor[key] > 0 else None
        results.update({f"{key}_vs_half_a": versus_a[key], f"{key}_vs_half_b": versus_b[key], key: mean,
                        f"floor_{key}": floor[key], f"{key}_over_floor": ratio})
    # Diversity beside it: precision/recall against the whole real set (the floor: half A against
    # half B) and the near-duplicate share (the floor: the real set's own, about 5%).
    diversity = compare_features(real_features, fake_features, ("pr", "dup"))
    real_floor = precision_recall(a.pool, b.pool)
    results.update({**diversity, "floor_precision": real_floor["precision"], "floor_recall": real_floor["recall"]})
    return results
