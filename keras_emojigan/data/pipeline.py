"""The tf.data input pipeline: uint8 images -> shuffled float32 batches in [-1, 1].

Small data sets fit in memory, so the pipeline is ``from_tensor_slices -> map(normalise) ->
cache -> shuffle(seeded, reshuffled every epoch) -> batch -> prefetch``. tf.data's autotuner
is switched off: on this project's 2-core CPUs it made ``fit()`` wait 7-38 s for its thread
after the last step and gave no speed (see ../shared/notes/stack-facts.md); the buffer sizes
are set by hand instead.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_emojigan.data.sources import EMBEDDED, DataSourceError, ImageSet, load_images

PREFETCH_BATCHES = 2


def to_unit_range(images: tf.Tensor) -> tf.Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the range of the generator's tanh output."""
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def from_unit_range(images: tf.Tensor) -> tf.Tensor:
    """float [-1, 1] -> uint8 [0, 255], rounding and clipping (the inverse of to_unit_range)."""
    return tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)


def make_dataset(images: np.ndarray, batch_size: int, *, seed: int | None = 0, shuffle: bool = True,
                 drop_remainder: bool = True, labels: np.ndarray | None = None) -> tf.data.Dataset:
    """Batches of float32 images in [-1, 1] (and int32 labels when ``labels`` is given).

    With ``drop_remainder`` (the default for training) every batch has ``batch_size`` images, so
    batch-norm statistics and the step function's shapes never change within a run.
    """
    check_batch_size(batch_size, len(images), drop_remainder)
    elements = images if labels is None else (images, labels.astype(np.int32))
    ds = tf.data.Dataset.from_tensor_slices(elements)
    if labels is None:
        ds = ds.map(to_unit_range, num_parallel_calls=1)
    else:
        ds = ds.map(lambda x, y: (to_unit_range(x), y), num_parallel_calls=1)
    ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(PREFETCH_BATCHES)
    return ds.with_options(_options())


def check_batch_size(batch_size: int, count: int, drop_remainder: bool = True) -> None:
    if batch_size < 1:
        raise DataSourceError(f"batch size must be at least 1, got {batch_size}")
    if drop_remainder and batch_size > count:
        raise DataSourceError(
            f"batch size {batch_size} is larger than the {count} images of the data source: "
            "use a smaller --batch-size or more images")


def _options() -> tf.data.Options:
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return options


def input_pipeline(source: str = EMBEDDED, *, resolution: int = 64, batch_size: int = 35,
                   seed: int | None = 0, shuffle: bool = True, drop_remainder: bool = True,
                   with_labels: bool = False) -> tuple[tf.data.Dataset, ImageSet]:
    """Resolve ``source`` and return its training batches with the loaded ImageSet."""
    image_set = load_images(source, resolution)
    dataset = make_dataset(image_set.images, batch_size, seed=seed, shuffle=shuffle,
                           drop_remainder=drop_remainder,
                           labels=image_set.labels if with_labels else None)
    return dataset, image_set


def training_stream(images: np.ndarray, batch_size: int, *, seed: int, first_epoch: int,
                    epochs: int) -> tf.data.Dataset:
    """The batches of epochs ``first_epoch .. epochs - 1`` back to back, for ``fit(...,
    initial_epoch=first_epoch, steps_per_epoch=len(images) // batch_size)``.

    Epoch e is a permutation drawn statelessly from ``(seed, e)``, so a run resumed at epoch e
    sees exactly the batches an uninterrupted run would have seen. The uint8 images stay in
    memory; each batch is gathered and normalised in one vectorised step.
    """
    check_batch_size(batch_size, len(images))
    pixels = tf.constant(images)
    count = len(images)

    def epoch_batches(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(count), seed=tf.stack([tf.constant(seed, tf.int64), epoch]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size, drop_remainder=True)

    stream = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_batches)
    stream = stream.map(lambda index: to_unit_range(tf.gather(pixels, index)), num_parallel_calls=1)
    return stream.prefetch(PREFETCH_BATCHES).with_options(_options())
