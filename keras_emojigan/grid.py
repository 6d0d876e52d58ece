"""Image grids: sample sheets of generated emoji and contact sheets of a data source."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (236, 236, 236)
GAP = 2


def image_grid(images: np.ndarray, columns: int | None = None, gap: int = GAP) -> Image.Image:
    """uint8 [N, H, W, 3] -> one RGB image with the N images in rows of ``columns``."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"image_grid wants uint8 [N, H, W, 3], got {images.dtype} {images.shape}")
    count, height, width, _ = images.shape
    columns = columns or max(1, math.ceil(math.sqrt(count)))
    rows = max(1, math.ceil(count / columns))
    sheet = Image.new("RGB", (columns * (width + gap) + gap, rows * (height + gap) + gap), BACKGROUND)
    for i, image in enumerate(images):
        row, col = divmod(i, columns)
        sheet.paste(Image.fromarray(image), (gap + col * (width + gap), gap + row * (height + gap)))
    return sheet


def contact_sheet(images: np.ndarray, labels: np.ndarray, class_names, *, columns: int = 30,
                  per_class: int | None = None) -> Image.Image:
    """Every class of a data set, one captioned block each (``per_class`` caps each block)."""
    font = ImageFont.load_default(size=14)
    blocks = []
    for index, name in enumerate(class_names):
        members = images[labels == index][:per_class]
        caption = f"{name}: {int((labels == index).sum())} images"
        if per_class is not None and len(members) < int((labels == index).sum()):
            caption += f" (first {len(members)} shown)"
        grid = image_grid(members, min(columns, max(1, len(members)))) if len(members) else None
        width = max(grid.width if grid else 0, 400)
        block = Image.new("RGB", (width, 22 + (grid.height if grid else 0)), "white")
        ImageDraw.Draw(block).text((4, 3), caption, fill="black", font=font)
        if grid:
            block.paste(grid, (0, 22))
        blocks.append(block)
    sheet = Image.new("RGB", (max(b.width for b in blocks), sum(b.height for b in blocks)), "white")
    top = 0
    for block in blocks:
        sheet.paste(block, (0, top))
        top += block.height
    return sheet
