"""scripts/experiments/conditional/label_use.py: whether D and G of a conditional GAN use the label."""

import json

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from script_loader import load_script

from keras_emojigan.cli import main as emojigan

label_use = load_script("label_use")


def _tiny_conditional():
    from keras_emojigan.models.gan import build_gan

    return build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, num_classes=2)


def test_a_label_that_enters_nowhere_measures_zero_and_a_strong_one_does_not():
    gan = _tiny_conditional()
    images = np.random.default_rng(0).uniform(-1, 1, (30, 32, 32, 3)).astype(np.float32)
    labels = np.arange(30, dtype=np.int32) % 2
    embedding = gan.discriminator.get_layer("d_class_embedding").embeddings
    embedding.assign(tf.zeros_like(embedding))
    d = label_use.discriminator_label_use(gan, images, labels, batch=7)
    assert d["own_label_higher"] == 0.0 and d["mean_gap"] == 0.0  # same logit whatever the label
    gan.generator.get_layer("g_class_embedding").embeddings.assign(tf.zeros([2, 32]))
    g = label_use.generator_label_use(gan, count=16)
    assert g["between_classes"] == 0.0 and g["ratio"] == 0.0 and g["between_noises"] > 0
    gan.generator.get_layer("g_class_embedding").embeddings.assign(tf.constant([[-30.0] * 32, [30.0] * 32]))
    assert label_use.generator_label_use(gan, count=16)["ratio"] > 0.3


def test_the_script_on_a_conditional_run_and_an_unconditional_one(tmp_path, capsys):
    runs = {}
    for name, extra in (("conditional", ["--set", "conditional=true"]), ("plain", [])):
        runs[name] = tmp_path / name
        result = CliRunner().invoke(emojigan, ["fit", "--preset", "smoke", "--epochs", "1", *extra,
                                               "--run-dir", str(runs[name]), "--quiet"])
        assert result.exit_code == 0, result.output
    out = tmp_path / "label_use.json"
    assert label_use.main([str(runs["conditional"]), "-n", "8", "--json", str(out)]) == 0
    row = json.loads(out.read_text())[0]
    assert row["epochs"] == 1 and 0 <= row["discriminator"]["own_label_higher"] <= 1
    assert row["generator"]["between_noises"] > 0
    assert "| conditional | `smoke` | 1 |" in capsys.readouterr().out
    assert label_use.main([str(runs["plain"])]) == 2
    assert "unconditional run" in capsys.readouterr().err

    # A run restored from its published records (no checkpoint): its row comes from --keep, else it fails.
    restored = tmp_path / "restored" / "conditional"
    restored.mkdir(parents=True)
    for name in ("config.json", "classes.json", "summary.json"):
        (restored / name).write_bytes((runs["conditional"] / name).read_bytes())
    again = tmp_path / "again.json"
    assert label_use.main([str(restored), str(runs["conditional"]), "-n", "8", "--keep", str(out),
                           "--json", str(again)]) == 0
    kept, measured = json.loads(again.read_text())
    assert kept == row and measured["run"] == str(runs["conditional"])
    capsys.readouterr()
    assert label_use.main([str(restored), "-n", "8"]) == 2
    assert "no checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize("count", [0, -3])
def test_a_count_below_one_is_refused(count, capsys):
    with pytest.raises(SystemExit) as refused:
        label_use.main(["somewhere", "-n", str(count)])
    assert refused.value.code == 2 and "-n" in capsys.readouterr().err
