"""Convolutions whose kernel gradient is one matmul where oneDNN's bfloat16 kernel is slow.

Why: in the bfloat16 training step's profile (``scripts/benchmarks/profile_train_step.py --ops
--inter-op 1``), the kernel gradients of the layers with 4x4 maps and 256-512 channels (the
DCGAN D's last stride-2 conv, G's first transposed convs) took about 40 ms each at batch 35,
3-4x their forward time. The same gradient written as image patches times the output gradient
(``tf.image.extract_patches`` + one bf16 ``tf.matmul``) is faster there. Each layer alone,
forward + backward, bf16 (``profile_train_step.py --layers --precision mixed_bfloat16``,
docs/results/performance/): on 4x4 maps the matmul gradient took half the time or less; on 8x8
maps the two were level; on larger maps TensorFlow's was faster, so it stays there. Float32
keeps TensorFlow's kernel (the slow one is the bf16 kernel).

Contract: ``Conv2D`` and ``Conv2DTranspose`` are Keras' layers (same weights, config and
forward op); only the kernel's gradient is computed differently, and only when the compute
dtype is bfloat16, the layer is plain (no dilation or groups, channels-last) and its smaller map
has at most ``SMALL_MAP`` positions. The sum is the same sum of products, accumulated in float32
by the matmul as by the convolution; results agree within bfloat16 rounding (tested against
TensorFlow's gradient).
"""

from __future__ import annotations

import keras
from keras import layers

SMALL_MAP = 16  # positions (4x4) of the layer's smaller map, at most, for the matmul gradient


def _kernel_gradient(patched, other, kernel_shape, strides, padding):
    """sum over batch and positions of patches(patched) (x) other, shaped as the kernel:
    Conv2DBackpropFilter(input=patched, out_backprop=other) as one matmul."""
    import tensorflow as tf

    kh, kw, _, channels = kernel_shape
    patches = tf.image.extract_patches(patched, [1, kh, kw, 1], [1, *strides, 1], [1, 1, 1, 1], padding.upper())
    flat = tf.reshape(patches, [-1, patches.shape[-1]])
    return tf.reshape(tf.matmul(flat, tf.reshape(other, [-1, channels]), transpose_a=True), kernel_shape)


def conv2d(x, kernel, strides, padding):
    """tf.nn.conv2d, its input gradient TensorFlow's, its kernel gradient ``_kernel_gradient``."""
    import tensorflow as tf

    @tf.custom_gradient
    def run(x, kernel):
        def gradient(dy):
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=kernel, out_backprop=dy,
                                                strides=[1, *strides, 1], padding=padding.upper())
            return dx, _kernel_gradient(x, dy, kernel.shape, strides, padding)

        return tf.nn.conv2d(x, kernel, strides, padding.upper()), gradient

    return run(x, tf.convert_to_tensor(kernel))  # a variable's value (autocast), not the variable


def conv2d_transpose(x, kernel, strides, padding, output_shape):
    """The transposed convolution (kernel [kh, kw, out, in]); its input gradient is the forward
    convolution of the output gradient, its kernel gradient ``_kernel_gradient`` of the output
    gradient's patches with x."""
    import tensorflow as tf

    @tf.custom_gradient
    def run(x, kernel):
        def gradient(dy):
            dx = tf.nn.conv2d(dy, kernel, strides, padding.upper())
            return dx, _kernel_gradient(dy, x, kernel.shape, strides, padding)

        return tf.nn.conv2d_transpose(x, kernel, output_shape, strides, padding.upper()), gradient

    return run(x, tf.convert_to_tensor(kernel))


def _small_map(layer, positions) -> bool:
    import tensorflow as tf

    return (keras.backend.backend() == "tensorflow" and tf.as_dtype(layer.compute_dtype) == tf.bfloat16
            and layer.data_format == "channels_last" and tuple(layer.dilation_rate) == (1, 1)
            and getattr(layer, "groups", 1) == 1 and positions is not None and positions <= SMALL_MAP)


def _positions(*shapes) -> int | None:
    known = [shape[1] * shape[2] for shape in shapes if shape[1] is not None and shape[2] is not None]
    return min(known) if len(known) == len(shapes) else None


@keras.saving.register_keras_serializable("keras_emojigan")
class Conv2D(layers.Conv2D):
    """``keras.layers.Conv2D``; in bfloat16 with a small output map, a matmul kernel gradient."""

    def convolution_op(self, inputs, kernel):
        out_shape = self.compute_output_shape(inputs.shape)
        if not _small_map(self, _positions(inputs.shape, out_shape)):
            return super().convolution_op(inputs, kernel)
        return conv2d(inputs, kernel, tuple(self.strides), self.padding)


@keras.saving.register_keras_serializable("keras_emojigan")
class Conv2DTranspose(layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose``; in bfloat16 with a small input map, a matmul kernel gradient."""

    def call(self, inputs):
        out_shape = self.compute_output_shape(inputs.shape)
        if (self.use_bias or self.activation not in (None, keras.activations.linear) or self.output_padding is not None
                or not _small_map(self, _positions(inputs.shape, out_shape))):
            return super().call(inputs)
        import tensorflow as tf

        output_shape = tf.stack([tf.shape(inputs)[0], out_shape[1], out_shape[2], out_shape[3]])
        return conv2d_transpose(inputs, self.kernel, tuple(self.strides), self.padding, output_shape)
