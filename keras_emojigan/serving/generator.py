"""Load an exported generator (a SavedModel, or the one in a run dir) and call its signatures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from keras_emojigan.errors import UserInputError
from keras_emojigan.models.savedmodel import METADATA_FILE


class SavedModelError(UserInputError):
    """A path that holds no usable emojigan SavedModel."""


class LoadedGenerator:
    """The ``serving_default`` and ``generate`` signatures of one SavedModel."""

    def __init__(self, path: Path):
        import tensorflow as tf

        self.path = Path(path)
        try:
            self.module = tf.saved_model.load(str(self.path))
        except (tf.errors.OpError, ValueError, OSError) as err:  # a damaged or unreadable file
            reason = getattr(err, "message", str(err)).strip().splitlines()[0]
            raise SavedModelError(f"{self.path}: the SavedModel could not be read ({type(err).__name__}: "
                                  f"{reason}); export it again") from None
        self._check_signatures()
        metadata = self.path / METADATA_FILE
        try:
            self.metadata = json.loads(metadata.read_text()) if metadata.exists() else {}
        except (ValueError, OSError) as err:
            raise SavedModelError(f"{metadata}: not readable JSON ({err}); export the model again") from None

    def _check_signatures(self) -> None:
        """An emojigan generator has ``serving_default`` (``latent`` -> ``images``) and ``generate``
        (``count``, ``seed`` -> ``images``); any other SavedModel is refused here, by name."""
        signatures = self.module.signatures
        wanted = {"serving_default": {"latent"}, "generate": {"count", "seed"}}
        for name, inputs in wanted.items():
            if name not in signatures:
                raise SavedModelError(f"{self.path} is not an emojigan generator: it has no {name!r} signature "
                                      f"(it has {', '.join(sorted(signatures)) or 'none'}); make one with "
                                      "`emojigan export RUN_DIR`")
            given = set(signatures[name].structured_input_signature[1])
            if not inputs <= given or "images" not in signatures[name].structured_outputs:
                raise SavedModelError(f"{self.path} is not an emojigan generator: its {name!r} signature takes "
                                      f"{', '.join(sorted(given)) or 'nothing'} and returns "
                                      f"{', '.join(sorted(signatures[name].structured_outputs))}, not "
                                      f"{', '.join(sorted(inputs))} -> images")

    @property
    def noise_dim(self) -> int:
        return int(self.module.signatures["serving_default"].structured_input_signature[1]["latent"].shape[1])

    @property
    def resolution(self) -> int:
        return int(self.module.signatures["serving_default"].structured_outputs["images"].shape[1])

    @property
    def class_names(self) -> list[str]:
        """A conditional generator's classes (from its metadata), [] for an unconditional one."""
        if "label" not in self.module.signatures["generate"].structured_input_signature[1]:
            return []
        count = int(self.metadata.get("num_classes", 0))
        return list(self.metadata.get("class_names") or [str(i) for i in range(count)])

    def class_index(self, name_or_index: str | int | None) -> int | None:
        """A class given by name (case does not matter) or index (ASCII digits) -> its index; None
        stays None. Anything else, a 5000-digit number or '²' included, is refused by name."""
        if name_or_index is None:
            return None
        names = self.class_names
        if not names:
            raise SavedModelError(f"{self.path} is unconditional: it takes no class")
        text = str(name_or_index)
        lowered = [n.lower() for n in names]
        if text.lower() in lowered:
            return lowered.index(text.lower())
        if re.fullmatch(r"[0-9]{1,6}", text) and int(text) < len(names):
            return int(text)
        shown = text if len(text) <= 40 else text[:37] + "..."
        choices = ", ".join(f"{n} (or {i})" for i, n in enumerate(names))
        raise SavedModelError(f"class {shown!r}: this model's classes are {choices}")

    @property
    def steered(self) -> bool:
        """An unconditional model asked for a class along directions in its noise (``directions.py``):
        its signatures take a ``strength`` beside ``label``, and label -1 is the model's own mix."""
        return "strength" in self.module.signatures["generate"].structured_input_signature[1]

    @property
    def default_strength(self) -> float:
        return float(self.metadata.get("directions", {}).get("default_strength", 0.0))

    def generate(self, count: int, seed: int = 0, label: int | None = None,
                 strength: float | None = None) -> np.ndarray:
        """``count`` images for ``seed``; a conditional generator's of class ``label`` (None: a
        balanced mix), a steered one's of class ``label`` at ``strength`` (None: its default;
        label None: the model's own mix)."""
        import tensorflow as tf

        inputs = {"count": tf.constant(count, tf.int32), "seed": tf.constant(check_seed(seed), tf.int64)}
        self._check_class_inputs(label, strength)
        if self.class_names:
            inputs["label"] = tf.constant(-1 if label is None else label, tf.int32)
        if self.steered:
            inputs["strength"] = tf.constant(self.default_strength if strength is None else strength, tf.float32)
        return self.module.signatures["generate"](**inputs)["images"].numpy()

    def from_latent(self, latent: np.ndarray, labels: np.ndarray | None = None,
                    strengths: np.ndarray | float | None = None) -> np.ndarray:
        """Images of noise vectors (and, for a conditional generator, their classes: a balanced
        mix when None; for a steered one, their classes, -1 or None for the model's own mix, and
        strengths, its default when None)."""
        import tensorflow as tf

        inputs = {"latent": tf.constant(latent, tf.float32)}
        self._check_class_inputs(labels, strengths)
        if self.steered:
            labels = -1 if labels is None else labels
            strengths = self.default_strength if strengths is None else strengths
            inputs["label"] = tf.constant(np.broadcast_to(labels, (len(latent),)), tf.int32)
            inputs["strength"] = tf.constant(np.broadcast_to(strengths, (len(latent),)), tf.float32)
        elif self.class_names:
            count = len(self.class_names)
            labels = np.arange(len(latent)) % count if labels is None else np.broadcast_to(labels, (len(latent),))
            inputs["label"] = tf.constant(labels, tf.int32)
        return self.module.signatures["serving_default"](**inputs)["images"].numpy()

    def _check_class_inputs(self, label, strength) -> None:
        if label is not None and not self.class_names:
            raise SavedModelError(f"{self.path} is unconditional: it takes no class (`emojigan directions` "
                                  "and `emojigan export --directions` make a version that does)")
        if strength is not None and not self.steered:
            raise SavedModelError(f"{self.path} takes no strength: only a model exported with --directions does")
        if strength is not None:
            check_strength(strength)


# The bounds of what a user asks a generator for, checked once here for the CLI, REST and the gallery.
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1  # the signatures' int64 seed
MAX_STRENGTH = 10.0  # a steered model's strength: noise standard deviations past the class boundary
STRENGTH_INPUT = "strength"  # a steered model's signature input


def check_seed(seed) -> int:
    """A seed as the signatures take it (int64), or SavedModelError naming the bounds."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not SEED_MIN <= int(seed) <= SEED_MAX:
        raise SavedModelError(f"seed {seed!r}: give a whole number from {SEED_MIN} to {SEED_MAX}")
    return int(seed)


def parse_seeds(text: str) -> list[int]:
    """'3,17,42' -> [3, 17, 42] (each checked by ``check_seed``); refuses an empty list or a non-number."""
    seeds = []
    for part in str(text).split(","):
        part = part.strip()
        if not re.fullmatch(r"-?[0-9]{1,20}", part):
            raise SavedModelError(f"seeds {text!r}: {part!r} is not a whole number; give comma-separated seeds, "
                                  "e.g. 3,17")
        seeds.append(check_seed(int(part)))
    return seeds


def check_strength(strength, what: str = "strength") -> float | np.ndarray:
    """A steered model's strength (a number or an array of them): finite, within +-MAX_STRENGTH
    (beyond it the images go black or to noise)."""
    values = np.asarray(strength, dtype=np.float64)
    if values.size and not (np.all(np.isfinite(values)) and np.all(np.abs(values) <= MAX_STRENGTH)):
        raise SavedModelError(f"{what} {strength!r}: give a number from {-MAX_STRENGTH:g} to {MAX_STRENGTH:g}")
    return strength


def load_generator(path: Path) -> LoadedGenerator:
    """``path`` is a SavedModel folder, a TF Serving model base (its newest version, as TF Serving
    would serve) or a run dir (its ``saved_model/``)."""
    from keras_emojigan.shipped import newest_version

    path = Path(path)
    if not (path / "saved_model.pb").exists():
        path = newest_version(path) or path
    if not (path / "saved_model.pb").exists() and (path / "saved_model" / "saved_model.pb").exists():
        path = path / "saved_model"
    if not (path / "saved_model.pb").exists():
        hint = ""
        if (path / "config.json").exists():
            hint = (" (a run dir gets saved_model/ when `emojigan fit` ends; "
                    "`emojigan export RUN_DIR -o DIR` writes one from the latest checkpoint)")
        raise SavedModelError(f"{path} holds no SavedModel (no saved_model.pb){hint}")
    return LoadedGenerator(path)
