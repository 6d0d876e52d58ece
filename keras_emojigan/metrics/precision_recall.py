"""Improved precision and recall (Kynkäänniemi et al. 2019), k = 3.

Precision: the share of generated features inside the real manifold (the union of balls
around each real feature reaching its k-th nearest real neighbour); recall: the share of real
features inside the generated manifold. TF-GAN has no implementation, so this is our own
NumPy code (exact pairwise distances; fine for thousands of samples).
"""

from __future__ import annotations

import numpy as np

NAME = "pr"
K = 3


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)], in float64."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


def _radii(features: np.ndarray, k: int) -> np.ndarray:
    distances = pairwise_distances(features, features)
    return np.sort(distances, axis=1)[:, k]  # column 0 is the point itself


def _coverage(manifold: np.ndarray, radii: np.ndarray, probes: np.ndarray) -> float:
    return float((pairwise_distances(probes, manifold) <= radii[None, :]).any(axis=1).mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = K) -> dict:
    precision = _coverage(real, _radii(real, k), fake)
    recall = _coverage(fake, _radii(fake, k), real)
    return {"precision": precision, "recall": recall, "pr_k": k}
