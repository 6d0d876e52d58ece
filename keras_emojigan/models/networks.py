"""The DCGAN generator and discriminator (Radford et al. 2015), as in the classic reference.

Generator: latent -> 4x4 (transposed conv, valid) -> x2 per block (4x4 kernels, stride 2,
batch norm, ReLU) -> tanh image. Discriminator: the mirror, LeakyReLU 0.2, no batch norm on
its first layer, a 4x4 valid conv to one logit. Resolution 32, 64 or 128 adds or removes a
block; ``ngf``/``ndf`` set the widths (64 in the reference, tiny in tests). Weights start at
N(0, 0.02) and batch-norm scales at N(1, 0.02); batch-norm momentum and epsilon match
PyTorch's defaults (0.1 and 1e-5), which the reference used. With ``sync_batch_norm`` the
batch statistics are all-reduced across tf.distribute replicas, so N replicas of B/N images
normalise exactly as one device with B images does.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_emojigan.config import RESOLUTIONS, GANOptions
from keras_emojigan.models.fused_batch_norm import FusedBatchNormalization
from keras_emojigan.models.matmul_kernel_gradient import Conv2D, Conv2DTranspose


def conv_init(seed):
    return keras.initializers.RandomNormal(0.0, 0.02, seed=seed)


def batch_norm(name, seed, synchronized=False):
    """The networks' batch norm: Keras' maths, computed by one fused op (``FusedBatchNormalization``)
    unless the statistics are synchronized across replicas."""
    kind = layers.BatchNormalization if synchronized else FusedBatchNormalization
    return kind(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02, seed=seed),
        synchronized=synchronized, name=name)


@keras.saving.register_keras_serializable("keras_emojigan")
class ClassBatchNormalization(layers.Layer):
    """Class-conditional batch norm (Miyato & Koyama 2018's generator): inputs [features, class
    code]; the features are batch-normalised as usual, then scaled by 1 + W_g c and shifted by
    W_b c, one gain and one bias per channel. With a one-hot code c (what the generator passes)
    those are each class's own gains and biases, starting near 1 and 0. A label joined to the
    latent enters G once, through its first linear layer; here it sets every block's channels."""

    def __init__(self, gamma_seed: int = 0, synchronized: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.gamma_seed, self.synchronized = gamma_seed, synchronized
        self.norm = batch_norm(f"{self.name}_norm", gamma_seed, synchronized)

    def build(self, input_shape):
        features_shape, class_shape = input_shape
        self.norm.build(features_shape)
        shape = (class_shape[-1], features_shape[-1])
        self.gain_kernel = self.add_weight(shape=shape, initializer=conv_init(self.gamma_seed + 1), name="gain_kernel")
        self.bias_kernel = self.add_weight(shape=shape, initializer=conv_init(self.gamma_seed + 2), name="bias_kernel")

    def call(self, inputs, training=None):
        features, class_vector = inputs
        normed = self.norm(features, training=training)
        class_vector = keras.ops.cast(class_vector, self.compute_dtype)
        gain = keras.ops.matmul(class_vector, keras.ops.cast(self.gain_kernel, self.compute_dtype))
        bias = keras.ops.matmul(class_vector, keras.ops.cast(self.bias_kernel, self.compute_dtype))
        return normed * (1.0 + gain[:, None, None, :]) + bias[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "gamma_seed": self.gamma_seed, "synchronized": self.synchronized}


def blocks(resolution: int) -> int:
    if resolution not in RESOLUTIONS:
        raise ValueError(f"resolution {resolution} is not supported: use one of {RESOLUTIONS}")
    return int(math.log2(resolution // 4))


CLASS_EMBEDDING = 32  # the size of a conditional generator's class embedding, joined to the latent


def latent_input(latent) -> tuple:
    """The generator's first layers, shared by every generator: (its noise input [B, noise_dim]
    named ``latent``, the latent layer's output)."""
    noise = keras.Input((latent.noise_dim,), name="latent")
    return noise, latent(noise)


def build_dcgan_generator(latent, options: GANOptions, num_classes: int = 0,
                          sync_batch_norm: bool = False) -> keras.Model:
    """noise [B, latent.noise_dim] -> latent layer -> DCGAN body -> image [-1, 1]. With
    ``num_classes``, inputs [noise, label]: a learned class embedding is joined to the latent (the
    latent part stays the model's own); with ``options.class_batch_norm`` too, each class also has
    its own channel gains and biases in every batch norm (``ClassBatchNormalization``)."""
    noise, x = latent_input(latent)
    inputs, one_hot = noise, None
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        embedded = layers.Embedding(num_classes, CLASS_EMBEDDING, dtype="float32", name="g_class_embedding")(label)
        x = layers.Concatenate(dtype="float32", name="g_latent_and_class")([x, embedded])
        inputs = [noise, label]
        if options.class_batch_norm:
            # One-hot, so each class gets its own gains and biases (SNGAN's categorical batch norm).
            # With a unit-scale shared embedding instead, every image of a class came out the same
            # within 26 epochs (DeLiGAN, docs/results/conditional), most likely because the class then set
            # the first block's batch statistics.
            one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", dtype="float32",
                                              name="g_class_one_hot")(label)
    for layer in generator_body(options.resolution, options.ngf, options.seed, sync_batch_norm,
                                options.class_batch_norm and bool(num_classes)):
        x = layer([x, one_hot]) if isinstance(layer, ClassBatchNormalization) else layer(x)
    return keras.Model(inputs, x, name="generator")


def generator_body(resolution: int = 64, ngf: int = 64, seed: int = 0,
                   sync_batch_norm: bool = False, class_batch_norm: bool = False) -> list[layers.Layer]:
    """The generator's layers, latent vector in, float32 tanh image out (a list, so the caller
    can put a latent layer in front of it). With ``class_batch_norm`` its batch norms are
    ``ClassBatchNormalization`` layers, called with [features, class vector]."""
    ups = blocks(resolution)
    body = [layers.Reshape((1, 1, -1), name="to_1x1")]
    for i in range(ups):
        width = ngf * 2 ** (ups - 1 - i)
        body += [
            Conv2DTranspose(width, 4, strides=1 if i == 0 else 2, padding="valid" if i == 0 else "same",
                            use_bias=False, kernel_initializer=conv_init(seed + i), name=f"g_conv{i}"),
            (ClassBatchNormalization(gamma_seed=seed + 100 + i, synchronized=sync_batch_norm, name=f"g_bn{i}")
             if class_batch_norm else batch_norm(f"g_bn{i}", seed + 100 + i, sync_batch_norm)),
            layers.ReLU(name=f"g_relu{i}"),
        ]
    body += [
        Conv2DTranspose(3, 4, strides=2, padding="same", use_bias=False,
                        kernel_initializer=conv_init(seed + ups), name="g_to_rgb"),
        layers.Activation("tanh", dtype="float32", name="g_tanh"),
    ]
    return body


def build_dcgan_discriminator(options: GANOptions, num_classes: int = 0, sync_batch_norm: bool = False):
    """The registry's form of ``build_discriminator``: a class head when the options ask for
    AC-GAN's class losses."""
    return build_discriminator(options.resolution, options.ndf, options.seed, sync_batch_norm, num_classes,
                               class_head=bool(num_classes) and options.class_loss_weight > 0)


def dcgan_discriminator_outputs(options: GANOptions, num_classes: int = 0) -> tuple[str, ...]:
    return ("logits", "class_logits") if num_classes and options.class_loss_weight > 0 else ("logits",)


def build_discriminator(resolution: int = 64, ndf: int = 64, seed: int = 0,
                        sync_batch_norm: bool = False, num_classes: int = 0, class_head: bool = False) -> keras.Model:
    """Image in [-1, 1] -> one float32 logit per image. With ``num_classes``, inputs [image,
    label] and a projection discriminator (Miyato & Koyama 2018): the logit gains the inner
    product of a learned class embedding with the last features, averaged over space. With
    ``class_head`` too, outputs [logit, class logits]: an auxiliary classifier on the same
    features (AC-GAN, Odena et al. 2017)."""
    downs = blocks(resolution)
    image = keras.Input((resolution, resolution, 3), name="image")
    x = image
    for i in range(downs):
        x = Conv2D(ndf * 2 ** i, 4, strides=2, padding="same", use_bias=False,
                   kernel_initializer=conv_init(seed + 200 + i), name=f"d_conv{i}")(x)
        if i > 0:
            x = batch_norm(f"d_bn{i}", seed + 300 + i, sync_batch_norm)(x)
        x = layers.LeakyReLU(0.2, name=f"d_lrelu{i}")(x)
    features = x
    x = Conv2D(1, 4, strides=1, padding="valid", use_bias=False,
               kernel_initializer=conv_init(seed + 299), name="d_logit")(x)
    logit = layers.Flatten(dtype="float32", name="d_flatten")(x)
    if not num_classes:
        return keras.Model(image, logit, name="discriminator")
    label = keras.Input((), dtype="int32", name="label")
    pooled = layers.GlobalAveragePooling2D(dtype="float32", name="d_pool")(features)
    embedded = layers.Embedding(num_classes, features.shape[-1], embeddings_initializer=conv_init(seed + 298),
                                dtype="float32", name="d_class_embedding")(label)
    projection = layers.Dot(axes=1, dtype="float32", name="d_projection")([pooled, embedded])
    logit = layers.Add(dtype="float32", name="d_logit_conditional")([logit, projection])
    if class_head:
        class_logits = layers.Dense(num_classes, kernel_initializer=conv_init(seed + 297), dtype="float32",
                                    name="d_class_logits")(pooled)
        return keras.Model([image, label], [logit, class_logits], name="discriminator")
    return keras.Model([image, label], logit, name="discriminator")
