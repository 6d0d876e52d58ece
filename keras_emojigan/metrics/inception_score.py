"""Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))), mean and std over 10
splits, computed by TF-GAN's ``classifier_score_from_logits`` on each split."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_emojigan.metrics.tfgan_compat import classifier_score_from_logits

NAME = "is"


def inception_score(logits: np.ndarray, splits: int = 10) -> dict:
    logits = np.asarray(logits, np.float32)
    splits = max(1, min(splits, len(logits)))
    scores = [float(classifier_score_from_logits(tf.constant(part)))
              for part in np.array_split(logits, splits)]
    return {"is_mean": float(np.mean(scores)), "is_std": float(np.std(scores)), "is_splits": splits}
