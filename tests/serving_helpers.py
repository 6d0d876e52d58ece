"""Tiny models to serve in tests; the server itself is keras_emojigan.serving.launcher."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TINY = {"resolution": 32, "latent_dim": 8, "ngf": 4, "ndf": 4}
# A generator whose class is known: red where direction . noise > 0, blue below, grey between.
COLOUR_TOY = {"noise_dim": 6, "resolution": 32, "direction": np.array([0.6, -0.8, 0, 0, 0, 0], np.float32)}


def export_tiny(base: Path, version: int, seed: int = 0, contrast: float = 1.0, **sizes) -> Path:
    """An untrained tiny DCGAN generator exported as ``base/version`` (different seed, different
    weights). Untrained, its images are near-flat grey (every layer shrinks the signal); ``contrast``
    scales every kernel so they saturate into visible, varied colours (for tests that look at pixels).
    ``sizes`` override TINY (resolution, latent_dim, ngf, ndf)."""
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model

    gan = build_gan("dcgan", seed=seed, **{**TINY, **sizes})
    for layer in gan.generator.layers:
        if getattr(layer, "kernel", None) is not None:
            layer.kernel.assign(layer.kernel * contrast)
    return export_saved_model(gan, Path(base) / str(version), {"model": "dcgan"})


def export_colour_toy(path: Path) -> Path:
    """COLOUR_TOY as a SavedModel with emojigan's unconditional signatures: red = tanh(2 v . z),
    blue = -red, green 0 (in [-1, 1]), for every pixel."""
    import keras

    from keras_emojigan.models.savedmodel import GeneratorModule, _write

    dim, size, direction = COLOUR_TOY["noise_dim"], COLOUR_TOY["resolution"], COLOUR_TOY["direction"]
    noise = keras.Input((dim,))
    score = keras.layers.Dense(1, use_bias=False,
                               kernel_initializer=keras.initializers.Constant(2 * direction[:, None]))(noise)
    pattern = np.tile(np.array([1.0, 0.0, -1.0], np.float32), size * size)[None, :]
    pixels = keras.layers.Dense(size * size * 3, use_bias=False, activation="tanh",
                                kernel_initializer=keras.initializers.Constant(pattern))(score)
    model = keras.Model(noise, keras.layers.Reshape((size, size, 3))(pixels))
    return _write(GeneratorModule(model, dim), Path(path),
                  {"noise_dim": dim, "resolution": size, "num_classes": 0, "model": "dcgan"})


def export_colour_toy_steered(path: Path, default_strength: float = 1.5) -> Path:
    """The colour toy with its true directions (blue, red), exported as a steered SavedModel."""
    from keras_emojigan.serving.export import export_directions

    direction = COLOUR_TOY["direction"].tolist()
    directions = {"noise_dim": COLOUR_TOY["noise_dim"], "default_strength": default_strength,
                  "classes": [{"name": "blue", "normal": [-x for x in direction], "offset": 0.0},
                              {"name": "red", "normal": direction, "offset": 0.0}]}
    base = export_colour_toy(Path(path).parent / f".{Path(path).name}-base")
    return export_directions(base, directions, Path(path))[1]
