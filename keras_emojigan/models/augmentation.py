"""The augmentation part: DiffAugment (``augment.py``) on every image D sees, and with
``ada_target`` StyleGAN2-ADA's adaptive probability p of each augmentation (Karras et al. 2020).

ADA: r_t = E[sign(D(real))] measures D's overfitting; after each step p moves towards keeping r_t
at ``ada_target`` (0.6 in StyleGAN2-ADA), by at most global_batch / (ada_kimg * 1000). p exists
only when used, so the checkpoints of runs without it keep the layout they always had.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_emojigan.config import parse_policy
from keras_emojigan.models import augment
from keras_emojigan.models.parts import Part, need


class Augmentation(Part):
    """Every GAN has one; with an empty policy it leaves images as they are and logs nothing."""

    @staticmethod
    def check(options, conditional, d_outputs):
        need(0 <= options.ada_target < 1, options, "ada_target", "must be in [0, 1) (0 = off)")
        need(options.ada_kimg > 0, options, "ada_kimg", "must be > 0")
        need(options.ada_target == 0 or bool(parse_policy(options.diffaugment)), options, "ada_target",
             "adapts the strength of augmentations: set diffaugment too, e.g. color,translation,cutout")

    def build(self, gan):
        self.policy = parse_policy(self.options.diffaugment)
        self.metric_names = ("augment_p",) if self.policy else ()
        self.probability = None
        if self.options.ada_target > 0:
            self.probability = keras.Variable(0.0, dtype="float32", trainable=False, name="augment_probability",
                                              aggregation="only_first_replica")

    def state(self):
        return {"augment_probability": self.probability} if self.probability is not None else {}

    def current_probability(self):
        """p as this step uses it (None: every augmentation always applies)."""
        return self.probability.value if self.probability is not None else None

    def __call__(self, images, seed, probability):
        return augment.diff_augment(images, self.policy, seed, probability)

    def logs(self) -> dict:
        if not self.policy:
            return {}
        return {"augment_p": self.probability.value if self.probability is not None else 1.0}

    def adjust(self, real_logits, global_batch):
        """ADA's update of p from D's logits on this step's real batch (nothing without ADA)."""
        if self.probability is None:
            return
        context = tf.distribute.get_replica_context()
        signs = tf.reduce_mean(tf.sign(tf.cast(real_logits, tf.float32)))
        if context is not None and context.num_replicas_in_sync > 1:
            signs = context.all_reduce("mean", signs)
        speed = tf.cast(global_batch, tf.float32) / (self.options.ada_kimg * 1000.0)
        adjusted = self.probability + tf.sign(signs - self.options.ada_target) * speed
        self.probability.assign(tf.clip_by_value(adjusted, 0.0, 1.0))
