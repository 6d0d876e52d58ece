"""metrics/diversity.py: the near-duplicate share is 1 for copies and about 5% for the real set;
groups are connected components; selection never prefers a collapsed checkpoint."""

import numpy as np
import pytest

from keras_emojigan.metrics.diversity import COLLAPSED_SHARE, group_members, near_duplicates
from keras_emojigan.training.history import best_row


def _cloud(count, seed=0, dim=16):
    return np.random.default_rng(seed).normal(size=(count, dim))


def test_copies_are_all_near_duplicates_in_as_many_groups_as_originals():
    real = _cloud(200)
    originals = _cloud(10, seed=1)
    copies = np.repeat(originals, 8, axis=0) + 1e-6 * _cloud(80, seed=2)
    result = near_duplicates(real, copies)
    assert result["near_duplicate_share"] == 1.0
    assert result["near_duplicate_groups"] == 10
    assert [len(g) for g in group_members(real, copies)] == [8] * 10


def test_the_real_set_has_about_five_percent_and_fresh_draws_about_as_many():
    real = _cloud(400)
    result = near_duplicates(real, real)
    assert result["near_duplicate_share_real"] == pytest.approx(0.05, abs=0.01)
    assert result["near_duplicate_share"] == pytest.approx(result["near_duplicate_share_real"], abs=1e-9)
    fresh = near_duplicates(real, _cloud(400, seed=3))  # the same distribution: the same spacing
    assert fresh["near_duplicate_share"] < 0.15 and fresh["near_duplicate_groups"] > 340


def test_the_emoji_faces_real_set_in_emoji_features_is_about_five_percent():
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.metrics.extractors import get_extractor

    images = load_images("emoji-faces", 64).images
    features = get_extractor("emoji").features(images).pool
    half = np.random.default_rng(0).permutation(len(images))[:400]
    result = near_duplicates(features, features[half])
    assert 0.0 < result["near_duplicate_share"] < 0.15
    assert result["near_duplicate_share_real"] == pytest.approx(0.05, abs=0.01)


def test_selection_prefers_a_diverse_checkpoint_to_a_collapsed_one_with_a_lower_fid():
    rows = [{"epoch": 4, "fid": 90.0, "near_duplicate_share": 0.10},
            {"epoch": 9, "fid": 60.0, "near_duplicate_share": 0.95},  # collapsed: the lowest FID
            {"epoch": 14, "fid": 70.0, "near_duplicate_share": 0.08},
            {"epoch": 15, "fid": None, "near_duplicate_share": None}]
    assert best_row(rows)["epoch"] == 14
    collapsed_only = [dict(r, near_duplicate_share=0.9) for r in rows[:3]]
    assert best_row(collapsed_only)["epoch"] == 9  # nothing diverse: the lowest FID, and the report shows the share
    legacy = [{"epoch": 4, "fid": 90.0}, {"epoch": 9, "fid": 60.0}]  # runs recorded without the share
    assert best_row(legacy)["epoch"] == 9
    assert 0.05 < COLLAPSED_SHARE < 0.97


def test_evaluate_draws_the_largest_near_duplicate_groups(tmp_path):
    import json

    from click.testing import CliRunner
    from PIL import Image

    from keras_emojigan.cli import main
    from keras_emojigan.data.sources import load_images

    images = load_images("emoji-faces", 64).images
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    for i, image in enumerate(images[:120]):
        Image.fromarray(image).save(tmp_path / "real" / f"{i}.png")
    for i in range(30):  # 5 faces, 6 copies each, and 10 other faces
        Image.fromarray(images[200 + i % 5]).save(tmp_path / "fake" / f"copy{i}.png")
    for i in range(10):
        Image.fromarray(images[300 + i]).save(tmp_path / "fake" / f"other{i}.png")
    figure = tmp_path / "groups.png"
    result = CliRunner().invoke(main, ["evaluate", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "fake"),
                                       "--extractor", "emoji", "--groups", str(figure), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["largest_groups"][:5] == [6] * 5 and report["near_duplicate_share"] >= 30 / 40  # and similar faces
    with Image.open(figure) as sheet:
        assert sheet.width > sheet.height  # rows of 12 members
