"""FusedBatchNormalization computes Keras' BatchNormalization: outputs, gradients and moving
statistics, in float32 and mixed_bfloat16, training and inference; weights move between them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.models import networks
from keras_emojigan.models.fused_batch_norm import FusedBatchNormalization
from keras_emojigan.models.policy_scope import policy_scope


@pytest.fixture
def policy(request):
    with policy_scope(request.param):
        yield request.param


def pair(shape, **options):
    options = {"momentum": 0.9, "epsilon": 1e-5,
               "gamma_initializer": keras.initializers.RandomNormal(1.0, 0.2, seed=1),
               "beta_initializer": keras.initializers.RandomNormal(0.0, 0.2, seed=2), **options}
    reference, fused = keras.layers.BatchNormalization(**options), FusedBatchNormalization(**options)
    reference.build(shape)
    fused.build(shape)
    fused.set_weights(reference.get_weights())
    return reference, fused


def run(layer, x, weights, training):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=training)
        loss = tf.reduce_sum(tf.cast(y, tf.float32) * weights)
    gradients = tape.gradient(loss, [x, *layer.trainable_variables])
    return [np.asarray(tf.cast(t, tf.float32)) for t in (y, *gradients)]


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"], indirect=True)
@pytest.mark.parametrize("shape", [(5, 6, 6, 8), (1, 1, 1, 4), (3, 4, 4, 2)])
def test_matches_keras_batch_norm(policy, shape):
    x = tf.random.stateless_normal(shape, [1, 2]) * 3.0 + 1.0
    weights = tf.random.stateless_normal(shape, [3, 4])
    reference, fused = pair(shape)
    tolerance = 1e-4 if policy == "float32" else 2e-2  # a 1-pixel batch divides rounding by sqrt(epsilon)
    for training in (True, True, False):  # two training steps move the moving statistics twice
        expected, got = run(reference, x, weights, training), run(fused, x, weights, training)
        for a, b in zip(expected, got, strict=True):
            np.testing.assert_allclose(b, a, rtol=tolerance, atol=tolerance * max(1.0, np.abs(a).max()))
        for a, b in zip(reference.non_trainable_variables, fused.non_trainable_variables, strict=True):
            np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6)
    assert got[0].dtype == np.float32 and fused(x, training=False).dtype == tf.as_dtype(fused.compute_dtype)
    moved = fused.non_trainable_variables[0].numpy()
    assert np.abs(moved).max() > 0.05, "the moving mean did not move"


def test_unfusable_inputs_take_keras_path():
    """2-D inputs (no fused kernel) give Keras' result."""
    reference, fused = pair((6, 3))
    x = tf.random.stateless_normal((6, 3), [5, 6])
    np.testing.assert_allclose(fused(x, training=True), reference(x, training=True), rtol=1e-5, atol=1e-6)


def test_networks_use_it_unless_synchronized():
    assert isinstance(networks.batch_norm("a", 0), FusedBatchNormalization)
    synced = networks.batch_norm("b", 0, synchronized=True)
    assert type(synced) is keras.layers.BatchNormalization and synced.synchronized


def test_serialises_and_swaps_weights_with_keras():
    layer = FusedBatchNormalization(momentum=0.8, epsilon=1e-4)
    layer.build((None, 4, 4, 3))
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert isinstance(again, FusedBatchNormalization)
    assert (again.momentum, again.epsilon) == (0.8, 1e-4)
    plain = keras.layers.BatchNormalization.from_config(layer.get_config())
    plain.build((None, 4, 4, 3))
    plain.set_weights(layer.get_weights())
