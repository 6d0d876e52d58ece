"""How one emoji image is laid out: cropped to what is drawn, fitted in 60/64 of the canvas with a
Lanczos filter, centred on white. The data builder (``emoji_build.py``) lays out every emoji of the
data sets this way, and the projector lays out a user's image the same way, so that it meets the
generator where the training images were.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CANVAS = 64  # the built data sets' size
FIT = 60  # the drawn part's longer side on that canvas
ALPHA_VISIBLE = 8  # alpha above this counts as drawn
INK = 24  # (flat RGB images) a pixel this far below white in any channel counts as drawn


def drawn_box(rgba: Image.Image, ink: bool = True) -> tuple[int, int, int, int] | None:
    """The bounding box (left, top, right, bottom) of what is drawn: alpha above ALPHA_VISIBLE, and
    (``ink``) in an image without transparency, pixels darker than white by more than INK; None
    when blank."""
    alpha = np.asarray(rgba.getchannel("A"))
    drawn = alpha > ALPHA_VISIBLE
    if ink and drawn.all():  # no transparency: what differs from a white background
        rgb = np.asarray(rgba.convert("RGB"), np.int16)
        drawn = (255 - rgb).max(axis=-1) > INK
    ys, xs = np.nonzero(drawn)
    if len(xs) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def lay_out(rgba: Image.Image, canvas: int = CANVAS, ink: bool = True) -> np.ndarray | None:
    """uint8 [canvas, canvas, 3]: the drawn part of ``rgba`` on white, its longer side FIT/CANVAS of
    the canvas, centred; None when nothing is drawn (``ink``: see ``drawn_box``; the builder's
    emoji always have transparency and it keeps the alpha rule alone)."""
    rgba = rgba.convert("RGBA")
    box = drawn_box(rgba, ink)
    if box is None:
        return None
    crop = rgba.crop(box)
    white = Image.new("RGBA", crop.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(white, crop).convert("RGB")
    fit = FIT if canvas == CANVAS else round(canvas * FIT / CANVAS)
    scale = fit / max(flat.size)
    size = (max(1, round(flat.width * scale)), max(1, round(flat.height * scale)))
    flat = flat.resize(size, Image.Resampling.LANCZOS)
    out = Image.new("RGB", (canvas, canvas), (255, 255, 255))
    out.paste(flat, ((canvas - size[0]) // 2, (canvas - size[1]) // 2))
    return np.asarray(out, dtype=np.uint8)


MIN_SIDE = 16  # a smaller image holds too little of an emoji to project


def prepare_user_image(path, resolution: int, *, animated_ok: bool = True, max_pixels: int | None = None) -> np.ndarray:
    """A user's image file (anything a data source reads: PNG, JPEG, WebP, GIF, BMP; transparency
    on white; an animation's first frame unless ``animated_ok`` is False) laid out as the training
    emoji are (``lay_out``) at ``resolution``. Raises ``sources.ImageReadError`` saying what is
    wrong: unreadable, over ``max_pixels`` (default: the data sources' limit), animated, smaller than
    MIN_SIDE, or blank."""
    from keras_emojigan.data.sources import DEFAULT_MAX_PIXELS, ImageReadError, read_image

    if not animated_ok:
        try:
            with Image.open(path) as im:
                frames = getattr(im, "n_frames", 1)
        except (OSError, SyntaxError, ValueError):
            frames = 1  # read_image says what is wrong with it
        if frames > 1:
            raise ImageReadError(f"an animation ({frames} frames): give one still image")
    image = read_image(Path(path), max_pixels or DEFAULT_MAX_PIXELS)
    if min(image.size) < MIN_SIDE:
        raise ImageReadError(f"{image.width}x{image.height} is too small: give at least {MIN_SIDE}x{MIN_SIDE} pixels")
    array = lay_out(image, resolution)
    if array is None:
        raise ImageReadError("blank: nothing is drawn on it (all white or all transparent)")
    return array
