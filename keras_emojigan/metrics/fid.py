"""Fréchet distance between Gaussians fitted to real and generated features (Heusel et al.
2017), computed by TF-GAN's ``frechet_classifier_distance_from_activations``."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_emojigan.metrics.tfgan_compat import frechet_classifier_distance_from_activations

NAME = "fid"


def fid(real: np.ndarray, fake: np.ndarray) -> dict:
    value = frechet_classifier_distance_from_activations(tf.constant(real, tf.float64), tf.constant(fake, tf.float64))
    return {"fid": float(value)}
