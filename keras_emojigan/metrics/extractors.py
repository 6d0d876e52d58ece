"""Feature extractors behind one registry: ``inception``, ``tfhub``, ``emoji``, ``fid-inception``.

Each turns uint8 images [N, H, W, 3] into ``Features(pool, logits)``: pool features for FID,
KID and precision/recall, logits for IS. Reports always name the extractor, so numbers from
different feature spaces are never mixed up.

- ``inception``: Keras InceptionV3 with ImageNet weights (2048-d pool, 1000 logits), images
  resized to 299 with antialiasing. Weights come from ``--inception-weights PATH`` or the Keras
  cache (``~/.keras/models``); nothing is downloaded here.
- ``tfhub``: TF-GAN's 2015 Inception module (the one FID papers use) through tensorflow-hub,
  from a local path or ``TFHUB_CACHE_DIR``.
- ``emoji``: the offline emoji classifier that ships in the package (256-d features, one
  logit per emoji identity), trained on emoji-faces; the default when Inception weights are absent.
- ``emoji-all``: the wider one trained on emoji-all (``models/emoji_classifier.py``): it knows
  emoji without ever having seen emoji-faces, and no discriminator uses it, so it is the second
  feature space of the quality reports (docs/evaluation.md).
- ``fid-inception`` / ``fid-inception-clean``: the 2015 FID Inception, the network behind every
  published FID, converted offline once by ``emojigan extractors fetch fid-inception``
  (``fid_inception.py``); pool3 only, so FID, KID and precision/recall but no IS.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_emojigan.errors import UserInputError

INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels.h5"
INCEPTION_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/"
                         + INCEPTION_WEIGHTS_FILE)
TFHUB_INCEPTION = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"


class ExtractorUnavailable(UserInputError):
    """The extractor's weights are not on this machine; the message says what to fetch and where."""


@dataclasses.dataclass
class Features:
    pool: np.ndarray  # [N, D] float32
    logits: np.ndarray | None  # [N, C] float32; None for an extractor without a classifier head (no IS)


class Extractor:
    name = ""
    batch_size = 64

    def features(self, images: np.ndarray) -> Features:
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"{self.name}: want uint8 images [N, H, W, 3], got {images.dtype} {images.shape}")
        pools, logits = [], []
        for start in range(0, len(images), self.batch_size):
            pool, logit = self._batch(tf.constant(images[start:start + self.batch_size]))
            pools.append(pool.numpy())
            if logit is not None:
                logits.append(logit.numpy())
        return Features(np.concatenate(pools).astype(np.float32),
                        np.concatenate(logits).astype(np.float32) if logits else None)

    def _batch(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        raise NotImplementedError


def keras_cache_dir() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"


def inception_weights_path(explicit: str | Path | None = None) -> Path | None:
    """The InceptionV3 ImageNet weights file, if this machine has it."""
    candidates = [Path(explicit)] if explicit else [keras_cache_dir() / INCEPTION_WEIGHTS_FILE]
    return next((p for p in candidates if p.is_file()), None)


class InceptionExtractor(Extractor):
    name = "inception"

    def __init__(self, weights: str | Path | None = None):
        """``weights``: a path to the .h5, None for the Keras cache, or "random" (tests only:
        random initialisation, to exercise the code path without the real weights)."""
        import keras

        if weights == "random":
            model = keras.applications.InceptionV3(weights=None)
        else:
            path = inception_weights_path(weights)
            if path is None:
                where = f"{weights} does not exist" if weights else f"not in the Keras cache ({keras_cache_dir()})"
                raise ExtractorUnavailable(
                    f"Inception-v3 ImageNet weights are {where} and cannot be downloaded here. On a machine "
                    f"with internet, fetch {INCEPTION_WEIGHTS_URL} and put it at "
                    f"{keras_cache_dir() / INCEPTION_WEIGHTS_FILE} (or pass --inception-weights PATH); "
                    "or use --extractor emoji, which ships with the package.")
            try:
                model = keras.applications.InceptionV3(weights=str(path))
            except (ValueError, OSError) as err:  # not an HDF5 file, or not Inception-v3's
                raise ExtractorUnavailable(
                    f"--inception-weights {path}: not Keras' Inception-v3 ImageNet weights ({str(err).strip()[:120]}); "
                    f"give the file {INCEPTION_WEIGHTS_FILE} from {INCEPTION_WEIGHTS_URL}, or use --extractor "
                    "emoji or fid-inception") from None
        top = model.get_layer("predictions")
        self.pool_model = keras.Model(model.input, model.get_layer("avg_pool").output)
        self.kernel, self.bias = top.kernel, top.bias
        self.weights = "random" if weights == "random" else str(path)

    @tf.function(reduce_retracing=True)
    def _batch(self, images):
        x = tf.image.resize(tf.cast(images, tf.float32), (299, 299), method="bicubic", antialias=True)
        x = x / 127.5 - 1.0  # keras.applications.inception_v3.preprocess_input
        pool = self.pool_model(x, training=False)
        return pool, tf.matmul(pool, self.kernel) + self.bias


class TFHubExtractor(Extractor):
    name = "tfhub"

    def __init__(self, handle: str | None = None):
        try:
            import tensorflow_hub as hub
        except ImportError as err:
            raise ExtractorUnavailable(f"tensorflow-hub is not installed ({err})") from None
        handle = handle or TFHUB_INCEPTION
        try:
            self.module = hub.load(handle)
        except Exception as err:  # hub raises URL, OS and value errors alike
            raise ExtractorUnavailable(
                f"cannot load TF-GAN's Inception module from {handle} ({type(err).__name__}). Offline, "
                f"download {TFHUB_INCEPTION}?tf-hub-format=compressed on a machine with internet, unpack it "
                "into a folder and pass that folder with --tfhub-module DIR (or fill TFHUB_CACHE_DIR); "
                "or use --extractor emoji.") from None
        self.handle = handle

    def _batch(self, images):
        x = tf.image.resize(tf.cast(images, tf.float32), (299, 299), method="bilinear", antialias=True)
        out = self.module(x / 127.5 - 1.0)
        return out["pool_3"], out["logits"]


class EmojiExtractor(Extractor):
    batch_size = 256

    def __init__(self, name: str = "emoji"):
        import keras

        from keras_emojigan.models.emoji_classifier import INPUT_SIZE, load_shipped

        self.name = name
        model, self.classes = load_shipped(name)
        self.size = INPUT_SIZE
        self.model = keras.Model(model.input, [model.get_layer("features").output, model.output])

    @tf.function(reduce_retracing=True)
    def _batch(self, images):
        x = tf.cast(images, tf.float32)
        if x.shape[1] != self.size:
            x = tf.image.resize(x, (self.size, self.size), method="bicubic", antialias=True)
        pool, logits = self.model(x, training=False)
        return pool, logits


class FidInceptionExtractor(Extractor):
    """The 2015 FID Inception (``fid_inception.py``): the standard FID's 2048-d pool3 features,
    images resized as the reference does (``tf-bilinear``) or as clean-fid does (``clean``).
    No logits: the converted network stops at pool3, so no Inception Score."""

    batch_size = 50

    def __init__(self, resize: str = "tf-bilinear", weights: str | Path | None = None):
        """``weights``: the converted file (None: the cache), or "random" (tests only)."""
        from keras_emojigan.metrics import fid_inception

        self.name = "fid-inception" if resize == "tf-bilinear" else f"fid-inception-{resize}"
        self.resize = resize
        self.model = (fid_inception.build_fid_inception() if weights == "random"
                      else fid_inception.load_fid_inception(weights))
        self._preprocess = fid_inception.preprocess

    @tf.function(reduce_retracing=True)
    def _pool(self, x):
        return self.model(x, training=False)

    def _batch(self, images):
        return self._pool(self._preprocess(images, self.resize)), None


# The one registry of feature extractors, by name: each entry builds one from the options the
# commands take. config.EXTRACTORS lists the same names plus "auto" (tests/test_registries.py).
EXTRACTORS = {
    "inception": lambda inception_weights=None, tfhub_module=None: InceptionExtractor(inception_weights),
    "tfhub": lambda inception_weights=None, tfhub_module=None: TFHubExtractor(tfhub_module),
    "emoji": lambda inception_weights=None, tfhub_module=None: EmojiExtractor("emoji"),
    "emoji-all": lambda inception_weights=None, tfhub_module=None: EmojiExtractor("emoji-all"),
    "fid-inception": lambda inception_weights=None, tfhub_module=None: FidInceptionExtractor("tf-bilinear"),
    "fid-inception-clean": lambda inception_weights=None, tfhub_module=None: FidInceptionExtractor("clean"),
}


def get_extractor(name: str = "auto", *, inception_weights: str | None = None,
                  tfhub_module: str | None = None) -> Extractor:
    """``auto`` is ``inception`` when its weights are on this machine, else ``emoji``. Built in
    float32 whatever the global precision policy (``models/policy_scope.py``): its numbers must not
    depend on what else the process did."""
    from keras_emojigan.models.policy_scope import policy_scope

    if name == "auto":
        name = "inception" if inception_weights_path(inception_weights) else "emoji"
    if name not in EXTRACTORS:
        raise UserInputError(f"unknown extractor {name!r}: use auto, {', '.join(EXTRACTORS)}")
    with policy_scope("float32"):
        return EXTRACTORS[name](inception_weights=inception_weights, tfhub_module=tfhub_module)
