"""The projected discriminator (Sauer et al., NeurIPS 2021; autonomousvision/projected_gan,
``pg_modules/discriminator.py`` and ``projector.py``): D judges images in the features of a
frozen ImageNet network rather than in pixels.

images in [-1, 1] (DiffAugment is applied before D by the step, ``augmentation.py``) -> bilinear
resize to ``projected_size`` (224 as published; smaller is cheaper) -> the frozen EfficientNet-
Lite0 (``efficientnet_lite.py``) at four scales -> cross-channel mixing (CCM: a fixed random 1x1
conv per scale, to 64, 128, 256, 512 channels) -> cross-scale mixing (CSM: from the coarsest
scale up, each sum with the next finer scale is upsampled x2 bilinearly and mixed by a fixed
random 1x1 conv, halving the channels but on the finest) -> one small patch discriminator per
scale (spectrally normalised 4x4 stride-2 convs with batch norm and LeakyReLU 0.2 down to 8x8
nominal size, then a 4x4 valid conv to logits) -> every scale's logits, concatenated: [B, n].

The feature network and the CCM/CSM convs never train (``trainable=False``; the feature network
always runs in inference mode); only the four discriminators learn. As in the reference the number
of down blocks per scale is fixed by a nominal 256-px input (4, 3, 2 and 1), whatever the real
input size. Random mixing weights start as PyTorch's default Conv2d initialisation, U(+-1/sqrt(fan_in)),
seeded by the run's seed. The weights of the feature network come from the cache
(``emojigan extractors fetch efficientnet-lite0``); ``projected_features=random-tiny`` builds a
tiny randomly initialised copy instead (tests).
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_emojigan.config import GANOptions
from keras_emojigan.models import efficientnet_lite
from keras_emojigan.models.lite import SpectralConv2D
from keras_emojigan.models.networks import batch_norm, conv_init

MIXED_CHANNELS = (64, 128, 256, 512)  # CCM's outputs per scale (cout 64, expand)
DOWN_BLOCKS = (4, 3, 2, 1)  # per scale, from a nominal 256-px input: 128, 64, 32, 16 -> 8
DISC_CHANNELS = {128: 64, 64: 64, 32: 128, 16: 256, 8: 512}  # the reference's channel_dict, by nominal size
PROJECTED_SIZES = (128, 160, 192, 224, 256)  # the coarsest scale must keep 4x4 for the logit conv
FEATURES = {"imagenet": 1.0, "random-tiny": 0.25}  # the feature network: ImageNet weights, or a tiny random copy


def check(options: GANOptions) -> None:
    """The projected discriminator's own options."""
    from keras_emojigan.models.parts import need

    need(options.projected_size in PROJECTED_SIZES, options, "projected_size",
         f"use one of {', '.join(map(str, PROJECTED_SIZES))} (224 as published)")
    need(options.projected_features in FEATURES, options, "projected_features",
         f"use one of {', '.join(FEATURES)} (random-tiny: a tiny randomly initialised copy, for tests only)")


def _fixed_conv(channels: int, fan_in: int, seed: int, name: str):
    bound = 1.0 / math.sqrt(fan_in)
    init = keras.initializers.RandomUniform(-bound, bound, seed=seed)
    return layers.Conv2D(channels, 1, kernel_initializer=init, bias_initializer=keras.initializers.RandomUniform(
        -bound, bound, seed=seed + 1), trainable=False, name=name)


def feature_network(options: GANOptions) -> keras.Model:
    """The frozen EfficientNet-Lite0: ImageNet weights from the cache, or a tiny random copy."""
    if options.projected_features != "imagenet":
        network = efficientnet_lite.build_efficientnet_lite0(width=FEATURES[options.projected_features])
    else:
        network = efficientnet_lite.load_efficientnet_lite0()
    network.trainable = False
    return network


def build_projected_discriminator(options: GANOptions, num_classes: int = 0,
                                  sync_batch_norm: bool = False) -> keras.Model:
    """images [B, R, R, 3] -> logits [B, n], float32 (the registry's discriminator ``projected``)."""
    size, seed = options.projected_size, options.seed
    image = keras.Input((options.resolution, options.resolution, 3), name="image")
    x = layers.Resizing(size, size, interpolation="bilinear", name="to_feature_size")(image)
    features = feature_network(options)(x, training=False)
    mixed = [_fixed_conv(channels, feature.shape[-1], seed + 700 + 2 * i, f"ccm{i}")(feature)
             for i, (channels, feature) in enumerate(zip(MIXED_CHANNELS, features, strict=True))]
    scales = [None] * 4
    x = None
    for i in (3, 2, 1, 0):  # CSM, coarsest first
        x = mixed[i] if x is None else layers.Add(name=f"csm{i}_add")([x, mixed[i]])
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"csm{i}_up")(x)
        out = x.shape[-1] if i == 0 else x.shape[-1] // 2
        x = scales[i] = _fixed_conv(out, x.shape[-1], seed + 720 + 2 * i, f"csm{i}")(x)
    logits = [_scale_discriminator(scales[i], i, seed) for i in range(4)]
    joined = layers.Concatenate(dtype="float32", name="d_logits")(logits)
    return keras.Model(image, joined, name="discriminator")


def _scale_discriminator(x, index: int, seed: int):
    """DownBlocks (spectral 4x4 stride-2 conv, batch norm, LeakyReLU 0.2) then a spectral 4x4 valid
    conv to one logit per position, flattened."""
    nominal = 8 * 2 ** DOWN_BLOCKS[index]
    for block in range(DOWN_BLOCKS[index]):
        nominal //= 2
        name = f"d{index}_down{block}"
        x = SpectralConv2D(DISC_CHANNELS[nominal], 4, strides=2, padding="same", use_bias=True,
                           kernel_initializer=conv_init(seed + 800 + 10 * index + block), name=f"{name}_conv")(x)
        x = batch_norm(f"{name}_bn", seed + 900 + 10 * index + block)(x)
        x = layers.LeakyReLU(0.2, name=f"{name}_lrelu")(x)
    x = SpectralConv2D(1, 4, padding="valid", use_bias=False, kernel_initializer=conv_init(seed + 890 + index),
                       name=f"d{index}_logit")(x)
    return layers.Flatten(dtype="float32", name=f"d{index}_flatten")(x)
