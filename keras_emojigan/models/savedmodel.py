"""Export a generator as a self-contained SavedModel (what TF Serving and `emojigan sample` load).

Signatures:
- ``serving_default``: ``latent`` float32 [None, noise_dim] (standard-normal noise; see
  ``models/latents.py`` for what each model does with it) -> ``images`` uint8 [None, H, W, 3].
- ``generate``: ``count`` int32 and ``seed`` int64 scalars -> ``images``; the noise is drawn
  inside the graph with the same stateless op as ``EmojiGAN.generate``, so a seed gives the
  same images in Python, in the SavedModel and behind TF Serving.
- A class-conditional generator's signatures also take ``label`` (int32 [None] and scalar).
``emojigan.json`` beside ``saved_model.pb`` records the model kind, noise size, resolution and
training config (TF Serving ignores it). The folder is written under a temporary name and
renamed, so a half-written export is never at the final path.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import tensorflow as tf

from keras_emojigan.data.pipeline import from_unit_range
from keras_emojigan.models.gan import EmojiGAN, noise_for

METADATA_FILE = "emojigan.json"


class GeneratorModule(tf.Module):
    """The exported signatures. A conditional generator's take a class too: ``serving_default``
    a ``label`` int32 [None] beside ``latent``, ``generate`` a ``label`` int32 scalar (-1: a
    balanced mix, image i of class i mod the number of classes)."""

    def __init__(self, generator, noise_dim: int, num_classes: int = 0):
        super().__init__()
        self.generator, self.noise_dim, self.num_classes = generator, noise_dim, num_classes
        latent = tf.TensorSpec([None, noise_dim], tf.float32, name="latent")
        count, seed = tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int64, name="seed")
        if num_classes:
            self.serve = tf.function(self._conditional_images, input_signature=[
                latent, tf.TensorSpec([None], tf.int32, name="label")])
            self.generate = tf.function(self._conditional_generate, input_signature=[
                count, seed, tf.TensorSpec([], tf.int32, name="label")])
        else:
            self.serve = tf.function(self._images, input_signature=[latent])
            self.generate = tf.function(self._generate, input_signature=[count, seed])

    def _images(self, latent):
        return {"images": from_unit_range(tf.cast(self.generator(latent, training=False), tf.float32))}

    def _generate(self, count, seed):
        return self._images(noise_for(count, seed, self.noise_dim))

    def _conditional_images(self, latent, label):
        # The checks must run before the embedding lookup, or a bad label may fail there first
        # with TF's "indices[0] = 7 is not in [0, 2)" instead of these messages.
        checks = [tf.debugging.assert_less(label, self.num_classes, message=f"label must be below {self.num_classes}"),
                  tf.debugging.assert_non_negative(label, message="label must be >= 0")]
        with tf.control_dependencies(checks):
            label = tf.identity(label)
        images = self.generator([latent, label], training=False)
        return {"images": from_unit_range(tf.cast(images, tf.float32))}

    def _conditional_generate(self, count, seed, label):
        mix = tf.math.floormod(tf.range(count), self.num_classes)
        labels = tf.where(label < 0, mix, tf.fill([count], label))
        return self._conditional_images(noise_for(count, seed, self.noise_dim), labels)


def export_saved_model(gan: EmojiGAN, path: Path, metadata: dict | None = None) -> Path:
    """Write ``gan``'s sampling generator (the EMA copy when there is one) to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    module = GeneratorModule(gan.sampling_generator, gan.noise_dim, gan.num_classes)
    tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve,
                                                      "generate": module.generate})
    info = {"noise_dim": gan.noise_dim, "resolution": int(gan.generator.output_shape[1]),
            "num_classes": gan.num_classes,
            "ema": gan.ema_generator is not None, **(metadata or {})}
    (tmp / METADATA_FILE).write_text(json.dumps(info, indent=2) + "\n")
    if path.exists():
        old = path.parent / f".{path.name}.old"
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)
    return path
