"""The tf.data input pipeline: uint8 images in memory -> float32 batches in [-1, 1], epoch by epoch.

Small data sets fit in memory, so there is one pipeline, ``training_stream``:
``range(epochs) -> flat_map(a stateless permutation of (seed, epoch), batched) -> map(gather and
normalise the batch) -> prefetch``. It takes the place of ``cache -> shuffle -> batch``: a
shuffle buffer's order depends on how many epochs the iterator has run, so a resumed run would
see other batches; a permutation drawn from ``(seed, epoch)`` is the same after a kill.
tf.data's autotuner is off: on 2-core CPUs it made ``fit()`` wait 7-38 s for its thread after
the last step and gave no speed; the buffer sizes are set by hand instead.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_emojigan.data.sources import DataSourceError

PREFETCH_BATCHES = 2


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generator's tanh output."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def from_unit_range(images: tf.Tensor) -> tf.Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounding and clipping (the inverse of to_unit_range)."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def check_batch_size(batch_size: int, count: int) -> None:
    """Every batch is full (batch-norm statistics and the step's shapes never change), so a
    batch must fit in the data."""
    if batch_size < 1:
        raise DataSourceError(f"batch size must be at least 1, got {batch_size}")
    if batch_size > count:
        raise DataSourceError(
            f"batch size {batch_size} is larger than the {count} images of the data source: "
            "use a smaller --batch-size or more images")


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return options


def training_stream(images: np.ndarray, batch_size: int, *, seed: int, first_epoch: int,
                    epochs: int, labels: np.ndarray | None = None, xflip: bool = False) -> tf.data.Dataset:
    """The batches of epochs ``first_epoch .. epochs - 1`` back to back, for ``fit(...,
    initial_epoch=first_epoch, steps_per_epoch=len(images) // batch_size)``: float32 images,
    or (images, int32 labels) when ``labels`` is given. With ``xflip``, each image of a batch
    is mirrored left-right with probability 1/2, drawn statelessly from (seed, epoch, batch),
    so the data is doubled for free and a resumed run still sees the same batches.

    Epoch e is a permutation drawn statelessly from ``(seed, e)``, so a run resumed at epoch e
    sees exactly the batches an uninterrupted run would have seen. The uint8 images stay in
    memory; each batch is gathered and normalised in one vectorised step; the remainder of an
    epoch (fewer than ``batch_size`` images) is left out.
    """
    check_batch_size(batch_size, len(images))
    if labels is not None and len(labels) != len(images):
        raise DataSourceError(f"{len(labels)} labels for {len(images)} images")
    pixels = tf.constant(images)
    classes = None if labels is None else tf.constant(np.asarray(labels, np.int32))
    count = len(images)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)
        return batches.enumerate().map(lambda number, index: (epoch, number, index))

    def gather(epoch, number, index):
        batch = to_unit_range(tf.gather(pixels, index))
        if xflip:
            flip_seed = tf.random.experimental.stateless_fold_in(
                tf.stack([tf.constant(seed, tf.int64), epoch]), number)
            flip = tf.random.stateless_uniform([batch_size, 1, 1, 1], flip_seed) < 0.5
            batch = tf.where(flip, tf.reverse(batch, axis=[2]), batch)
        return batch if classes is None else (batch, tf.gather(classes, index))

    stream = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches)
    stream = stream.map(gather, num_parallel_calls=1)
    return stream.prefetch(PREFETCH_BATCHES).with_options(_options())
