"""EmojiGAN: the one Keras model behind DCGAN, DeLiGAN and the paper's proposed GAN.

The three differ only in the generator's latent layer (``latents.py``); they share the
networks (DCGAN's, ``networks.py``, or the FastGAN-style ``lite.py``) and this training step:
one discriminator update, then one generator update on the same fake batch (as the PyTorch
DCGAN reference does), with the non-saturating binary cross-entropy on logits or the hinge loss
(``losses.py``). Options off in the paper's setting: DiffAugment before D, an exponential moving
average (EMA) of G used for samples and export, ADA, R1, LeCam. Every option is a field of
``config.GANOptions``, which the model keeps and serialises.
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
from keras import layers, ops

from keras_emojigan.config import GANOptions, parse_policy
from keras_emojigan.models import augment, lite, losses, networks
from keras_emojigan.models.latents import PACKAGE, LatentLayer, make_latent

CLASS_EMBEDDING = 32  # the size of a conditional generator's class embedding, joined to the latent


def build_generator(latent: LatentLayer, resolution: int = 64, ngf: int = 64, seed: int = 0,
                    sync_batch_norm: bool = False, num_classes: int = 0,
                    class_batch_norm: bool = False, arch: str = "dcgan") -> keras.Model:
    """noise [B, latent.noise_dim] -> latent layer -> generator body (``arch``: dcgan or lite)
    -> image [-1, 1]. With
    ``num_classes``, inputs [noise, label]: a learned class embedding is joined to the latent
    (the latent part stays the model's own); with ``class_batch_norm`` too, each class also has
    its own channel gains and biases in every batch norm (``networks.ClassBatchNormalization``)."""
    if class_batch_norm and not num_classes:
        raise ValueError("class_batch_norm needs a conditional generator (num_classes >= 2)")
    noise = keras.Input((latent.noise_dim,), name="latent")
    x = latent(noise)
    if arch == "lite":
        if num_classes:
            raise ValueError("the lite generator is unconditional")
        return keras.Model(noise, lite.lite_generator_body(x, resolution, ngf, seed), name="generator")
    inputs, one_hot = noise, None
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        embedded = layers.Embedding(num_classes, CLASS_EMBEDDING, dtype="float32", name="g_class_embedding")(label)
        x = layers.Concatenate(dtype="float32", name="g_latent_and_class")([x, embedded])
        inputs = [noise, label]
        if class_batch_norm:
            # One-hot, so each class gets its own gains and biases (SNGAN's categorical batch norm).
            # With a unit-scale shared embedding instead, every image of a class came out the same
            # within 26 epochs (DeLiGAN, docs/results/conditional), most likely because the class then set
            # the first block's batch statistics.
            one_hot = layers.CategoryEncoding(num_classes, output_mode="one_hot", dtype="float32",
                                              name="g_class_one_hot")(label)
    for layer in networks.generator_body(resolution, ngf, seed, sync_batch_norm, class_batch_norm):
        x = layer([x, one_hot]) if isinstance(layer, networks.ClassBatchNormalization) else layer(x)
    return keras.Model(inputs, x, name="generator")


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


@keras.saving.register_keras_serializable(PACKAGE)
class EmojiGAN(keras.Model):
    """A GAN: ``compile(g_optimizer, d_optimizer)``, then ``fit`` on batches of images in [-1, 1].
    ``options`` (``config.GANOptions``) sets its losses and regularisers; ``build_gan`` makes
    the networks from the same options."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, options: GANOptions | dict | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        options = GANOptions(**options) if isinstance(options, dict) else options or GANOptions()
        self._policy = parse_policy(options.diffaugment)
        # A DiffAugment policy for G's images on their way to the guide (each step a fresh draw):
        # a class that must survive shifts and colour changes is harder to fake with pixel patterns
        # only the guide reads (the guided runs' probes disagreed, probe_agreement.md).
        self._guide_policy = parse_policy(options.class_guide_augment)
        # Kept in the policies' normal form ('color+translation' -> 'color,translation').
        self.options = options = dataclasses.replace(options, diffaugment=",".join(self._policy),
                                                     class_guide_augment=",".join(self._guide_policy))
        if not 0.0 <= float(options.ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {options.ema_decay}")
        self.generator, self.discriminator = generator, discriminator
        self.seed = int(options.seed)
        # D's second output, when it has one: the lite D's reconstruction of the real image, or
        # AC-GAN's class logits.
        self._second_output = ("reconstruction" if any(layer.name == lite.RECONSTRUCTION
                                                       for layer in discriminator.layers)
                               else "class_logits" if options.class_loss_weight > 0 else None)
        if options.class_loss_weight > 0 and len(discriminator.outputs) != 2:
            raise ValueError("class_loss_weight > 0 needs a conditional discriminator with a class head "
                             "(build_gan(..., num_classes=K, class_loss_weight=w))")
        # The fixed class guide (``class_guide.py``): frozen, fitted on the real images by fit();
        # like ADA's p it exists only when used, so other runs' checkpoints keep their layout.
        self.class_guide = None
        if self._guide_policy and options.class_guide_weight <= 0:
            raise ValueError("class_guide_augment augments the class guide's inputs: set class_guide_weight > 0 too")
        # GAN-CLS's matching-aware D (Reed et al. 2016): real images paired with another class's
        # label are fakes too, so D's class term can only be met by the class an image shows.
        if options.class_mismatch_weight > 0 and not self.num_classes:
            raise ValueError("class_mismatch_weight > 0 needs a conditional GAN (build_gan(..., num_classes=K))")
        if options.class_guide_weight > 0:
            if not self.num_classes:
                raise ValueError("class_guide_weight > 0 needs a conditional generator (build_gan(..., num_classes=K))")
            from keras_emojigan.models.class_guide import build_class_guide

            self.class_guide = build_class_guide(self.num_classes, int(generator.output.shape[1]))
        # ADA's p: the probability of each augmentation, adjusted every step from D's overfitting
        # signal (``_adjust_augmentation``). It and the augment_p metric exist only when used, so
        # the checkpoints of runs without them keep the layout they always had (and resume).
        self.augment_probability = None
        if options.ada_target > 0:
            self.augment_probability = keras.Variable(0.0, dtype="float32", trainable=False,
                                                      name="augment_probability", aggregation="only_first_replica")
        # LeCam's moving averages of D's mean output on real and on fake images (likewise only when used).
        self.lecam_averages = None
        if options.lecam_weight > 0:
            self.lecam_averages = keras.Variable([0.0, 0.0], dtype="float32", trainable=False,
                                                 name="lecam_averages", aggregation="only_first_replica")
        self.ema_generator = None
        if options.ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False, name="step_counter",
                                           aggregation="only_first_replica")
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real", "d_fake", "sigma_term",
                                      *(("augment_p",) if self._policy else ()),
                                      *(("r1_penalty",) if options.r1_gamma > 0 else ()),
                                      *(("lecam_penalty",) if options.lecam_weight > 0 else ()),
                                      *(("d_reconstruction",) if self._second_output == "reconstruction" else ()),
                                      *(("d_class_loss", "g_class_loss") if options.class_loss_weight > 0 else ()),
                                      *(("g_guide_loss",) if options.class_guide_weight > 0 else ()),
                                      *(("d_mismatch",) if options.class_mismatch_weight > 0 else ()))}
        self.built = True  # the sub-models are built; fit() must not call call() to build

    # --- the pieces ---
    @property
    def latent_layer(self) -> LatentLayer:
        return next(layer for layer in self.generator.layers if isinstance(layer, LatentLayer))

    @property
    def noise_dim(self) -> int:
        return self.latent_layer.noise_dim

    @property
    def num_classes(self) -> int:
        """The classes of a conditional GAN (0: unconditional)."""
        embedding = next((layer for layer in self.generator.layers if layer.name == "g_class_embedding"), None)
        return int(embedding.input_dim) if embedding is not None else 0

    def _inputs(self, network_input, labels):
        return [network_input, labels] if labels is not None else network_input

    def _discriminate(self, images, labels) -> dict:
        """D's outputs: ``logits``, and ``class_logits`` or ``reconstruction`` when D has them."""
        outputs = self.discriminator(self._inputs(images, labels), training=True)
        if self._second_output is None:
            return {"logits": outputs}
        return {"logits": outputs[0], self._second_output: outputs[1]}

    def _class_loss(self, class_logits, labels):
        """AC-GAN's class loss: the cross-entropy of D's class head against the labels (0 without a head)."""
        if class_logits is None:
            return tf.constant(0.0)
        return ops.mean(ops.sparse_categorical_crossentropy(labels, ops.cast(class_logits, "float32"),
                                                            from_logits=True))

    def _guide_loss(self, fake, labels, seed):
        """The fixed guide's cross-entropy on G's images, augmented by ``class_guide_augment``
        (0 without a guide)."""
        if self.class_guide is None:
            return tf.constant(0.0)
        fake = augment.diff_augment(fake, self._guide_policy, seed)
        return self._class_loss(self.class_guide(fake, training=False), labels)

    def other_labels(self, labels, seed):
        """For each label, another class drawn uniformly from the rest (stateless: ``seed``)."""
        shift = tf.random.stateless_uniform(tf.shape(labels), seed, minval=1, maxval=self.num_classes,
                                            dtype=tf.int32)
        return (tf.cast(labels, tf.int32) + shift) % self.num_classes

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator used for samples and export: the EMA copy when there is one."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    @property
    def metrics(self):
        return list(self.trackers.values())

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        # Built now (not lazily in the first step) so checkpoints can restore their slots and
        # tf.distribute finds them created in its scope.
        g_optimizer.build(self.generator.trainable_variables)
        d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, noise, training=False):
        return self.generator(noise, training=training)

    def class_labels(self, count: int, label=None) -> np.ndarray | None:
        """The labels of ``count`` images: None for an unconditional GAN; ``label`` for every image;
        without it, a balanced mix (image i gets class i mod the number of classes)."""
        if not self.num_classes:
            if label is not None:
                raise ValueError("this GAN is unconditional: it takes no class")
            return None
        if label is None:
            return np.arange(count, dtype=np.int32) % self.num_classes
        if not 0 <= int(label) < self.num_classes:
            raise ValueError(f"class {label}: this GAN has classes 0 to {self.num_classes - 1}")
        return np.full(count, int(label), np.int32)

    # --- training ---
    def _step_seeds(self):
        """The step's number (before this step) and four stateless seeds drawn from (seed, step)."""
        step = self.step_counter.value
        self.step_counter.assign_add(1)
        base = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        return step, tf.random.experimental.stateless_split(base, num=4)

    def train_step(self, data):
        """One D update (``_discriminator_step``), then one G update on the same fake batch
        (``_generator_step``), then the EMA and ADA updates; returns the logged means. ``data`` is
        images, or (images, labels) for a conditional GAN: the fakes are drawn for the real batch's
        labels. The logged d_loss and g_loss are the adversarial ones (the instability rule reads
        d_loss); every other term is logged under its own name."""
        real, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        if self.num_classes and labels is None:
            raise ValueError("a conditional GAN trains on (images, labels) batches")
        labels = labels if self.num_classes else None
        batch = tf.shape(real)[0]
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context else 1
        replica = context.replica_id_in_sync_group if context else 0
        step, seeds = self._step_seeds()
        if replicas > 1:  # the noise seed is shared (each replica keeps its rows); DiffAugment's are not
            folded = [tf.random.experimental.stateless_fold_in(seeds[i], replica) for i in range(1, 4)]
            seeds = tf.concat([seeds[:1], tf.cast(tf.stack(folded), seeds.dtype)], 0)
        noise = tf.random.stateless_normal(tf.stack([batch * replicas, self.noise_dim]), seeds[0])
        noise = noise[replica * batch:(replica + 1) * batch]
        with tf.GradientTape() as g_tape:
            fake = self.generator(self._inputs(noise, labels), training=True)
        p = self.augment_probability.value if self.augment_probability is not None else None
        values, real_logits = self._discriminator_step(real, fake, labels, seeds, p, step, replicas)
        values.update(self._generator_step(g_tape, fake, labels, seeds, p, replicas))
        if self.ema_generator is not None:
            with _after_updates_of(self.generator.trainable_variables):
                self._update_ema(batch * replicas)
        if self.augment_probability is not None:
            self._adjust_augmentation(real_logits, batch * replicas)
        if self._policy:
            values["augment_p"] = self.augment_probability.value if self.augment_probability is not None else 1.0
        return self._log(values)

    def _discriminator_step(self, real, fake, labels, seeds, p, step, replicas):
        """D's update: its adversarial loss (``options.loss``) on the augmented real and fake
        batches, plus, when set, R1 (``_real_logits``), LeCam (``_lecam_penalty``), the lite D's
        reconstruction of the real images (L1, times ``recon_weight``), AC-GAN's class loss on the
        real images and the matching-aware pairs (real images under other classes' labels are
        fakes). Returns the logged values and D's logits on the real batch."""
        options = self.options
        with tf.GradientTape() as d_tape:
            seen_real = augment.diff_augment(real, self._policy, seeds[1], p)
            real_out, r1_penalty = self._real_logits(seen_real, labels)
            fake_logits = self._discriminate(augment.diff_augment(tf.stop_gradient(fake), self._policy, seeds[2], p),
                                             labels)["logits"]
            d_loss = losses.discriminator_loss(options.loss, real_out["logits"], fake_logits)
            total = d_loss + r1_penalty
            values = {"d_loss": d_loss, "d_real": ops.mean(ops.sigmoid(real_out["logits"])),
                      "d_fake": ops.mean(ops.sigmoid(fake_logits))}
            if options.r1_gamma > 0:
                values["r1_penalty"] = r1_penalty
            if self.lecam_averages is not None:
                values["lecam_penalty"] = self._lecam_penalty(real_out["logits"], fake_logits, step)
                total += options.lecam_weight * values["lecam_penalty"]
            if "reconstruction" in real_out:
                target = lite.reconstruction_target(seen_real)
                values["d_reconstruction"] = tf.reduce_mean(tf.abs(tf.cast(real_out["reconstruction"], tf.float32)
                                                                   - tf.cast(target, tf.float32)))
                total += options.recon_weight * values["d_reconstruction"]
            if options.class_loss_weight > 0:
                values["d_class_loss"] = self._class_loss(real_out["class_logits"], labels)
                total += options.class_loss_weight * values["d_class_loss"]
            if options.class_mismatch_weight > 0:
                other = self.other_labels(labels, tf.random.experimental.stateless_fold_in(seeds[1], 11))
                mismatch_logits = self._discriminate(seen_real, other)["logits"]
                total += options.class_mismatch_weight * losses.bce_with_logits(0.0, mismatch_logits)
                values["d_mismatch"] = ops.mean(ops.sigmoid(mismatch_logits))
            per_replica = total / replicas
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply(d_tape.gradient(per_replica, d_vars), d_vars)
        return values, real_out["logits"]

    def _generator_step(self, g_tape, fake, labels, seeds, p, replicas):
        """G's update, after D's: its adversarial loss on D's logits for the augmented fake batch,
        the latent's regulariser, AC-GAN's class loss on D's class head and the fixed guide's."""
        options = self.options
        with g_tape, _after_updates_of(self.discriminator.trainable_variables):
            g_out = self._discriminate(augment.diff_augment(fake, self._policy, seeds[3], p), labels)
            sigma_term = self.latent_layer.regularization()
            g_loss = losses.generator_loss(options.loss, g_out["logits"]) + sigma_term
            total = g_loss
            values = {"g_loss": g_loss, "sigma_term": sigma_term}
            if options.class_loss_weight > 0:
                values["g_class_loss"] = self._class_loss(g_out["class_logits"], labels)
                total += options.class_loss_weight * values["g_class_loss"]
            if options.class_guide_weight > 0:
                values["g_guide_loss"] = self._guide_loss(fake, labels,
                                                          tf.random.experimental.stateless_fold_in(seeds[3], 7))
                total += options.class_guide_weight * values["g_guide_loss"]
            per_replica = total / replicas
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply(g_tape.gradient(per_replica, g_vars), g_vars)
        return values

    def _log(self, values):
        for name, value in values.items():
            self.trackers[name].update_state(value)
        logs = {name: tracker.result() for name, tracker in self.trackers.items()}
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras 3.15 reduces multi-worker logs with strategy.reduce("MEAN", v, axis=0), which
            # fails on scalars (keras/src/backend/tensorflow/trainer.py, reduce_per_replica): give
            # it [1]-shaped logs, which it reduces to scalars.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def _real_logits(self, real, labels):
        """D's outputs on the (augmented) real batch (``_discriminate``) and the R1 penalty (0 when
        r1_gamma is 0): gamma/2 times the mean squared norm of D's gradient at the real images,
        which keeps D smooth where the data is (Mescheder et al. 2018)."""
        if self.options.r1_gamma <= 0:
            return self._discriminate(real, labels), tf.constant(0.0)
        with tf.GradientTape() as r1_tape:
            r1_tape.watch(real)
            outputs = self._discriminate(real, labels)
            total = tf.reduce_sum(tf.cast(outputs["logits"], tf.float32))
        gradient = tf.cast(r1_tape.gradient(total, real), tf.float32)
        penalty = 0.5 * self.options.r1_gamma * tf.reduce_mean(tf.reduce_sum(tf.square(gradient), axis=[1, 2, 3]))
        return outputs, penalty

    def _lecam_penalty(self, real_logits, fake_logits, step):
        """Update LeCam's moving averages of D's mean outputs with this batch (the first step
        sets them), then the penalty against them (``losses.lecam_penalty``)."""
        means = tf.stack([tf.reduce_mean(tf.cast(real_logits, tf.float32)),
                          tf.reduce_mean(tf.cast(fake_logits, tf.float32))])
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            means = context.all_reduce("mean", means)
        decay = tf.where(step > 0, self.options.lecam_decay, 0.0)
        averages = decay * self.lecam_averages.value + (1.0 - decay) * tf.stop_gradient(means)
        self.lecam_averages.assign(averages)
        return losses.lecam_penalty(real_logits, fake_logits, averages[0], averages[1])

    def ema_decay_at(self, step, global_batch):
        """The EMA decay of a step. With ``ema_rampup`` r, StyleGAN2-ADA's warm-up: the EMA's
        half-life is r times the images seen so far, capped by ``ema_decay``'s half-life, so the
        EMA forgets its random start (with a fixed 0.999, 880 steps left 41% of it)."""
        decay = tf.constant(self.options.ema_decay, tf.float32)
        if self.options.ema_rampup <= 0:
            return decay
        seen = tf.cast(step + 1, tf.float32) * tf.cast(global_batch, tf.float32)
        ramped = tf.pow(0.5, tf.cast(global_batch, tf.float32) / tf.maximum(self.options.ema_rampup * seen, 1e-8))
        return tf.minimum(decay, ramped)

    def _adjust_augmentation(self, real_logits, global_batch):
        """ADA: r_t = E[sign(D(real))] measures D's overfitting; p moves towards keeping r_t at
        ``ada_target`` (0.6 in StyleGAN2-ADA), by at most global_batch / (ada_kimg * 1000) a step."""
        context = tf.distribute.get_replica_context()
        signs = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
        if context is not None and context.num_replicas_in_sync > 1:
            signs = context.all_reduce("mean", signs)
        speed = tf.cast(global_batch, tf.float32) / (self.options.ada_kimg * 1000.0)
        adjusted = self.augment_probability + tf.sign(signs - self.options.ada_target) * speed
        self.augment_probability.assign(tf.clip_by_value(adjusted, 0.0, 1.0))

    def _update_ema(self, global_batch):
        decay = self.ema_decay_at(self.step_counter.value - 1, global_batch)
        for ema, live in zip(self.ema_generator.weights, self.generator.weights, strict=True):
            if live.trainable:
                ema.assign(decay * ema + (1.0 - decay) * live)
            else:  # batch-norm statistics are copied, as StyleGAN2-ADA does with buffers
                ema.assign(live)

    # --- sampling ---
    def generate(self, count: int, seed: int = 0, label: int | None = None) -> np.ndarray:
        """``count`` images as uint8 [count, H, W, 3], the same for the same seed (and class: a
        conditional GAN makes ``label``'s class, or a balanced mix without it)."""
        from keras_emojigan.data.pipeline import from_unit_range

        labels = self.class_labels(count, label)
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
    o = options
    latent = make_latent(o.model, o.latent_dim, latent_n=o.latent_n, components=o.components,
                         sigma_weight=o.sigma_weight, seed=o.seed)
    generator = build_generator(latent, o.resolution, o.ngf, o.seed, sync_batch_norm, num_classes,
                                o.class_batch_norm, o.arch)
    if o.arch == "lite":  # unconditional: build_generator has refused num_classes already
        discriminator = lite.build_lite_discriminator(o.resolution, o.ndf, o.seed)
    else:
        discriminator = networks.build_discriminator(o.resolution, o.ndf, o.seed, sync_batch_norm, num_classes,
                                                     class_head=o.class_loss_weight > 0)
    return EmojiGAN(generator, discriminator, options, name=f"emojigan_{o.model}")
