"""Tiny GANs and smoke fits shared by the training-step and conditional tests."""

import keras
import numpy as np

from keras_emojigan.models.gan import build_gan


def tiny_gan(model="dcgan", seed=5, **options):
    """A compiled 32x32 GAN small enough for a few steps in a test; the same ``seed`` gives the
    same weights."""
    keras.utils.set_random_seed(seed)
    gan = build_gan(model, resolution=32, latent_dim=8, latent_n=2, components=4, ngf=4, ndf=4, seed=seed,
                    **options)
    gan.compile(keras.optimizers.Adam(1e-3, 0.5), keras.optimizers.Adam(1e-3, 0.5))
    return gan


def weights_differ(first: keras.Model, second: keras.Model) -> bool:
    """Whether any trainable weight of two same-shaped models differs."""
    return any(not np.allclose(x.numpy(), y.numpy())
               for x, y in zip(first.trainable_weights, second.trainable_weights, strict=True))


def smoke_fit_args(run_dir, *settings, model="deligan", data=None):
    """`emojigan fit` of the smoke preset, class-conditional, with ``--set`` for each of ``settings``;
    ``data`` (e.g. the ``tiny_data`` fixture) trains on that source at 32x32 instead."""
    sets = [arg for setting in ("conditional=true", *settings) for arg in ("--set", setting)]
    tiny = ["--data", str(data), "--resolution", "32"] if data is not None else []
    return ["fit", "--model", model, "--preset", "smoke", *tiny, *sets, "--run-dir", str(run_dir), "--quiet"]
