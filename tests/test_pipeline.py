"""keras_emojigan.data.pipeline: batches, range, seeding, exact resume, labels, errors."""

import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.data.pipeline import from_unit_range, to_unit_range, training_stream
from keras_emojigan.data.sources import DataSourceError, load_images


def _epochs(stream, steps):
    batches = [b.numpy() for b in stream]
    return [np.concatenate(batches[i:i + steps]) for i in range(0, len(batches), steps)]


def test_embedded_stream_gives_full_batches_in_unit_range():
    images = load_images("emoji-faces", 64).images
    batches = list(training_stream(images, 35, seed=0, first_epoch=0, epochs=1))
    assert len(batches) == len(images) // 35
    for batch in batches:
        assert batch.shape == (35, 64, 64, 3) and batch.dtype == tf.float32
    values = np.concatenate([b.numpy() for b in batches])
    assert values.min() >= -1.0 and values.max() == 1.0  # white background is exactly 1
    assert values.min() < -0.9


def test_each_epoch_is_a_seeded_permutation_and_a_resume_sees_the_same_batches():
    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1).repeat(3, axis=-1)
    whole = _epochs(training_stream(images, 8, seed=1, first_epoch=0, epochs=3), 5)
    resumed = _epochs(training_stream(images, 8, seed=1, first_epoch=2, epochs=3), 5)
    other_seed = _epochs(training_stream(images, 8, seed=2, first_epoch=0, epochs=1), 5)
    assert np.array_equal(whole[2], resumed[0])
    assert not np.array_equal(whole[0], whole[1]) and not np.array_equal(whole[0], other_seed[0])
    assert np.array_equal(np.sort(whole[0].ravel()), np.sort(whole[1].ravel()))  # same images


def test_labels_travel_with_their_images():
    images = np.arange(30, dtype=np.uint8).reshape(30, 1, 1, 1).repeat(3, axis=-1)
    labels = np.arange(30) % 3
    for batch, classes in training_stream(images, 7, seed=0, first_epoch=0, epochs=2, labels=labels):
        pixel = np.round((batch.numpy()[:, 0, 0, 0] + 1) * 127.5).astype(int)
        assert classes.dtype == tf.int32 and np.array_equal(pixel % 3, classes.numpy())


def test_bad_batch_sizes_and_labels_are_clear_errors():
    images = np.zeros((10, 4, 4, 3), np.uint8)
    with pytest.raises(DataSourceError, match="batch size 50 is larger than the 10 images"):
        training_stream(images, 50, seed=0, first_epoch=0, epochs=1)
    with pytest.raises(DataSourceError, match="at least 1"):
        training_stream(images, 0, seed=0, first_epoch=0, epochs=1)
    with pytest.raises(DataSourceError, match="3 labels for 10 images"):
        training_stream(images, 2, seed=0, first_epoch=0, epochs=1, labels=np.zeros(3))


def test_unit_range_round_trip():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    unit = to_unit_range(pixels)
    assert float(tf.reduce_min(unit)) == -1.0 and float(tf.reduce_max(unit)) == 1.0
    assert np.array_equal(from_unit_range(unit).numpy(), pixels)
    assert from_unit_range(tf.constant([-3.0, 3.0])).numpy().tolist() == [0, 255]
