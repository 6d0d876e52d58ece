"""Load an exported generator (a SavedModel, or the one in a run dir) and call its signatures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from keras_emojigan.errors import UserInputError
from keras_emojigan.serving.export import METADATA_FILE


class SavedModelError(UserInputError):
    """A path that holds no usable emojigan SavedModel."""


class LoadedGenerator:
    """The ``serving_default`` and ``generate`` signatures of one SavedModel."""

    def __init__(self, path: Path):
        import tensorflow as tf

        self.path = Path(path)
        self.module = tf.saved_model.load(str(self.path))
        metadata = self.path / METADATA_FILE
        self.metadata = json.loads(metadata.read_text()) if metadata.exists() else {}

    @property
    def noise_dim(self) -> int:
        return int(self.module.signatures["serving_default"].structured_input_signature[1]["latent"].shape[1])

    @property
    def resolution(self) -> int:
        return int(self.module.signatures["serving_default"].structured_outputs["images"].shape[1])

    def generate(self, count: int, seed: int = 0) -> np.ndarray:
        import tensorflow as tf

        out = self.module.signatures["generate"](count=tf.constant(count, tf.int32), seed=tf.constant(seed, tf.int64))
        return out["images"].numpy()

    def from_latent(self, latent: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        return self.module.signatures["serving_default"](latent=tf.constant(latent, tf.float32))["images"].numpy()


def load_generator(path: Path) -> LoadedGenerator:
    """``path`` is a SavedModel folder or a run dir (its ``saved_model/``)."""
    path = Path(path)
    if not (path / "saved_model.pb").exists() and (path / "saved_model" / "saved_model.pb").exists():
        path = path / "saved_model"
    if not (path / "saved_model.pb").exists():
        hint = ""
        if (path / "config.json").exists():
            hint = (" (a run dir gets saved_model/ when `emojigan fit` ends; "
                    "`emojigan export RUN_DIR -o DIR` writes one from the latest checkpoint)")
        raise SavedModelError(f"{path} holds no SavedModel (no saved_model.pb){hint}")
    return LoadedGenerator(path)
