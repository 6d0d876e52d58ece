"""keras_emojigan.data.pipeline: batches, range, seeding, errors."""

import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.data.pipeline import from_unit_range, input_pipeline, make_dataset, to_unit_range
from keras_emojigan.data.sources import DataSourceError


def _first_batch(dataset):
    return next(iter(dataset)).numpy()


def test_embedded_pipeline_gives_full_batches_in_unit_range():
    dataset, image_set = input_pipeline(batch_size=35, seed=0)
    batches = list(dataset)
    assert len(batches) == len(image_set) // 35
    for batch in batches:
        assert batch.shape == (35, 64, 64, 3) and batch.dtype == tf.float32
    values = np.concatenate([b.numpy() for b in batches])
    assert values.min() >= -1.0 and values.max() == 1.0  # white background is exactly 1
    assert values.min() < -0.9


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    images = np.arange(40, dtype=np.uint8).reshape(40, 1, 1, 1).repeat(3, axis=-1)
    a = make_dataset(images, 8, seed=1)
    b = make_dataset(images, 8, seed=1)
    c = make_dataset(images, 8, seed=2)
    assert np.array_equal(_first_batch(a), _first_batch(b))
    assert not np.array_equal(_first_batch(a), _first_batch(c))
    epoch1 = np.concatenate([x.numpy() for x in a])
    epoch2 = np.concatenate([x.numpy() for x in a])
    assert not np.array_equal(epoch1, epoch2)
    assert np.array_equal(np.sort(epoch1.ravel()), np.sort(epoch2.ravel()))  # same images


def test_unshuffled_keeps_order_and_remainder():
    images = np.zeros((10, 4, 4, 3), np.uint8)
    labels = np.arange(10)
    batches = list(make_dataset(images, 4, shuffle=False, drop_remainder=False, labels=labels))
    assert [len(y) for _, y in batches] == [4, 4, 2]
    assert list(np.concatenate([y.numpy() for _, y in batches])) == list(range(10))


def test_batch_larger_than_the_data_is_a_clear_error():
    with pytest.raises(DataSourceError, match="batch size 50 is larger than the 10 images"):
        make_dataset(np.zeros((10, 4, 4, 3), np.uint8), 50)
    with pytest.raises(DataSourceError, match="at least 1"):
        make_dataset(np.zeros((10, 4, 4, 3), np.uint8), 0)


def test_unit_range_round_trip():
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    unit = to_unit_range(pixels)
    assert float(tf.reduce_min(unit)) == -1.0 and float(tf.reduce_max(unit)) == 1.0
    assert np.array_equal(from_unit_range(unit).numpy(), pixels)
    assert from_unit_range(tf.constant([-3.0, 3.0])).numpy().tolist() == [0, 255]
