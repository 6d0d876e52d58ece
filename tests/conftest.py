"""Shared test set-up: quiet TensorFlow, and a folder of good and bad image files."""

import io
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Tests use an empty cache (no fetched FID Inception), as CI has: a developer's fetched weights
# must not change what runs. The test that needs the real weights asks for USER_CACHE.
USER_CACHE = os.environ.get("EMOJIGAN_CACHE", os.path.join(os.path.expanduser("~"), ".cache", "keras_emojigan"))
os.environ["EMOJIGAN_CACHE"] = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"emojigan-test-cache-{os.getpid()}")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

RED, BLUE = (255, 0, 0), (0, 0, 255)


def pytest_collection_modifyitems(config, items):
    """The ``heavy`` tests first (their order kept), so xdist's workers end on short tests instead
    of one worker finishing a minute-long fit while the other waits."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


def _png_bytes(image: Image.Image, fmt="PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.fixture
def messy_folder(tmp_path):
    """Two class folders holding good images of every awkward kind, beside broken files.

    Returns (root, good, bad): the relative names of the files that must load and of those
    that must be reported.
    """
    root = tmp_path / "messy"
    happy, sad = root / "happy", root / "sad"
    happy.mkdir(parents=True)
    sad.mkdir()
    # --- good files ---
    Image.new("RGB", (64, 64), RED).save(happy / "plain.png")
    rgba = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    rgba.paste(Image.new("RGBA", (20, 20), RED + (255,)), (10, 10))
    rgba.save(happy / "rgba.png")
    palette = Image.new("P", (32, 32), 0)
    palette.putpalette([255, 255, 255, 0, 0, 255] + [0] * 762)
    palette.paste(1, (8, 8, 24, 24))
    palette.save(happy / "palette.gif", transparency=0)
    Image.new("L", (50, 50), 100).save(sad / "grey.jpg", quality=95)
    Image.new("CMYK", (50, 50), (0, 255, 255, 0)).save(sad / "cmyk.jpg", quality=95)  # red in CMYK
    sixteen = np.full((30, 30), 32768, dtype=np.uint16)
    Image.fromarray(sixteen).save(sad / "sixteen.png")
    Image.new("RGB", (4000, 4000), BLUE).save(sad / "huge.png")
    rotated = Image.new("RGB", (40, 20), BLUE)
    rotated.paste(Image.new("RGB", (20, 20), RED), (0, 0))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    rotated.save(sad / "exif_rotated.jpg", quality=95, exif=exif.tobytes())
    Image.new("RGB", (30, 30), BLUE).save(sad / "plain.bmp")
    Image.new("RGB", (30, 30), BLUE).save(sad / "plain.webp")
    # --- bad files ---
    full = _png_bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)))
    (happy / "truncated.png").write_bytes(full[: len(full) // 2])
    (happy / "empty.png").write_bytes(b"")
    (sad / "text.png").write_text("this is not an image\n")
    (sad / "notes.txt").write_text("not an image suffix\n")
    good = ["happy/plain.png", "happy/rgba.png", "happy/palette.gif", "sad/grey.jpg", "sad/cmyk.jpg",
            "sad/sixteen.png", "sad/huge.png", "sad/exif_rotated.jpg", "sad/plain.bmp", "sad/plain.webp"]
    bad = ["happy/truncated.png", "happy/empty.png", "sad/text.png", "sad/notes.txt"]
    return root, good, bad


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> str:
    """A tiny labelled data source for fits that only need to run: 64 emoji-faces images (32 per
    class) at 32x32, as an .npz path (``--data``). A fit on it at ``resolution=32`` is a fraction
    of one on the whole embedded set at 64x64."""
    from keras_emojigan.data.sources import load_images

    image_set = load_images("emoji-faces", 32)
    labels = np.asarray(image_set.labels)
    chosen = np.concatenate([np.nonzero(labels == c)[0][:32] for c in range(2)])
    path = tmp_path_factory.mktemp("tiny-data") / "tiny.npz"
    np.savez(path, images=image_set.images[chosen], labels=labels[chosen],
             class_names=np.array(image_set.class_names))
    return str(path)
