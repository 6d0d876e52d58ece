"""The matmul kernel gradient equals TensorFlow's convolution gradients (float32, to rounding),
and the layers use it exactly where they should: bfloat16, a map of at most 4x4 positions."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_emojigan.models import matmul_kernel_gradient as mkg
from keras_emojigan.models.policy_scope import policy_scope

CASES = [  # input shape, kernel shape, stride, padding
    ((3, 8, 8, 5), (4, 4, 5, 7), 2, "same"),
    ((3, 4, 4, 5), (4, 4, 5, 1), 1, "valid"),
    ((2, 9, 9, 4), (3, 3, 4, 6), 1, "same"),
    ((2, 7, 7, 3), (4, 4, 3, 2), 2, "same"),  # odd map: uneven padding
]


def gradients(fn, x, kernel):
    with tf.GradientTape() as tape:
        tape.watch(x if isinstance(kernel, keras.Variable) else [x, kernel])  # variables are watched already
        y = tf.cast(fn(x, kernel), tf.float32)
        loss = tf.reduce_sum(y * tf.random.stateless_normal(tf.shape(y), [7, 8]))
    return [y, *tape.gradient(loss, [x, kernel])]


@pytest.mark.parametrize("x_shape,k_shape,stride,padding", CASES)
def test_conv2d_gradients_match_tensorflow(x_shape, k_shape, stride, padding):
    x = tf.random.stateless_normal(x_shape, [1, 2])
    kernel = tf.random.stateless_normal(k_shape, [3, 4])
    expected = gradients(lambda x, k: tf.nn.conv2d(x, k, stride, padding.upper()), x, kernel)
    got = gradients(lambda x, k: mkg.conv2d(x, k, (stride, stride), padding), x, kernel)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("x_shape,k_shape,stride,padding", CASES)
def test_conv2d_transpose_gradients_match_tensorflow(x_shape, k_shape, stride, padding):
    kh, kw, cin, cout = k_shape
    y_shape = tf.nn.conv2d(tf.zeros(x_shape), tf.zeros(k_shape), stride, padding.upper()).shape
    small = tf.random.stateless_normal(y_shape, [1, 2])  # the transposed conv maps y's shape back to x's
    kernel = tf.random.stateless_normal(k_shape, [3, 4])  # [kh, kw, out=cin, in=cout]
    out = tf.constant(x_shape)
    expected = gradients(lambda s, k: tf.nn.conv2d_transpose(s, k, out, stride, padding.upper()), small, kernel)
    got = gradients(lambda s, k: mkg.conv2d_transpose(s, k, (stride, stride), padding, out), small, kernel)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-5)


@pytest.fixture
def bfloat16():
    with policy_scope("mixed_bfloat16"):
        yield


def layer_pair(kind, shape, **options):
    reference = {mkg.Conv2D: keras.layers.Conv2D, mkg.Conv2DTranspose: keras.layers.Conv2DTranspose}[kind](**options)
    layer = kind(**options)
    reference.build(shape)
    layer.build(shape)
    layer.set_weights(reference.get_weights())
    return reference, layer


@pytest.mark.parametrize("kind,shape,options,fused", [
    (mkg.Conv2D, (4, 8, 8, 16), {"filters": 32, "kernel_size": 4, "strides": 2, "padding": "same"}, True),
    (mkg.Conv2D, (4, 16, 16, 16), {"filters": 32, "kernel_size": 4, "strides": 2, "padding": "same"}, False),
    (mkg.Conv2DTranspose, (4, 4, 4, 32), {"filters": 16, "kernel_size": 4, "strides": 2, "padding": "same"}, True),
    (mkg.Conv2DTranspose, (4, 1, 1, 32), {"filters": 16, "kernel_size": 4, "strides": 1, "padding": "valid"}, True),
    (mkg.Conv2DTranspose, (4, 8, 8, 32), {"filters": 16, "kernel_size": 4, "strides": 2, "padding": "same"}, False),
])
def test_layers_use_it_on_small_maps_in_bfloat16(bfloat16, monkeypatch, kind, shape, options, fused):
    calls = []
    for name in ("conv2d", "conv2d_transpose"):
        original = getattr(mkg, name)
        monkeypatch.setattr(mkg, name, lambda *a, original=original, **k: calls.append(1) or original(*a, **k))
    reference, layer = layer_pair(kind, shape, use_bias=False, **options)
    x = tf.random.stateless_normal(shape, [5, 6])
    expected, got = [gradients(lambda x, _, lay=lay: lay(x), x, lay.kernel) for lay in (reference, layer)]
    assert bool(calls) == fused
    for a, b in zip(expected, got, strict=True):  # output, input gradient, kernel gradient
        assert b.dtype == a.dtype
        np.testing.assert_allclose(np.float32(b), np.float32(a), rtol=2e-2, atol=2e-2 * float(np.abs(a).max()))


def test_float32_layers_keep_tensorflows_gradient(monkeypatch):
    monkeypatch.setattr(mkg, "conv2d", lambda *a, **k: pytest.fail("float32 took the matmul gradient"))
    layer = mkg.Conv2D(8, 4, strides=2, padding="same", use_bias=False)
    layer(tf.zeros([2, 8, 8, 3]))
