"""Latent interpolation: morph from one seed's emoji to the next's through the noise space.

A seed names one standard-normal noise vector (``gan.noise_for``: the same vector in Python,
in SavedModels and behind the server). Between two seeds' vectors the path is spherical
(slerp, Shoemake 1985; White 2016 for GAN latents): a straight line between two Gaussian
samples passes near the origin, where the generator was rarely trained, while the arc keeps
the norm of a typical sample. A generator that learned a smooth space morphs one face into
the other; one that memorised a lookup table jumps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points at fractions ``t`` (shape [T]) of the arc from ``a`` to ``b`` (shape [D]) -> [T, D]."""
    a, b, t = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(t, np.float64)[:, None]
    cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12)
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:  # (nearly) the same direction: the arc is the line
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)


def seed_noise(seeds, noise_dim: int) -> np.ndarray:
    """The noise vector each seed names (the first image of ``generate(count, seed)``)."""
    from keras_emojigan.models.gan import noise_for

    return np.stack([noise_for(1, seed, noise_dim).numpy()[0] for seed in seeds])


def latent_path(noises: np.ndarray, steps: int) -> np.ndarray:
    """``steps`` points per segment between consecutive rows of ``noises``, ending on the last."""
    if len(noises) < 2 or steps < 1:
        raise ValueError("a path needs at least two seeds and one step per segment")
    fractions = np.arange(steps) / steps
    segments = [slerp(a, b, fractions) for a, b in zip(noises[:-1], noises[1:], strict=True)]
    return np.concatenate([*segments, noises[-1:]]).astype(np.float32)


def interpolate(generator, seeds, steps: int = 8) -> np.ndarray:
    """uint8 images along the path through ``seeds`` from an exported generator (``LoadedGenerator``)."""
    return generator.from_latent(latent_path(seed_noise(seeds, generator.noise_dim), steps))


def save_strip(images: np.ndarray, path: Path, steps: int, scale: int = 1) -> Path:
    """A PNG with one row per segment (its ``steps`` + 1 frames, the ends repeated), or an
    animated GIF that goes there and back, by ``path``'s suffix."""
    from PIL import Image

    from keras_emojigan.grid import image_grid

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        frames = [Image.fromarray(image) for image in images]
        if scale > 1:
            frames = [f.resize((f.width * scale, f.height * scale), resample=Image.Resampling.NEAREST) for f in frames]
        sequence = frames + frames[-2:0:-1]
        sequence[0].save(path, save_all=True, append_images=sequence[1:], duration=80, loop=0)
        return path
    rows = [images[i:i + steps + 1] for i in range(0, len(images) - 1, steps)]
    grid = image_grid(np.concatenate(rows), columns=steps + 1)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), resample=Image.Resampling.NEAREST)
    grid.save(path)
    return path
