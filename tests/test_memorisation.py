"""The memorisation check on constructed cases: a generator that copies training images scores
as copying, one that makes new images does not; the figure and the evaluate --nearest flag."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from keras_emojigan.cli import main
from keras_emojigan.metrics.memorisation import memorisation, nearest, pixels, real_spacing


@pytest.fixture
def blobs():
    """200 'real' points in 16-d, well spread."""
    return np.random.default_rng(0).normal(size=(200, 16))


def test_copies_of_training_points_are_memorised(blobs):
    copies = blobs[:50] + np.random.default_rng(1).normal(scale=1e-6, size=(50, 16))
    result = memorisation(blobs, copies)
    assert result["memorised_share"] == 1.0 and result["median_nearest_ratio"] < 1e-3
    assert (result["nearest_index"] == np.arange(50)).all()


def test_new_points_from_the_same_distribution_are_not(blobs):
    novel = np.random.default_rng(2).normal(size=(200, 16))
    result = memorisation(blobs, novel)
    assert result["memorised_share"] < 0.1 and result["median_nearest_ratio"] > 0.7


def test_a_half_copying_generator_scores_half(blobs):
    mixed = np.concatenate([blobs[:100], np.random.default_rng(3).normal(size=(100, 16))])
    assert memorisation(blobs, mixed)["memorised_share"] == pytest.approx(0.5, abs=0.06)


def test_spacing_and_nearest_by_hand():
    real = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    assert real_spacing(real).tolist() == [3.0, 3.0, 4.0]
    index, distance = nearest(np.array([[2.9, 0.0]]), real)
    assert index.tolist() == [1] and distance == pytest.approx([0.1])
    assert pixels(np.full((2, 2, 2, 3), 255, np.uint8)).shape == (2, 12)


def test_evaluate_nearest_writes_the_figure_and_scores_a_copying_folder(tmp_path):
    """A 'generator' whose output is training images is called a copier by evaluate --nearest."""
    from keras_emojigan.data.sources import load_images

    real = load_images("emoji-faces", 64).images
    (tmp_path / "copies").mkdir()
    for i in range(0, 160, 4):
        Image.fromarray(real[i]).save(tmp_path / "copies" / f"{i}.png")
    figure = tmp_path / "nearest.png"
    result = CliRunner().invoke(main, ["evaluate", "--fake", str(tmp_path / "copies"), "--extractor", "emoji",
                                       "--metrics", "fid", "--nearest", str(figure), "--json"])
    assert result.exit_code == 0, result.output
    values = json.loads(result.output[result.output.index("{"):])
    assert values["memorised_share"] == 1.0 and values["memorised_share_pixels"] == 1.0
    with Image.open(figure) as image:
        assert image.format == "PNG" and image.height > image.width
