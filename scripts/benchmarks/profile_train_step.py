#!/usr/bin/env python3
"""Where a training step's time goes: G and D forward / forward+backward, the whole step, and
(with --layers) every layer alone; JSON lines.

    python scripts/benchmarks/profile_train_step.py [--model dcgan] [--batch-size 35] [--repeats 10] [--layers]

Each line is the mean wall time of one compiled (tf.function) call after a warm-up call.
With ``--layers``, each layer of G and D is timed alone at its input shape in the step,
forward and forward+backward (gradients to its input and weights), with the GFLOP/s of the
conv layers; and each stride-2 transposed conv is timed again as its exact sub-pixel rewrite
(pad, 2x2 conv to 4C channels, depth_to_space, crop: the same numbers to float rounding), the
rewrite candidate of the speed issue, kept here with its measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from keras_emojigan.config import make_config  # noqa: E402
from keras_emojigan.training.rundir import build_from_config  # noqa: E402


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
    parser.add_argument("--layers", action="store_true", help="also time every layer alone")
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
    if args.layers:
        for network in (gan.generator, gan.discriminator):
            profile_layers(network, args.batch_size, args.repeats)


def subpixel_transpose(x, kernel):
    """Conv2DTranspose(4x4, stride 2, 'same', no bias) as pad -> 2x2 conv to 4C -> depth_to_space ->
    crop. Output pixel 2j+p takes taps (x[j-1], x[j]) with kernel rows (2, 0) for p = 0 (an odd
    output) and (3, 1) for p = 1: a permutation of the 4x4 kernel, no zeros, no wasted FLOPs."""
    out, inp = kernel.shape[2], kernel.shape[3]
    k = tf.reverse(tf.reshape(kernel, [2, 2, 2, 2, out, inp]), [0, 2])  # (ty, py, tx, px, out, in)
    k = tf.reshape(tf.transpose(k, [0, 2, 5, 1, 3, 4]), [2, 2, inp, 4 * out])
    y = tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), k, 1, "VALID")
    return tf.nn.depth_to_space(y, 2)[:, 1:-1, 1:-1, :]


def layer_flops(layer, batch) -> float:
    kernel = getattr(layer, "kernel", None)
    if kernel is None or len(kernel.shape) != 4:
        return 0.0
    kh, kw, a, b = kernel.shape
    if isinstance(layer, keras.layers.Conv2DTranspose):
        return 2.0 * batch * layer.input.shape[1] * layer.input.shape[2] * kh * kw * a * b
    return 2.0 * batch * layer.output.shape[1] * layer.output.shape[2] * kh * kw * a * b


def profile_layers(network, batch, repeats):
    for layer in network.layers:
        if isinstance(layer, keras.layers.InputLayer) or not layer.weights and layer.input.shape[1:] == ():
            continue
        x = tf.random.normal([batch, *layer.input.shape[1:]])
        variants = {"keras": lambda x, layer=layer: layer(x, training=True)}
        if isinstance(layer, keras.layers.Conv2DTranspose) and layer.strides == (2, 2):
            variants["subpixel"] = lambda x, layer=layer: subpixel_transpose(x, layer.kernel)
        flops = layer_flops(layer, batch)
        for variant, call in variants.items():
            ms_forward, ms_both = time_layer(call, x, layer.trainable_variables, repeats)
            line = {"layer": layer.name, "network": network.name, "variant": variant, "input": list(x.shape),
                    "forward_ms": round(ms_forward, 2), "forward_backward_ms": round(ms_both, 2)}
            if flops:  # forward + the two backward convolutions (data and weights)
                line["gflops"] = round(3 * flops / ms_both / 1e6, 1)
            print(json.dumps(line), flush=True)


def time_layer(call, x, variables, repeats) -> tuple[float, float]:
    """Milliseconds of ``call(x)`` forward, and forward+backward to x and ``variables``."""
    forward = tf.function(lambda: call(x))

    @tf.function
    def both():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.square(call(x)))
        return tape.gradient(loss, [x, *variables])

    return mean_seconds(forward, repeats) * 1000, mean_seconds(both, repeats) * 1000


if __name__ == "__main__":
    main()
