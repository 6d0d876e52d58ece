"""The second feature space (the ``emoji-all`` extractor: a classifier trained on emoji-all, never on
emoji-faces, used by no discriminator): it loads from the package, real images score near its
real-vs-real floor and damaged ones far above it, and compare's tables carry it beside the first
space."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from keras_emojigan.compare import SECOND_SPACE, checkpoint_prefix, checkpoint_table
from keras_emojigan.data.sources import load_images
from keras_emojigan.metrics.evaluate import evaluate_halves, split_halves
from keras_emojigan.metrics.extractors import get_extractor
from keras_emojigan.models.emoji_classifier import CLASSIFIERS, shipped_files


@pytest.fixture(scope="module")
def extractor():
    return get_extractor(SECOND_SPACE)


def test_the_second_space_ships_with_its_report(extractor):
    spec = CLASSIFIERS[SECOND_SPACE]
    report = json.loads((shipped_files() / spec.report_file).read_text())
    assert report["data"] == "emoji-all" and report["heldout_designs"]
    assert len(extractor.classes) == report["classes"] > 1000
    features = extractor.features(load_images().images[:8])
    assert features.pool.shape == (8, 256) and features.logits.shape == (8, report["classes"])


def test_real_images_sit_at_the_floor_and_damaged_ones_far_above_it(extractor):
    real = load_images().images
    mine, other = split_halves(len(real), seed=1)
    # one real half as the "generated" set against the other: FID over the floor near 1
    honest = evaluate_halves(real[mine], real[other], extractor)
    assert 0.6 < honest["fid_over_floor"] < 1.5, honest["fid_over_floor"]
    assert honest["recall"] > 0.6
    # the same images blurred by 1.5 px (blotchy fills and soft outlines): far above the floor
    blurred = np.stack([np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(1.5)))
                        for image in real[other]])
    damaged = evaluate_halves(real[mine], blurred, extractor)
    assert damaged["fid_over_floor"] > 2 * honest["fid_over_floor"], (honest["fid_over_floor"],
                                                                      damaged["fid_over_floor"])


def test_compare_tables_show_each_space_with_its_floor():
    rows = [{"model": "lite", "ckpt_fid_best": 50.0, "ckpt_fid_best_ci95": float("nan"),
             "ckpt_fid_over_floor_best": 3.3, "ckpt_recall_best": 0.1,
             "ckpt_emoji_all_fid_best": 12.0, "ckpt_emoji_all_fid_over_floor_best": 5.0,
             "ckpt_emoji_all_recall_best": 0.2, "ckpt_emoji_all_near_duplicate_share_best": 0.01}]
    first = "\n".join(checkpoint_table(rows, checkpoint_prefix(0, "fid-inception"), "fid-inception", 0, 800))
    second = "\n".join(checkpoint_table(rows, checkpoint_prefix(1, SECOND_SPACE), SECOND_SPACE, 1, 800))
    assert "| lite | 50 | 3.30x |" in first
    assert "no discriminator uses" in second and "| lite | 12 | 5.00x |" in second and "| 0.2 / n/a |" in second
