"""Batch normalisation as one fused TensorFlow op (``FusedBatchNormV3``) and its gradient.

Why: Keras 3's ``BatchNormalization`` casts bfloat16 activations to float32, computes the
moments and the normalisation as a dozen separate elementwise ops and reductions, and casts
back; in the training step's profile (``scripts/benchmarks/profile_train_step.py --ops``) that
is most of the time outside the convolutions. The fused op reads bfloat16 (or float32)
activations once, keeps its statistics in float32, and has a fused gradient: the DCGAN step
1.13x faster in bf16 and 1.08x in float32, the ``lite`` one 1.48x in bf16 (docs/performance.md).

Contract: the same maths as ``keras.layers.BatchNormalization`` within the activations'
rounding: training normalises with the batch mean and the *biased* batch variance and moves the
moving statistics by ``momentum`` towards them (the op returns the Bessel-corrected variance,
which is converted back); inference uses the moving statistics. The weights, their names and
``get_config`` are Keras', so a checkpoint of either class restores into the other. Inputs
that are not 4-D channels-last, masked calls, renorm, synchronized statistics and other
backends go to Keras' implementation.
"""

from __future__ import annotations

import keras
from keras import layers


@keras.saving.register_keras_serializable("keras_emojigan")
class FusedBatchNormalization(layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` computed by ``FusedBatchNormV3`` where it can be."""

    def _fusable(self, inputs, mask) -> bool:
        return (keras.backend.backend() == "tensorflow" and mask is None and not self.renorm
                and not self.synchronized and len(inputs.shape) == 4 and self.axis in (-1, 3))

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        x = tf.cast(inputs, self.compute_dtype)
        channels = x.shape[-1]
        scale = tf.convert_to_tensor(self.gamma) if self.scale else tf.ones([channels], tf.float32)
        offset = tf.convert_to_tensor(self.beta) if self.center else tf.zeros([channels], tf.float32)
        if training and self.trainable:
            empty = tf.constant([], tf.float32)
            y, mean, corrected, *_ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=scale, offset=offset, mean=empty, variance=empty, epsilon=self.epsilon,
                exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
            count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
            # the op scales the batch variance by n / (n - 1) (by 1 when n is 1); Keras moves the
            # moving variance towards the biased one
            variance = corrected * tf.where(count > 1.0, (count - 1.0) / tf.maximum(count, 1.0), 1.0)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
            return y
        y, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=scale, offset=offset, mean=tf.convert_to_tensor(self.moving_mean),
            variance=tf.convert_to_tensor(self.moving_variance), epsilon=self.epsilon, exponential_avg_factor=1.0,
            data_format="NHWC", is_training=False)
        return y
