"""The adversarial losses and LeCam's regulariser, as pure functions of D's logits.

- ``bce``: the non-saturating binary cross-entropy on logits of the DCGAN reference.
- ``hinge``: D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))], G minimises -E[D(G(z))]
  (Lim & Ye 2017; what FastGAN and BigGAN train with).
- LeCam (Tseng et al., CVPR 2021): D's outputs on real images are pulled towards a moving
  average of its outputs on fakes and the other way round,
  E[relu(D(x) - ema_fake)^2] + E[relu(ema_real - D(G(z)))^2], which bounds how far D can push
  the two apart on a few hundred images (the reference code, lecam-gan, uses this form).
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops


def bce_with_logits(target: float, logits):
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def discriminator_loss(kind: str, real_logits, fake_logits):
    """D's adversarial loss (``kind``: bce or hinge) on float32 logits."""
    real_logits, fake_logits = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
    if kind == "hinge":
        return tf.reduce_mean(tf.nn.relu(1.0 - real_logits)) + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits))
    return bce_with_logits(1.0, real_logits) + bce_with_logits(0.0, fake_logits)


def generator_loss(kind: str, fake_logits):
    """G's adversarial loss: non-saturating BCE, or hinge's -E[D(G(z))]."""
    fake_logits = tf.cast(fake_logits, tf.float32)
    if kind == "hinge":
        return -tf.reduce_mean(fake_logits)
    return bce_with_logits(1.0, fake_logits)


def lecam_penalty(real_logits, fake_logits, ema_real, ema_fake):
    """E[relu(D(x) - ema_fake)^2] + E[relu(ema_real - D(G(z)))^2] (the averages are constants)."""
    real_logits, fake_logits = tf.cast(real_logits, tf.float32), tf.cast(fake_logits, tf.float32)
    ema_real, ema_fake = tf.stop_gradient(ema_real), tf.stop_gradient(ema_fake)
    return (tf.reduce_mean(tf.square(tf.nn.relu(real_logits - ema_fake)))
            + tf.reduce_mean(tf.square(tf.nn.relu(ema_real - fake_logits))))
