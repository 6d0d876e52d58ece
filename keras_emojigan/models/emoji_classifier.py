"""A small CNN that tells emoji apart by identity (code point), trained on emoji-faces.

It is the offline feature extractor: its softmax gives an IS-like score and its 256-d
penultimate layer an FID/KID space, the same idea as DeLiGAN's "modified Inception score"
(Inception retrained on the target data). Inception-v3's ImageNet weights cannot be
downloaded at run time here; these weights ship in the package (``emoji_classifier.weights.h5``)
and ``scripts/tools/train_emoji_classifier.py`` rebuilds them deterministically and reports the
leave-one-design-out accuracy.
"""

from __future__ import annotations

from importlib import resources

import keras
from keras import layers

INPUT_SIZE = 64
FEATURES = 256
WEIGHTS_FILE = "emoji_classifier.weights.h5"
CLASSES_FILE = "emoji_classifier.classes.txt"


def build_classifier(num_classes: int, seed: int = 0) -> keras.Model:
    """uint8-range RGB [B, 64, 64, 3] -> logits [B, num_classes]; layer 'features' is 256-d."""
    init = keras.initializers.HeNormal(seed=seed)
    image = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(image)
    for i, width in enumerate((24, 48, 96, 192)):  # 64 -> 32 -> 16 -> 8 -> 4
        x = layers.Conv2D(width, 3, strides=2, padding="same", use_bias=False, kernel_initializer=init,
                          name=f"conv{i}a")(x)
        x = layers.BatchNormalization(name=f"bn{i}a")(x)
        x = layers.ReLU(name=f"relu{i}a")(x)
        x = layers.Conv2D(width, 3, padding="same", use_bias=False, kernel_initializer=init, name=f"conv{i}b")(x)
        x = layers.BatchNormalization(name=f"bn{i}b")(x)
        x = layers.ReLU(name=f"relu{i}b")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(0.3, seed=seed, name="dropout")(x)
    features = layers.Dense(FEATURES, activation="relu", kernel_initializer=init, name="features")(x)
    logits = layers.Dense(num_classes, kernel_initializer=keras.initializers.GlorotUniform(seed), name="logits")(
        features)
    return keras.Model(image, logits, name="emoji_classifier")


def shipped_files():
    return resources.files("keras_emojigan.models")


def load_shipped() -> tuple[keras.Model, list[str]]:
    """The classifier with the weights that ship in the package, and its class names."""
    folder = shipped_files()
    classes = (folder / CLASSES_FILE).read_text(encoding="utf-8").split()
    model = build_classifier(len(classes))
    with resources.as_file(folder / WEIGHTS_FILE) as path:
        model.load_weights(path)
    return model, classes
