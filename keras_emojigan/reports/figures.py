"""Figures: matplotlib panels of one width, saved as palette PNGs (a third of the RGBA file's
size, no visible change: the figures are committed under docs/results/), run labels wrapped to
their panel, and per-epoch series over runs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

PANEL_WIDTH, DPI = 4.2, 110  # inches per figure panel, dots per inch


def figure(panels: int, height: float = 3.2):
    """(pyplot, figure, axes) of ``panels`` panels side by side, on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, panels, figsize=(PANEL_WIDTH * panels, height), squeeze=False,
                             layout="constrained")
    return plt, fig, axes[0]


def save_figure(plt, fig, path: Path) -> None:
    """Save ``fig`` as a 256-colour palette PNG at ``path`` and close it."""
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=DPI, format="png")
    plt.close(fig)
    with Image.open(buffer) as image:
        palette_png(image, path)


def palette_png(image: Image.Image, path: Path) -> None:
    image.convert("RGB").quantize(256, dither=Image.Dither.NONE).save(path, optimize=True)


def wrapped(label: str, width: int = 36) -> str:
    """A run's label broken at its ':'s into lines of at most ``width`` characters, so long labels
    (deligan:class_loss_weight=1.0:conditional=True) do not run into the next panel."""
    lines = [""]
    for part in label.split(":"):
        piece = part if not lines[-1] else ":" + part
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append(":" + part)
        else:
            lines[-1] += piece
    return "\n".join(lines)


def series(histories: dict, names, key: str, spread: bool = False):
    """Per-epoch mean of ``key`` over the runs ``names`` (runs may stop early: the mean uses those
    still going): (epochs, means); with ``spread`` also the lowest and highest run at each epoch."""
    epochs = sorted({r["epoch"] for n in names for r in histories[n] if r.get(key) is not None})
    per_epoch = [[r[key] for n in names for r in histories[n] if r["epoch"] == e and r.get(key) is not None]
                 for e in epochs]
    values = [float(np.mean(v)) for v in per_epoch]
    if spread:
        return epochs, values, [min(v) for v in per_epoch], [max(v) for v in per_epoch]
    return epochs, values
