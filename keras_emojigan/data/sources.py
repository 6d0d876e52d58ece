"""Resolve a data source into an array of RGB images at one resolution.

A source is the embedded ``emoji-faces`` set, a folder of images (searched recursively;
class labels from first-level sub-folder names) or an ``.npz`` file. Bad files never stop a
load: each one is recorded in ``ImageSet.skipped`` with its reason, and only a source with no
usable image is an error (``DataSourceError``). This module needs NumPy and Pillow only, so
the CLI's data commands start without importing TensorFlow.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from keras_emojigan.config import RESOLUTIONS
from keras_emojigan.data.fetched import FETCHED, FetchError, fetched_npz
from keras_emojigan.errors import UserInputError

EMBEDDED = "emoji-faces"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".ico")
DEFAULT_MAX_PIXELS = 50_000_000  # larger images are skipped before they are decoded
WHITE = (255, 255, 255)


class DataSourceError(UserInputError):
    """A data source that cannot give any usable image (the CLI exits with code 2)."""


@dataclasses.dataclass(frozen=True)
class Skipped:
    name: str
    reason: str


@dataclasses.dataclass
class ImageSet:
    """Images of one source, ready for the pipeline.

    ``images`` is uint8 [N, R, R, 3]; ``labels`` int32 [N] indexes ``class_names`` (all zeros
    with a single class when the source has no labels); ``names`` identifies each image (file
    path relative to the source, or the manifest's file name); ``manifest`` holds the embedded
    set's per-image rows (code point, design, licence, ...) and is empty for other sources.
    """

    source: str
    images: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    names: tuple[str, ...]
    skipped: list[Skipped] = dataclasses.field(default_factory=list)
    manifest: list[dict] = dataclasses.field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(n) for name, n in zip(self.class_names, counts, strict=True)}


def load_images(source: str | Path = EMBEDDED, resolution: int = 64, *, square: str = "pad",
                max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageSet:
    """Load ``source`` as RGB uint8 images of ``resolution`` x ``resolution``.

    ``square`` says how non-square images become square: ``pad`` (fit inside, white margins:
    the embedded set's own preparation) or ``crop`` (centre crop).
    """
    if resolution not in RESOLUTIONS:
        raise DataSourceError(f"resolution {resolution} is not supported: use one of {RESOLUTIONS}")
    if square not in ("pad", "crop"):
        raise DataSourceError(f"square={square!r}: use 'pad' or 'crop'")
    if str(source) == EMBEDDED:
        image_set = _load_embedded()
    elif str(source) in FETCHED:
        image_set = _load_fetched(str(source))
    else:
        path = Path(source).expanduser()
        if path.is_dir():
            image_set = _load_folder(path, resolution, square, max_pixels)
        elif path.suffix.lower() == ".npz" and path.is_file():
            image_set = _load_npz(path)
        elif path.exists():
            raise DataSourceError(
                f"data source {str(source)!r} is a file but not an .npz: give '{EMBEDDED}', "
                "a folder of images or an .npz file with an 'images' array")
        else:
            raise DataSourceError(
                f"data source {str(source)!r} does not exist: give '{EMBEDDED}', "
                "a folder of images or an .npz file")
    if len(image_set) == 0:
        detail = "".join(f"\n  {s.name}: {s.reason}" for s in image_set.skipped[:20])
        raise DataSourceError(f"data source {str(source)!r} has no usable image{detail}")
    if image_set.resolution != resolution or image_set.images.shape[2] != resolution:
        image_set.images = np.stack(
            [to_square(Image.fromarray(a), resolution, square) for a in image_set.images])
    return image_set


# --- the embedded set ----------------------------------------------------------------------
def embedded_files():
    """The package folder that holds the embedded set's array, manifest and licences."""
    return resources.files("keras_emojigan.data") / "emoji_faces"


def _load_embedded() -> ImageSet:
    return _load_built(EMBEDDED, embedded_files(), "emoji_faces.npz", "scripts/tools/build_emoji_faces.py")


def _load_fetched(name: str) -> ImageSet:
    try:
        path = fetched_npz(name)
    except FetchError as err:
        raise DataSourceError(str(err)) from None
    return _load_built(name, path.parent, path.name, f"`emojigan data fetch {name}` after deleting {path.parent}")


def _load_built(name: str, folder, npz_name: str, rebuild: str) -> ImageSet:
    """A built emoji set: its .npz (images, labels, class_names, files) and MANIFEST.csv."""
    with (folder / npz_name).open("rb") as fh, np.load(io.BytesIO(fh.read())) as npz:
        images, labels = npz["images"], npz["labels"].astype(np.int32)
        class_names = tuple(str(c) for c in npz["class_names"])
        names = tuple(str(f) for f in npz["files"])
    with (folder / "MANIFEST.csv").open("r", encoding="utf-8") as fh:
        manifest = list(csv.DictReader(fh))
    if [row["file"] for row in manifest] != list(names):
        raise DataSourceError(f"the {name} array and MANIFEST.csv disagree: rebuild them with {rebuild}")
    return ImageSet(name, images, labels, class_names, names, manifest=manifest)


# --- folders -------------------------------------------------------------------------------
def _load_folder(root: Path, resolution: int, square: str, max_pixels: int) -> ImageSet:
    entries = sorted(p for p in root.rglob("*")
                     if not p.is_dir() and not any(part.startswith(".") for part in p.relative_to(root).parts))
    images, groups, names, skipped = [], [], [], []
    for path in entries:
        rel = path.relative_to(root).as_posix()
        if not path.is_file():  # listed, not ignored: the user may have meant it to be an image
            reason = ("a broken symbolic link" if path.is_symlink() and not path.exists()
                      else "not a regular file (a FIFO, socket or device, or a link to one)")
            skipped.append(Skipped(rel, reason))
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(Skipped(rel, f"not an image suffix ({', '.join(IMAGE_SUFFIXES)})"))
            continue
        try:
            image = read_image(path, max_pixels)
        except ImageReadError as err:
            skipped.append(Skipped(rel, str(err)))
            continue
        images.append(to_square(image, resolution, square))
        names.append(rel)
        parts = path.relative_to(root).parts
        groups.append(parts[0] if len(parts) > 1 else None)
    labels, class_names = _labels_from_groups(groups)
    arrays = np.stack(images) if images else np.zeros((0, resolution, resolution, 3), np.uint8)
    return ImageSet(str(root), arrays, labels, class_names, tuple(names), skipped)


def _labels_from_groups(groups):
    """First-level sub-folders are classes; images at the top level form a class '(top)'."""
    if not any(g is not None for g in groups):
        return np.zeros(len(groups), np.int32), ("all",)
    named = ["(top)" if g is None else g for g in groups]
    class_names = tuple(sorted(set(named)))
    return np.array([class_names.index(g) for g in named], np.int32), class_names


class ImageReadError(Exception):
    """Why one file could not be used as an image."""


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Read one file as an upright RGB image, transparency composited on white."""
    if path.stat().st_size == 0:
        raise ImageReadError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                if width * height > max_pixels:
                    raise ImageReadError(
                        f"{width}x{height} is over the pixel limit of {max_pixels:,}")
                im.seek(0)  # first frame of an animation
                im.load()
                upright = ImageOps.exif_transpose(im)
                return to_rgb(upright)
    except ImageReadError:
        raise
    except UnidentifiedImageError:
        raise ImageReadError("not a readable image (unknown or damaged format)") from None
    except Image.DecompressionBombError as err:  # Pillow's own limit, met before ours could be checked
        size = re.search(r"\((\d+) pixels\)", str(err))
        raise ImageReadError(f"{int(size[1]):,} pixels is over the pixel limit of {max_pixels:,}" if size
                             else f"over the pixel limit of {max_pixels:,}") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as err:
        raise ImageReadError(f"cannot decode: {err}") from None


def to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> RGB: alpha on white, 16-bit and float scaled, CMYK/palette converted."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(im, dtype=np.float64)
        top = 65535.0 if im.mode.startswith("I;16") or array.max() > 255 else 255.0
        grey = np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if im.mode == "F":
        array = np.asarray(im, dtype=np.float64)
        top = 1.0 if array.max() <= 1.0 else 255.0
        return Image.fromarray(np.clip(array / top * 255.0 + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode in ("P", "L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, WHITE + (255,))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")


def to_square(im: Image.Image, size: int, square: str = "pad") -> np.ndarray:
    """Make ``im`` a ``size`` x ``size`` RGB array with an antialiasing (Lanczos) resize."""
    width, height = im.size
    if width != height:
        if square == "crop":
            side = min(width, height)
            left, top = (width - side) // 2, (height - side) // 2
            im = im.crop((left, top, left + side, top + side))
        else:  # resized first, then padded: a 1x50000 strip must not become a 50000x50000 canvas
            scale = size / max(width, height)
            inner = (max(1, round(width * scale)), max(1, round(height * scale)))
            im = im.resize(inner, Image.Resampling.LANCZOS, reducing_gap=3.0)
            canvas = Image.new("RGB", (size, size), WHITE)
            canvas.paste(im, ((size - inner[0]) // 2, (size - inner[1]) // 2))
            im = canvas
    if im.size != (size, size):
        im = im.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.asarray(im, dtype=np.uint8)


# --- .npz files ----------------------------------------------------------------------------
def _load_npz(path: Path) -> ImageSet:
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.keys())
            key = "images" if "images" in keys else (keys[0] if len(keys) == 1 else None)
            if key is None:
                raise DataSourceError(f"{path}: no 'images' array (found {', '.join(keys) or 'none'})")
            images = npz[key]
            labels = npz["labels"].astype(np.int32) if "labels" in keys else None
            class_names = tuple(str(c) for c in npz["class_names"]) if "class_names" in keys else None
    except DataSourceError:
        raise
    except Exception as err:  # zip/format errors from numpy come in many types
        raise DataSourceError(f"{path}: not a readable .npz file ({err})") from None
    images = _npz_images_to_uint8(images, path)
    if labels is None:
        labels, class_names = np.zeros(len(images), np.int32), ("all",)
    elif labels.shape != (len(images),):
        raise DataSourceError(f"{path}: 'labels' has shape {labels.shape}, expected ({len(images)},)")
    elif class_names is None:
        class_names = tuple(str(i) for i in range(int(labels.max(initial=0)) + 1))
    if len(labels) and (labels.min() < 0 or labels.max() >= len(class_names)):
        raise DataSourceError(f"{path}: 'labels' must lie in [0, {len(class_names)})")
    names = tuple(f"{path.name}[{i}]" for i in range(len(images)))
    return ImageSet(str(path), images, labels, class_names, names)


def _npz_images_to_uint8(images: np.ndarray, path: Path) -> np.ndarray:
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise DataSourceError(
            f"{path}: 'images' has shape {images.shape}; expected [N, H, W], [N, H, W, 1|3|4]")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating) or not np.isfinite(images).all():
            raise DataSourceError(f"{path}: 'images' must be uint8, or finite floats in [0, 1] or [-1, 1]")
        low, high = float(images.min(initial=0)), float(images.max(initial=0))
        if low >= 0 and high <= 1:
            images = images * 255.0
        elif low >= -1 and high <= 1:
            images = (images + 1.0) * 127.5
        else:
            raise DataSourceError(
                f"{path}: float 'images' range [{low}, {high}] is neither [0, 1] nor [-1, 1]")
        images = np.clip(images + 0.5, 0, 255).astype(np.uint8)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    elif images.shape[-1] == 4:
        alpha = images[..., 3:].astype(np.float32) / 255.0
        images = (images[..., :3] * alpha + 255.0 * (1 - alpha) + 0.5).astype(np.uint8)
    return images
