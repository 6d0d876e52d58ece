"""The `lite` networks: a FastGAN-style generator and a self-supervised discriminator, sized
for small data sets on a CPU (``arch=lite``; Liu et al., ICLR 2021).

Generator: latent -> 4x4 (transposed conv, BN, GLU) -> per doubling, nearest upsampling and a
3x3 conv with BN and GLU (two of them on every other block, as FastGAN's ``UpBlockComp``, without
its noise injection, so that a latent fixes an image) -> 3x3 conv -> tanh. Skip-layer
excitation (SLE): the 4x4 and 8x8 features each gate the channels of one of the last two
resolutions (a 4x4 conv of the pooled small features, swish, 1x1 conv, sigmoid).

Discriminator: a 3x3 conv at full resolution, then residual down blocks (a 4x4 stride-2 conv
and a 3x3 conv, averaged with an average-pooled 1x1 shortcut; BN and LeakyReLU 0.2) to 4x4 and a
4x4 conv to one logit, every conv of that path spectrally normalised. A small decoder rebuilds
the real image at 32x32 from D's own 8x8 features (two GLU up blocks); its L1 error on real
images only joins D's loss (``recon_weight``), so D must keep a description of the whole
image rather than a few discriminative details. L1 stands where FastGAN uses LPIPS + L1: LPIPS
runs a VGG on every reconstruction, which costs more than the rest of the step on a CPU.

Widths scale with ``ngf``/``ndf``: at 64, G has 256 channels at 4x4, halving at each doubling
to 16 at 64x64, and D 16 at 64x64 doubling to 256 at 4x4, so a training image costs 1.4x what
it costs on the DCGAN networks (``scripts/benchmarks/bench_train.py --archs dcgan,lite``).
"""

from __future__ import annotations

import keras
from keras import layers, ops

from keras_emojigan.config import GANOptions
from keras_emojigan.models.matmul_kernel_gradient import Conv2D, Conv2DTranspose
from keras_emojigan.models.networks import batch_norm, blocks, conv_init, latent_input

RECONSTRUCTION = "d_reconstruction"  # the discriminator's second output: its rebuilt real image
RECONSTRUCTION_SIZE = 32
# Channels per resolution, in units of ngf (generator) and ndf (discriminator).
G_WIDTHS = {4: 4, 8: 2, 16: 1, 32: 0.5, 64: 0.25, 128: 0.125}
D_WIDTHS = {128: 0.125, 64: 0.25, 32: 0.5, 16: 1, 8: 2, 4: 4}


def _width(units: float, base: int) -> int:
    return max(1, int(round(units * base)))


@keras.saving.register_keras_serializable("keras_emojigan")
class GLU(layers.Layer):
    """Gated linear unit over channels: the first half times the sigmoid of the second."""

    def call(self, inputs):
        value, gate = ops.split(inputs, 2, axis=-1)
        return value * ops.sigmoid(gate)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] // 2)


@keras.saving.register_keras_serializable("keras_emojigan")
class SpectralConv2D(Conv2D):
    """A Conv2D whose kernel is divided by its largest singular value (Miyato et al. 2018),
    estimated by one power iteration per training call, as PyTorch's ``spectral_norm`` does.
    The gradient flows through the division. Keras' own ``SpectralNormalization`` wrapper
    instead overwrites the trainable kernel with the normalised one on every training call,
    which the optimizer's moments then see as a jump in the weights."""

    def build(self, input_shape):
        super().build(input_shape)
        self.power_u = self.add_weight(shape=(1, self.filters), name="power_u", trainable=False,
                                       initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=0),
                                       dtype="float32")

    # Keras' Conv2D saves and loads its kernel and bias only, so a .keras file lost power_u and
    # refused to load ("expected 2 variables, but received 0"): saved after them here; a file
    # written without it loads with a fresh estimate (one power iteration a step re-converges it).
    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built:
            store[str(1 + int(self.use_bias))] = self.power_u

    def load_own_variables(self, store):
        if not self.built:
            return
        targets = [self.kernel, *([self.bias] if self.use_bias else []), self.power_u]
        if len(store.keys()) not in (len(targets), len(targets) - 1):
            raise ValueError(f"layer {self.name!r}: {len(store.keys())} saved variables, expected {len(targets)} "
                             "(kernel, bias if any, power_u)")
        for index, variable in enumerate(targets[:len(store.keys())]):
            variable.assign(store[str(index)])

    def normalised_kernel(self, training=False):
        kernel = ops.cast(self.kernel, "float32")
        matrix = ops.reshape(kernel, (-1, self.filters))
        u = self.power_u.value
        v = ops.stop_gradient(_unit(ops.matmul(u, ops.transpose(matrix))))
        u = ops.stop_gradient(_unit(ops.matmul(v, matrix)))
        if training:
            self.power_u.assign(u)
        sigma = ops.sum(ops.matmul(v, matrix) * u)
        return kernel / sigma

    def call(self, inputs, training=None):
        kernel = ops.cast(self.normalised_kernel(bool(training)), self.compute_dtype)
        outputs = self.convolution_op(inputs, kernel)
        if self.use_bias:
            outputs = outputs + ops.cast(self.bias, self.compute_dtype)
        return self.activation(outputs) if self.activation is not None else outputs


def _unit(x):
    return x / (ops.sqrt(ops.sum(x * x)) + 1e-12)


def _up_block(x, width: int, name: str, seed: int, convs: int):
    """Nearest x2, then ``convs`` times a 3x3 conv to 2 x width, BN and GLU."""
    x = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up")(x)
    for j in range(convs):
        x = Conv2D(2 * width, 3, padding="same", use_bias=False, kernel_initializer=conv_init(seed + j),
                   name=f"{name}_conv{j}")(x)
        x = batch_norm(f"{name}_bn{j}", seed + 50 + j)(x)
        x = GLU(name=f"{name}_glu{j}")(x)
    return x


def _excitation(small, big, name: str, seed: int):
    """SLE: ``big`` times a per-channel gate computed from ``small`` (4x4 or 8x8 features)."""
    if small.shape[1] > 4:
        small = layers.AveragePooling2D(small.shape[1] // 4, name=f"{name}_pool")(small)
    gate = Conv2D(big.shape[-1], 4, padding="valid", kernel_initializer=conv_init(seed),
                  name=f"{name}_conv4")(small)
    gate = layers.Activation("swish", name=f"{name}_swish")(gate)
    gate = Conv2D(big.shape[-1], 1, kernel_initializer=conv_init(seed + 1), name=f"{name}_conv1")(gate)
    gate = layers.Activation("sigmoid", name=f"{name}_sigmoid")(gate)
    return layers.Multiply(name=f"{name}_gate")([big, gate])


def lite_generator_body(latent_vector, resolution: int = 64, ngf: int = 64, seed: int = 0):
    """latent vector [B, d] -> float32 tanh image [B, R, R, 3] (functional)."""
    ups = blocks(resolution)
    x = layers.Reshape((1, 1, -1), name="to_1x1")(latent_vector)
    x = Conv2DTranspose(2 * _width(G_WIDTHS[4], ngf), 4, padding="valid", use_bias=False,
                        kernel_initializer=conv_init(seed), name="g_init_conv")(x)
    x = batch_norm("g_init_bn", seed + 100)(x)
    features = {4: GLU(name="g_init_glu")(x)}
    x = features[4]
    size = 4
    for i in range(1, ups + 1):
        size *= 2
        x = _up_block(x, _width(G_WIDTHS[size], ngf), f"g_up{size}", seed + 10 * i, convs=2 if i % 2 else 1)
        if size == resolution // 2:
            x = _excitation(features[4], x, f"g_sle{size}", seed + 500 + i)
        if size == resolution:
            x = _excitation(features[8], x, f"g_sle{size}", seed + 500 + i)
        features[size] = x
    x = Conv2D(3, 3, padding="same", use_bias=False, kernel_initializer=conv_init(seed + 99),
               name="g_to_rgb")(x)
    return layers.Activation("tanh", dtype="float32", name="g_tanh")(x)


def build_lite_generator(latent, options: GANOptions, num_classes: int = 0,
                         sync_batch_norm: bool = False) -> keras.Model:
    """noise -> latent layer -> the lite body -> image (unconditional: the registry refuses
    ``num_classes``; batch norms are not synchronised across replicas)."""
    noise, x = latent_input(latent)
    return keras.Model(noise, lite_generator_body(x, options.resolution, options.ngf, options.seed), name="generator")


def _down_block(x, width: int, name: str, seed: int):
    """FastGAN's DownBlockComp: (4x4 stride-2 conv, BN, LReLU, 3x3 conv, BN, LReLU) averaged with
    (2x2 average pool, 1x1 conv, BN, LReLU)."""
    main = SpectralConv2D(width, 4, strides=2, padding="same", use_bias=False, kernel_initializer=conv_init(seed),
                          name=f"{name}_conv4")(x)
    main = layers.LeakyReLU(0.2, name=f"{name}_lrelu0")(batch_norm(f"{name}_bn0", seed + 50)(main))
    main = SpectralConv2D(width, 3, padding="same", use_bias=False, kernel_initializer=conv_init(seed + 1),
                          name=f"{name}_conv3")(main)
    main = layers.LeakyReLU(0.2, name=f"{name}_lrelu1")(batch_norm(f"{name}_bn1", seed + 51)(main))
    direct = layers.AveragePooling2D(2, name=f"{name}_pool")(x)
    direct = SpectralConv2D(width, 1, use_bias=False, kernel_initializer=conv_init(seed + 2),
                            name=f"{name}_skip")(direct)
    direct = layers.LeakyReLU(0.2, name=f"{name}_lrelu2")(batch_norm(f"{name}_bn2", seed + 52)(direct))
    return layers.Average(name=f"{name}_mean")([main, direct])


def build_lite_discriminator(resolution: int = 64, ndf: int = 64, seed: int = 0) -> keras.Model:
    """Image in [-1, 1] -> [one float32 logit per image, the image rebuilt at 32x32 from D's 8x8
    features (float32, [-1, 1])]."""
    blocks(resolution)  # checks the resolution
    image = keras.Input((resolution, resolution, 3), name="image")
    x = SpectralConv2D(_width(D_WIDTHS[resolution], ndf), 3, padding="same", use_bias=False,
                       kernel_initializer=conv_init(seed + 200), name="d_from_rgb")(image)
    x = layers.LeakyReLU(0.2, name="d_from_rgb_lrelu")(x)
    size, features_8 = resolution, None
    while size > 4:
        size //= 2
        x = _down_block(x, _width(D_WIDTHS[size], ndf), f"d_down{size}", seed + 210 + size)
        if size == 8:
            features_8 = x
    x = SpectralConv2D(1, 4, padding="valid", use_bias=False, kernel_initializer=conv_init(seed + 299),
                       name="d_logit")(x)
    logit = layers.Flatten(dtype="float32", name="d_flatten")(x)
    decoded = features_8
    decoder_width = max(2, _width(D_WIDTHS[16], ndf) // 4)
    for size in (16, RECONSTRUCTION_SIZE):
        decoded = _up_block(decoded, decoder_width, f"d_decode{size}", seed + 400 + size, convs=1)
    decoded = Conv2D(3, 3, padding="same", use_bias=False, kernel_initializer=conv_init(seed + 499),
                     name="d_decode_rgb")(decoded)
    reconstruction = layers.Activation("tanh", dtype="float32", name=RECONSTRUCTION)(decoded)
    return keras.Model(image, [logit, reconstruction], name="discriminator")


def build_lite_discriminator_for(options: GANOptions, num_classes: int = 0, sync_batch_norm: bool = False):
    """The registry's form of ``build_lite_discriminator``."""
    return build_lite_discriminator(options.resolution, options.ndf, options.seed)
