#!/usr/bin/env python3
"""Time EmojiGAN's training step against the PyTorch reference DCGAN, in one run; JSON lines.

    python scripts/benchmarks/bench_train.py [--models dcgan,deligan,proposed] [--precisions float32,mixed_bfloat16]
                                  [--onednn 1] [--epochs 4] [--peer-steps 30] [--torch-python PATH]

Prints, in order:
- one ``machine`` line: the CPU, its vector ISA, and the float32 matmul GFLOP/s TensorFlow
  reaches on it (a practical ceiling for a conv net's step), and the bfloat16 one where the CPU
  has bf16 instructions (the ceiling each mixed_bfloat16 case is reported against);
- one line per PyTorch configuration (``scripts/benchmarks/peer_torch_dcgan.py``, a copy of the project's
  reference: same networks, batch and optimiser): fp32, fp32 channels-last, each again under
  ``torch.compile``, and bf16 (autocast) with and without channels-last when the CPU has bf16
  instructions (elsewhere bf16 is emulated, many times slower, and no user would pick it);
  a configuration that fails says why;
- ``torch-default``: the plain fp32 step; ``torch-tuned``: the fastest configuration that ran,
  named;
- one line per EmojiGAN case (model x precision x oneDNN setting): img/s on the real pipeline
  (the embedded data, ``emojigan fit``'s default preset) over timed epochs after a warm-up
  epoch, with ``x_default_peer`` / ``x_tuned_peer`` ratios (``x_same_precision_peer``: to the
  fastest PyTorch configuration of the same precision) and the share of the matmul ceiling the
  step reaches.

Rates are the best timed epoch (ours) or step (the peers'), and the ceiling is the best matmul
seen in the run (measured at the start and again inside each case): on the shared VMs this
project runs on, the same matmul runs at ~105 or ~215 GFLOP/s from one minute to the next, and
the best is the one least disturbed. Medians are printed beside them.

Every case runs in its own subprocess (the oneDNN switch and the precision policy are
process-wide), one after another, so they do not compete for the cores. The peers need
``torch``: ``--torch-python`` names a Python that has it; without it, the script uses a venv at
``~/.cache/keras_emojigan/torch-venv``, creating it with ``pip install torch==2.13.0 numpy``
(a CPU build on this machine) the first time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEER_SCRIPT = HERE / "peer_torch_dcgan.py"
TORCH_VENV = Path.home() / ".cache" / "keras_emojigan" / "torch-venv"
TORCH_REQUIREMENT = "torch==2.13.0"


# --- the machine ---------------------------------------------------------------------------
def cpu_description() -> dict:
    flags, model = set(), platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    isa = sorted(f for f in flags if f.startswith(("avx512", "amx")) or f in ("avx2", "fma"))
    return {"cpu": model, "cores": os.cpu_count(), "isa": isa}


def matmul_gflops(size: int = 2048, repeats: int = 30, dtype: str = "float32") -> float:
    """The best of ``repeats`` timed matmuls in ``dtype`` (float32, or bfloat16, which AMX and
    avx512_bf16 run several times faster): a ceiling is what the CPU can reach, and the best run
    is the one least disturbed by the VM's neighbours."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal([size, size]), dtype)
    b = tf.cast(tf.random.normal([size, size]), dtype)
    matmul = tf.function(lambda: tf.matmul(a, b))
    matmul().numpy()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        matmul().numpy()
        times.append(time.perf_counter() - started)
    return 2 * size**3 / min(times) / 1e9


# --- one EmojiGAN case (run in a child process) ----------------------------------------------
def step_gflop(gan) -> float:
    """Multiply-adds of one training step x2, counted from the conv layers' shapes: G forward,
    D forward on real and fake, D backward (data and weights) on both, D forward+backward (data)
    on the fake for G's loss, G backward (data and weights)."""
    def conv_flops(model, batch):
        total = 0
        for layer in model.layers:
            kernel = getattr(layer, "kernel", None)
            if kernel is None or len(kernel.shape) != 4:
                continue
            kh, kw, a, b = kernel.shape
            out = layer.output.shape if hasattr(layer, "output") else None
            inp = layer.input.shape
            if layer.__class__.__name__ == "Conv2DTranspose":  # every input pixel scatters the kernel
                total += 2 * batch * inp[1] * inp[2] * kh * kw * a * b
            else:
                total += 2 * batch * out[1] * out[2] * kh * kw * a * b
        return total

    batch = 35
    g, d = conv_flops(gan.generator, batch), conv_flops(gan.discriminator, batch)
    return (g + 2 * d + 2 * 2 * d + d + d + 2 * g) / 1e9


def run_case(model: str, precision: str, epochs: int, batch_size: int, preset: str, arch: str = "dcgan") -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras  # the parent set TF_ENABLE_ONEDNN_OPTS for this child

    from keras_emojigan.config import make_config
    from keras_emojigan.data.pipeline import training_stream
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.training.rundir import build_from_config

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    config = make_config(preset, model=model, precision=precision, batch_size=batch_size, arch=arch)
    gan = build_from_config(config)
    images = load_images(config.data, config.resolution).images
    steps = len(images) // batch_size
    timer = EpochTimer()
    gan.fit(training_stream(images, batch_size, seed=0, first_epoch=0, epochs=epochs), epochs=epochs,
            steps_per_epoch=steps, verbose=0, callbacks=[timer], shuffle=False)
    rates = [steps * batch_size / s for s in timer.seconds[1:]]
    return {"img_per_s": round(max(rates), 1), "img_per_s_median": round(statistics.median(rates), 1),
            "step_gflop": round(step_gflop(gan), 1), "steps_per_epoch": steps,
            "epoch_seconds": [round(s, 2) for s in timer.seconds],
            **ceilings(precision == "mixed_bfloat16")}


def ceilings(bf16: bool) -> dict:
    """``matmul_gflops`` (float32), and ``matmul_gflops_bf16`` when the CPU has bf16 instructions."""
    found = {"matmul_gflops": round(matmul_gflops(), 1)}
    if bf16:
        found["matmul_gflops_bf16"] = round(matmul_gflops(dtype="bfloat16"), 1)
    return found


# --- the parent: peers, cases, ratios ----------------------------------------------------------
def torch_python(explicit: str | None) -> str:
    if explicit:
        return explicit
    probe = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    if probe.returncode == 0:
        return sys.executable
    python = TORCH_VENV / "bin" / "python"
    if not python.exists():
        print(f"# creating {TORCH_VENV} with {TORCH_REQUIREMENT} for the PyTorch peer", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(TORCH_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", TORCH_REQUIREMENT, "numpy"], check=True)
    return str(python)


def run_child(command: list[str], timeout: float, env: dict | None = None) -> dict:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return json.loads(lines[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="dcgan,deligan,proposed")
    parser.add_argument("--archs", default="dcgan", help="comma list of networks: dcgan, lite")
    parser.add_argument("--precisions", default="auto",
                        help="comma list; auto = float32, plus mixed_bfloat16 when the CPU has bf16 "
                             "instructions (avx512_bf16 or amx_bf16); without them bf16 is emulated and "
                             "runs many times slower")
    parser.add_argument("--onednn", default="1", help="TF_ENABLE_ONEDNN_OPTS values to try, e.g. 0,1")
    parser.add_argument("--epochs", type=int, default=4, help="timed epochs + 1 warm-up epoch")
    parser.add_argument("--batch-size", type=int, default=35)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--peer-steps", type=int, default=30)
    parser.add_argument("--no-peer", action="store_true", help="skip the PyTorch peers")
    parser.add_argument("--torch-python", help="a Python with torch installed (default: see above)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per case")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case as a child
    parser.add_argument("--matmul", action="store_true", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()

    if args.matmul:
        import keras_emojigan  # noqa: F401  (sets the oneDNN default before TensorFlow loads)

        print(json.dumps(ceilings(bool({"avx512_bf16", "amx_bf16"} & set(cpu_description()["isa"])))), flush=True)
        return
    if args.case:
        model, precision, arch = args.case.split(":")
        print(json.dumps(run_case(model, precision, args.epochs, args.batch_size, args.preset, arch)), flush=True)
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    machine = {"case": "machine", **cpu_description()}
    machine.update(run_child([sys.executable, __file__, "--matmul"], args.timeout))
    print(json.dumps(machine), flush=True)
    best_ceiling = {"float32": machine.get("matmul_gflops"), "mixed_bfloat16": machine.get("matmul_gflops_bf16")}
    has_bf16 = bool({"avx512_bf16", "amx_bf16"} & set(machine["isa"]))
    precisions = args.precisions
    if precisions == "auto":
        precisions = "float32,mixed_bfloat16" if has_bf16 else "float32"

    peers, references = {}, {}  # configuration -> (img/s, precision); torch-default/tuned -> the same
    if not args.no_peer:
        python = torch_python(args.torch_python)
        configurations = [("torch-fp32", []), ("torch-fp32-channels-last", ["--channels-last"]),
                          ("torch-fp32-compile", ["--compile"]),
                          ("torch-fp32-channels-last-compile", ["--channels-last", "--compile"])]
        if has_bf16:
            configurations += [("torch-bf16", ["--bf16"]), ("torch-bf16-channels-last", ["--bf16", "--channels-last"])]
        for name, flags in configurations:
            result = run_child([python, str(PEER_SCRIPT), "--batch", str(args.batch_size),
                                "--steps", str(args.peer_steps), *flags], args.timeout)
            rate = result.get("images_per_s_best") or result.get("images_per_s")
            if rate:
                peers[name] = (rate, "mixed_bfloat16" if "--bf16" in flags else "float32")
            print(json.dumps({"case": name, **result}), flush=True)
        if "torch-fp32" in peers:
            print(json.dumps({"case": "torch-default", "is": "torch-fp32",
                              "images_per_s_best": peers["torch-fp32"][0]}), flush=True)
        if peers:
            tuned = max(peers, key=lambda name: peers[name][0])
            print(json.dumps({"case": "torch-tuned", "is": tuned, "images_per_s_best": peers[tuned][0]}), flush=True)
            references = {"torch-default": peers.get("torch-fp32"), "torch-tuned": peers[tuned]}

    for onednn in args.onednn.split(","):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn}
        for arch, model, precision in itertools.product(args.archs.split(","), args.models.split(","),
                                                        precisions.split(",")):
            result = run_child([sys.executable, __file__, "--case", f"{model}:{precision}:{arch}",
                                "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
                                "--preset", args.preset], args.timeout, env)
            name = f"emojigan-{model}-{precision}" + ("" if arch == "dcgan" else f"-{arch}")
            line = {"case": name, "arch": arch, "onednn": onednn, "batch": args.batch_size, **result}
            rate = result.get("img_per_s")
            if rate:
                for peer, key in (("torch-default", "x_default_peer"), ("torch-tuned", "x_tuned_peer")):
                    if references.get(peer):
                        line[key] = round(rate / references[peer][0], 2)
                same = [v for v, p in peers.values() if p == precision]
                if same:
                    line["x_same_precision_peer"] = round(rate / max(same), 2)
                key = "matmul_gflops_bf16" if precision == "mixed_bfloat16" else "matmul_gflops"
                ceiling = max(filter(None, [best_ceiling.get(precision), result.get(key)]), default=None)
                best_ceiling[precision] = ceiling
                if ceiling:  # each precision against its own matmul ceiling
                    achieved = result["step_gflop"] * rate / args.batch_size
                    line["gflops"] = round(achieved, 1)
                    line["of_matmul_ceiling"] = round(achieved / ceiling, 2)
                    line["ceiling"] = "bfloat16 matmul" if key.endswith("bf16") else "float32 matmul"
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
