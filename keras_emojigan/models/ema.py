"""The EMA generator part: an exponential moving average of G's weights, used for samples and
export (``ema_decay`` > 0).

With ``ema_rampup`` r, StyleGAN2-ADA's warm-up: the EMA's half-life is r times the images seen
so far, capped by ``ema_decay``'s half-life, so the EMA forgets its random start (with a fixed
0.999, 880 steps left 41% of it). Batch-norm statistics are copied, as StyleGAN2-ADA does with
buffers.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_emojigan.models.parts import Part, need


class EmaGenerator(Part):
    @staticmethod
    def wanted(options, d_outputs):
        return options.ema_decay > 0

    @staticmethod
    def check(options, conditional, d_outputs):
        need(0 <= options.ema_decay < 1, options, "ema_decay", "must be in [0, 1)")
        need(options.ema_rampup >= 0, options, "ema_rampup", "must be >= 0")
        need(options.ema_rampup == 0 or options.ema_decay > 0, options, "ema_rampup",
             "needs an EMA generator: set ema_decay > 0")

    def build(self, gan):
        self.generator = keras.models.clone_model(gan.generator)
        self.generator.set_weights(gan.generator.get_weights())

    def state(self):
        return {"ema_generator": self.generator}

    def decay_at(self, step, global_batch):
        """The EMA decay of a step (numbered from 0)."""
        decay = tf.constant(self.options.ema_decay, tf.float32)
        if self.options.ema_rampup <= 0:
            return decay
        seen = tf.cast(step + 1, tf.float32) * tf.cast(global_batch, tf.float32)
        ramped = tf.pow(0.5, tf.cast(global_batch, tf.float32) / tf.maximum(self.options.ema_rampup * seen, 1e-8))
        return tf.minimum(decay, ramped)

    def update(self, live_generator, step, global_batch):
        decay = self.decay_at(step, global_batch)
        for ema, live in zip(self.generator.weights, live_generator.weights, strict=True):
            if live.trainable:
                ema.assign(decay * ema + (1.0 - decay) * live)
            else:
                ema.assign(live)
