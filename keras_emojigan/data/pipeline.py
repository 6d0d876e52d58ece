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
    if batch_size < 1:
        raise DataSourceError(f"batch size must be at least 1, got {batch_size}")
    if drop_remainder and batch_size > len(images):
        raise DataSourceError(
            f"batch size {batch_size} is larger than the {len(images)} images of the data source: "
            "use a smaller --batch-size or more images")
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
    options = tf.data.Options()
    options.autotune.enabled = False
    options.deterministic = True
    return ds.with_options(options)


def input_pipeline(source: str = EMBEDDED, *, resolution: int = 64, batch_size: int = 35,
                   seed: int | None = 0, shuffle: bool = True, drop_remainder: bool = True,
                   with_labels: bool = False) -> tuple[tf.data.Dataset, ImageSet]:
    """Resolve ``source`` and return its training batches with the loaded ImageSet."""
    image_set = load_images(source, resolution)
    dataset = make_dataset(image_set.images, batch_size, seed=seed, shuffle=shuffle,
                           drop_remainder=drop_remainder,
                           labels=image_set.labels if with_labels else None)
    return dataset, image_set
