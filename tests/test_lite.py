"""The `lite` backbone and its training options: networks at 64 and 128 px, hinge and LeCam
against direct computations, x-flip in the pipeline only, an exact resume, the exported
signatures, and a tiny fit per latent."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.config import make_config
from keras_emojigan.data.pipeline import training_stream
from keras_emojigan.models import lite, losses
from keras_emojigan.models.gan import build_gan
from keras_emojigan.models.savedmodel import export_saved_model
from keras_emojigan.models.terms import LeCam
from keras_emojigan.serving.generator import load_generator
from keras_emojigan.training import fit as fit_module
from keras_emojigan.training.history import read_history
from keras_emojigan.training.rundir import restore_gan

LITE = {"arch": "lite", "latent_dim": 8, "ngf": 8, "ndf": 8}


@pytest.mark.parametrize("resolution", [64, 128])
@pytest.mark.parametrize("arch", ["dcgan", "lite"])
def test_each_arch_builds_at_64_and_128_px(arch, resolution):
    gan = build_gan("dcgan", arch=arch, resolution=resolution, latent_dim=8, ngf=4, ndf=4)
    images = gan.generator(tf.random.normal([2, 8]), training=False)
    assert images.shape == (2, resolution, resolution, 3)
    assert float(tf.reduce_max(tf.abs(images))) <= 1.0
    outputs = gan.discriminator(images, training=False)
    if arch == "lite":  # one logit, and the image rebuilt at 32x32 from D's 8x8 features
        assert outputs[0].shape == (2, 1) and outputs[1].shape == (2, lite.RECONSTRUCTION_SIZE,
                                                                    lite.RECONSTRUCTION_SIZE, 3)
    else:
        assert outputs.shape == (2, 1)


def test_the_lite_generator_has_skip_layer_excitation_on_its_last_two_resolutions():
    gan = build_gan("dcgan", arch="lite", resolution=64, latent_dim=8, ngf=8, ndf=8)
    gates = sorted(layer.name for layer in gan.generator.layers if layer.name.endswith("_gate"))
    assert gates == ["g_sle32_gate", "g_sle64_gate"]
    spectral = [layer for layer in gan.discriminator.layers if isinstance(layer, lite.SpectralConv2D)]
    assert len(spectral) >= 10  # every conv of D's discriminating path


def test_spectral_conv_divides_the_kernel_by_its_largest_singular_value():
    layer = lite.SpectralConv2D(6, 3)
    layer.build((None, 8, 8, 4))
    for _ in range(50):  # power iterations converge
        kernel = layer.normalised_kernel(training=True)
    matrix = tf.reshape(kernel, (-1, 6)).numpy()
    assert np.linalg.svd(matrix, compute_uv=False)[0] == pytest.approx(1.0, rel=1e-3)
    raw = tf.reshape(layer.kernel, (-1, 6)).numpy()
    assert np.linalg.svd(raw, compute_uv=False)[0] != pytest.approx(1.0, rel=1e-2)  # the variable is not rescaled


def test_hinge_losses_match_their_definitions():
    real, fake = tf.constant([[2.0], [0.5], [-1.0]]), tf.constant([[-2.0], [0.0], [1.5]])
    expected_d = np.mean(np.maximum(0, 1 - np.array([2.0, 0.5, -1.0]))) + np.mean(
        np.maximum(0, 1 + np.array([-2.0, 0.0, 1.5])))
    assert float(losses.discriminator_loss("hinge", real, fake)) == pytest.approx(expected_d)
    assert float(losses.generator_loss("hinge", fake)) == pytest.approx(-np.mean([-2.0, 0.0, 1.5]))
    assert float(losses.generator_loss("bce", fake)) == pytest.approx(np.mean(np.log1p(np.exp([2.0, 0.0, -1.5]))),
                                                                      rel=1e-5)


def test_lecam_penalty_equals_a_direct_computation_on_known_outputs():
    real, fake = np.array([0.9, -0.2, 0.4]), np.array([-0.7, 0.3, 0.1])
    ema_real, ema_fake = 0.25, -0.1
    expected = (np.mean(np.maximum(real - ema_fake, 0) ** 2) + np.mean(np.maximum(ema_real - fake, 0) ** 2))
    got = losses.lecam_penalty(tf.constant(real[:, None], tf.float32), tf.constant(fake[:, None], tf.float32),
                               tf.constant(ema_real), tf.constant(ema_fake))
    assert float(got) == pytest.approx(expected, rel=1e-6)


def test_lecam_in_the_step_tracks_the_moving_averages_and_joins_ds_loss_only():
    keras.utils.set_random_seed(3)
    gan = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, seed=3, lecam_weight=0.5, lecam_decay=0.9)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    real = tf.random.uniform([6, 32, 32, 3], -1, 1, seed=1)
    logs = gan.train_step(real)
    first = gan.part(LeCam).averages.numpy().copy()  # the first step sets the averages to its means
    assert float(logs["lecam_penalty"]) >= 0 and np.all(np.isfinite(first))
    gan.train_step(real)
    second = gan.part(LeCam).averages.numpy()
    assert not np.allclose(first, second)
    # without LeCam there is no such variable, so other runs' checkpoints keep their layout
    without = build_gan("dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4)
    assert without.part(LeCam) is None and not hasattr(without, "lecam_averages")


def test_xflip_changes_only_the_pipeline():
    images = np.random.default_rng(0).integers(0, 256, (20, 8, 8, 3), dtype=np.uint8)
    plain = [b.numpy() for b in training_stream(images, 5, seed=1, first_epoch=0, epochs=2)]
    flipped = [b.numpy() for b in training_stream(images, 5, seed=1, first_epoch=0, epochs=2, xflip=True)]
    again = [b.numpy() for b in training_stream(images, 5, seed=1, first_epoch=0, epochs=2, xflip=True)]
    resumed = [b.numpy() for b in training_stream(images, 5, seed=1, first_epoch=1, epochs=2, xflip=True)]
    mirrored = 0
    for p, f in zip(plain, flipped, strict=True):  # the same images in the same order, some mirrored
        for a, b in zip(p, f, strict=True):
            same, mirror = np.array_equal(a, b), np.array_equal(a[:, ::-1], b)
            assert same or mirror
            mirrored += mirror and not same
    assert 0 < mirrored < 40
    np.testing.assert_array_equal(np.stack(flipped), np.stack(again))  # drawn from (seed, epoch, batch)
    np.testing.assert_array_equal(np.stack(flipped[4:]), np.stack(resumed))  # a resumed run sees the same flips


@pytest.mark.heavy
def test_a_lite_run_resumes_exactly_with_hinge_lecam_and_xflip(tiny_data, tmp_path):
    """Two epochs then one more equals three epochs straight."""
    settings = {**LITE, "data": tiny_data, "resolution": 32, "loss": "hinge", "lecam_weight": 0.3, "xflip": True,
                "diffaugment": "color,translation", "ema_decay": 0.99, "batch_size": 16, "eval_every": 0}
    quiet = {"verbose": 0, "log": lambda *_: None}
    straight = fit_module.fit(make_config("smoke", model="dcgan", epochs=3, **settings), tmp_path / "a", **quiet)
    fit_module.fit(make_config("smoke", model="dcgan", epochs=2, **settings), tmp_path / "b", **quiet)
    split = fit_module.fit(make_config("smoke", model="dcgan", epochs=3, **settings), tmp_path / "b", **quiet)
    assert split["epochs_done"] == straight["epochs_done"] == 3
    for key in ("d_loss", "g_loss", "lecam_penalty", "d_reconstruction"):
        np.testing.assert_allclose(split["last_epoch"][key], straight["last_epoch"][key], rtol=1e-4)
    a, _, _ = restore_gan(tmp_path / "a")
    b, _, _ = restore_gan(tmp_path / "b")
    for x, y in zip(a.generator.weights, b.generator.weights, strict=True):
        np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-4, atol=1e-6)
    row = read_history(tmp_path / "b")[-1]
    assert row["lecam_penalty"] is not None and row["d_reconstruction"] is not None
    assert json.loads((tmp_path / "b" / "config.json").read_text())["arch"] == "lite"
    _exports_todays_signatures(b, tmp_path / "export" / "1", "dcgan")  # the dcgan latent's tiny lite fit


@pytest.mark.heavy
@pytest.mark.parametrize("model", ["deligan", "proposed"])  # dcgan's: the resume test above
def test_a_tiny_lite_fit_per_latent_exports_todays_signatures(model, tiny_data, tmp_path):
    config = make_config("smoke", model=model, epochs=1, data=tiny_data, resolution=32, batch_size=16,
                         eval_every=0, **LITE)
    summary = fit_module.fit(config, tmp_path / model, verbose=0, log=lambda *_: None)
    assert summary["status"] == "finished"
    gan, _, _ = restore_gan(tmp_path / model)
    _exports_todays_signatures(gan, tmp_path / "export" / "1", model)


def _exports_todays_signatures(gan, path, model):
    path = export_saved_model(gan, path, {"model": model})
    loaded = tf.saved_model.load(str(path))
    assert set(loaded.signatures) == {"serving_default", "generate"}
    images = loaded.signatures["generate"](count=tf.constant(3), seed=tf.constant(7, tf.int64))["images"]
    assert images.dtype == tf.uint8 and images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(images.numpy(), gan.generate(3, seed=7))  # a seed names the same images
    latent = tf.zeros([2, gan.noise_dim])
    assert loaded.signatures["serving_default"](latent=latent)["images"].shape == (2, 32, 32, 3)
    assert load_generator(path).noise_dim == gan.noise_dim


def test_lite_is_refused_for_a_conditional_gan():
    from keras_emojigan.config import ConfigError
    from keras_emojigan.training.rundir import check_config

    with pytest.raises(ConfigError, match="conditional=True: generator='lite' is unconditional"):
        check_config(make_config("smoke", arch="lite", conditional=True))
