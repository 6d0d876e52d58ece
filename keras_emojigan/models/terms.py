"""The optional terms of the GAN's losses, one class each: R1, LeCam, the lite D's reconstruction,
AC-GAN's class losses, the fixed class guide and GAN-CLS's mismatch.

A term is a part of the training step (``parts.Part``): it says when a GAN has it (``wanted``),
checks the options it reads (``check``, the one place each rule lives), owns its variables
(``state``), names what it logs (``metric_names``) and adds to D's loss, G's loss or both. The
step (``gan.EmojiGAN.train_step``) adds each term's contribution in the order of ``TERMS``, so
the sums, and so a run's numbers, are the same as when these were inline branches.

Every contribution is a float32 scalar; ``DiscriminatorPass`` and ``GeneratorPass`` hold what a
term may read of the step.
"""

from __future__ import annotations

import dataclasses

import keras
import tensorflow as tf
from keras import ops

from keras_emojigan.config import parse_policy
from keras_emojigan.models import augment, losses
from keras_emojigan.models.parts import Part, need


@dataclasses.dataclass
class DiscriminatorPass:
    """What D's step has computed when the terms add to its loss."""

    real: tf.Tensor  # the augmented real batch D saw
    labels: tf.Tensor | None
    real_out: dict  # D's named outputs on ``real``: logits, and class_logits or reconstruction
    fake_logits: tf.Tensor
    seeds: tf.Tensor  # the step's four stateless seeds
    step: tf.Tensor  # the step's number, before this step
    discriminate: object  # (images, labels) -> D's named outputs
    real_gradient: tf.Tensor | None = None  # d sum(D(real)) / d real, when a term asked for it


@dataclasses.dataclass
class GeneratorPass:
    """What G's step has computed when the terms add to its loss."""

    fake: tf.Tensor  # G's batch, not augmented
    labels: tf.Tensor | None
    fake_out: dict  # D's named outputs on the augmented fake batch
    seeds: tf.Tensor


def class_cross_entropy(class_logits, labels):
    """The mean cross-entropy of class logits against integer labels."""
    return ops.mean(ops.sparse_categorical_crossentropy(labels, ops.cast(class_logits, "float32"), from_logits=True))


def discriminate_real(discriminate, real, labels, terms):
    """D's named outputs on the augmented real batch, and the gradient of the sum of its logits with
    respect to that batch when a term needs it (``needs_real_gradient``: R1), else None."""
    if not any(term.needs_real_gradient for term in terms):
        return discriminate(real, labels), None
    with tf.GradientTape() as tape:
        tape.watch(real)
        outputs = discriminate(real, labels)
        total = tf.reduce_sum(tf.cast(outputs["logits"], tf.float32))
    return outputs, tape.gradient(total, real)


def add_terms(terms, which: str, loss, values: dict, step):
    """``loss`` plus each term's contribution to it (``which``: discriminator_loss or
    generator_loss), in ``TERMS`` order, so the sum is the same float as ever; the terms' logs
    go into ``values``."""
    for term in terms:
        result = getattr(term, which)(step)
        if result is not None:
            loss += result[0]
            values.update(result[1])
    return loss


def need_conditional_weight(options, field: str, conditional: bool, what: str) -> None:
    """A class term's weight: >= 0, and > 0 only in a conditional GAN ('<field>=<w>: <what>: set
    conditional=true too')."""
    need(getattr(options, field) >= 0, options, field, "must be >= 0 (0 = off)")
    need(getattr(options, field) == 0 or conditional, options, field, f"{what}: set conditional=true too")


class Term(Part):
    """A term of D's and/or G's loss. ``discriminator_loss`` and ``generator_loss`` return
    (what the term adds to that loss, {metric name: value to log}), or None for a term that has
    no share in that loss."""

    needs_real_gradient = False  # True: D's step computes DiscriminatorPass.real_gradient

    def discriminator_loss(self, step: DiscriminatorPass):
        return None

    def generator_loss(self, step: GeneratorPass):
        return None


class R1Penalty(Term):
    """gamma/2 times the mean squared norm of D's gradient at the real images, which keeps D smooth
    where the data is (Mescheder et al. 2018)."""

    metric_names = ("r1_penalty",)
    needs_real_gradient = True

    @staticmethod
    def wanted(options, d_outputs):
        return options.r1_gamma > 0

    @staticmethod
    def check(options, conditional, d_outputs):
        need(options.r1_gamma >= 0, options, "r1_gamma", "must be >= 0 (0 = off)")

    def discriminator_loss(self, step):
        gradient = tf.cast(step.real_gradient, tf.float32)
        penalty = 0.5 * self.options.r1_gamma * tf.reduce_mean(tf.reduce_sum(tf.square(gradient), axis=[1, 2, 3]))
        return penalty, {"r1_penalty": penalty}


class LeCam(Term):
    """LeCam's regulariser of D's outputs (Tseng et al. 2021, ``losses.lecam_penalty``) against
    moving averages of D's mean output on real and on fake images, which it keeps."""

    metric_names = ("lecam_penalty",)

    @staticmethod
    def wanted(options, d_outputs):
        return options.lecam_weight > 0

    @staticmethod
    def check(options, conditional, d_outputs):
        need(options.lecam_weight >= 0, options, "lecam_weight", "must be >= 0 (0 = off)")
        need(0 <= options.lecam_decay < 1, options, "lecam_decay", "must be in [0, 1)")

    def build(self, gan):
        self.averages = keras.Variable([0.0, 0.0], dtype="float32", trainable=False, name="lecam_averages",
                                       aggregation="only_first_replica")

    def state(self):
        return {"lecam_averages": self.averages}

    def discriminator_loss(self, step):
        """Update the averages with this batch (the first step sets them), then the penalty."""
        real_logits, fake_logits = step.real_out["logits"], step.fake_logits
        means = tf.stack([tf.reduce_mean(tf.cast(real_logits, tf.float32)),
                          tf.reduce_mean(tf.cast(fake_logits, tf.float32))])
        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            means = context.all_reduce("mean", means)
        decay = tf.where(step.step > 0, self.options.lecam_decay, 0.0)
        averages = decay * self.averages.value + (1.0 - decay) * tf.stop_gradient(means)
        self.averages.assign(averages)
        penalty = losses.lecam_penalty(real_logits, fake_logits, averages[0], averages[1])
        return self.options.lecam_weight * penalty, {"lecam_penalty": penalty}


class Reconstruction(Term):
    """A self-supervised D (FastGAN): the L1 error of D's ``reconstruction`` output against the
    real image it saw, average-pooled to the reconstruction's size, times ``recon_weight``. Every
    GAN whose discriminator has that output has this term."""

    metric_names = ("d_reconstruction",)

    @staticmethod
    def wanted(options, d_outputs):
        return "reconstruction" in d_outputs

    @staticmethod
    def check(options, conditional, d_outputs):
        need(options.recon_weight >= 0, options, "recon_weight", "must be >= 0 (0 = no reconstruction loss)")

    def discriminator_loss(self, step):
        rebuilt = step.real_out["reconstruction"]
        factor = step.real.shape[1] // rebuilt.shape[1]
        target = step.real if factor <= 1 else ops.average_pool(step.real, factor, factor, padding="valid")
        error = tf.reduce_mean(tf.abs(tf.cast(rebuilt, tf.float32) - tf.cast(target, tf.float32)))
        return self.options.recon_weight * error, {"d_reconstruction": error}


class ClassLoss(Term):
    """AC-GAN (Odena et al. 2017): D's class head classifies the real images, and G's images must
    be classified as the class they were drawn for; both times ``class_loss_weight``."""

    metric_names = ("d_class_loss", "g_class_loss")

    @staticmethod
    def wanted(options, d_outputs):
        return options.class_loss_weight > 0

    @staticmethod
    def check(options, conditional, d_outputs):
        need_conditional_weight(options, "class_loss_weight", conditional,
                                "is the weight of a conditional GAN's class losses")
        need(options.class_loss_weight == 0 or "class_logits" in d_outputs, options, "class_loss_weight",
             f"needs a discriminator with a class head; discriminator={options.discriminator_name!r} has none")

    def discriminator_loss(self, step):
        loss = class_cross_entropy(step.real_out["class_logits"], step.labels)
        return self.options.class_loss_weight * loss, {"d_class_loss": loss}

    def generator_loss(self, step):
        loss = class_cross_entropy(step.fake_out["class_logits"], step.labels)
        return self.options.class_loss_weight * loss, {"g_class_loss": loss}


class ClassGuide(Term):
    """G's class loss from a fixed classifier of the real images (``class_guide.py``), on G's
    images augmented by ``class_guide_augment`` (a fresh draw each step): a class that must survive
    shifts and colour changes is harder to fake with pixel patterns only the guide reads. The guide
    is frozen; ``training.fit`` fits its head before the first epoch."""

    metric_names = ("g_guide_loss",)

    @staticmethod
    def wanted(options, d_outputs):
        return options.class_guide_weight > 0

    @staticmethod
    def check(options, conditional, d_outputs):
        need_conditional_weight(options, "class_guide_weight", conditional,
                                "is the weight of a conditional GAN's class guide")
        need(not parse_policy(options.class_guide_augment) or options.class_guide_weight > 0, options,
             "class_guide_augment", "augments what the class guide sees: set class_guide_weight > 0 too")

    def build(self, gan):
        from keras_emojigan.models.class_guide import build_class_guide

        self.policy = parse_policy(self.options.class_guide_augment)
        self.guide = build_class_guide(gan.num_classes, int(gan.generator.output.shape[1]))

    def state(self):
        return {"class_guide": self.guide}

    def loss(self, fake, labels, seed):
        """The guide's cross-entropy on ``fake`` augmented with the stateless ``seed``."""
        return class_cross_entropy(self.guide(augment.diff_augment(fake, self.policy, seed), training=False), labels)

    def generator_loss(self, step):
        loss = self.loss(step.fake, step.labels, tf.random.experimental.stateless_fold_in(step.seeds[3], 7))
        return self.options.class_guide_weight * loss, {"g_guide_loss": loss}


class ClassMismatch(Term):
    """GAN-CLS's matching-aware D (Reed et al. 2016): real images paired with another class's label
    are fakes too (BCE, times ``class_mismatch_weight``), so D's class term can only be met by the
    class an image shows. Logs D's mean output on those pairs."""

    metric_names = ("d_mismatch",)

    @staticmethod
    def wanted(options, d_outputs):
        return options.class_mismatch_weight > 0

    @staticmethod
    def check(options, conditional, d_outputs):
        need_conditional_weight(options, "class_mismatch_weight", conditional,
                                "pairs real images with other classes' labels")

    def build(self, gan):
        self.num_classes = gan.num_classes

    def other_labels(self, labels, seed):
        """For each label, another class drawn uniformly from the rest (stateless: ``seed``)."""
        shift = tf.random.stateless_uniform(tf.shape(labels), seed, minval=1, maxval=self.num_classes, dtype=tf.int32)
        return (tf.cast(labels, tf.int32) + shift) % self.num_classes

    def discriminator_loss(self, step):
        other = self.other_labels(step.labels, tf.random.experimental.stateless_fold_in(step.seeds[1], 11))
        logits = step.discriminate(step.real, other)["logits"]
        return (self.options.class_mismatch_weight * losses.bce_with_logits(0.0, logits),
                {"d_mismatch": ops.mean(ops.sigmoid(logits))})


# In the order their contributions are summed (D: R1, LeCam, reconstruction, class, mismatch;
# G: class, guide) and their metrics are listed.
TERMS: tuple[type[Term], ...] = (R1Penalty, LeCam, Reconstruction, ClassLoss, ClassGuide, ClassMismatch)
