"""keras_emojigan.data.sources: the embedded set, folders of (bad) images, .npz files."""

import numpy as np
import pytest
from PIL import Image

from keras_emojigan.data import sources
from keras_emojigan.data.sources import DataSourceError, load_images, read_image


def test_embedded_set_is_real_balanced_and_from_ten_designs():
    image_set = load_images()
    assert len(image_set) >= 780
    assert image_set.images.shape[1:] == (64, 64, 3) and image_set.images.dtype == np.uint8
    counts = image_set.class_counts()
    assert set(counts) == {"Positive", "Negative"}
    assert abs(counts["Positive"] - counts["Negative"]) <= 0.05 * len(image_set)
    assert len({row["design"] for row in image_set.manifest}) == 10
    for row, label in zip(image_set.manifest, image_set.labels, strict=True):
        assert image_set.class_names[label] == row["label"]
        assert row["licence"] and row["codepoints"] and row["version"]
    # real pictures: a white border (the 60-in-64 fit) around coloured content
    images = image_set.images.astype(int)
    assert (images[:, :2, :, :] >= 250).mean() > 0.99
    assert images[:, 16:48, 16:48].std() > 30
    # no two images are identical
    assert len({im.tobytes() for im in image_set.images}) == len(image_set)


@pytest.mark.parametrize("resolution", [32, 128])
def test_embedded_set_at_other_resolutions(resolution):
    image_set = load_images(resolution=resolution)
    assert image_set.images.shape[1:] == (resolution, resolution, 3)


def test_bad_resolution_is_a_clear_error():
    with pytest.raises(DataSourceError, match="resolution 48"):
        load_images(resolution=48)


def test_messy_folder_reports_each_bad_file_and_loads_the_rest(messy_folder):
    root, good, bad = messy_folder
    image_set = load_images(root, 32)
    assert sorted(image_set.names) == sorted(good)
    assert sorted(s.name for s in image_set.skipped) == sorted(bad)
    reasons = {s.name: s.reason for s in image_set.skipped}
    assert "0 bytes" in reasons["happy/empty.png"]
    assert "not a readable image" in reasons["sad/text.png"]
    assert "truncated" in reasons["happy/truncated.png"] or "decode" in reasons["happy/truncated.png"]
    assert "suffix" in reasons["sad/notes.txt"]
    assert image_set.images.shape == (len(good), 32, 32, 3) and image_set.images.dtype == np.uint8
    assert image_set.class_names == ("happy", "sad")
    by_name = dict(zip(image_set.names, image_set.images, strict=True))
    labels = dict(zip(image_set.names, image_set.labels, strict=True))
    assert labels["happy/rgba.png"] == 0 and labels["sad/cmyk.jpg"] == 1
    # transparency on white, content kept
    rgba = by_name["happy/rgba.png"].astype(int)
    assert (rgba[0, 0] == 255).all() and rgba[16, 16, 0] > 240 and rgba[16, 16, 1:].max() < 20
    palette = by_name["happy/palette.gif"].astype(int)
    assert (palette[0, 0] == 255).all() and palette[16, 16, 2] > 240 and palette[16, 16, :2].max() < 20
    # greyscale -> three equal channels; CMYK red -> RGB red; 16-bit half scale -> 128
    assert np.allclose(by_name["sad/grey.jpg"].astype(int), 100, atol=3)
    cmyk = by_name["sad/cmyk.jpg"].astype(int)
    assert cmyk[..., 0].min() > 230 and cmyk[..., 1:].max() < 30
    assert np.allclose(by_name["sad/sixteen.png"].astype(int), 128, atol=1)
    assert np.allclose(by_name["sad/huge.png"].astype(int), [0, 0, 255], atol=1)


def test_exif_orientation_is_applied(messy_folder):
    root, _, _ = messy_folder
    upright = np.asarray(read_image(root / "sad" / "exif_rotated.jpg")).astype(int)
    assert upright.shape == (40, 20, 3)  # portrait after the 90-degree turn
    assert upright[5, 10, 0] > 200 and upright[5, 10, 2] < 60  # the red half is on top
    assert upright[35, 10, 2] > 200 and upright[35, 10, 0] < 60


def test_pixel_limit_skips_before_decoding(messy_folder):
    root, good, _ = messy_folder
    image_set = load_images(root, 32, max_pixels=1_000_000)
    reasons = {s.name: s.reason for s in image_set.skipped}
    assert "4000x4000 is over the pixel limit" in reasons["sad/huge.png"]
    assert len(image_set) == len(good) - 1


def test_square_crop_and_pad(tmp_path):
    wide = Image.new("RGB", (60, 20), (255, 0, 0))
    wide.save(tmp_path / "wide.png")
    padded = load_images(tmp_path, 32).images[0].astype(int)
    cropped = load_images(tmp_path, 32, square="crop").images[0].astype(int)
    assert (padded[0, 16] == 255).all() and padded[16, 16, 1] < 10  # white margins above and below
    assert cropped[:, :, 1].max() < 10  # all red


def test_top_level_images_beside_class_folders(tmp_path):
    (tmp_path / "a").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "x.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "y.png")
    image_set = load_images(tmp_path, 32)
    assert image_set.class_names == ("(top)", "a")
    unlabelled = load_images(tmp_path / "a", 32)
    assert unlabelled.class_names == ("all",) and list(unlabelled.labels) == [0]


def test_folder_with_no_usable_image_is_an_error_naming_the_files(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n")
    with pytest.raises(DataSourceError, match=r"no usable image[\s\S]*broken\.png"):
        load_images(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataSourceError, match="no usable image"):
        load_images(empty)


def test_missing_source_and_wrong_file_kind(tmp_path):
    with pytest.raises(DataSourceError, match="does not exist"):
        load_images(tmp_path / "nope")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(DataSourceError, match="not an .npz"):
        load_images(tmp_path / "a.txt")


def test_npz_sources(tmp_path):
    rng = np.random.default_rng(0)
    uint8 = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    np.savez(tmp_path / "u8.npz", images=uint8, labels=np.array([0, 1, 1, 0, 1]),
             class_names=np.array(["a", "b"]))
    image_set = load_images(tmp_path / "u8.npz", 32)
    assert image_set.images.shape == (5, 32, 32, 3) and image_set.class_counts() == {"a": 2, "b": 3}
    signed = uint8.astype(np.float32) / 127.5 - 1
    np.savez(tmp_path / "f.npz", signed)  # a single unnamed array is taken as the images
    back = sources._load_npz(tmp_path / "f.npz").images
    assert np.abs(back.astype(int) - uint8.astype(int)).max() <= 1
    grey = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    np.savez(tmp_path / "grey.npz", images=grey)
    assert load_images(tmp_path / "grey.npz", 32).images.shape == (3, 32, 32, 3)
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 8)))
    with pytest.raises(DataSourceError, match=r"bad\.npz: 'images' has shape"):
        load_images(tmp_path / "bad.npz")
    np.savez(tmp_path / "range.npz", images=np.full((2, 8, 8, 3), 7.0))
    with pytest.raises(DataSourceError, match="neither"):
        load_images(tmp_path / "range.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataSourceError, match="not a readable .npz"):
        load_images(tmp_path / "junk.npz")
    np.savez(tmp_path / "labels.npz", images=uint8, labels=np.array([0, 1]))
    with pytest.raises(DataSourceError, match="'labels' has shape"):
        load_images(tmp_path / "labels.npz")
