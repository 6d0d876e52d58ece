"""FusedAdam makes Keras Adam's updates (variables and both moments, over several steps), keeps
its slots, so a checkpoint of one restores into the other, and leaves Keras' path when fusing
does not apply (amsgrad)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.training.fused_adam import FusedAdam

START = [np.linspace(-1, 1, 12, dtype="float32").reshape(3, 4), np.array([0.5, -2, 3, 0, 1], "float32")]
GRADIENTS = [[tf.constant(np.sin(np.arange(x.size) * (i + 1)).reshape(x.shape).astype("float32") * (i + 1))
              for x in START] for i in range(5)]


def train(optimizer_class, **options):
    variables = [keras.Variable(x) for x in START]
    optimizer = optimizer_class(2e-2, 0.5, 0.999, **options)
    optimizer.build(variables)

    @tf.function
    def step(gradients):
        optimizer.apply(gradients, variables)

    for gradients in GRADIENTS:
        step(gradients)
    return variables, optimizer


@pytest.mark.parametrize("options", [{}, {"amsgrad": True}])
def test_same_updates_as_keras_adam(options):
    (expected, reference), (got, fused) = train(keras.optimizers.Adam, **options), train(FusedAdam, **options)
    for a, b in zip(expected + reference.variables, got + fused.variables, strict=True):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), rtol=1e-4, atol=1e-7)  # float32 rounding
    assert np.abs(np.asarray(got[0]) - START[0]).max() > 0.05, "the variables did not move"


def test_checkpoint_restores_across_the_two(tmp_path):
    variables, reference = train(keras.optimizers.Adam)
    path = tf.train.Checkpoint(optimizer=reference, v0=variables[0], v1=variables[1]).save(str(tmp_path / "ckpt"))
    again = [keras.Variable(np.zeros_like(x)) for x in START]
    fused = FusedAdam(2e-2, 0.5, 0.999)
    fused.build(again)
    tf.train.Checkpoint(optimizer=fused, v0=again[0], v1=again[1]).restore(path).assert_consumed()
    for a, b in zip(reference.variables, fused.variables, strict=True):
        np.testing.assert_array_equal(np.asarray(b), np.asarray(a))
