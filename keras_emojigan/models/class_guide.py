"""A fixed class guide for a conditional generator: a frozen classifier of the real images.

AC-GAN's class head is trained with D, on the few hundred real images, beside the adversarial
loss; on emoji-faces G learned to satisfy that head without making the requested expression
(docs/results/conditional/per_class.md). The guide instead reads the shipped emoji classifier's
256-d features (trained to tell emoji apart, ``models/emoji_classifier.py``) and a linear
head fitted once, before training, on the real images and their labels (``ClassProbe``, with
its standardisation folded into the head). It is frozen: G's class loss is its cross-entropy
on G's images, and nothing G makes can change what the guide calls a class.
Judge guided models with the Inception probe (``--extractor fid-inception``): the emoji
extractor's probe reads the same features as the guide.

A guide with only its head fitted is easy to satisfy without the expression: G met it on every
image while the Inception probe read the requested class in about 60%. ``robust`` > 0 then
fine-tunes the whole guide adversarially (Madry et al. 2018: PGD in an L-inf ball of that many
pixel levels around each real image) before it is frozen. A robust classifier's gradients change
what an image shows rather than invisible patterns (Santurkar et al. 2019), so G's class loss
can only be met by visible changes.
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
    from keras_emojigan.models.emoji_classifier import INPUT_SIZE, load_shipped

    classifier, _ = load_shipped()
    features = keras.Model(classifier.input, classifier.get_layer("features").output, name="guide_features")
    image = keras.Input((resolution, resolution, 3), name="image")
    # The mode comes from the caller: G's step and the head's fit call it with training=False; only
    # the adversarial fine-tune trains it, batch norm included.
    x = features(ToClassifierInput(INPUT_SIZE, name="to_classifier_input")(image))
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
                    seed: int = 0, robust: float = 0.0, robust_epochs: int = 20) -> dict:
    """Fit the guide's head on real uint8 images and their labels; return the probe's held-out
    accuracy, overall and per class name (``ClassProbe.fit``: a stratified fifth held out, then
    refitted on all images). With ``robust`` > 0 (pixel levels), then fine-tune the whole guide
    adversarially on all images, after measuring the same fine-tune on the probe's four-fifths
    against its held-out fifth, clean and under attack (``robust_*`` entries)."""
    from keras_emojigan.models.class_probe import ClassProbe

    labels = np.asarray(labels, np.int32)
    probe = ClassProbe(int(guide.get_layer(GUIDE_HEAD).units), seed=seed)
    features = guide_features(guide, images)
    fitted = probe.fit(features, labels, class_names)
    _set_head(guide, probe)
    if robust <= 0:
        return fitted
    heldout = probe.heldout_predictions[0]
    trial = build_class_guide(len(class_names), int(guide.input.shape[1]))
    _set_head(trial, ClassProbe(len(class_names), seed=seed).train(features[~heldout], labels[~heldout]))
    radius = robust / 127.5
    adversarial_finetune(trial, images[~heldout], labels[~heldout], radius, seed=seed, epochs=robust_epochs)
    unit = tf.constant(np.asarray(images[heldout], np.float32) / 127.5 - 1.0)
    truth = labels[heldout]
    clean = _predict(trial, unit)
    attacked = _predict(trial, pgd_attack(trial, unit, tf.constant(truth), radius, steps=10,
                                          seed=tf.constant([seed, 1], tf.int64)))
    fitted.update({"robust_radius": float(robust), "robust_epochs": int(robust_epochs),
                   "robust_heldout_accuracy": float(np.mean(clean == truth)),
                   "robust_heldout_class_accuracy": {name: float(np.mean(clean[truth == c] == c))
                                                     for c, name in enumerate(class_names)},
                   "robust_heldout_attacked_accuracy": float(np.mean(attacked == truth))})
    # A plain copy is fine-tuned and its weights put back: the guide may live in a tf.distribute
    # strategy's scope (mirrored variables), where a plain training loop cannot update it.
    final = build_class_guide(len(class_names), int(guide.input.shape[1]))
    final.set_weights(guide.get_weights())
    adversarial_finetune(final, images, labels, radius, seed=seed, epochs=robust_epochs)
    guide.set_weights(final.get_weights())
    return fitted


def _set_head(guide: keras.Model, probe) -> None:
    """The probe's softmax regression as the guide's head: W((f - mean) / scale) + b ==
    (W / scale) f + (b - (mean / scale) W)."""
    kernel, bias = probe.model.layers[-1].get_weights()
    guide.get_layer(GUIDE_HEAD).set_weights([kernel / probe.scale[:, None],
                                             bias - (probe.mean / probe.scale) @ kernel])


def _predict(guide: keras.Model, unit) -> np.ndarray:
    return np.argmax(guide.predict(unit, batch_size=256, verbose=0), axis=1)


def pgd_attack(guide: keras.Model, unit, labels, radius: float, *, steps: int, seed) -> tf.Tensor:
    """Projected gradient ascent on the guide's cross-entropy in the L-inf ball of ``radius``
    (in [-1, 1] units) around ``unit``, from a random start (stateless ``seed``), steps of
    2.5 radius / steps (Madry et al. 2018); images stay in [-1, 1]."""
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    step = 2.5 * radius / steps
    adversarial = tf.clip_by_value(unit + tf.random.stateless_uniform(tf.shape(unit), seed, -radius, radius), -1, 1)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(adversarial)
            value = loss(labels, guide(adversarial, training=False))
        adversarial = adversarial + step * tf.sign(tape.gradient(value, adversarial))
        adversarial = tf.clip_by_value(tf.clip_by_value(adversarial, unit - radius, unit + radius), -1, 1)
    return adversarial


def adversarial_finetune(guide: keras.Model, images: np.ndarray, labels: np.ndarray, radius: float, *,
                         seed: int = 0, epochs: int = 20, steps: int = 3, batch_size: int = 32,
                         learning_rate: float = 3e-4) -> None:
    """Train every weight of the guide on PGD examples (``steps`` steps, ``radius`` in [-1, 1]
    units) of the real images, mirrored at random, in shuffled batches (each epoch's remainder is
    left out); the guide is frozen again afterwards."""
    rng = np.random.default_rng(seed)
    unit = np.asarray(images, np.float32) / 127.5 - 1.0
    labels = np.asarray(labels, np.int32)
    batch_size = min(batch_size, len(unit))  # one batch shape, one trace: a new order each epoch, remainder dropped
    guide.trainable = True
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(guide.trainable_variables)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @tf.function
    def train_step(batch, truth, step_seed):
        adversarial = pgd_attack(guide, batch, truth, radius, steps=steps, seed=step_seed)
        with tf.GradientTape() as tape:
            value = loss(truth, guide(adversarial, training=True))
        optimizer.apply_gradients(zip(tape.gradient(value, guide.trainable_variables), guide.trainable_variables,
                                      strict=True))

    try:
        for epoch in range(epochs):
            order = rng.permutation(len(unit))
            for start in range(0, len(order) - batch_size + 1, batch_size):
                chosen = order[start:start + batch_size]
                batch = unit[chosen].copy()
                mirrored = rng.random(len(chosen)) < 0.5
                batch[mirrored] = batch[mirrored, :, ::-1]
                train_step(tf.constant(batch), tf.constant(labels[chosen]),
                           tf.constant([seed, epoch * len(order) + start], tf.int64))
    finally:
        guide.trainable = False
