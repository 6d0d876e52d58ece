"""Export a generator as a self-contained SavedModel (what TF Serving and `emojigan sample` load).

Signatures:
- ``serving_default``: ``latent`` float32 [None, noise_dim] (standard-normal noise; see
  ``models/latents.py`` for what each model does with it) -> ``images`` uint8 [None, H, W, 3].
- ``generate``: ``count`` int32 and ``seed`` int64 scalars -> ``images``; the noise is drawn
  inside the graph with the same stateless op as ``EmojiGAN.generate``, so a seed gives the
  same images in Python, in the SavedModel and behind TF Serving.
- A class-conditional generator's signatures also take ``label`` (int32 [None] and scalar).
- A *steered* generator (``SteeredModule``: an unconditional SavedModel plus the class
  directions found in its latent space, ``directions.py``) takes ``label`` and ``strength``.
``emojigan.json`` beside ``saved_model.pb`` records the model kind, noise size, resolution and
training config (TF Serving ignores it). The folder is written under a temporary name and
renamed, so a half-written export is never at the final path.
"""

from __future__ import annotations

import json
import os
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
    module = GeneratorModule(gan.sampling_generator, gan.noise_dim, gan.num_classes)
    info = {"noise_dim": gan.noise_dim, "resolution": int(gan.generator.output_shape[1]),
            "num_classes": gan.num_classes,
            "ema": gan.ema is not None, **(metadata or {})}
    return _write(module, path, info)


def _write(module: tf.Module, path: Path, metadata: dict, files: dict | None = None) -> Path:
    """Save ``module``'s two signatures, ``metadata`` and ``files`` ({name: text}) under a temporary
    name, then rename it to ``path`` (replacing what is there), so a half-written export is never
    at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.partial-{os.getpid()}"  # this process's own: two writers never share one
    shutil.rmtree(tmp, ignore_errors=True)
    tf.saved_model.save(module, str(tmp), signatures={"serving_default": module.serve,
                                                      "generate": module.generate})
    (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    for name, text in (files or {}).items():
        (tmp / name).write_text(text)
    if path.exists():
        old = path.parent / f".{path.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        path.rename(old)
        tmp.rename(path)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(path)
    return path


class SteeredModule(tf.Module):
    """An unconditional generator asked for a class by moving its noise (InterFaceGAN).

    ``directions`` (the dict ``directions.find_directions`` writes) holds, per class, a unit
    normal ``n`` and an offset ``b`` over the first ``len(n)`` noise dimensions, with ``n . x + b``
    the signed distance (in noise standard deviations) of ``x`` from that class's boundary, positive
    on the class's side. A row of class ``c`` at strength ``s`` moves along ``n`` to distance ``s``:
    ``x + (s - n . x - b) n``; 0 is the boundary, larger is more of the class. For a mixture latent
    (DeLiGAN) the component, carried by noise dimension ``latent_dim`` through the normal CDF, is
    first redrawn among the class's own components (``components``: per class, the components
    whose samples are mostly of it), keeping the row's position within the draw.

    Signatures: ``serving_default`` takes ``latent`` float32 [None, noise_dim], ``label`` int32
    [None] and ``strength`` float32 [None]; ``generate`` takes ``count``, ``seed``, ``label`` (-1:
    the model's own mix, unsteered) and ``strength`` scalars. Label -1 leaves a row untouched.
    """

    def __init__(self, base, noise_dim: int, directions: dict):
        super().__init__()
        self.base, self.noise_dim = base, int(noise_dim)
        classes = directions["classes"]
        self.num_classes = len(classes)
        self.normals = tf.constant([c["normal"] for c in classes], tf.float32)
        self.offsets = tf.constant([c["offset"] for c in classes], tf.float32)
        self.steered_dims = int(self.normals.shape[1])
        mixture = directions.get("mixture")
        if mixture:
            self.latent_dim, self.components = int(mixture["latent_dim"]), int(mixture["components"])
            lists = [c["components"] for c in classes]
            width = max(len(members) for members in lists)
            self.component_table = tf.constant([m + [m[-1]] * (width - len(m)) for m in lists], tf.int32)
            self.component_counts = tf.constant([len(m) for m in lists], tf.float32)
        else:
            self.component_table = None
        latent = tf.TensorSpec([None, self.noise_dim], tf.float32, name="latent")
        self.serve = tf.function(self._images, input_signature=[
            latent, tf.TensorSpec([None], tf.int32, name="label"), tf.TensorSpec([None], tf.float32, name="strength")])
        self.generate = tf.function(self._generate, input_signature=[
            tf.TensorSpec([], tf.int32, name="count"), tf.TensorSpec([], tf.int64, name="seed"),
            tf.TensorSpec([], tf.int32, name="label"), tf.TensorSpec([], tf.float32, name="strength")])

    def steer(self, latent, label, strength):
        """The moved noise rows (label -1: unmoved)."""
        checks = [tf.debugging.assert_less(label, self.num_classes, message=f"label must be below {self.num_classes}"),
                  tf.debugging.assert_greater_equal(label, -1, message="label must be >= -1 (-1: the model's own mix)"),
                  tf.debugging.assert_equal(tf.shape(label)[0], tf.shape(latent)[0],
                                            message="label needs one entry per latent row"),
                  tf.debugging.assert_equal(tf.shape(strength)[0], tf.shape(latent)[0],
                                            message="strength needs one entry per latent row")]
        with tf.control_dependencies(checks):
            steered = label >= 0
            index = tf.maximum(label, 0)
        if self.component_table is not None:
            latent = self._redraw_component(latent, index, steered)
        head, tail = latent[:, : self.steered_dims], latent[:, self.steered_dims:]
        normal = tf.gather(self.normals, index)
        distance = tf.reduce_sum(head * normal, axis=1) + tf.gather(self.offsets, index)
        moved = head + (strength - distance)[:, None] * normal
        head = tf.where(steered[:, None], moved, head)
        return tf.concat([head, tail], axis=1)

    def _redraw_component(self, latent, index, steered):
        column = latent[:, self.latent_dim]
        position = 0.5 * (1.0 + tf.math.erf(column / tf.sqrt(2.0)))  # U(0, 1): where in the draw
        count = tf.gather(self.component_counts, index)
        slot = tf.cast(tf.minimum(tf.floor(position * count), count - 1.0), tf.int32)
        component = tf.gather_nd(self.component_table, tf.stack([index, slot], axis=1))
        # the middle of that component's slice of the normal CDF
        redrawn = tf.math.ndtri((tf.cast(component, tf.float32) + 0.5) / self.components)
        column = tf.where(steered, redrawn, column)
        return tf.concat([latent[:, : self.latent_dim], column[:, None], latent[:, self.latent_dim + 1:]], axis=1)

    def _images(self, latent, label, strength):
        return self.base.serve(self.steer(latent, label, strength))

    def _generate(self, count, seed, label, strength):
        return self._images(noise_for(count, seed, self.noise_dim), tf.fill([count], label),
                            tf.fill([count], strength))


def saved_model_fingerprint(path) -> str:
    """The SavedModel's own checksum (``fingerprint.pb``, written by tf.saved_model.save), as hex;
    "" for a folder without one. Names the exact model a directions file was found in."""
    try:
        return format(tf.saved_model.experimental.read_fingerprint(str(path)).saved_model_checksum, "x")
    except (OSError, ValueError, tf.errors.OpError):
        return ""


def export_steered(base, noise_dim: int, directions: dict, path: Path, metadata: dict,
                   files: dict | None = None) -> Path:
    """Write ``base`` (a loaded unconditional SavedModel taking ``noise_dim`` noise) with
    ``directions`` as a steered one at ``path`` (``SteeredModule``); ``metadata`` goes into its
    emojigan.json, ``files`` beside it."""
    return _write(SteeredModule(base, noise_dim, directions), path, metadata, files)
