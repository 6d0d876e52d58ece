"""A fixed class guide for a conditional generator: a frozen classifier of the real images.

AC-GAN's class head is trained with D, on the few hundred real images, beside the adversarial
loss; on emoji-faces G learned to satisfy that head without making the requested expression
(docs/results/conditional/per_class.md). The guide instead reads the shipped emoji classifier's
256-d features (trained to tell emoji apart, ``metrics/emoji_classifier.py``) and a linear
head fitted once, before training, on the real images and their labels (``ClassProbe``, with
its standardisation folded into the head). It is frozen: G's class loss is its cross-entropy
on G's images, and nothing G makes can change what the guide calls a class.
Judge guided models with the Inception probe (``--extractor fid-inception``): the emoji
extractor's probe reads the same features as the guide.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_emojigan.models.latents import PACKAGE

GUIDE_HEAD = "guide_logits"


@keras.saving.register_keras_serializable(PACKAGE)
class ToClassifierInput(layers.Layer):
    """G's images in [-1, 1] at any resolution -> the emoji classifier's input: 0-255, 64x64
    (bilinear, as differentiable as the rest of the guide)."""

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, images):
        x = (tf.cast(images, self.compute_dtype) + 1.0) * 127.5
        if x.shape[1] != self.size:
            x = tf.image.resize(x, (self.size, self.size), method="bilinear", antialias=True)
        return x

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def build_class_guide(num_classes: int, resolution: int = 64) -> keras.Model:
    """image [B, R, R, 3] in [-1, 1] -> class logits [B, num_classes]; every weight frozen. The
    head is untrained until ``fit_class_guide`` (or a checkpoint restore) sets it."""
    from keras_emojigan.metrics.emoji_classifier import INPUT_SIZE, load_shipped

    classifier, _ = load_shipped()
    features = keras.Model(classifier.input, classifier.get_layer("features").output, name="guide_features")
    image = keras.Input((resolution, resolution, 3), name="image")
    x = features(ToClassifierInput(INPUT_SIZE, name="to_classifier_input")(image), training=False)
    logits = layers.Dense(num_classes, dtype="float32", name=GUIDE_HEAD)(x)
    guide = keras.Model(image, logits, name="class_guide")
    guide.trainable = False
    return guide


def guide_features(guide: keras.Model, images: np.ndarray) -> np.ndarray:
    """The guide's 256-d features of uint8 images [N, R, R, 3]."""
    body = keras.Model(guide.input, guide.get_layer(GUIDE_HEAD).input)
    unit = np.asarray(images, np.float32) / 127.5 - 1.0
    return np.asarray(body.predict(unit, batch_size=256, verbose=0), np.float32)


def fit_class_guide(guide: keras.Model, images: np.ndarray, labels: np.ndarray, class_names,
                    seed: int = 0) -> dict:
    """Fit the guide's head on real uint8 images and their labels; return the probe's held-out
    accuracy, overall and per class name (``ClassProbe.fit``: a stratified fifth held out, then
    refitted on all images)."""
    from keras_emojigan.metrics.class_accuracy import ClassProbe

    head = guide.get_layer(GUIDE_HEAD)
    probe = ClassProbe(int(head.units), seed=seed)
    fitted = probe.fit(guide_features(guide, images), np.asarray(labels), class_names)
    kernel, bias = probe.model.layers[-1].get_weights()
    # W((f - mean) / scale) + b == (W / scale) f + (b - (mean / scale) W)
    head.set_weights([kernel / probe.scale[:, None], bias - (probe.mean / probe.scale) @ kernel])
    return fitted
