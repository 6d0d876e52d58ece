"""Latent layers: the only thing that differs between the paper's three GANs.

Every model draws one standard-normal *noise* vector per image and its latent layer turns it
into the generator's input. Noise dimensions beyond the base latent size ``n`` carry the
model's other random choices through the normal CDF (Phi(x) is uniform on [0, 1]), so one
seeded normal draw fixes an image completely, in training and in exported SavedModels:

- ``dcgan``    (GaussianLatent): noise n -> z = noise ~ N(0, I_n).
- ``deligan``  (MixtureLatent):  noise n + 1 -> k = floor(K * Phi(last)), uniform over the K
  components; z = mu_k + sigma_k * eps with learned means (init U(-1, 1)) and sigmas (init
  0.2), and the regulariser ``lambda * mean((1 - sigma)^2)`` added to G's loss. The reference
  code ties K to the batch (row i uses component i); drawing k uniformly gives the same
  mixture for any batch size.
- ``proposed`` (AdjustedLatent): noise n + n*N -> z = Dense(n*N)(eps) + mu (N is ``latent_n``), with
  mu = 2 * Phi(rest) - 1 ~ U(-1, 1) per sample and dimension: the paper's "latent
  distribution adjustment" (eq. 1, read as a learned expansion to n*N) followed by its
  "latent mean adjustment" (eq. 3).

The layers compute in float32 whatever the global precision policy (the component choice and
the CDF must not be rounded to bfloat16).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

PACKAGE = "keras_emojigan"


def _phi(x):
    """Standard normal CDF: maps N(0, 1) noise to U(0, 1)."""
    return 0.5 * (1.0 + ops.erf(x / math.sqrt(2.0)))


class LatentLayer(layers.Layer):
    """Base class: ``noise_dim`` in, ``output_dim`` out, and a (possibly zero) regulariser."""

    def __init__(self, latent_dim: int = 100, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if int(latent_dim) < 1:
            raise ValueError(f"latent_dim must be >= 1, got {latent_dim}")
        self.latent_dim = int(latent_dim)

    @property
    def noise_dim(self) -> int:
        return self.latent_dim

    @property
    def output_dim(self) -> int:
        return self.latent_dim

    @classmethod
    def from_options(cls, latent_dim: int, *, latent_n: int, components: int, sigma_weight: float, seed: int,
                     name: str) -> LatentLayer:
        """The layer for a TrainConfig's latent fields (each class takes those it uses)."""
        return cls(latent_dim, name=name)

    def regularization(self):
        """The term this latent adds to the generator's loss (0 unless learned sigmas)."""
        return ops.convert_to_tensor(0.0, "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim}


@keras.saving.register_keras_serializable(PACKAGE)
class GaussianLatent(LatentLayer):
    """DCGAN: z ~ N(0, I_n), the noise itself."""

    def call(self, noise):
        return noise


@keras.saving.register_keras_serializable(PACKAGE)
class MixtureLatent(LatentLayer):
    """DeLiGAN: a mixture of K Gaussians with learned means and sigmas."""

    def __init__(self, latent_dim: int = 100, components: int = 50, sigma_init: float = 0.2,
                 sigma_weight: float = 0.05, seed: int | None = 0, **kwargs):
        super().__init__(latent_dim, **kwargs)
        if int(components) < 1:
            raise ValueError(f"components must be >= 1, got {components}")
        self.components, self.sigma_init = int(components), float(sigma_init)
        self.sigma_weight, self.seed = float(sigma_weight), seed

    @classmethod
    def from_options(cls, latent_dim, *, latent_n, components, sigma_weight, seed, name):
        return cls(latent_dim, components, sigma_weight=sigma_weight, seed=seed, name=name)

    @property
    def noise_dim(self) -> int:
        return self.latent_dim + 1

    def build(self, input_shape=None):
        shape = (self.components, self.latent_dim)
        self.means = self.add_weight(shape=shape, name="means",
                                     initializer=keras.initializers.RandomUniform(-1.0, 1.0, seed=self.seed))
        self.sigmas = self.add_weight(shape=shape, name="sigmas",
                                      initializer=keras.initializers.Constant(self.sigma_init))

    def component(self, noise):
        """The mixture component of each noise row (uniform over K)."""
        index = ops.floor(_phi(noise[:, self.latent_dim]) * self.components)
        return ops.cast(ops.clip(index, 0, self.components - 1), "int32")

    def call(self, noise):
        k = self.component(noise)
        return ops.take(self.means, k, axis=0) + ops.take(self.sigmas, k, axis=0) * noise[:, : self.latent_dim]

    def regularization(self):
        return self.sigma_weight * ops.mean(ops.square(1.0 - self.sigmas))

    def get_config(self):
        return {**super().get_config(), "components": self.components, "sigma_init": self.sigma_init,
                "sigma_weight": self.sigma_weight, "seed": self.seed}


@keras.saving.register_keras_serializable(PACKAGE)
class AdjustedLatent(LatentLayer):
    """The proposed GAN: learned expansion of z to n*N, then a U(-1, 1) mean shift."""

    def __init__(self, latent_dim: int = 100, latent_n: int = 1, seed: int | None = 0, **kwargs):
        super().__init__(latent_dim, **kwargs)
        if int(latent_n) < 1:
            raise ValueError(f"latent_n (the paper's N) must be an integer >= 1, got {latent_n}")
        self.latent_n, self.seed = int(latent_n), seed
        self.expand = layers.Dense(self.output_dim, dtype="float32", name="expand",
                                   kernel_initializer=keras.initializers.GlorotUniform(seed=seed))

    @classmethod
    def from_options(cls, latent_dim, *, latent_n, components, sigma_weight, seed, name):
        return cls(latent_dim, latent_n, seed=seed, name=name)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "expansion" in config:  # the name of latent_n in files saved before 0.2
            config["latent_n"] = config.pop("expansion")
        return cls(**config)

    @property
    def output_dim(self) -> int:
        return self.latent_dim * self.latent_n

    @property
    def noise_dim(self) -> int:
        return self.latent_dim + self.output_dim

    def build(self, input_shape=None):
        self.expand.build((None, self.latent_dim))

    def mean_shift(self, noise):
        """mu ~ U(-1, 1), one per sample and expanded dimension."""
        return 2.0 * _phi(noise[:, self.latent_dim:]) - 1.0

    def call(self, noise):
        return self.expand(noise[:, : self.latent_dim]) + self.mean_shift(noise)

    def get_config(self):
        return {**super().get_config(), "latent_n": self.latent_n, "seed": self.seed}


# The one registry of latent layers, by model name: adding a GAN is one entry here and its
# name in config.MODELS (tests/test_registries.py checks the two agree).
LATENTS: dict[str, type[LatentLayer]] = {"dcgan": GaussianLatent, "deligan": MixtureLatent,
                                         "proposed": AdjustedLatent}


def make_latent(model: str, latent_dim: int = 100, *, latent_n: int = 1, components: int = 50,
                sigma_weight: float = 0.05, seed: int = 0) -> LatentLayer:
    """The latent layer of ``model`` (one of LATENTS)."""
    if model not in LATENTS:
        raise ValueError(f"unknown model {model!r}: use one of {', '.join(LATENTS)}")
    return LATENTS[model].from_options(latent_dim, latent_n=latent_n, components=components,
                                       sigma_weight=sigma_weight, seed=seed, name=f"latent_{model}")
