#!/usr/bin/env python3
"""Where a training step's time goes: G and D forward / forward+backward, and the whole step.

    python scripts/profile_train_step.py [--model dcgan] [--batch-size 35] [--repeats 10]

Each line is the mean wall time of one compiled (tf.function) call after a warm-up call.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import tensorflow as tf  # noqa: E402

from keras_emojigan.config import make_config  # noqa: E402
from keras_emojigan.training.fit import build_from_config  # noqa: E402


def mean_seconds(fn, repeats):
    tf.nest.map_structure(lambda t: t.numpy(), fn())
    started = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    tf.nest.map_structure(lambda t: t.numpy(), out)
    return (time.perf_counter() - started) / repeats


def forward_backward(model, inputs):
    @tf.function
    def run():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(model(inputs, training=True))
        return tape.gradient(loss, model.trainable_variables)

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--preset", default="default")
    parser.add_argument("--batch-size", type=int, default=35)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    gan = build_from_config(make_config(args.preset, model=args.model, batch_size=args.batch_size))
    resolution = gan.generator.output_shape[1]
    real = tf.random.uniform([args.batch_size, resolution, resolution, 3], -1, 1)
    noise = tf.random.normal([args.batch_size, gan.noise_dim])
    parts = {
        "G forward": tf.function(lambda: gan.generator(noise, training=True)),
        "G forward+backward": forward_backward(gan.generator, noise),
        "D forward": tf.function(lambda: gan.discriminator(real, training=True)),
        "D forward+backward": forward_backward(gan.discriminator, real),
        "train_step": tf.function(lambda: gan.train_step(real)),
    }
    for name, fn in parts.items():
        seconds = mean_seconds(fn, args.repeats)
        print(json.dumps({"part": name, "model": args.model, "batch": args.batch_size,
                          "ms": round(seconds * 1000, 1), "img_per_s": round(args.batch_size / seconds, 1)}),
              flush=True)


if __name__ == "__main__":
    main()
