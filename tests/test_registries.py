"""The lists of names the commands offer (config.py) and the registries that implement them
agree, so adding a GAN or an extractor is one entry in each and nothing else."""

import dataclasses

import click
import pytest
import tensorflow as tf

from keras_emojigan import cli, config
from keras_emojigan.metrics.extractors import EXTRACTORS
from keras_emojigan.models.gan import build_gan, check_options
from keras_emojigan.models.latents import LATENTS
from keras_emojigan.models.registry import DISCRIMINATORS, GENERATORS


def test_models_are_the_latent_registry():
    assert tuple(LATENTS) == config.MODELS


def test_extractors_are_the_extractor_registry_plus_auto():
    assert config.EXTRACTORS == ("auto", *EXTRACTORS)


def test_the_arch_shorthand_names_both_registries():
    assert set(config.ARCHS) <= set(GENERATORS) and set(config.ARCHS) <= set(DISCRIMINATORS)


@pytest.mark.parametrize("kind", ["generator", "discriminator"])
def test_every_network_builds_at_every_resolution_it_claims_with_what_it_supports(kind):
    """Each entry with the other side's dcgan network: unconditional, and conditional where it
    says it is; the outputs it declares are the outputs it has."""
    table = GENERATORS if kind == "generator" else DISCRIMINATORS
    for name, entry in table.items():
        for resolution in entry.resolutions:
            for classes in (0, 3) if entry.conditional else (0,):
                options = config.GANOptions(model="dcgan", resolution=resolution, latent_dim=8, ngf=4, ndf=4,
                                            arch="dcgan", projected_features="random-tiny", **{kind: name})
                gan = build_gan(options, num_classes=classes)
                labels = tf.constant([0, 2]) if classes else None
                images = gan.generator(gan._inputs(tf.zeros([2, 8]), labels), training=False)
                assert images.shape == (2, resolution, resolution, 3), (name, resolution)
                outputs = gan._discriminate(images, labels)
                logits = outputs["logits"]  # one or more logits per image (per patch and scale: projected)
                assert list(outputs) == list(gan.d_outputs) and logits.shape[0] == 2 and logits.shape.rank == 2
                assert outputs["logits"].dtype == tf.float32


@pytest.mark.parametrize("kind", ["generator", "discriminator"])
def test_the_config_refuses_what_an_entry_does_not_support_naming_both(kind):
    lite = config.GANOptions(resolution=64, **{kind: "lite"})
    with pytest.raises(config.ConfigError, match=f"conditional=True: {kind}='lite' is unconditional"):
        check_options(lite, conditional=True)
    with pytest.raises(config.ConfigError, match=f"{kind}='nope': use one of dcgan, lite"):
        check_options(config.GANOptions(**{kind: "nope"}), conditional=False)
    narrow = dataclasses.replace(GENERATORS["dcgan"] if kind == "generator" else DISCRIMINATORS["dcgan"],
                                 name="narrow", resolutions=(32,))
    table = GENERATORS if kind == "generator" else DISCRIMINATORS
    table["narrow"] = narrow
    try:
        with pytest.raises(config.ConfigError, match=f"resolution=64: {kind}='narrow' supports 32"):
            check_options(config.GANOptions(resolution=64, **{kind: "narrow"}), conditional=False)
    finally:
        del table["narrow"]


def _choices(command: click.Command) -> dict:
    return {p.name: tuple(p.type.choices) for p in command.params if isinstance(p.type, click.Choice)}


def test_the_cli_offers_exactly_the_registered_names():
    fit = _choices(cli.main.commands["fit"])
    assert fit["model"] == config.MODELS and fit["preset"] == tuple(config.PRESETS)
    assert fit["resolution"] == tuple(str(r) for r in config.RESOLUTIONS)
    assert fit["precision"] == config.PRECISIONS and fit["extractor"] == config.EXTRACTORS
    assert fit["strategy"] == config.STRATEGIES
    for name in ("compare", "search-n", "evaluate"):
        assert _choices(cli.main.commands[name])["extractor"] == config.EXTRACTORS, name


def test_every_logged_and_evaluated_name_has_a_history_column():
    from keras_emojigan.metrics.keys import CHECKPOINT, EVALUATED
    from keras_emojigan.models.terms import TERMS
    from keras_emojigan.training.history import COLUMNS

    logged = {"d_loss", "g_loss", "d_real", "d_fake", "sigma_term", "augment_p",
              *(name for term in TERMS for name in term.metric_names)}
    assert logged | set(EVALUATED) <= set(COLUMNS)
    assert set(EVALUATED) <= set(CHECKPOINT)
