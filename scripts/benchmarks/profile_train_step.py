#!/usr/bin/env python3
"""Where a training step's time goes: G and D forward / forward+backward, the whole step, and
(with --layers) every layer alone, or (with --ops) TensorFlow's profiler over whole steps,
self time per op type; JSON lines.

    python scripts/benchmarks/profile_train_step.py [--model dcgan] [--batch-size 35] [--repeats 10]
        [--precision float32|mixed_bfloat16|auto] [--layers | --ops [--inter-op 1]] [--without CHANGES]

Each line is the mean wall time of one compiled (tf.function) call after a warm-up call.
With ``--layers``, each layer of G and D is timed alone at its input shape in the step,
forward and forward+backward (gradients to its input and weights), with the GFLOP/s of the
conv layers; and each stride-2 transposed conv is timed again as its exact sub-pixel rewrite
(pad, 2x2 conv to 4C channels, depth_to_space, crop: the same numbers to float rounding), the
rewrite candidate of the speed issue, kept here with its measurement; each conv layer is also
timed with TensorFlow's kernel gradient and with the matmul one (``models/matmul_kernel_gradient.py``,
bfloat16 only), the measurement behind that module's rule.
With ``--ops``, ``repeats`` training steps on one batch run under ``tf.profiler`` and xprof's
``framework_op_stats`` (``pip install xprof``; not a dependency of the package) gives each
TensorFlow op's self time; the lines are op types (ms per step, share of the step) and the same
times by category (``op_category``), the categories ``peer_torch_dcgan.py --profile`` uses for
PyTorch's step, so the two can be read side by side.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras_emojigan  # noqa: E402,F401,I001  (first: it sets the oneDNN default before TensorFlow loads)

# isort: split
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from ab_train_step import CHANGES, swapped  # noqa: E402  (beside this script)
from op_categories import op_category, print_ops_and_categories  # noqa: E402

from keras_emojigan.config import make_config  # noqa: E402
from keras_emojigan.models import matmul_kernel_gradient  # noqa: E402
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
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--layers", action="store_true", help="also time every layer alone")
    parser.add_argument("--ops", action="store_true", help="profile whole steps: self time per op type")
    parser.add_argument("--without", default="", help="comma list of changes to switch off "
                        f"(ab_train_step.py's: {', '.join(sorted(CHANGES))}), to profile the step before them")
    parser.add_argument("--inter-op", type=int, default=0,
                        help="TensorFlow's inter-op threads (0: its default); 1 runs one op at a time, so the "
                             "ops' self times add up to the step, as PyTorch's do")
    args = parser.parse_args()
    if args.inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op)
    config = make_config(args.preset, model=args.model, batch_size=args.batch_size, precision=args.precision)
    with contextlib.ExitStack() as stack:  # the step as it was before the named changes
        for change in filter(None, args.without.split(",")):
            stack.enter_context(CHANGES[change]())
        gan = build_from_config(config)
        profiled(args, gan)


def profiled(args, gan):
    """The parts (or, with --ops, the op profile; with --layers, each layer) of ``gan``'s step."""
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
    if args.ops:
        profile_ops(parts["train_step"], args.repeats, args.batch_size)
        return
    for name, fn in parts.items():
        seconds = mean_seconds(fn, args.repeats)
        print(json.dumps({"part": name, "model": args.model, "batch": args.batch_size,
                          "ms": round(seconds * 1000, 1), "img_per_s": round(args.batch_size / seconds, 1)}),
              flush=True)
    if args.layers:
        for network in (gan.generator, gan.discriminator):
            profile_layers(network, args.batch_size, args.repeats)


def profile_ops(step, repeats, batch):
    """Trace ``repeats`` calls of ``step`` (after two warm-up calls) and print self ms per step by
    TensorFlow op type and by ``op_category``, from xprof's framework_op_stats of the trace."""
    import tempfile

    from xprof.convert import raw_to_tool_data

    for _ in range(2):
        tf.nest.map_structure(lambda t: t.numpy(), step())
    logdir = tempfile.mkdtemp(prefix="emojigan-ops-")
    tf.profiler.experimental.start(logdir)
    started = time.perf_counter()
    for _ in range(repeats):
        out = step()
    tf.nest.map_structure(lambda t: t.numpy(), out)
    wall = (time.perf_counter() - started) / repeats
    tf.profiler.experimental.stop()
    xplanes = [str(p) for p in Path(logdir).rglob("*.xplane.pb")]
    data, _ = raw_to_tool_data.xspace_to_tool_data(xplanes, "framework_op_stats", {})
    table = json.loads(data)
    table = table[0] if isinstance(table, list) else table
    columns = [c["id"] for c in table["cols"]]
    by_type: dict[str, float] = {}
    by_name: dict[str, float] = {}
    for row in table["rows"]:
        values = dict(zip(columns, [cell.get("v") if cell else None for cell in row["c"]], strict=True))
        if values.get("host_or_device") not in (None, "Host"):
            continue
        op_type = values.get("type") or values.get("operation")
        ms = float(values.get("total_self_time") or 0.0) / 1000.0
        by_type[op_type] = by_type.get(op_type, 0.0) + ms
        if op_category(op_type).startswith("conv"):
            name = f"{op_type} {values.get('operation')}"
            by_name[name] = by_name.get(name, 0.0) + ms
    per_step = {op_type: ms / repeats for op_type, ms in by_type.items()}
    print(json.dumps({"framework": "tensorflow", "step_ms_wall": round(wall * 1000, 1),
                      "self_ms_total": round(sum(per_step.values()), 1), "img_per_s": round(batch / wall, 1)}),
          flush=True)
    print_ops_and_categories(per_step)
    for name, ms in sorted(by_name.items(), key=lambda kv: -kv[1]):  # each convolution op of the step
        print(json.dumps({"conv_op": name, "ms": round(ms / repeats, 2)}), flush=True)


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
        small_maps = {}  # variant -> the matmul kernel gradient's SMALL_MAP while it is traced
        if isinstance(layer, (matmul_kernel_gradient.Conv2D, matmul_kernel_gradient.Conv2DTranspose)):
            # the kernel gradient both ways (in bfloat16; float32 layers always take TensorFlow's)
            variants["tensorflow-kernel-gradient"] = variants["matmul-kernel-gradient"] = variants["keras"]
            small_maps = {"tensorflow-kernel-gradient": 0, "matmul-kernel-gradient": 10**9}
        flops = layer_flops(layer, batch)
        for variant, call in variants.items():
            rule = (swapped(matmul_kernel_gradient, "SMALL_MAP", small_maps[variant]) if variant in small_maps
                    else contextlib.nullcontext())
            with rule:  # time_layer traces the call, which reads the rule
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
