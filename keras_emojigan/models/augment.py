"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to real and fake images
before the discriminator, so D cannot memorise a small data set.

A TensorFlow port of the authors' ``DiffAugment_tf.py`` (policy ``color,translation,cutout``)
with stateless random ops, so a step's augmentation is fixed by its seed and a resumed run
draws what an uninterrupted one would. Images are in [-1, 1], NHWC. With a probability p, each
augmentation applies to each image with probability p: the adaptive discriminator
augmentation of StyleGAN2-ADA (Karras et al. 2020), whose p the GAN adjusts (``gan.py``).
"""

from __future__ import annotations

import tensorflow as tf


def diff_augment(images: tf.Tensor, policy: tuple[str, ...], seed: tf.Tensor, probability=None) -> tf.Tensor:
    """Apply ``policy`` to a batch; ``seed`` is a stateless seed, shape [2]. With ``probability``
    (a scalar tensor, ADA's p), each augmentation is applied to each image with that
    probability, independently, instead of always."""
    if not policy:
        return images
    seeds = tf.random.experimental.stateless_split(seed, num=5)  # as before ADA: the same draws without p
    gates = tf.random.experimental.stateless_split(tf.random.experimental.stateless_fold_in(seed, 1), num=3)
    dtype = images.dtype
    x = tf.cast(images, tf.float32)
    steps = (("color", lambda x: _color(x, seeds[0], seeds[1], seeds[2])),
             ("translation", lambda x: _translation(x, seeds[3])),
             ("cutout", lambda x: _cutout(x, seeds[4])))
    for index, (name, augment) in enumerate(steps):
        if name in policy:
            augmented = augment(x)
            if probability is not None:
                keep = _uniform(gates[index], tf.shape(x)[0]) >= tf.cast(probability, tf.float32)
                augmented = tf.where(keep, x, augmented)
            x = augmented
    return tf.cast(x, dtype)

def _uniform(seed, batch, minval=0.0, maxval=1.0):
    return tf.random.stateless_uniform([batch, 1, 1, 1], seed, minval, maxval)

def _color(x, seed_brightness, seed_saturation, seed_contrast):
    batch = tf.shape(x)[0]
    x = x + _uniform(seed_brightness, batch, -0.5, 0.5)
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    x = (x - mean) * _uniform(seed_saturation, batch, 0.0, 2.0) + mean
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * _uniform(seed_contrast, batch, 0.5, 1.5) + mean

def _translation(x, seed, ratio=0.125):
    """Shift each image by up to ratio * size pixels in x and y, filling with zeros."""
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    shift = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    offsets = tf.random.stateless_uniform([2, batch, 1, 1], seed, -shift, shift + 1, dtype=tf.int32)
    rows = tf.range(height)[None, :, None] + offsets[0] + shift  # [B, H, 1] in padded coordinates
    cols = tf.range(width)[None, None, :] + offsets[1] + shift  # [B, 1, W]
    padded = tf.pad(x, [[0, 0], [shift, shift], [shift, shift], [0, 0]])
    rows = tf.broadcast_to(rows, [batch, height, width])
    cols = tf.broadcast_to(cols, [batch, height, width])
    return tf.gather_nd(padded, tf.stack([rows, cols], axis=-1), batch_dims=1)

def _cutout(x, seed, ratio=0.5):
    """Zero one square of ratio * size per image, at a random place (may overlap the border)."""
    batch, height, width = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    size = tf.cast(tf.cast(height, tf.float32) * ratio + 0.5, tf.int32)
    centre_y = tf.random.stateless_uniform([batch, 1, 1], seed, 0, height + (1 - size % 2), dtype=tf.int32)
    centre_x = tf.random.stateless_uniform([batch, 1, 1], seed + 1, 0, width + (1 - size % 2),
                                           dtype=tf.int32)
    top, left = centre_y - size // 2, centre_x - size // 2
    rows = tf.range(height)[None, :, None]
    cols = tf.range(width)[None, None, :]
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    return x * tf.cast(~inside, x.dtype)[..., None]
