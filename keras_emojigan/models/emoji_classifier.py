"""Small CNNs that tell emoji apart by identity (code point): the offline feature extractors.

Their softmax gives an IS-like score and their 256-d penultimate layer an FID/KID space, the same
idea as DeLiGAN's "modified Inception score" (Inception retrained on the target data). Two ship
in the package (``CLASSIFIERS``): ``emoji``, trained on emoji-faces' 793 images (89 emoji), and
``emoji-all``, wider, trained on emoji-all (every other emoji of the ten designs, none of
emoji-faces': a network that knows emoji but never saw the faces it measures), two whole designs
held out to report its accuracy. ``scripts/tools/train_emoji_classifier.py`` rebuilds either
deterministically and writes its report beside the weights.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

import keras
from keras import layers

INPUT_SIZE = 64
FEATURES = 256


@dataclasses.dataclass(frozen=True)
class Classifier:
    """One shipped classifier: its widths, the data it learns and its files in the package."""

    name: str
    data: str
    widths: tuple[int, ...]
    stem: str  # <stem>.weights.h5, <stem>.classes.txt, <stem>.report.json

    @property
    def weights_file(self) -> str:
        return f"{self.stem}.weights.h5"

    @property
    def classes_file(self) -> str:
        return f"{self.stem}.classes.txt"

    @property
    def report_file(self) -> str:
        return f"{self.stem}.report.json"


CLASSIFIERS = {
    "emoji": Classifier("emoji", "emoji-faces", (24, 48, 96, 192), "emoji_classifier"),
    "emoji-all": Classifier("emoji-all", "emoji-all", (32, 64, 128, 256), "emoji_all_classifier"),
}


def build_classifier(num_classes: int, seed: int = 0, widths: tuple[int, ...] = CLASSIFIERS["emoji"].widths
                     ) -> keras.Model:
    """uint8-range RGB [B, 64, 64, 3] -> logits [B, num_classes]; layer 'features' is 256-d."""
    init = keras.initializers.HeNormal(seed=seed)
    image = keras.Input((INPUT_SIZE, INPUT_SIZE, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range")(image)
    for i, width in enumerate(widths):  # 64 -> 32 -> 16 -> 8 -> 4
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


def load_shipped(name: str = "emoji") -> tuple[keras.Model, list[str]]:
    """The classifier ``name`` (of CLASSIFIERS) with the weights that ship in the package, and its
    class names."""
    spec = CLASSIFIERS[name]
    folder = shipped_files()
    classes = (folder / spec.classes_file).read_text(encoding="utf-8").split()
    model = build_classifier(len(classes), widths=spec.widths)
    with resources.as_file(folder / spec.weights_file) as path:
        model.load_weights(path)
    return model, classes
