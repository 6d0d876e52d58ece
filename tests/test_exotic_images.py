"""A folder of odd, truncated, corrupt and exotic files, as a user's photo folder or an image
library's own test set holds them: every file loads or is listed as skipped with a reason,
and no command shows a traceback."""

import io
import os
import struct
import zlib

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_emojigan.cli import main
from keras_emojigan.data.sources import DataSourceError, load_images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims a size and has no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")


@pytest.fixture
def exotic_folder(tmp_path):
    root = tmp_path / "exotic"
    good, bad = root / "good", root / "bad"
    good.mkdir(parents=True)
    bad.mkdir()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 255, (40, 40, 3), np.uint8)
    # --- files that must load ---
    Image.new("1", (33, 17), 1).save(good / "one_bit.png")
    Image.new("LA", (20, 20), (128, 100)).save(good / "grey_alpha.png")
    Image.fromarray(np.full((16, 16), 0.5, np.float32), "F").save(good / "float.tiff")
    Image.fromarray(np.full((16, 16), 70000, np.int32), "I").save(good / "int32.tiff")
    frames = [Image.fromarray(np.roll(noise, i, axis=0)) for i in range(3)]
    frames[0].save(good / "animated.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    frames[0].save(good / "animated.png", save_all=True, append_images=frames[1:])  # APNG
    frames[0].save(good / "pages.tiff", save_all=True, append_images=frames[1:])
    Image.fromarray(noise).save(good / "progressive.jpg", progressive=True, quality=80)
    Image.fromarray(noise).save(good / "icon.ico")
    Image.new("RGB", (1, 1), (255, 0, 0)).save(good / "single_pixel.png")
    Image.new("RGB", (1, 20000), (0, 0, 255)).save(good / "tall_strip.png")  # extreme aspect ratio
    Image.new("RGBA", (30, 30), (0, 0, 0, 0)).save(good / "fully_transparent.png")
    Image.fromarray(noise).save(good / "UPPER.PNG")
    Image.fromarray(noise).save(good / "ünïcödé 名前.png")
    Image.fromarray(noise).save(good / "a_webp_named.png", "WEBP")  # content, not suffix, decides
    # --- files that must be skipped, each with a reason ---
    full = io.BytesIO()
    Image.fromarray(noise).save(full, "PNG")
    data = bytearray(full.getvalue())
    (bad / "truncated.png").write_bytes(bytes(data[: len(data) * 2 // 3]))
    data[40] ^= 0xFF  # a flipped byte inside IDAT: the CRC no longer matches
    (bad / "bad_crc.png").write_bytes(bytes(data))
    jpeg = io.BytesIO()
    Image.fromarray(noise).save(jpeg, "JPEG")
    (bad / "truncated.jpg").write_bytes(jpeg.getvalue()[:200])
    (bad / "header_only.png").write_bytes(_png_header_only(64, 64))
    (bad / "bomb.png").write_bytes(_png_header_only(100_000, 100_000))  # 10^10 pixels claimed
    (bad / "zero.png").write_bytes(b"")
    (bad / "svg.png").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    (bad / "random.gif").write_bytes(rng.integers(0, 255, 4096, np.uint8).tobytes())
    (bad / "gif_magic_only.gif").write_bytes(b"GIF89a")
    (bad / "a_folder.png").mkdir()  # not a file
    os.symlink(bad / "missing-target.png", bad / "dangling.png")
    os.symlink(root, bad / "loop")  # a link back to the top
    os.mkfifo(bad / "fifo.png")  # reading it would wait forever
    os.symlink("/dev/zero", bad / "endless.png")  # reading it would never end
    (bad / "line\nbreak.png").write_text("a name with a newline")
    names_good = sorted(p.relative_to(root).as_posix() for p in good.iterdir())
    return root, names_good


def test_every_exotic_file_loads_or_is_skipped_with_a_reason(exotic_folder):
    root, names_good = exotic_folder
    image_set = load_images(root, 32)
    assert sorted(image_set.names) == names_good
    assert image_set.images.shape == (len(names_good), 32, 32, 3) and image_set.images.dtype == np.uint8
    skipped = {s.name: s.reason for s in image_set.skipped}
    for name in ("bad/truncated.png", "bad/bad_crc.png", "bad/truncated.jpg", "bad/header_only.png",
                 "bad/bomb.png", "bad/zero.png", "bad/svg.png", "bad/random.gif", "bad/gif_magic_only.gif"):
        assert skipped.get(name), (name, skipped)
    assert "over the pixel limit of 50,000,000" in skipped["bad/bomb.png"] and "empty" in skipped["bad/zero.png"]
    assert skipped["bad/dangling.png"] == "a broken symbolic link"
    assert "not a regular file" in skipped["bad/fifo.png"] and "not a regular file" in skipped["bad/endless.png"]
    strip = image_set.images[image_set.names.index("good/tall_strip.png")]
    blue_columns = [x for x in range(32) if (strip[:, x] == [0, 0, 255]).all()]
    assert len(blue_columns) == 1 and (strip[:, 0] == 255).all()  # a blue line on white


def test_commands_on_the_exotic_folder_show_no_traceback(exotic_folder, tmp_path):
    root, _ = exotic_folder
    runner = CliRunner()
    for args in (["data", "info", str(root)], ["data", "info", str(root), "--json"],
                 ["data", "preview", str(root), "-o", str(tmp_path / "sheet.png")],
                 ["data", "info", str(root / "bad")]):
        result = runner.invoke(main, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.output)
        assert "Traceback" not in result.output
    shown = runner.invoke(main, ["data", "info", str(root)]).output
    assert "bad/bomb.png" in shown and "bad/line\\nbreak.png" in shown and "line\nbreak" not in shown


def test_a_folder_of_only_bad_files_is_one_clear_error(exotic_folder):
    root, _ = exotic_folder
    with pytest.raises(DataSourceError, match="no usable image"):
        load_images(root / "bad", 32)
