"""Does a conditional GAN make the class it is asked for? A linear probe trained on real images.

``ClassProbe`` is a softmax regression (one Keras Dense layer on standardised features of an
extractor) fitted on the real images only, never on generated ones, with a held-out share of
the real images to say how well it can tell the classes apart at all. ``class_accuracy`` is
then the share of generated images the probe puts in the class they were generated for; it
can be read only against the probe's own held-out accuracy (about what real images score).
"""

from __future__ import annotations

import logging

import numpy as np


class _QuietRetracing(logging.Filter):
    """Each fit traces its own training loop for its own new variables, as it must; TensorFlow
    warns about that as "excessive retracing" after five fits (``emojigan directions`` fits one
    probe per class). Only that warning, about this loop, is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("ClassProbe.train.<locals>.run" in message and "retracing" in message)


logging.getLogger("tensorflow").addFilter(_QuietRetracing())


class ClassProbe:
    def __init__(self, num_classes: int, seed: int = 0, epochs: int = 300, l2: float = 1e-3):
        self.num_classes, self.seed, self.epochs, self.l2 = num_classes, seed, epochs, l2
        self.model = self.mean = self.scale = self.heldout_predictions = None

    def _standardise(self, features):
        return (np.asarray(features, np.float32) - self.mean) / self.scale

    def fit(self, features: np.ndarray, labels: np.ndarray, class_names, heldout: float = 0.2) -> dict:
        """Train on (1 - heldout) of the real images, stratified by class; return the held-out
        accuracy, overall and per class name (what real images of each class score), then refit on
        all of them. The held-out images and the probe's predictions for them stay in
        ``heldout_predictions`` (mask, predicted classes): with one seed, probes on two extractors
        hold out the same images."""

        labels = np.asarray(labels, np.int32)
        test = self._heldout_mask(labels, heldout)
        predicted = self.train(features[~test], labels[~test]).predict(features[test])
        self.heldout_predictions = (test, predicted)
        per_class = [float(np.mean(predicted[labels[test] == c] == c)) for c in range(self.num_classes)]
        self.train(features, labels)
        return {"probe_heldout_accuracy": float(np.mean(predicted == labels[test])),
                "probe_heldout_class_accuracy": dict(zip(class_names, per_class, strict=True)),
                "probe_train_images": int((~test).sum()), "probe_heldout_images": int(test.sum())}

    def _heldout_mask(self, labels: np.ndarray, heldout: float) -> np.ndarray:
        """``heldout`` of each class, drawn from the probe's seed alone."""
        labels = np.asarray(labels, np.int32)
        rng = np.random.default_rng(self.seed)
        test = np.zeros(len(labels), bool)
        for c in range(self.num_classes):
            members = np.flatnonzero(labels == c)
            test[rng.permutation(members)[: int(round(heldout * len(members)))]] = True
        return test

    def train(self, features, labels) -> ClassProbe:
        """Fit the probe on all of these (features, labels); no held-out share (``fit`` keeps one).
        Full-batch Adam for ``epochs`` steps on the cross-entropy plus the L2 penalty: what Keras'
        ``fit(batch_size=len(labels))`` computes, run as one ``tf.function`` loop (Keras' per-epoch
        overhead made each fit take seconds)."""
        import keras
        import tensorflow as tf

        features = np.asarray(features, np.float32)
        self.mean, self.scale = features.mean(0), features.std(0) + 1e-6
        keras.utils.set_random_seed(self.seed)
        self.model = keras.Sequential([keras.Input((features.shape[1],)),
                                       keras.layers.Dense(self.num_classes,
                                                          kernel_regularizer=keras.regularizers.l2(self.l2))])
        optimizer = keras.optimizers.Adam(1e-2)
        variables = self.model.trainable_variables
        optimizer.build(variables)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        x, y = tf.constant(self._standardise(features)), tf.constant(np.asarray(labels, np.int32))

        @tf.function
        def run():
            for _ in tf.range(self.epochs):
                with tf.GradientTape() as tape:
                    total = loss(y, self.model(x, training=True)) + tf.add_n(self.model.losses)
                optimizer.apply(tape.gradient(total, variables), variables)

        run()
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The class of each row: the argmax of the probe's logits (computed in NumPy: Keras'
        ``predict`` retraced for every new number of rows)."""
        return np.argmax(self.logits(features), axis=1)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """[rows, classes]: the probe's logits (in NumPy, as ``predict``)."""
        weights, bias = self.linear()
        return np.asarray(features, np.float64) @ weights + bias

    def linear(self) -> tuple[np.ndarray, np.ndarray]:
        """The probe as logits = features @ weights + biases on the raw (unstandardised) features."""
        kernel, bias = (np.asarray(v, np.float64) for v in self.model.layers[-1].get_weights())
        weights = kernel / self.scale[:, None]
        return weights, bias - self.mean @ weights

    def accuracy(self, features: np.ndarray, labels: np.ndarray) -> float:
        return float(np.mean(self.predict(features) == np.asarray(labels)))
