"""The lists of names the commands offer (config.py) and the registries that implement them
agree, so adding a GAN or an extractor is one entry in each and nothing else."""

import click

from keras_emojigan import cli, config
from keras_emojigan.metrics.extractors import EXTRACTORS
from keras_emojigan.models.latents import LATENTS
from keras_emojigan.models.networks import build_discriminator


def test_models_are_the_latent_registry():
    assert tuple(LATENTS) == config.MODELS


def test_extractors_are_the_extractor_registry_plus_auto():
    assert config.EXTRACTORS == ("auto", *EXTRACTORS)


def test_every_resolution_builds():
    for resolution in config.RESOLUTIONS:
        assert build_discriminator(resolution, ndf=4).input_shape[1] == resolution


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
