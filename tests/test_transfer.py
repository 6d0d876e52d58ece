"""`fit --init-from`: a run starts from another run's G, D and EMA weights, matched by layer name
and shape, with a report of what loaded; a source that fits nothing is refused; FreezeD keeps D's
first blocks as loaded; a resume after --init-from is exact."""

import json

import numpy as np
import pytest

from keras_emojigan.config import ConfigError, make_config
from keras_emojigan.training.fit import fit
from keras_emojigan.training.history import read_history
from keras_emojigan.training.rundir import check_config, restore_gan

TINY = {"ngf": 8, "ndf": 8, "latent_dim": 8, "resolution": 32, "eval_every": 0, "sample_count": 4,
        "precision": "float32"}


def _fit(tmp_path, name, **fields):
    config = make_config("smoke", **{**TINY, **fields})
    fit(config, tmp_path / name, verbose=0, log=lambda *_: None)
    return tmp_path / name


@pytest.fixture(scope="module")
def prior(tmp_path_factory, tiny_data):
    """A tiny 'prior': the lite recipe (EMA) for one epoch."""
    return _fit(tmp_path_factory.mktemp("prior"), "prior", data=tiny_data, epochs=1, arch="lite", loss="hinge",
                ema_decay=0.99, model="dcgan")


def test_init_from_loads_matching_weights_and_reports_the_rest(prior, tiny_data, tmp_path):
    lines = []
    config = make_config("smoke", **{**TINY, "data": tiny_data, "epochs": 1, "arch": "lite", "loss": "hinge",
                                     "ema_decay": 0.99, "model": "dcgan", "init_from": str(prior), "lr": 1e-12})
    fit(config, tmp_path / "tuned", verbose=0, log=lines.append)
    report = json.loads((tmp_path / "tuned" / "init_from.json").read_text())
    for part in ("generator", "discriminator", "ema_generator"):
        assert report[part]["loaded"] == report[part]["total"] > 0 and report[part]["not_loaded"] == []
    assert any("init-from" in line and "generator" in line for line in lines)
    source, tuned = restore_gan(prior)[0], restore_gan(tmp_path / "tuned")[0]
    # one epoch at lr 1e-12 moves nothing visible: the tuned weights are the prior's
    for a, b in zip(source.generator.trainable_weights, tuned.generator.trainable_weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)  # (batch-norm statistics move at any lr)
    assert json.loads((tmp_path / "tuned" / "config.json").read_text())["init_from"] == str(prior)


def test_a_wider_model_loads_what_fits_and_a_foreign_one_is_refused(prior, tiny_data, tmp_path):
    from keras_emojigan.training.transfer import init_from, load_source

    wider = _fit(tmp_path, "wider", data=tiny_data, epochs=1, arch="lite", loss="hinge", model="dcgan",
                 latent_dim=12, init_from=str(prior))  # the first layer takes another noise size
    report = json.loads((wider / "init_from.json").read_text())["generator"]
    assert 0 < report["loaded"] < report["total"]
    assert any("shape" in why and "the source's" in why for why in report["not_loaded"])
    other = restore_gan(_fit(tmp_path, "other", data=tiny_data, epochs=1, arch="lite", loss="hinge", model="dcgan",
                             ngf=12, ndf=12, latent_dim=12))[0]
    with pytest.raises(ConfigError, match="no weight of it fits this model"):
        init_from(other, load_source(prior))  # every lite layer's width follows ngf / ndf
    with pytest.raises(ConfigError, match="give a run dir"):
        load_source(tmp_path / "nothing-here")


def test_freeze_d_keeps_the_first_blocks_as_loaded(prior, tiny_data, tmp_path):
    run = _fit(tmp_path, "frozen", data=tiny_data, epochs=1, arch="lite", loss="hinge", model="dcgan",
               init_from=str(prior), freeze_d=2)
    source, tuned = restore_gan(prior)[0], restore_gan(run)[0]
    # blocks 1 and 2 (at 32 px the first down block is d_down16): their kernels stay as loaded
    for name in ("d_from_rgb", "d_down16_conv4", "d_down16_conv3", "d_down16_skip"):
        np.testing.assert_array_equal(source.discriminator.get_layer(name).kernel.numpy(),
                                      tuned.discriminator.get_layer(name).kernel.numpy())
    assert not tuned.discriminator.get_layer("d_from_rgb").trainable
    moved = tuned.discriminator.get_layer("d_logit").kernel.numpy() - source.discriminator.get_layer("d_logit").kernel
    assert np.abs(moved).max() > 0  # the rest trained
    with pytest.raises(ConfigError, match="freeze_d=9: discriminator='lite' has 4 blocks"):
        check_config(make_config("smoke", **{**TINY, "arch": "lite", "freeze_d": 9}))


@pytest.mark.heavy
def test_resume_after_init_from_is_exact(prior, tiny_data, tmp_path):
    fields = {"data": tiny_data, "arch": "lite", "loss": "hinge", "ema_decay": 0.99, "model": "dcgan",
              "init_from": str(prior)}
    _fit(tmp_path, "straight", epochs=3, **fields)
    _fit(tmp_path, "resumed", epochs=2, **fields)
    _fit(tmp_path, "resumed", epochs=3, **fields)
    straight, resumed = read_history(tmp_path / "straight"), read_history(tmp_path / "resumed")
    for a, b in zip(straight, resumed, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}


def test_a_fine_tunable_export_is_a_source_for_init_from(prior, tiny_data, tmp_path):
    from click.testing import CliRunner

    from keras_emojigan.cli import main
    from keras_emojigan.serving.generator import load_generator

    result = CliRunner().invoke(main, ["export", str(prior), "--name", "prior", "--saved-models",
                                       str(tmp_path / "saved_models"), "--fine-tunable"])
    assert result.exit_code == 0, result.output
    version = tmp_path / "saved_models" / "prior" / "1"
    assert (version / "gan.keras").exists() and not list(version.glob("partial-*"))
    assert load_generator(version).generate(2, 0).shape == (2, 32, 32, 3)  # still a servable SavedModel
    run = _fit(tmp_path, "tuned", data=tiny_data, epochs=1, arch="lite", loss="hinge", ema_decay=0.99,
               model="dcgan", init_from=str(version), lr=1e-12)
    report = json.loads((run / "init_from.json").read_text())
    assert all(report[part]["loaded"] == report[part]["total"] > 0
               for part in ("generator", "discriminator", "ema_generator"))
