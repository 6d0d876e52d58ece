"""Adding a discriminator is one module plus one registry entry: a tiny discriminator defined
here only, with an extra output that a test-only loss term reads, trains, resumes and is chosen
by name from the config like the shipped ones."""

import json

import keras
import pytest
import tensorflow as tf
from keras import layers

from keras_emojigan.config import ConfigError, make_config
from keras_emojigan.models import registry, terms
from keras_emojigan.models.gan import check_options
from keras_emojigan.training.fit import fit
from keras_emojigan.training.history import read_history


def build_pooled_discriminator(options, num_classes=0, sync_batch_norm=False):
    """One strided conv to a logit, and the image's mean colour as a second output (no weights of
    its own, so a fit that no term reads it in leaves no weight without a gradient)."""
    image = keras.Input((options.resolution, options.resolution, 3), name="image")
    x = layers.Conv2D(options.ndf, 4, strides=4, name="d_conv")(image)
    x = layers.LeakyReLU(0.2)(x)
    logit = layers.Dense(1, dtype="float32", name="d_logit")(layers.GlobalAveragePooling2D()(x))
    colour = layers.GlobalAveragePooling2D(dtype="float32", name="d_colour")(image)
    return keras.Model(image, [logit, colour], name="discriminator")


@pytest.fixture
def pooled():
    entry = registry.register("discriminator", registry.Network(
        "pooled", build_pooled_discriminator, resolutions=(32, 64),
        outputs=lambda options, num_classes: ("logits", "colour")))
    yield entry
    del registry.DISCRIMINATORS["pooled"]


def test_a_discriminator_defined_in_a_test_trains_with_either_generator_and_resumes(pooled, tiny_data, tmp_path):
    for generator in ("dcgan", "lite"):
        overrides = dict(generator=generator, discriminator="pooled", data=tiny_data, resolution=32,
                         loss="hinge", eval_every=0, sample_count=4, precision="float32", epochs=1)
        run_dir = tmp_path / generator
        fit(make_config("smoke", **overrides), run_dir, verbose=0, log=lambda *_: None)
        config = json.loads((run_dir / "config.json").read_text())
        assert (config["generator"], config["discriminator"]) == (generator, "pooled")
        fit(make_config("smoke", **{**overrides, "epochs": 2}), run_dir, verbose=0, log=lambda *_: None)
        rows = read_history(run_dir)
        assert [row["epoch"] for row in rows] == [0, 1] and rows[-1]["d_reconstruction"] is None


def test_a_test_only_term_reads_the_new_output(pooled):
    class ColourMatch(terms.Term):
        metric_names = ("d_colour",)

        @staticmethod
        def wanted(options, d_outputs):
            return "colour" in d_outputs

        def discriminator_loss(self, step):
            error = tf.reduce_mean(tf.abs(step.real_out["colour"] - 0.5))  # the real batch's mean colour vs grey
            return error, {"d_colour": error}

    from keras_emojigan.config import GANOptions
    from keras_emojigan.models import gan as gan_module

    options = GANOptions(model="dcgan", resolution=32, latent_dim=8, ngf=4, ndf=4, discriminator="pooled")
    original = gan_module.PARTS
    gan_module.PARTS = (*original[:-1], ColourMatch, original[-1])
    try:
        model = gan_module.build_gan(options)
        model.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        logs = model.train_step(tf.random.uniform([4, 32, 32, 3], -1, 1, seed=1))
    finally:
        gan_module.PARTS = original
    assert float(logs["d_colour"]) > 0 and [type(t).__name__ for t in model.terms] == ["ColourMatch"]


def test_the_config_refuses_a_resolution_or_classes_the_new_discriminator_does_not_support(pooled):
    from keras_emojigan.config import GANOptions

    with pytest.raises(ConfigError, match="resolution=128: discriminator='pooled' supports 32, 64"):
        check_options(GANOptions(resolution=128, discriminator="pooled"), conditional=False)
    with pytest.raises(ConfigError, match="discriminator='pooled' is unconditional"):
        check_options(GANOptions(discriminator="pooled"), conditional=True)
