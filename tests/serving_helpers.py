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


PROJECTABLE = {"model": "dcgan", "resolution": 32, "latent_dim": 8, "ngf": 8, "ndf": 4, "seed": 3}


def export_projectable(path: Path, contrast: float = 8.0, config: bool = True, **fields) -> Path:
    """A tiny DCGAN generator exported at ``path`` as `emojigan export` does, with its training config
    in emojigan.json (what the projector rebuilds it from; ``config=False`` leaves it out, as old
    exports did). Kernels are scaled by ``contrast``: untrained, it would draw flat grey."""
    from keras_emojigan.config import TrainConfig
    from keras_emojigan.models.gan import build_gan
    from keras_emojigan.models.savedmodel import export_saved_model

    trained = TrainConfig.from_dict({**PROJECTABLE, **fields})
    gan = build_gan(trained.gan_options())
    for layer in gan.generator.layers:
        if getattr(layer, "kernel", None) is not None:
            layer.kernel.assign(layer.kernel * contrast)
    return export_saved_model(gan, Path(path), {"model": "dcgan", **({"config": trained.to_dict()} if config else {})})


def export_projectable_steered(plain: Path, path: Path, default_strength: float = 2.0) -> Path:
    """``plain`` (``export_projectable``) steered along noise dimension 0: negative below, positive above."""
    from keras_emojigan.serving.export import export_directions

    normal = np.zeros(PROJECTABLE["latent_dim"], np.float32)
    normal[0] = 1.0
    directions = {"noise_dim": PROJECTABLE["latent_dim"], "default_strength": default_strength,
                  "classes": [{"name": "negative", "normal": (-normal).tolist(), "offset": 0.0},
                              {"name": "positive", "normal": normal.tolist(), "offset": 0.0}]}
    return export_directions(plain, directions, Path(path))[1]


def write_random_lpips(cache: Path) -> Path:
    """Full-size LPIPS weights, randomly initialised, where ``load_lpips`` looks when
    EMOJIGAN_CACHE=``cache`` (the real ones are a download)."""
    import keras

    from keras_emojigan.metrics.lpips import LPIPS, WEIGHTS_FILE

    keras.utils.set_random_seed(0)
    lpips = LPIPS()
    lpips(np.zeros((1, 32, 32, 3), np.float32), np.zeros((1, 32, 32, 3), np.float32))
    folder = Path(cache) / "lpips"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "lpips_lin.npy", np.concatenate([w.numpy() for w in lpips.lin]))
    lpips.vgg.save_weights(folder / WEIGHTS_FILE)
    return folder / WEIGHTS_FILE
