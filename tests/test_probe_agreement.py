"""scripts/experiments/conditional/probe_agreement.py: Cohen's kappa, and the two probes on real and
generated images."""

import json

import numpy as np
import pytest
from script_loader import load_script

probe_agreement = load_script("probe_agreement")


def test_kappa_is_one_for_agreement_and_zero_for_what_the_shares_give_by_chance():
    a = np.array([0, 0, 1, 1])
    assert probe_agreement.kappa(a, a, 2) == 1.0
    assert probe_agreement.kappa(a, np.array([0, 1, 0, 1]), 2) == pytest.approx(0.0)  # 50% agree, as chance does
    assert probe_agreement.kappa(a, 1 - a, 2) == pytest.approx(-1.0)


def test_the_script_on_real_images_and_a_tiny_conditional_and_unconditional_model(tmp_path, capsys):
    from serving_helpers import TINY, export_tiny

    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model

    conditional = export_saved_model(build_gan("dcgan", num_classes=2, **{**TINY, "resolution": 64}),
                                     tmp_path / "conditional" / "1",
                                     {"model": "dcgan", "class_names": ["Negative", "Positive"]})
    unconditional = export_tiny(tmp_path / "unconditional", 1, resolution=64)
    out = tmp_path / "agreement.json"
    code = probe_agreement.main([str(conditional), str(unconditional), "--extractors", "emoji,emoji",
                                 "-n", "20", "--json", str(out)])
    assert code == 0
    results = json.loads(out.read_text())
    real = results["heldout_real"]
    assert real["images"] == 159 and real["agreement"] == 1.0  # one extractor twice: the same probe
    assert min(real["class_accuracy"]["emoji#1"]) > 0.8  # the emoji probe tells real Negative from Positive
    generated = results["models"][str(conditional)]
    assert generated["images"] == 20 and set(generated["class_accuracy"]) == {"emoji#1", "emoji#2"}
    assert "class_accuracy" not in results["models"][str(unconditional)]
    printed = capsys.readouterr().out
    assert "| held-out real | 159 | 100.0% | 1.00 |" in printed and "| 1 | 20 |" in printed
