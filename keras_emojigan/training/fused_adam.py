"""Adam whose per-variable update is one TensorFlow op (``ResourceApplyAdam``).

Why: Keras 3's Adam updates each variable with about ten ops (casts, powers, two moment
updates, a square root, a division, three assignments); the DCGAN step updates ~30 variables a
step, hundreds of small ops that the executor schedules one by one. The fused kernel does the
same arithmetic in one pass over each variable.

Contract: the same update as ``keras.optimizers.Adam`` (without amsgrad):
m += (g - m)(1 - beta_1); v += (g^2 - v)(1 - beta_2);
var -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon), t = iterations + 1.
Same slots and config as Keras' Adam, so checkpoints of either restore into the other. Under a
tf.distribute strategy, with amsgrad, or on another backend, Keras' update runs unchanged.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable("keras_emojigan")
class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` with each variable's step as one ``ResourceApplyAdam``."""

    def update_step(self, gradient, variable, learning_rate):
        import tensorflow as tf

        if self.amsgrad or keras.backend.backend() != "tensorflow" or tf.distribute.has_strategy():
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=self._momentums[index].handle, v=self._velocities[index].handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step), lr=tf.cast(learning_rate, dtype),
            beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype),
            use_locking=False)
        return None
