"""Can the discriminator's network learn the data set's classes under a DiffAugment policy?

Trains the conditional discriminator's network (networks.build_discriminator with its AC-GAN
class head) as a plain classifier on 80% of the real images, seeded, and prints the held-out
accuracy per epoch. No GAN: this isolates what an augmentation policy does to the class signal
AC-GAN's class losses need (in the conditional experiment, with DiffAugment's translation D's class loss barely moved
from chance in 100 epochs).

    python scripts/experiments/conditional/class_head_check.py --diffaugment color,translation,cutout --epochs 10
    python scripts/experiments/conditional/class_head_check.py --diffaugment "" --epochs 10
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_emojigan.config import parse_policy
from keras_emojigan.data.pipeline import to_unit_range  # noqa: E402
from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.models import augment, networks  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="emoji-faces")
    parser.add_argument("--diffaugment", default="color,translation,cutout")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--batch-size", type=int, default=35)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    real = load_images(args.data, 64)
    if len(real.class_names) < 2:
        parser.error(f"{args.data} has no classes")
    images = to_unit_range(tf.constant(real.images)).numpy()
    labels = np.asarray(real.labels, np.int32)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(images))
    heldout, train = order[: len(images) // 5], order[len(images) // 5:]
    policy = parse_policy(args.diffaugment)
    keras.utils.set_random_seed(args.seed)
    network = networks.build_discriminator(64, 64, args.seed, num_classes=len(real.class_names), class_head=True)
    optimizer = keras.optimizers.Adam(args.lr, 0.5)
    variables = [v for v in network.trainable_variables  # the adversarial logit and projection get no gradient
                 if not v.path.startswith(("d_logit/", "d_class_embedding/"))]

    @tf.function
    def step(x, y, seed):
        with tf.GradientTape() as tape:
            _, class_logits = network([augment.diff_augment(x, policy, seed), y], training=True)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, class_logits, from_logits=True))
        optimizer.apply(tape.gradient(loss, variables), variables)
        return loss

    print(f"{args.data}: {len(train)} training and {len(heldout)} held-out images; DiffAugment "
          f"{args.diffaugment or 'none'}")
    steps = 0
    for epoch in range(args.epochs):
        shuffled, losses = rng.permutation(train), []
        for start in range(0, len(shuffled) - args.batch_size + 1, args.batch_size):
            batch = shuffled[start:start + args.batch_size]
            steps += 1
            losses.append(float(step(tf.constant(images[batch]), tf.constant(labels[batch]),
                                     tf.constant([args.seed, steps], tf.int64))))
        _, class_logits = network([images[heldout], labels[heldout]], training=False)
        accuracy = float(np.mean(np.argmax(class_logits, 1) == labels[heldout]))
        print(f"epoch {epoch}: training loss {np.mean(losses):.3f}, held-out accuracy {accuracy:.1%}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
