"""Kernel Inception Distance (Bińkowski et al. 2018): the unbiased MMD^2 with a cubic
polynomial kernel, mean and std over blocks, computed by TF-GAN's
``kernel_classifier_distance_and_std_from_activations``. Unbiased at small sample sizes,
which FID is not, so it is the fairer number on ~800 images.

TF-GAN returns std = NaN when everything fits in one block (its default block is 1024), so
the block size is chosen to give at least ``MIN_BLOCKS`` blocks.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_emojigan.metrics.tfgan_compat import kernel_classifier_distance_and_std_from_activations

NAME = "kid"
MIN_BLOCKS = 4
MAX_BLOCK = 1024


def kid(real: np.ndarray, fake: np.ndarray) -> dict:
    smaller = min(len(real), len(fake))
    block = max(2, min(MAX_BLOCK, smaller // MIN_BLOCKS))
    mean, std = kernel_classifier_distance_and_std_from_activations(
        tf.constant(real, tf.float64), tf.constant(fake, tf.float64), max_block_size=block)
    return {"kid": float(mean), "kid_std": float(std), "kid_block": block}
