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


MAX_OUTPUT_PIXELS = 32_000_000  # frames x their scaled pixels: about 100 MB of RGB at the cap


def check_frames(seeds: int, steps: int, scale: int, resolution: int, emotion: bool = False,
                 animated: bool = False) -> int:
    """The frames a morph (through ``seeds``) or an emotion sweep (a row per seed) makes, twice that
    for a GIF (there and back); refused, naming the flags, when they and their pixel-repeat
    ``scale`` would exceed MAX_OUTPUT_PIXELS (10 seeds, 64 steps, scale 8 as a GIF took 2.1 GB).
    Refuses fewer seeds than the path needs."""
    from keras_emojigan.errors import UserInputError

    if seeds < (1 if emotion else 2):
        raise UserInputError(f"--seeds: give at least {'one seed' if emotion else 'two seeds, e.g. 3,17'}")
    frames = (seeds * (steps + 1) if emotion else (seeds - 1) * steps + 1) * (2 if animated else 1)
    pixels = frames * (resolution * scale) ** 2
    if pixels > MAX_OUTPUT_PIXELS:
        raise UserInputError(f"{frames} frames of {resolution * scale}x{resolution * scale} pixels ({pixels / 1e6:.0f} "
                             f"million) is more than one output may hold ({MAX_OUTPUT_PIXELS / 1e6:.0f} million): "
                             "use fewer --seeds or --steps, or a smaller --scale")
    return frames


def interpolate(generator, noises: np.ndarray, steps: int = 8) -> np.ndarray:
    """uint8 images along the path through the rows of ``noises`` (seeds' noise, ``seed_noise``, or
    projected latents, ``projector.py``) from an exported generator (``LoadedGenerator``)."""
    return generator.from_latent(latent_path(noises, steps))


def emotion_sweep(generator, noises: np.ndarray, from_class: int, to_class: int, steps: int = 8,
                  strength: float | None = None) -> np.ndarray:
    """[rows, steps + 1] uint8 images: each row of ``noises``' face moved by a steered generator
    (``LoadedGenerator.steered``) from well inside ``from_class`` (strength S) to its boundary,
    then from ``to_class``'s boundary to well inside it. S defaults to the model's default
    strength, at least 1 (a sweep from 0 to 0 would show one face). With a Gaussian latent and two
    classes the two boundaries are one and the path is a straight line; with DeLiGAN's mixture
    the face changes component at the middle."""
    if not generator.steered:
        raise ValueError(f"{generator.path} takes no strength: export it with --directions first")
    strength = max(generator.default_strength, 1.0) if strength is None else float(strength)
    signed = np.linspace(-strength, strength, steps + 1, dtype=np.float32)
    labels = np.where(signed < 0, from_class, to_class)
    latents = np.repeat(noises, steps + 1, axis=0)
    images = generator.from_latent(latents, np.tile(labels, len(noises)), np.tile(np.abs(signed), len(noises)))
    return images.reshape(len(noises), steps + 1, *images.shape[1:])


def save_sweep(images: np.ndarray, path: Path, scale: int = 1) -> Path:
    """[rows, frames] images as a PNG grid (one row each) or a GIF whose frames show every row
    side by side, there and back, by ``path``'s suffix."""
    from keras_emojigan.grid import image_grid

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows, frames = images.shape[:2]
    if path.suffix.lower() == ".gif":
        return _there_and_back([_scaled(image_grid(images[:, f], columns=rows), scale) for f in range(frames)],
                               path, duration=120)
    _scaled(image_grid(images.reshape(rows * frames, *images.shape[2:]), columns=frames), scale).save(path)
    return path


def _there_and_back(pictures, path: Path, duration: int) -> Path:
    """An endlessly looping GIF of ``pictures`` forwards, then backwards without repeating the ends."""
    sequence = pictures + pictures[-2:0:-1]
    sequence[0].save(path, save_all=True, append_images=sequence[1:], duration=duration, loop=0)
    return path


def _scaled(picture, scale: int):
    from PIL import Image

    if scale <= 1:
        return picture
    return picture.resize((picture.width * scale, picture.height * scale), resample=Image.Resampling.NEAREST)


def save_strip(images: np.ndarray, path: Path, steps: int, scale: int = 1) -> Path:
    """A PNG with one row per segment (its ``steps`` + 1 frames, the ends repeated), or an
    animated GIF that goes there and back, by ``path``'s suffix."""
    from PIL import Image

    from keras_emojigan.grid import image_grid

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".gif":
        return _there_and_back([_scaled(Image.fromarray(image), scale) for image in images], path, duration=80)
    rows = [images[i:i + steps + 1] for i in range(0, len(images) - 1, steps)]
    _scaled(image_grid(np.concatenate(rows), columns=steps + 1), scale).save(path)
    return path
