"""The Keras generator inside an exported SavedModel, rebuilt so that it can be differentiated.

Why: the SavedModel's signatures return uint8 images (no gradient reaches the latent through the
rounding), and ``tf.saved_model.load`` restores the generator as a plain object that cannot be
called. The projector needs d image / d latent, so the generator is rebuilt from the training
config in ``emojigan.json`` (the registry's builder, float32) and its variables are read from the
SavedModel's own checkpoint (``variables/``) by object path: ``generator/...``, or
``base/generator/...`` in a steered model. Contract: ``restore_generator`` either returns a
generator whose images match the SavedModel's (checked on two latents, within the rounding of an
export in bfloat16: ``MATCH_TOLERANCE``) or raises ``RestoreError`` saying why.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_emojigan.config import ConfigError, TrainConfig
from keras_emojigan.errors import UserInputError
from keras_emojigan.models import registry
from keras_emojigan.models.latents import make_latent
from keras_emojigan.models.policy_scope import policy_scope
from keras_emojigan.models.savedmodel import METADATA_FILE

# mean absolute pixel difference allowed from the SavedModel's rendering, in levels of 255: an export
# traced in bfloat16 differs from the float32 rebuild by about 0.3 on average (up to ~12 in a few
# pixels); a wrong rebuild differs by tens
MATCH_TOLERANCE = 2.0


class RestoreError(UserInputError):
    """A SavedModel whose generator cannot be rebuilt as a differentiable Keras model."""


def _checkpoint_prefix(path: Path) -> str:
    """'generator' or 'base/generator': where the generator's variables sit in the checkpoint."""
    names = [name for name, _ in tf.train.list_variables(str(path / "variables" / "variables"))]
    for prefix in ("generator", "base/generator"):
        if any(name.startswith(prefix + "/") for name in names):
            return prefix
    raise RestoreError(f"{path}: its variables hold no generator (looked for generator/ and base/generator/)")


def restore_generator(path: Path, images_of=None) -> keras.Model:
    """The float32 Keras generator of the SavedModel at ``path`` (noise [B, noise_dim] -> images in
    [-1, 1]); ``images_of(latent) -> uint8 images`` is the SavedModel's own rendering, used to check
    the rebuild (skipped when None)."""
    path = Path(path)
    try:
        metadata = json.loads((path / METADATA_FILE).read_text())
        config = TrainConfig.from_dict(metadata["config"], origin=str(path / METADATA_FILE))
    except (OSError, ValueError, KeyError, ConfigError) as err:
        raise RestoreError(f"{path}: its {METADATA_FILE} does not say how the generator was built ({err}); "
                           "export the model again with this version (`emojigan export RUN_DIR`)") from None
    options = config.gan_options()
    steered = "directions" in metadata
    num_classes = 0 if steered else int(metadata.get("num_classes", 0))
    with policy_scope("float32"):
        latent = make_latent(options.model, options.latent_dim, latent_n=options.latent_n,
                             components=options.components, sigma_weight=options.sigma_weight, seed=options.seed)
        generator = registry.generator_entry(options).build(latent, options, num_classes, False)
    prefix = _checkpoint_prefix(path)
    holder = tf.Module()
    holder.generator = generator
    root = tf.train.Checkpoint(**({"generator": generator} if prefix == "generator" else {"base": holder}))
    try:
        root.read(str(path / "variables" / "variables")).assert_existing_objects_matched()
    except (AssertionError, ValueError, tf.errors.OpError) as err:
        reason = str(err).strip().splitlines()[0][:300]
        raise RestoreError(f"{path}: the generator rebuilt from {METADATA_FILE} does not fit its variables "
                           f"({reason})") from None
    if images_of is not None:
        _check_rebuild(path, generator, images_of, int(metadata.get("noise_dim", options.latent_dim)), num_classes)
    return generator


def _check_rebuild(path: Path, generator, images_of, noise_dim: int, num_classes: int) -> None:
    if num_classes:
        raise RestoreError(f"{path}: a class-conditional generator cannot be projected into yet; use an "
                           "unconditional model or its steered version (`emojigan export --directions`)")
    latent = np.random.default_rng(0).standard_normal((2, noise_dim)).astype(np.float32)
    mine = (np.asarray(generator(latent, training=False), np.float64) + 1.0) * 127.5
    theirs = np.asarray(images_of(latent), np.float64)
    mean = float(np.mean(np.abs(np.clip(mine, 0, 255) - theirs)))
    if mean > MATCH_TOLERANCE:
        raise RestoreError(f"{path}: the generator rebuilt from {METADATA_FILE} draws differently from the "
                           f"SavedModel (pixels differ by {mean:.1f} of 255 on average); export it again")
