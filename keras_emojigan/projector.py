"""Find the noise vector whose emoji looks like a given image (GAN inversion), so that a user's own
emoji can be edited and morphed with the model's tools.

StyleGAN2's projector (``projector.py``) optimises its W latent against an LPIPS distance; our
generators take standard-normal noise ``z`` (the space the emotion directions live in,
``directions.py``), so ``z`` is what is optimised:

1. Screening: ``candidates`` seeded random noise vectors are drawn and scored by LPIPS; the best
   ``restarts`` of them are optimised (cheaper than blind restarts: a forward pass per candidate).
   The defaults were chosen with ``scripts/benchmarks/bench_projector.py`` (docs/serving.md).
2. Adam on ``z`` for ``steps`` steps, all restarts in one batch; loss = LPIPS + ``pixel_weight`` x
   mean squared pixel error (images in [-1, 1]) + ``prior_weight`` x (|z|^2 / d - 1)^2, which keeps
   ``z`` on the shell where standard-normal noise lives (a Gaussian's log-density would pull it to
   the origin, where no training sample lies). As in StyleGAN2's projector the learning rate ramps
   up over the first 5% of the steps and down on a cosine over the last 25%, and Gaussian noise
   of ``noise_scale`` per dimension, shrinking quadratically to 0 at 75% of the steps, is added to
   ``z`` in the forward pass to leave shallow minima.
3. The restart with the lowest final loss (without the noise) is kept.

Only ``z`` is optimised (no per-layer code as StyleGAN's W+): every latent found is a point of
the space the model samples from, so the SavedModel's ``serving_default`` signature renders it
and the emotion directions apply unchanged; the cost is a looser fit on images far from what the
model draws. Contract: ``project`` is deterministic for a seed on one machine.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_emojigan.errors import UserInputError


@dataclasses.dataclass(frozen=True)
class ProjectionSettings:
    steps: int = 300
    candidates: int = 64
    restarts: int = 2
    learning_rate: float = 0.05
    pixel_weight: float = 1.0
    prior_weight: float = 0.1
    noise_scale: float = 0.3

    def check(self) -> ProjectionSettings:
        for name, low in (("steps", 1), ("candidates", 1), ("restarts", 1)):
            if int(getattr(self, name)) < low:
                raise UserInputError(f"--{name}: give at least {low}")
        if self.restarts > self.candidates:
            raise UserInputError(f"--restarts {self.restarts}: at most --candidates ({self.candidates})")
        for name in ("learning_rate", "pixel_weight", "prior_weight", "noise_scale"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0 or (name == "learning_rate" and value == 0):
                raise UserInputError(f"--{name.replace('_', '-')} {value!r}: give a finite number "
                                     f"{'above' if name == 'learning_rate' else 'of at least'} 0")
        return self


@dataclasses.dataclass
class Projection:
    """One image's result: ``latent`` [d] float32 (draw it with the SavedModel: that is what edits
    and morphs use), ``lpips`` and ``loss`` at the end, ``losses`` [steps] of the kept restart (the
    loss with the step's noise), ``restart`` which candidate rank it was."""

    latent: np.ndarray
    lpips: float
    loss: float
    losses: np.ndarray
    restart: int


def learning_rate_at(t: float, base: float) -> float:
    """StyleGAN2 projector's schedule at fraction ``t`` of the steps."""
    ramp = min(1.0, (1.0 - t) / 0.25) * min(1.0, t / 0.05)
    return base * (0.5 - 0.5 * math.cos(ramp * math.pi))


def noise_at(t: float, scale: float) -> float:
    return scale * max(0.0, 1.0 - t / 0.75) ** 2


class Projector:
    """Projects images into ``generator`` (noise [B, d] -> images in [-1, 1]) with ``lpips``
    (``metrics.lpips.LPIPS``)."""

    def __init__(self, generator, lpips, settings: ProjectionSettings | None = None):
        self.generator, self.lpips = generator, lpips
        self.settings = (settings or ProjectionSettings()).check()
        self.noise_dim = int(generator.input_shape[-1])
        self._step = tf.function(self._step_eager, reduce_retracing=True)
        self._score = tf.function(self._score_eager, reduce_retracing=True)

    def _objective(self, images, target_features, target, z):
        s = self.settings
        perceptual = self.lpips.distance(self.lpips.features(images), target_features)
        pixel = tf.reduce_mean(tf.square(images - target), axis=[1, 2, 3])
        prior = tf.square(tf.reduce_sum(tf.square(z), axis=1) / self.noise_dim - 1.0)
        return perceptual + s.pixel_weight * pixel + s.prior_weight * prior, perceptual

    def _score_eager(self, z, target_features, target):
        images = tf.cast(self.generator(z, training=False), tf.float32)
        return self._objective(images, target_features, target, z)

    def _step_eager(self, z, m, v, t, lr, noise, target_features, target):
        with tf.GradientTape() as tape:
            tape.watch(z)
            images = tf.cast(self.generator(z + noise, training=False), tf.float32)
            loss, _ = self._objective(images, target_features, target, z)
            total = tf.reduce_sum(loss)  # the rows are independent: each row's gradient is its own
        grad = tape.gradient(total, z)
        m = 0.9 * m + 0.1 * grad  # Adam (betas 0.9, 0.999), on the rows independently
        v = 0.999 * v + 0.001 * tf.square(grad)
        m_hat, v_hat = m / (1.0 - 0.9 ** t), v / (1.0 - 0.999 ** t)
        return z - lr * m_hat / (tf.sqrt(v_hat) + 1e-8), m, v, loss

    def project(self, target: np.ndarray, seed: int = 0,
                progress: Callable[[int], None] | None = None) -> Projection:
        """``target``: uint8 [R, R, 3] at the generator's resolution."""
        s = self.settings
        size = int(self.generator.output_shape[1])
        if target.shape != (size, size, 3):
            raise UserInputError(f"the image is {'x'.join(map(str, target.shape))}; this model projects "
                                 f"{size}x{size}x3 (lay it out with data.emoji_canvas.lay_out)")
        pixels = tf.constant(target[None].astype(np.float32) / 127.5 - 1.0)
        features = [tf.constant(f) for f in self.lpips.features(pixels)]
        rng = np.random.default_rng(seed)
        candidates = rng.standard_normal((s.candidates, self.noise_dim)).astype(np.float32)
        scores = np.concatenate([self._score(tf.constant(chunk), features, pixels)[0].numpy()
                                 for chunk in np.array_split(candidates, max(1, s.candidates // 16))])
        order = np.argsort(scores, kind="stable")[: s.restarts]
        z = tf.constant(candidates[order])
        m = v = tf.zeros_like(z)
        history = np.zeros((s.steps, s.restarts), np.float32)
        for step in range(s.steps):
            t = step / s.steps
            noise = rng.standard_normal(z.shape).astype(np.float32) * noise_at(t, s.noise_scale)
            rate = tf.constant(learning_rate_at(t, s.learning_rate))
            z, m, v, loss = self._step(z, m, v, tf.constant(step + 1.0), rate, tf.constant(noise), features, pixels)
            history[step] = loss.numpy()
            if progress is not None:
                progress(1)
        loss, perceptual = (x.numpy() for x in self._score(z, features, pixels))
        best = int(np.argmin(loss))
        return Projection(latent=z.numpy()[best], lpips=float(perceptual[best]), loss=float(loss[best]),
                          losses=history[:, best].copy(), restart=best)


# --- the latents file ------------------------------------------------------------------------
LATENTS_FILE = "latents.npz"


class LatentsFileError(UserInputError):
    """A latents file that is not one ``emojigan project`` wrote, or is damaged."""


@dataclasses.dataclass
class LatentsFile:
    """What ``emojigan project`` writes (``latents.npz``): per image its ``names`` entry, the
    ``latents`` row, the SavedModel's rendering of it (``reconstructions``, uint8) and the laid-out
    input (``targets``); the ``model`` path and ``fingerprint`` it was projected into."""

    latents: np.ndarray
    names: list[str]
    targets: np.ndarray
    reconstructions: np.ndarray
    model: str
    fingerprint: str
    lpips: np.ndarray
    psnr: np.ndarray
    settings: dict

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial.npz")
        np.savez(partial, latents=self.latents.astype(np.float32), names=np.array(self.names, dtype=str),
                 targets=self.targets, reconstructions=self.reconstructions, lpips=self.lpips, psnr=self.psnr,
                 info=np.array(json.dumps({"model": self.model, "fingerprint": self.fingerprint,
                                           "settings": self.settings})))
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> LatentsFile:
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {key: npz[key] for key in npz.files}
            info = json.loads(str(arrays["info"]))
            latents = np.asarray(arrays["latents"], np.float32)
            names = [str(n) for n in arrays["names"]]
            made = cls(latents, names, arrays["targets"], arrays["reconstructions"], str(info["model"]),
                       str(info.get("fingerprint", "")), arrays["lpips"], arrays["psnr"],
                       dict(info.get("settings", {})))
        except FileNotFoundError:
            raise LatentsFileError(f"{path}: no such file") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise LatentsFileError(f"{path}: not a latents file of `emojigan project` ({type(err).__name__}: "
                                   f"{str(err)[:200]}); project the images again") from None
        rows = len(latents)
        if latents.ndim != 2 or rows == 0 or not np.all(np.isfinite(latents)):
            raise LatentsFileError(f"{path}: its latents are not rows of finite numbers; project the images again")
        if len(names) != rows or len(made.reconstructions) != rows or made.reconstructions.dtype != np.uint8:
            raise LatentsFileError(f"{path}: its arrays disagree on the number of images; project the images again")
        return made


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images, in dB (99 for identical ones)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def check_same_model(latents: LatentsFile, rendered: np.ndarray, model_path, tolerance: float = 2.0) -> None:
    """Refuse to edit ``latents`` with a model that draws them differently from the one they were
    projected into (``rendered``: that model's unsteered images of them, uint8); a steered export of
    the same generator draws them alike, so it passes."""
    difference = float(np.mean(np.abs(rendered.astype(np.float64) - latents.reconstructions)))
    if difference > tolerance:
        raise LatentsFileError(f"these latents were projected into {latents.model}; {model_path} draws them "
                               f"differently ({difference:.1f} of 255 per pixel on average): give that model, or "
                               "its steered export (`emojigan export --directions`)")
