"""Does a generator draw many faces or a few? Near-duplicates among its samples.

FID on a few hundred images barely moves when a generator collapses to a few dozen outputs;
counting near-duplicates does. A generated image has a *near-duplicate* when its nearest other
generated image is closer than the real set's own ``QUANTILE`` (5%) nearest-neighbour spacing
(``memorisation.real_spacing``: the same scale-free threshold as the memorisation check, so the
number means the same in any feature space). The real set measured the same way has about 5%
by construction: that is the floor to read the share against. *Groups* are the connected
groups of generated images under that threshold (a group of one is an image without a
near-duplicate): a collapsed generator's 800 samples fall into a few dozen large groups.

Written here (NumPy, exact distances) because TF-GAN has no diversity measure; precision and
recall (``precision_recall.py``) measure coverage of the real set, this measures repetition.
"""

from __future__ import annotations

import numpy as np

from keras_emojigan.metrics.memorisation import QUANTILE, real_spacing
from keras_emojigan.metrics.precision_recall import pairwise_distances

NAME = "dup"
# Model selection (``training/history.py``) prefers checkpoints whose near-duplicate share is
# at most this: five times the real set's 5%. A collapsed generator is far above it (97%).
COLLAPSED_SHARE = 0.25


def near_duplicates(real: np.ndarray, fake: np.ndarray, quantile: float = QUANTILE) -> dict:
    """The share of ``fake`` rows with a near-duplicate among the other ``fake`` rows, the number
    of near-duplicate groups, and the same share for the ``real`` rows (the floor)."""
    close, spacing, threshold = _near(real, fake, quantile)
    return {"near_duplicate_share": float(close.any(axis=1).mean()),
            "near_duplicate_groups": int(len(np.unique(_group_labels(close)))),
            "near_duplicate_share_real": float(np.mean(spacing < threshold)),
            "near_duplicate_quantile": quantile}


def group_members(real: np.ndarray, fake: np.ndarray, quantile: float = QUANTILE) -> list[np.ndarray]:
    """The near-duplicate groups of ``fake`` as arrays of row indices, largest first (for figures)."""
    labels = _group_labels(_near(real, fake, quantile)[0])
    return sorted((np.nonzero(labels == label)[0] for label in np.unique(labels)), key=len, reverse=True)


def _near(real, fake, quantile):
    """[fake x fake] near-duplicate matrix (no diagonal), the real spacing, and the threshold."""
    real = np.asarray(real, np.float64).reshape(len(real), -1)
    fake = np.asarray(fake, np.float64).reshape(len(fake), -1)
    spacing = real_spacing(real)
    threshold = float(np.quantile(spacing, quantile))
    close = pairwise_distances(fake, fake) < threshold
    np.fill_diagonal(close, False)
    return close, spacing, threshold


def _group_labels(close: np.ndarray) -> np.ndarray:
    """Each row's connected group under ``close``, named by its first member."""
    labels = -np.ones(len(close), int)
    for start in range(len(close)):
        if labels[start] >= 0:
            continue
        labels[start], frontier = start, np.array([start])
        while len(frontier):
            frontier = np.nonzero(close[frontier].any(axis=0) & (labels < 0))[0]
            labels[frontier] = start
    return labels


def groups_figure(fake_images: np.ndarray, groups: list[np.ndarray], path, *, rows: int = 4,
                  columns: int = 12):
    """The ``rows`` largest near-duplicate groups, one row each (up to ``columns`` members), as a
    PNG at ``path``: what a collapsed generator's repeats look like. Returns the path."""
    from pathlib import Path

    from keras_emojigan.grid import image_grid

    blank = np.full(fake_images.shape[1:], 255, np.uint8)
    cells = []
    for group in groups[:rows]:
        members = list(group[:columns])
        cells += [fake_images[i] for i in members] + [blank] * (columns - len(members))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(np.stack(cells), columns).save(path)
    return path
