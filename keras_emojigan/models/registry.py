"""The networks a GAN can be built from: generators and discriminators by name, each entry saying
what it supports.

``GANOptions.generator`` and ``GANOptions.discriminator`` pick an entry each (``arch`` sets both:
``dcgan`` or ``lite``). An entry holds its builder and what it supports: resolutions, class
conditioning, and for a discriminator its named outputs (``logits`` always first; then e.g.
``class_logits`` for AC-GAN's head or ``reconstruction`` for a self-supervised D), which decide
the loss terms that read them (``terms.py``). ``check_networks`` refuses a request an entry does
not support, naming both. A new network is one module with its builder plus one ``register``
call (here, for the shipped ones).

Builders: a generator's ``build(latent, options, num_classes, sync_batch_norm)`` takes the
latent layer and returns a Keras model from noise [B, noise_dim] (and labels when conditional)
to float32 images in [-1, 1]; a discriminator's ``build(options, num_classes, sync_batch_norm)``
returns a model from images (and labels) to its outputs, float32 logits [B, n] first (n >= 1
logits per image: one, or one per patch and scale; the losses average them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from keras_emojigan.config import ARCHS, RESOLUTIONS, ConfigError, GANOptions
from keras_emojigan.models import lite, networks, projected


@dataclasses.dataclass(frozen=True)
class Network:
    name: str
    build: Callable
    resolutions: tuple[int, ...] = RESOLUTIONS
    conditional: bool = False  # takes class labels
    outputs: Callable[[GANOptions, int], tuple[str, ...]] = lambda options, num_classes: ("logits",)
    check: Callable[[GANOptions], None] | None = None  # the network's own options (ConfigError naming the field)
    # (discriminators) the model's layers grouped into blocks from the input on, for FreezeD
    blocks: Callable[[object], list] | None = None
    description: str = ""


GENERATORS: dict[str, Network] = {}
DISCRIMINATORS: dict[str, Network] = {}


def register(kind: str, entry: Network) -> Network:
    """Add ``entry`` to the ``generator`` or ``discriminator`` registry (a name is taken once)."""
    table = {"generator": GENERATORS, "discriminator": DISCRIMINATORS}[kind]
    if entry.name in table:
        raise ValueError(f"a {kind} named {entry.name!r} is registered already")
    table[entry.name] = entry
    return entry


def generator_entry(options: GANOptions) -> Network:
    return _entry("generator", GENERATORS, options.generator_name)


def discriminator_entry(options: GANOptions) -> Network:
    return _entry("discriminator", DISCRIMINATORS, options.discriminator_name)


def _entry(kind: str, table: dict, name: str) -> Network:
    if name not in table:
        raise ConfigError(f"{kind}={name!r}: use one of {', '.join(table)}"
                          + (f" (or arch, which sets both: {', '.join(ARCHS)})" if kind == "generator" else ""))
    return table[name]


def check_networks(options: GANOptions, conditional: bool) -> tuple[str, ...]:
    """Refuse networks that do not support the options; return the discriminator's outputs."""
    if options.arch and options.arch not in ARCHS:
        raise ConfigError(f"arch={options.arch!r}: use one of {', '.join(ARCHS)}, or set generator and "
                          "discriminator separately")
    for kind, entry in (("generator", generator_entry(options)), ("discriminator", discriminator_entry(options))):
        if options.resolution not in entry.resolutions:
            raise ConfigError(f"resolution={options.resolution}: {kind}={entry.name!r} supports "
                              f"{', '.join(map(str, entry.resolutions))}")
        if conditional and not entry.conditional:
            raise ConfigError(f"conditional=True: {kind}={entry.name!r} is unconditional; use "
                              f"{kind}=" + " or ".join(n for n, e in _table(kind).items() if e.conditional))
        if entry.check is not None:
            entry.check(options)
    if options.freeze_d:
        entry = discriminator_entry(options)
        if entry.blocks is None:
            raise ConfigError(f"freeze_d={options.freeze_d}: discriminator={entry.name!r} has no blocks to freeze")
        built = entry.build(options, 2 if conditional and entry.conditional else 0, False)
        count = len(entry.blocks(built))
        if options.freeze_d >= count:
            raise ConfigError(f"freeze_d={options.freeze_d}: discriminator={entry.name!r} has {count} blocks at "
                              f"resolution {options.resolution}; freeze fewer than all (at most {count - 1})")
    return discriminator_entry(options).outputs(options, 2 if conditional else 0)


def layer_blocks(pattern: str):
    """Blocks of a discriminator whose layers are named ``<prefix><key>...``: ``pattern`` (a regex
    with one group) picks each trainable layer's block key; blocks come in the order their first
    layer appears (from the input on)."""
    import re

    def blocks(model) -> list[list]:
        grouped: dict[str, list] = {}
        for layer in model.layers:
            found = re.match(pattern, layer.name)
            if found and layer.weights:
                grouped.setdefault(found[1], []).append(layer)
        return list(grouped.values())

    return blocks


def freeze_blocks(options: GANOptions, discriminator) -> list[str]:
    """FreezeD: make D's first ``options.freeze_d`` blocks untrainable; returns their layers' names."""
    if not options.freeze_d:
        return []
    frozen = [layer for block in discriminator_entry(options).blocks(discriminator)[: options.freeze_d]
              for layer in block]
    for layer in frozen:
        layer.trainable = False
    return [layer.name for layer in frozen]


def _table(kind):
    return GENERATORS if kind == "generator" else DISCRIMINATORS


register("generator", Network("dcgan", networks.build_dcgan_generator, conditional=True,
                              description="DCGAN's transposed-conv generator (networks.py)"))
register("generator", Network("lite", lite.build_lite_generator,
                              description="FastGAN-style generator with skip-layer excitation (lite.py)"))
register("discriminator", Network("dcgan", networks.build_dcgan_discriminator, conditional=True,
                                  outputs=networks.dcgan_discriminator_outputs, blocks=layer_blocks(r"d_[a-z]+(\d+)$"),
                                  description="DCGAN's conv discriminator; projection and AC-GAN head when "
                                              "conditional (networks.py)"))
register("discriminator", Network("lite", lite.build_lite_discriminator_for,
                                  blocks=layer_blocks(r"(d_from_rgb|d_down\d+)"),
                                  outputs=lambda options, num_classes: ("logits", "reconstruction"),
                                  description="FastGAN-style residual D that also rebuilds the real image (lite.py)"))
register("discriminator", Network("projected", projected.build_projected_discriminator,
                                  resolutions=(32, 64, 128), check=projected.check,
                                  blocks=layer_blocks(r"(d\d_down\d)_"),
                                  description="Projected GAN's D: patch discriminators on a frozen EfficientNet-"
                                              "Lite0's features, mixed by fixed random convs (projected.py)"))
