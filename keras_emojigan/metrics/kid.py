"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD^2 with a cubic
polynomial kernel, mean and std over blocks, computed by TF-GAN's
``kernel_classifier_distance_and_std_from_activations``. Unbiased at small sample sizes,
which FID is not, so it is the fairer number on ~800 images.

TF-GAN cuts both sets into ceil(larger / block) blocks; it returns std = NaN for a single
block (its default block is 1024) and NaN outright when a block gets fewer than 2 images of
the smaller set. So we choose the number of blocks: ``MIN_BLOCKS`` (or fewer when the smaller
set is tiny, at least 2 images of it per block), more when blocks would exceed ``MAX_BLOCK``.
"""



from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from keras_emojigan.metrics.tfgan_compat import kernel_classifier_distance_and_std_from_activations

NAME = "kid"
MIN_BLOCKS = 4
MAX_BLOCK = 1024


def kid(real: np.ndarray, fake: np.ndarray) -> dict:
    smaller, larger = sorted((len(real), len(fake)))
    if smaller < 2:
        raise ValueError(f"KID needs at least 2 images on each side, got {len(real)} real and {len(fake)} generated")
    blocks = max(math.ceil(larger / MAX_BLOCK), min(MIN_BLOCKS, smaller // 2))
    block = math.ceil(larger / blocks)
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel("ERROR")  # TF-GAN's map_fn(back_prop=False) prints a deprecation notice on every first call
    try:
        mean, std = kernel_classifier_distance_and_std_from_activations(
            tf.constant(real, tf.float64), tf.constant(fake, tf.float64), max_block_size=block)
    finally:
        logger.setLevel(level)
    return {"kid": float(mean), "kid_std": float(std), "kid_block": block}
