"""Tiny models to serve in tests; the server itself is keras_emojigan.serving.launcher."""

from __future__ import annotations

from pathlib import Path

TINY = {"resolution": 32, "latent_dim": 8, "ngf": 4, "ndf": 4}


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
