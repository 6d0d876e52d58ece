"""EmojiGAN: the one Keras model behind DCGAN, DeLiGAN and the paper's proposed GAN.

The three differ only in the generator's latent layer (``latents.py``); they share the
networks (``networks.py``) and this training step: one discriminator update, then one
generator update on the same fake batch (as the PyTorch DCGAN reference does), with the
non-saturating binary cross-entropy on logits. Options off in the paper's setting:
DiffAugment before D and an exponential moving average (EMA) of G used for samples and export.
Randomness in a step comes from stateless ops seeded by ``(seed, step)``, so a resumed run
draws exactly what an uninterrupted one would.

Under a tf.distribute strategy with R replicas each replica sees B/R images: it draws the
noise of the whole global batch and keeps its own rows (so R replicas train on exactly the
noise one device would), divides its losses by R before taking gradients (Keras' optimizer
sums gradients across replicas), and logs unscaled losses (Keras' metrics average them over
replicas). With synchronized batch norm (``build_gan(sync_batch_norm=True)``) a step is then
the same as on one device, up to float rounding; DiffAugment's draws differ per replica.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from keras_emojigan.models import augment, networks
from keras_emojigan.models.latents import PACKAGE, LatentLayer, make_latent

CLASS_EMBEDDING = 32  # the size of a conditional generator's class embedding, joined to the latent


def build_generator(latent: LatentLayer, resolution: int = 64, ngf: int = 64, seed: int = 0,
                    sync_batch_norm: bool = False, num_classes: int = 0,
                    class_batch_norm: bool = False) -> keras.Model:
    """noise [B, latent.noise_dim] -> latent layer -> DCGAN generator -> image [-1, 1]. With
    ``num_classes``, inputs [noise, label]: a learned class embedding is joined to the latent
    (the latent part stays the model's own); with ``class_batch_norm`` too, each class also has
    its own channel gains and biases in every batch norm (``networks.ClassBatchNormalization``)."""
    if class_batch_norm and not num_classes:
        raise ValueError("class_batch_norm needs a conditional generator (num_classes >= 2)")
    noise = keras.Input((latent.noise_dim,), name="latent")
    x = latent(noise)
    inputs, one_hot = noise, None
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        embedded = layers.Embedding(num_classes, CLASS_EMBEDDING, dtype="float32", name="g_class_embedding")(label)
        x = layers.Concatenate(dtype="float32", name="g_latent_and_class")([x, embedded])
        inputs = [noise, label]
        if class_batch_norm:
            # One-hot, so each class gets its own gains and biases (SNGAN's categorical batch norm).
            # With a unit-scale shared embedding instead, every image of a class came out the same
            # within 26 epochs (DeLiGAN, commit 22d0f4d), most likely because the class then set
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


def bce_with_logits(target: float, logits):
    return ops.mean(ops.binary_crossentropy(ops.full_like(logits, target), logits, from_logits=True))


def _after_updates_of(variables):
    """A context whose ops run after ``variables``' optimizer updates. The traced graph already
    orders G's step's reads of D's variables after D's update, yet with DiffAugment two runs of the
    same command differed from the first epoch; they agreed with one inter-op thread, or with
    Grappler off (no single pass of it), and agree with this explicit dependency
    (tests/test_reproducible.py)."""
    return tf.control_dependencies([tf.identity(v) for v in variables])


@keras.saving.register_keras_serializable(PACKAGE)
class EmojiGAN(keras.Model):
    """A GAN: ``compile(g_optimizer, d_optimizer)``, then ``fit`` on batches of images in [-1, 1]."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, augment_policy: str = "",
                 ema_decay: float = 0.0, ema_rampup: float = 0.0, ada_target: float = 0.0, ada_kimg: float = 20.0,
                 r1_gamma: float = 0.0, class_loss_weight: float = 0.0, class_guide_weight: float = 0.0,
                 class_guide_augment: str = "", class_mismatch_weight: float = 0.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(ema_decay) < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {ema_decay}")
        self.generator, self.discriminator = generator, discriminator
        self._policy = augment.parse_policy(augment_policy)
        self.augment_policy = ",".join(self._policy)
        self.ema_decay, self.seed = float(ema_decay), int(seed)
        self.ema_rampup, self.ada_target, self.ada_kimg = float(ema_rampup), float(ada_target), float(ada_kimg)
        self.r1_gamma, self.class_loss_weight = float(r1_gamma), float(class_loss_weight)
        if self.class_loss_weight > 0 and len(discriminator.outputs) != 2:
            raise ValueError("class_loss_weight > 0 needs a conditional discriminator with a class head "
                             "(build_gan(..., num_classes=K, class_loss_weight=w))")
        # The fixed class guide (``class_guide.py``): frozen, fitted on the real images by fit();
        # like ADA's p it exists only when used, so other runs' checkpoints keep their layout.
        self.class_guide_weight, self.class_guide = float(class_guide_weight), None
        # A DiffAugment policy for G's images on their way to the guide (each step a fresh draw):
        # a class that must survive shifts and colour changes is harder to fake with pixel patterns
        # only the guide reads (the guided runs' probes disagreed, probe_agreement.md).
        self._guide_policy = augment.parse_policy(class_guide_augment)
        self.class_guide_augment = ",".join(self._guide_policy)
        if self._guide_policy and self.class_guide_weight <= 0:
            raise ValueError("class_guide_augment augments the class guide's inputs: set class_guide_weight > 0 too")
        # GAN-CLS's matching-aware D (Reed et al. 2016): real images paired with another class's
        # label are fakes too, so D's class term can only be met by the class an image shows.
        # Part 1's D told the labels apart while its G ignored them (label_use.md).
        self.class_mismatch_weight = float(class_mismatch_weight)
        if self.class_mismatch_weight > 0 and not self.num_classes:
            raise ValueError("class_mismatch_weight > 0 needs a conditional GAN (build_gan(..., num_classes=K))")
        if self.class_guide_weight > 0:
            if not self.num_classes:
                raise ValueError("class_guide_weight > 0 needs a conditional generator (build_gan(..., num_classes=K))")
            from keras_emojigan.models.class_guide import build_class_guide

            self.class_guide = build_class_guide(self.num_classes, int(generator.output.shape[1]))
        # ADA's p: the probability of each augmentation, adjusted every step from D's overfitting
        # signal (``_adjust_augmentation``). It and the augment_p metric exist only when used, so
        # the checkpoints of runs without them keep the layout they always had (and resume).
        self.augment_probability = None
        if self.ada_target > 0:
            self.augment_probability = keras.Variable(0.0, dtype="float32", trainable=False,
                                                      name="augment_probability", aggregation="only_first_replica")
        self.ema_generator = None
        if self.ema_decay > 0:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
        self.step_counter = keras.Variable(0, dtype="int64", trainable=False, name="step_counter",
                                           aggregation="only_first_replica")
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("d_loss", "g_loss", "d_real", "d_fake", "sigma_term",
                                      *(("augment_p",) if self._policy else ()),
                                      *(("r1_penalty",) if self.r1_gamma > 0 else ()),
                                      *(("d_class_loss", "g_class_loss") if self.class_loss_weight > 0 else ()),
                                      *(("g_guide_loss",) if self.class_guide_weight > 0 else ()),
                                      *(("d_mismatch",) if self.class_mismatch_weight > 0 else ()))}
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

    def _discriminate(self, images, labels):
        """D's real/fake logits, and its class logits when it has a class head (else None)."""
        outputs = self.discriminator(self._inputs(images, labels), training=True)
        return (outputs[0], outputs[1]) if self.class_loss_weight > 0 else (outputs, None)

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

    def _mismatch_logits(self, real, labels, seed):
        """D's logits on the (augmented) real batch paired with other classes' labels (None when
        ``class_mismatch_weight`` is 0)."""
        if self.class_mismatch_weight <= 0:
            return None
        return self._discriminate(real, self.other_labels(labels, seed))[0]

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
        step = self.step_counter.value
        self.step_counter.assign_add(1)
        base = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(step, tf.int64)])
        return tf.random.experimental.stateless_split(base, num=4)

    def train_step(self, data):
        """One D update, then one G update on the same fake batch. ``data`` is images, or
        (images, labels) for a conditional GAN: the fakes are drawn for the real batch's labels.
        With ``class_loss_weight`` w (AC-GAN), D's class head learns the real images' classes
        (w times its cross-entropy joins D's loss) and G is pushed to make images that head puts
        in the requested class (w times that cross-entropy joins G's loss); the head is trained on
        real images only, so G cannot teach it its own mistakes. With ``class_guide_weight`` v, v
        times the fixed guide's cross-entropy on G's images joins G's loss (``class_guide.py``).
        With ``class_mismatch_weight`` m, D is also trained to call each real image fake under
        another class's label (m times that cross-entropy joins D's loss; d_mismatch logs D's mean
        output on those pairs). The logged d_loss and g_loss stay the adversarial ones (the
        instability rule reads d_loss)."""
        real, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        if self.num_classes and labels is None:
            raise ValueError("a conditional GAN trains on (images, labels) batches")
        labels = labels if self.num_classes else None
        batch = tf.shape(real)[0]
        context = tf.distribute.get_replica_context()
        replicas = context.num_replicas_in_sync if context else 1
        replica = context.replica_id_in_sync_group if context else 0
        seeds = self._step_seeds()
        if replicas > 1:  # the noise seed is shared (each replica keeps its rows); DiffAugment's are not
            folded = [tf.random.experimental.stateless_fold_in(seeds[i], replica) for i in range(1, 4)]
            seeds = tf.concat([seeds[:1], tf.cast(tf.stack(folded), seeds.dtype)], 0)
        noise = tf.random.stateless_normal(tf.stack([batch * replicas, self.noise_dim]), seeds[0])
        noise = noise[replica * batch:(replica + 1) * batch]
        with tf.GradientTape() as g_tape:
            fake = self.generator(self._inputs(noise, labels), training=True)
        p = self.augment_probability.value if self.augment_probability is not None else None
        with tf.GradientTape() as d_tape:
            seen_real = augment.diff_augment(real, self._policy, seeds[1], p)
            real_logits, real_class_logits, r1_penalty = self._real_logits(seen_real, labels)
            mismatch_logits = self._mismatch_logits(seen_real, labels,
                                                    tf.random.experimental.stateless_fold_in(seeds[1], 11))
            fake_logits, _ = self._discriminate(
                augment.diff_augment(tf.stop_gradient(fake), self._policy, seeds[2], p), labels)
            d_loss = bce_with_logits(1.0, real_logits) + bce_with_logits(0.0, fake_logits)
            d_class_loss = self._class_loss(real_class_logits, labels)
            d_mismatch_loss = bce_with_logits(0.0, mismatch_logits) if mismatch_logits is not None else 0.0
            d_loss_per_replica = (d_loss + r1_penalty + self.class_loss_weight * d_class_loss
                                  + self.class_mismatch_weight * d_mismatch_loss) / replicas
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply(d_tape.gradient(d_loss_per_replica, d_vars), d_vars)
        with g_tape, _after_updates_of(d_vars):
            g_logits, g_class_logits = self._discriminate(augment.diff_augment(fake, self._policy, seeds[3], p),
                                                          labels)
            sigma_term = self.latent_layer.regularization()
            g_loss = bce_with_logits(1.0, g_logits) + sigma_term
            g_class_loss = self._class_loss(g_class_logits, labels)
            g_guide_loss = self._guide_loss(fake, labels, tf.random.experimental.stateless_fold_in(seeds[3], 7))
            g_loss_per_replica = (g_loss + self.class_loss_weight * g_class_loss
                                  + self.class_guide_weight * g_guide_loss) / replicas
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply(g_tape.gradient(g_loss_per_replica, g_vars), g_vars)
        if self.ema_generator is not None:
            with _after_updates_of(g_vars):
                self._update_ema(batch * replicas)
        if self.augment_probability is not None:
            self._adjust_augmentation(real_logits, batch * replicas)
        values = {"d_loss": d_loss, "g_loss": g_loss, "d_real": ops.mean(ops.sigmoid(real_logits)),
                  "d_fake": ops.mean(ops.sigmoid(fake_logits)), "sigma_term": sigma_term}
        if self.r1_gamma > 0:
            values["r1_penalty"] = r1_penalty
        if self.class_loss_weight > 0:
            values.update({"d_class_loss": d_class_loss, "g_class_loss": g_class_loss})
        if self.class_guide_weight > 0:
            values["g_guide_loss"] = g_guide_loss
        if mismatch_logits is not None:
            values["d_mismatch"] = ops.mean(ops.sigmoid(mismatch_logits))
        if self._policy:
            values["augment_p"] = self.augment_probability.value if self.augment_probability is not None else 1.0
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
        """D's logits on the (augmented) real batch, its class logits (None without a class head),
        and the R1 penalty (0 when r1_gamma is 0):
        gamma/2 times the mean squared norm of D's gradient at the real images, which keeps D
        smooth where the data is (Mescheder et al. 2018). It is added to D's loss but not to the
        logged d_loss, which the instability rule reads."""
        if self.r1_gamma <= 0:
            return (*self._discriminate(real, labels), tf.constant(0.0))
        with tf.GradientTape() as r1_tape:
            r1_tape.watch(real)
            logits, class_logits = self._discriminate(real, labels)
            total = tf.reduce_sum(tf.cast(logits, tf.float32))
        gradient = tf.cast(r1_tape.gradient(total, real), tf.float32)
        penalty = 0.5 * self.r1_gamma * tf.reduce_mean(tf.reduce_sum(tf.square(gradient), axis=[1, 2, 3]))
        return logits, class_logits, penalty

    def ema_decay_at(self, step, global_batch):
        """The EMA decay of a step. With ``ema_rampup`` r, StyleGAN2-ADA's warm-up: the EMA's
        half-life is r times the images seen so far, capped by ``ema_decay``'s half-life, so the
        EMA forgets its random start (with a fixed 0.999, 880 steps left 41% of it)."""
        decay = tf.constant(self.ema_decay, tf.float32)
        if self.ema_rampup <= 0:
            return decay
        seen = tf.cast(step + 1, tf.float32) * tf.cast(global_batch, tf.float32)
        ramped = tf.pow(0.5, tf.cast(global_batch, tf.float32) / tf.maximum(self.ema_rampup * seen, 1e-8))
        return tf.minimum(decay, ramped)

    def _adjust_augmentation(self, real_logits, global_batch):
        """ADA: r_t = E[sign(D(real))] measures D's overfitting; p moves towards keeping r_t at
        ``ada_target`` (0.6 in StyleGAN2-ADA), by at most global_batch / (ada_kimg * 1000) a step."""
        context = tf.distribute.get_replica_context()
        signs = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
        if context is not None and context.num_replicas_in_sync > 1:
            signs = context.all_reduce("mean", signs)
        speed = tf.cast(global_batch, tf.float32) / (self.ada_kimg * 1000.0)
        adjusted = self.augment_probability + tf.sign(signs - self.ada_target) * speed
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
                "augment_policy": self.augment_policy, "ema_decay": self.ema_decay, "ema_rampup": self.ema_rampup,
                "ada_target": self.ada_target, "ada_kimg": self.ada_kimg, "r1_gamma": self.r1_gamma,
                "class_loss_weight": self.class_loss_weight, "class_guide_weight": self.class_guide_weight,
                "class_guide_augment": self.class_guide_augment, "class_mismatch_weight": self.class_mismatch_weight,
                "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        generator = keras.saving.deserialize_keras_object(config.pop("generator"))
        discriminator = keras.saving.deserialize_keras_object(config.pop("discriminator"))
        return cls(generator, discriminator, **config)


def build_gan(model: str, *, resolution: int = 64, latent_dim: int = 100, latent_n: int = 1,
              components: int = 50, sigma_weight: float = 0.05, ngf: int = 64, ndf: int = 64,
              augment_policy: str = "", ema_decay: float = 0.0, ema_rampup: float = 0.0, ada_target: float = 0.0,
              ada_kimg: float = 20.0, r1_gamma: float = 0.0, class_loss_weight: float = 0.0,
              class_guide_weight: float = 0.0, class_guide_augment: str = "", class_mismatch_weight: float = 0.0,
              seed: int = 0, sync_batch_norm: bool = False, num_classes: int = 0,
              class_batch_norm: bool = False) -> EmojiGAN:
    """An uncompiled EmojiGAN of kind ``model`` (dcgan, deligan or proposed), class-conditional
    with ``num_classes`` >= 2 (class batch norm in G with ``class_batch_norm``; AC-GAN's class
    losses with ``class_loss_weight`` > 0; the fixed class guide with ``class_guide_weight`` > 0,
    seeing G's images through the ``class_guide_augment`` policy: fit it with ``fit_class_guide``; a
    matching-aware D with ``class_mismatch_weight`` > 0); build
    it in a tf.distribute strategy's scope with ``sync_batch_norm=True`` to train on several
    replicas."""
    latent = make_latent(model, latent_dim, latent_n=latent_n, components=components,
                         sigma_weight=sigma_weight, seed=seed)
    generator = build_generator(latent, resolution, ngf, seed, sync_batch_norm, num_classes, class_batch_norm)
    discriminator = networks.build_discriminator(resolution, ndf, seed, sync_batch_norm, num_classes,
                                                 class_head=class_loss_weight > 0)
    return EmojiGAN(generator, discriminator, augment_policy=augment_policy, ema_decay=ema_decay,
                    ema_rampup=ema_rampup, ada_target=ada_target, ada_kimg=ada_kimg, r1_gamma=r1_gamma,
                    class_loss_weight=class_loss_weight, class_guide_weight=class_guide_weight,
                    class_guide_augment=class_guide_augment, class_mismatch_weight=class_mismatch_weight,
                    seed=seed, name=f"emojigan_{model}")
