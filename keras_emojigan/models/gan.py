"""EmojiGAN: the one Keras model behind DCGAN, DeLiGAN and the paper's proposed GAN, and the
assembly of its parts.

The three differ only in the generator's latent layer (``latents.py``). The networks come from
the registry (``registry.py``: a generator and a discriminator by name). The training step is
one discriminator update, then one generator update on the same fake batch (as the PyTorch
DCGAN reference does), each with its adversarial loss (``losses.py``: non-saturating BCE on
logits, or hinge) plus the terms the options turn on (``terms.py``: R1, LeCam, reconstruction,
AC-GAN, the class guide, mismatch); around it the augmentation before D (``augmentation.py``:
DiffAugment, ADA) and the EMA generator (``ema.py``). Every option is a field of
``config.GANOptions``, which the model keeps and serialises; ``check_options`` holds every rule
on them, each part's own in the part.
Randomness in a step comes from stateless ops seeded by ``(seed, step)``, so a resumed run
draws exactly what an uninterrupted one would.

Under a tf.distribute strategy with R replicas each replica sees B/R images: it draws the
noise of the whole global batch and keeps its own rows (so R replicas train on exactly the
noise one device would), divides its losses by R before taking gradients (Keras' optimizer
sums gradients across replicas), and logs unscaled losses (Keras' metrics average them over
replicas). With synchronized batch norm (``build_gan(..., sync_batch_norm=True)``) a step is then
the same as on one device, up to float rounding; DiffAugment's draws differ per replica.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_emojigan.config import LOSSES, GANOptions, parse_policy
from keras_emojigan.models import losses, registry
from keras_emojigan.models.augmentation import Augmentation
from keras_emojigan.models.ema import EmaGenerator
from keras_emojigan.models.latents import LATENTS, PACKAGE, LatentLayer, make_latent
from keras_emojigan.models.parts import Part, need
from keras_emojigan.models.terms import TERMS, DiscriminatorPass, GeneratorPass, Term, add_terms, discriminate_real


def noise_for(count, seed, noise_dim: int) -> tf.Tensor:
    """The standard-normal noise behind ``generate(count, seed)``: the same in Python and in
    exported SavedModels, so a seed names the same images everywhere."""
    seed_pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(0x5EED, tf.int64)])
    return tf.random.stateless_normal(tf.stack([tf.cast(count, tf.int32), noise_dim]), seed_pair)


def _after_updates_of(variables):
    """A context whose ops run after ``variables``' optimizer updates. The traced graph already
    orders G's step's reads of D's variables after D's update, yet with DiffAugment two runs of the
    same command differed from the first epoch; they agreed with one inter-op thread, or with
    Grappler off (no single pass of it), and agree with this explicit dependency
    (tests/test_reproducible.py)."""
    return tf.control_dependencies([tf.identity(v) for v in variables])


def class_labels(num_classes: int, count: int, label=None) -> np.ndarray | None:
    """The labels of ``count`` images: None for an unconditional GAN; ``label`` for every image;
    without it, a balanced mix (image i gets class i mod the number of classes)."""
    if not num_classes:
        if label is not None:
            raise ValueError("this GAN is unconditional: it takes no class")
        return None
    if label is None:
        return np.arange(count, dtype=np.int32) % num_classes
    if not 0 <= int(label) < num_classes:
        raise ValueError(f"class {label}: this GAN has classes 0 to {num_classes - 1}")
    return np.full(count, int(label), np.int32)


def _replica() -> tuple:
    """(this replica's index, the number of replicas in sync)."""
    context = tf.distribute.get_replica_context()
    return (context.replica_id_in_sync_group, context.num_replicas_in_sync) if context else (0, 1)


def step_seeds(seed: int, step, replica, replicas: int):
    """A step's four stateless seeds, drawn from (seed, step): G's noise, then DiffAugment's on the
    real batch, on the fake batch for D and for G. The noise seed is shared by the replicas (each
    keeps its rows of the global batch's noise); the others are folded with the replica."""
    base = tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])
    seeds = tf.random.experimental.stateless_split(base, num=4)
    if replicas > 1:
        folded = [tf.random.experimental.stateless_fold_in(seeds[i], replica) for i in range(1, 4)]
        seeds = tf.concat([seeds[:1], tf.cast(tf.stack(folded), seeds.dtype)], 0)
    return seeds


def _reducible(logs: dict) -> dict:
    """Keras 3.15 reduces multi-worker logs with strategy.reduce("MEAN", v, axis=0), which fails on
    scalars (keras/src/backend/tensorflow/trainer.py, reduce_per_replica): under that strategy,
    [1]-shaped logs, which it reduces to scalars."""
    if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}
    return logs


def check_options(options: GANOptions, conditional: bool) -> tuple[str, ...]:
    """Refuse options the GAN cannot be built or trained with (``ConfigError`` naming the field):
    the latent, the loss, the networks (``registry.check_networks``) and every part's own rules
    (``Part.check``). Returns the discriminator's named outputs."""
    need(options.model in LATENTS, options, "model", f"use one of {', '.join(LATENTS)}")
    need(options.sigma_weight >= 0, options, "sigma_weight", "must be >= 0")
    need(options.loss in LOSSES, options, "loss", f"use one of {', '.join(LOSSES)}")
    need(not options.class_batch_norm or conditional, options, "class_batch_norm",
         "conditions G's batch norms on the class: set conditional=true too")
    d_outputs = registry.check_networks(options, conditional)
    for part in PARTS:
        part.check(options, conditional, d_outputs)
    return d_outputs


# The parts of a step, in the order their metrics are listed (the terms also in the order they
# add to the losses); each GAN has those whose ``wanted`` holds.
PARTS = (Augmentation, *TERMS, EmaGenerator)


@keras.saving.register_keras_serializable(PACKAGE)
class EmojiGAN(keras.Model):
    """A GAN: ``compile(g_optimizer, d_optimizer)``, then ``fit`` on batches of images in [-1, 1]
    (or (images, labels) for a conditional GAN). ``options`` (``config.GANOptions``) chooses its
    parts (``PARTS``); ``build_gan`` makes the networks from the same options."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, options: GANOptions | dict | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        options = GANOptions(**options) if isinstance(options, dict) else options or GANOptions()
        # Kept with the policies in their normal form ('color+translation' -> 'color,translation').
        self.options = options = dataclasses.replace(
            options, diffaugment=",".join(parse_policy(options.diffaugment)),
            class_guide_augment=",".join(parse_policy(options.class_guide_augment)))
        self.generator, self.discriminator = generator, discriminator
        self.seed = int(options.seed)
        self.d_outputs = check_options(options, bool(self.num_classes))
        parts = [part(options, self) for part in PARTS if part.wanted(options, self.d_outputs)]
        self.augmentation = parts[0]
        self.terms = tuple(part for part in parts if isinstance(part, Term))
        self.ema = next((part for part in parts if isinstance(part, EmaGenerator)), None)
        self._parts = tuple(parts)
        for part in parts:  # each part's state, under the attribute name checkpoints know it by
            for name, value in part.state().items():
                setattr(self, name, value)
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False, name="step_counter",
                                           aggregation="only_first_replica")
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real", "d_fake", "sigma_term",
                                      *(name for part in parts for name in part.metric_names))}
        self.built = True  # the sub-models are built; fit() must not call call() to build

    # --- the pieces ---
    def part(self, kind: type) -> Part | None:
        """This GAN's part of class ``kind`` (e.g. ``terms.ClassGuide``), or None."""
        return next((part for part in self._parts if isinstance(part, kind)), None)

    @property
    def latent_layer(self) -> LatentLayer:
        return next(layer for layer in self.generator.layers if isinstance(layer, LatentLayer))

    @property
    def noise_dim(self) -> int:
        return self.latent_layer.noise_dim

    @property
    def num_classes(self) -> int:
        """The classes of a conditional GAN (0: unconditional): those of G's label input."""
        embedding = next((layer for layer in self.generator.layers if layer.name == "g_class_embedding"), None)
        return int(embedding.input_dim) if embedding is not None else 0

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for samples and export: the EMA copy when there is one."""
        return self.ema.generator if self.ema is not None else self.generator

    @property
    def metrics(self):
        return list(self.trackers.values())

    def _inputs(self, network_input, labels):
        return [network_input, labels] if labels is not None else network_input

    def _discriminate(self, images, labels) -> dict:
        """D's outputs by name (``registry.Network.outputs``): ``logits`` first."""
        outputs = self.discriminator(self._inputs(images, labels), training=True)
        return dict(zip(self.d_outputs, outputs if len(self.d_outputs) > 1 else [outputs], strict=True))

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        # Built now (not lazily in the first step) so checkpoints can restore their slots and
        # tf.distribute finds them created in its scope.
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    # --- training ---
    def train_step(self, data):
        """One D update, then one G update on the same fake batch, then the EMA and ADA updates;
        returns the logged means. d_loss and g_loss are the adversarial losses (the instability
        rule reads d_loss); each term logs under its own names."""
        real, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        if self.num_classes and labels is None:
            raise ValueError("a conditional GAN trains on (images, labels) batches")
        labels = labels if self.num_classes else None
        batch, replicas, step, seeds = self._step_seeds(real)
        noise = tf.random.stateless_normal(tf.stack([batch * replicas, self.noise_dim]), seeds[0])
        noise = noise[_replica()[0] * batch:(_replica()[0] + 1) * batch]
        with tf.GradientTape() as g_tape:
            fake = self.generator(self._inputs(noise, labels), training=True)
        p = self.augmentation.current_probability()

        # D: its adversarial loss on the augmented real and fake batches, plus the D terms.
        with tf.GradientTape() as d_tape:
            seen_real = self.augmentation(real, seeds[1], p)
            real_out, real_gradient = discriminate_real(self._discriminate, seen_real, labels, self.terms)
            fake_logits = self._discriminate(self.augmentation(tf.stop_gradient(fake), seeds[2], p), labels)["logits"]
            d_loss = losses.discriminator_loss(self.options.loss, real_out["logits"], fake_logits)
            values = {"d_loss": d_loss, "d_real": ops.mean(ops.sigmoid(real_out["logits"])),
                      "d_fake": ops.mean(ops.sigmoid(fake_logits))}
            d_total = add_terms(self.terms, "discriminator_loss", d_loss, values, DiscriminatorPass(
                seen_real, labels, real_out, fake_logits, seeds, step, self._discriminate, real_gradient))
            d_per_replica = d_total / replicas
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply(d_tape.gradient(d_per_replica, d_vars), d_vars)

        # G: its adversarial loss on D's logits for the augmented fake batch (after D's update),
        # the latent's regulariser, plus the G terms.
        with g_tape, _after_updates_of(self.discriminator.trainable_variables):
            fake_out = self._discriminate(self.augmentation(fake, seeds[3], p), labels)
            values["sigma_term"] = self.latent_layer.regularization()
            values["g_loss"] = losses.generator_loss(self.options.loss, fake_out["logits"]) + values["sigma_term"]
            g_total = add_terms(self.terms, "generator_loss", values["g_loss"], values,
                                GeneratorPass(fake, labels, fake_out, seeds))
            g_per_replica = g_total / replicas
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply(g_tape.gradient(g_per_replica, g_vars), g_vars)

        if self.ema is not None:
            with _after_updates_of(self.generator.trainable_variables):
                self.ema.update(self.generator, self.step_counter.value - 1, batch * replicas)
        self.augmentation.adjust(real_out["logits"], batch * replicas)
        return self._log({**values, **self.augmentation.logs()})

    def _step_seeds(self, real):
        """(this replica's batch size, replicas, the step's number before this step, its seeds)."""
        replica, replicas = _replica()
        step = self.step_counter.value
        self.step_counter.assign_add(1)
        return tf.shape(real)[0], replicas, step, step_seeds(self.seed, step, replica, replicas)

    def _log(self, values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return _reducible({name: tracker.result() for name, tracker in self.trackers.items()})

    # --- sampling ---
    def generate(self, count: int, seed: int = 0, label: int | None = None) -> np.ndarray:
        """``count`` images as uint8 [count, H, W, 3], the same for the same seed (and class: a
        conditional GAN makes ``label``'s class, or a balanced mix without it)."""
        from keras_emojigan.data.pipeline import from_unit_range

        labels = class_labels(self.num_classes, count, label)
        labels = None if labels is None else tf.constant(labels)
        images = self.sampling_generator(self._inputs(noise_for(count, seed, self.noise_dim), labels),
                                         training=False)
        return from_unit_range(tf.cast(images, tf.float32)).numpy()

    # --- serialisation (the .keras file) ---
    def get_config(self):
        return {**super().get_config(),
                "generator": keras.saving.serialize_keras_object(self.generator),
                "discriminator": keras.saving.serialize_keras_object(self.discriminator),
                "options": self.options.to_dict()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        options = config.pop("options", None)
        if options is None:  # a .keras file written before the options were one object
            legacy = {name: config.pop(name) for name in list(config) if name in _LEGACY_OPTIONS}
            options = {_LEGACY_OPTIONS[name]: value for name, value in legacy.items()}
        return cls(generator, discriminator, options, **config)

# EmojiGAN's keyword arguments before ``options`` (the names of .keras files written then).
_LEGACY_OPTIONS = {"augment_policy": "diffaugment", "ema_decay": "ema_decay", "ema_rampup": "ema_rampup",
                   "ada_target": "ada_target", "ada_kimg": "ada_kimg", "r1_gamma": "r1_gamma",
                   "class_loss_weight": "class_loss_weight", "class_guide_weight": "class_guide_weight",
                   "class_guide_augment": "class_guide_augment", "class_mismatch_weight": "class_mismatch_weight",
                   "seed": "seed"}


def build_gan(options: GANOptions | str, *, sync_batch_norm: bool = False, num_classes: int = 0,
              **fields) -> EmojiGAN:
    """An uncompiled EmojiGAN from ``options`` (``config.GANOptions``; or a model name, dcgan,
    deligan or proposed, and any of its fields as keywords). Class-conditional with
    ``num_classes`` >= 2 (class batch norm in G with ``class_batch_norm``; AC-GAN's class losses
    with ``class_loss_weight`` > 0; the fixed class guide with ``class_guide_weight`` > 0: fit it
    with ``fit_class_guide``; a matching-aware D with ``class_mismatch_weight`` > 0); build it in a
    tf.distribute strategy's scope with ``sync_batch_norm=True`` to train on several replicas."""
    if isinstance(options, str):
        options = GANOptions(model=options, **fields)
    elif fields:
        raise TypeError("build_gan takes either a GANOptions or a model name with fields")
    check_options(options, bool(num_classes))
    o = options
    latent = make_latent(o.model, o.latent_dim, latent_n=o.latent_n, components=o.components,
                         sigma_weight=o.sigma_weight, seed=o.seed)
    generator = registry.generator_entry(o).build(latent, o, num_classes, sync_batch_norm)
    discriminator = registry.discriminator_entry(o).build(o, num_classes, sync_batch_norm)
    registry.freeze_blocks(o, discriminator)  # before the optimizers are built: they skip frozen weights
    return EmojiGAN(generator, discriminator, options, name=f"emojigan_{o.model}")
