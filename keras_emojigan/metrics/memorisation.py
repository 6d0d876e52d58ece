"""Is a GAN trained on 800 images copying them? Nearest real neighbours of generated images.

For each generated image, the distance to its nearest real image; for each real image, the
distance to its nearest *other* real image. A generated image counts as memorised when it is
closer to a real image than all but ``QUANTILE`` (5%) of real images are to their nearest
neighbour: the real set's own spacing is the threshold, so the number means the same in any
feature space. ``memorisation`` reports the share, the threshold and the median ratio of
generated-to-real over real-to-real nearest distances (about 1 or more for novel images, 0
for copies); it runs in a feature space (the FID Inception's, as published) and in pixel
space. ``nearest_figure`` shows the generated images closest to the training set beside
their nearest real images in both spaces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from keras_emojigan.metrics.precision_recall import pairwise_distances

QUANTILE = 0.05


def nearest(fake: np.ndarray, real: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each fake row, the nearest real row's index and distance."""
    distances = pairwise_distances(fake, real)
    index = distances.argmin(axis=1)
    return index, distances[np.arange(len(fake)), index]


def real_spacing(real: np.ndarray) -> np.ndarray:
    """Each real row's distance to its nearest other real row."""
    distances = pairwise_distances(real, real)
    np.fill_diagonal(distances, np.inf)
    return distances.min(axis=1)


def memorisation(real: np.ndarray, fake: np.ndarray, quantile: float = QUANTILE) -> dict:
    """Share of ``fake`` rows nearer to a real row than the ``quantile`` of real-real spacing."""
    real, fake = np.asarray(real, np.float64).reshape(len(real), -1), np.asarray(fake, np.float64).reshape(
        len(fake), -1)
    spacing = real_spacing(real)
    index, distance = nearest(fake, real)
    threshold = float(np.quantile(spacing, quantile))
    ratio = distance / np.maximum(spacing[index], 1e-12)
    return {"memorised_share": float(np.mean(distance < threshold)), "threshold": threshold,
            "threshold_quantile": quantile, "median_nearest_ratio": float(np.median(ratio)),
            "nearest_index": index, "nearest_distance": distance}


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 images -> flat float vectors in [0, 1], the pixel space of the check."""
    return np.asarray(images, np.float32).reshape(len(images), -1) / 255.0


def nearest_figure(fake_images, real_images, feature_result: dict, pixel_result: dict, path: Path,
                   count: int = 8, feature_name: str = "features") -> Path:
    """The ``count`` generated images nearest to the training set (in feature space), each with
    its nearest real image in feature space and in pixel space; a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = np.argsort(feature_result["nearest_distance"] / feature_result["threshold"])[:count]
    fig, axes = plt.subplots(len(order), 3, figsize=(4.2, 1.45 * len(order)), squeeze=False, layout="constrained")
    titles = ("generated", f"nearest real\n({feature_name})", "nearest real\n(pixels)")
    for row, i in enumerate(order):
        cells = (fake_images[i], real_images[feature_result["nearest_index"][i]],
                 real_images[pixel_result["nearest_index"][i]])
        notes = ("", f"d/t = {feature_result['nearest_distance'][i] / feature_result['threshold']:.2f}",
                 f"d/t = {pixel_result['nearest_distance'][i] / pixel_result['threshold']:.2f}")
        for col, (image, note) in enumerate(zip(cells, notes, strict=True)):
            ax = axes[row][col]
            ax.imshow(image)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_xlabel(note, fontsize=7)
            if row == 0:
                ax.set_title(titles[col], fontsize=8)
    fig.suptitle(f"memorised: {feature_result['memorised_share']:.1%} ({feature_name}), "
                 f"{pixel_result['memorised_share']:.1%} (pixels); d/t < 1 counts", fontsize=8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
