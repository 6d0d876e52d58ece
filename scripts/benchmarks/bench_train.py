#!/usr/bin/env python3
"""Time EmojiGAN's training step against the PyTorch reference DCGAN, in one run; JSON lines.

    python scripts/benchmarks/bench_train.py [--models dcgan,deligan,proposed] [--precisions float32,mixed_bfloat16]
                                  [--archs dcgan] [--onednn 1] [--rounds 6] [--peer-steps 22] [--torch-python PATH]

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
  (the embedded data, ``emojigan fit``'s default preset), one epoch per round after a warm-up
  epoch, with ``x_default_peer`` / ``x_tuned_peer`` ratios (``x_same_precision_peer``: to the
  fastest PyTorch configuration of the same precision) and the share of the matmul ceiling the
  step reaches.

Every case is a process of its own (the oneDNN switch and the precision policy are
process-wide), started once, warmed up (one epoch or three steps), then kept waiting. The cases
are timed in rounds, one at a time, each round visiting every case in turn (the order rotating
by one each round): one epoch of ours (the pipeline of ``fit``, 22 steps) or ``--peer-steps``
of a peer's. On the shared VMs this project runs on, the speed of the same matmul changes 2x
from one minute to the next; cases timed minutes apart, as they were when each ran all its
epochs at once, compared the machine's phases as much as the code. Interleaved, every case sees
the same phases. Rates are the best round (the least disturbed; the ratios use them), with the
median round beside them; the ceiling is the best matmul seen in the run (at the start and by
each case before it waits).

The peers need ``torch``: ``--torch-python`` names a Python that has it; without it, the script
uses a venv at ``~/.cache/keras_emojigan/torch-venv``, creating it with ``pip install
torch==2.13.0 numpy`` (a CPU build on this machine) the first time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import select
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


def serve_case(model: str, precision: str, batch_size: int, preset: str, arch: str = "dcgan"):
    """The child of one EmojiGAN case: build, train one warm-up epoch, print a ``ready`` line
    (with the step's GFLOP and the ceilings), then train one timed epoch per ``go`` line on
    stdin, all in one ``fit`` call (a callback waits for the line before each epoch), and end
    at anything else."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    from keras_emojigan.compare import parse_variant
    from keras_emojigan.config import make_config
    from keras_emojigan.data.pipeline import training_stream
    from keras_emojigan.data.sources import load_images
    from keras_emojigan.training.rundir import build_from_config

    variant = parse_variant(model)  # a model, or a compare-style variant such as dcgan:ngf=128
    config = make_config(preset, **{"arch": arch, **dict(variant.fields), "model": variant.model,
                                    "precision": precision, "batch_size": batch_size})
    gan = build_from_config(config)
    images = load_images(config.data, config.resolution).images
    steps = len(images) // batch_size

    class OnRequest(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch > 0 and sys.stdin.readline().strip() != "go":
                os._exit(0)  # nothing to save: a benchmark's child
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.started
            if epoch == 0:
                print(json.dumps({"ready": True, "arch": config.arch, "step_gflop": round(step_gflop(gan), 1),
                                  "steps_per_epoch": steps,
                                  **ceilings(precision == "mixed_bfloat16")}), flush=True)
            else:
                print(json.dumps({"seconds": seconds, "images": steps * batch_size}), flush=True)

    epochs = 100_000
    gan.fit(training_stream(images, batch_size, seed=0, first_epoch=0, epochs=epochs), epochs=epochs,
            steps_per_epoch=steps, verbose=0, callbacks=[OnRequest()], shuffle=False)


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


class Case:
    """One case's resident child process: started, warmed up, then timed on request."""

    def __init__(self, name: str, command: list[str], timeout: float, env: dict | None = None, **info):
        self.name, self.timeout, self.info, self.rounds = name, timeout, info, []
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
        self.ready = self.read()

    def read(self) -> dict:
        """The child's next JSON line, or an ``error`` (the last stderr line, or a timeout)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = self.process.stdout.readline()
            if not line:  # the child ended
                self.process.wait()
                stderr = self.process.stderr.read().strip().splitlines()
                return {"error": (stderr or ["ended without output"])[-1][:300]}
            if line.startswith("{"):
                return json.loads(line)
        self.close()
        return {"error": f"no answer within {self.timeout:.0f} s"}

    @property
    def alive(self) -> bool:
        return "error" not in self.ready and self.process.poll() is None

    def time_once(self):
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        answer = self.read()
        if "error" in answer:
            self.ready = answer
        else:
            self.rounds.append(answer)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def rates(self) -> tuple[float, float]:
        """Images/s: the best round and the median round."""
        per_round = [r["images"] / r["seconds"] for r in self.rounds]
        return max(per_round), statistics.median(per_round)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="dcgan,deligan,proposed",
                        help="comma list of models, each optionally with config fields as in "
                             "`emojigan compare --models` (e.g. dcgan:arch=lite:ngf=128; a field given "
                             "here wins over --archs)")
    parser.add_argument("--archs", default="dcgan", help="comma list of networks: dcgan, lite")
    parser.add_argument("--precisions", default="auto",
                        help="comma list; auto = float32, plus mixed_bfloat16 when the CPU has bf16 "
                             "instructions (avx512_bf16 or amx_bf16); without them bf16 is emulated and "
                             "runs many times slower")
    parser.add_argument("--onednn", default="1", help="TF_ENABLE_ONEDNN_OPTS values to try, e.g. 0,1")
    parser.add_argument("--rounds", type=int, default=6, help="timed rounds over all cases")
    parser.add_argument("--batch-size", type=int, default=35)
    parser.add_argument("--preset", default="default")
    parser.add_argument("--peer-steps", type=int, default=22, help="a peer's steps per round (22: one epoch of ours)")
    parser.add_argument("--no-peer", action="store_true", help="skip the PyTorch peers")
    parser.add_argument("--torch-python", help="a Python with torch installed (default: see above)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per answer of a case")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: serve one case as a child
    parser.add_argument("--matmul", action="store_true", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()

    if args.matmul:
        import keras_emojigan  # noqa: F401  (sets the oneDNN default before TensorFlow loads)

        print(json.dumps(ceilings(bool({"avx512_bf16", "amx_bf16"} & set(cpu_description()["isa"])))), flush=True)
        return
    if args.case:
        model, precision, arch = args.case.split("|")
        serve_case(model, precision, args.batch_size, args.preset, arch)
        return

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    machine = {"case": "machine", **cpu_description()}
    probe = Case("matmul", [sys.executable, __file__, "--matmul"], args.timeout)
    machine.update(probe.ready)
    probe.close()
    print(json.dumps(machine), flush=True)
    best_ceiling = {"float32": machine.get("matmul_gflops"), "mixed_bfloat16": machine.get("matmul_gflops_bf16")}
    has_bf16 = bool({"avx512_bf16", "amx_bf16"} & set(machine["isa"]))
    precisions = args.precisions
    if precisions == "auto":
        precisions = "float32,mixed_bfloat16" if has_bf16 else "float32"

    cases = []
    if not args.no_peer:
        python = torch_python(args.torch_python)
        configurations = [("torch-fp32", []), ("torch-fp32-channels-last", ["--channels-last"]),
                          ("torch-fp32-compile", ["--compile"]),
                          ("torch-fp32-channels-last-compile", ["--channels-last", "--compile"])]
        if has_bf16:
            configurations += [("torch-bf16", ["--bf16"]), ("torch-bf16-channels-last", ["--bf16", "--channels-last"])]
        for name, flags in configurations:
            cases.append(Case(name, [python, str(PEER_SCRIPT), "--batch", str(args.batch_size), "--serve",
                                     "--steps", str(args.peer_steps), *flags], args.timeout,
                              precision="mixed_bfloat16" if "--bf16" in flags else "float32", peer=True))
    for onednn in args.onednn.split(","):
        env = {**os.environ, "TF_ENABLE_ONEDNN_OPTS": onednn}
        for arch, model, precision in itertools.product(args.archs.split(","), args.models.split(","),
                                                        precisions.split(",")):
            name = f"emojigan-{model}-{precision}" + ("" if arch == "dcgan" else f"-{arch}")
            cases.append(Case(name, [sys.executable, __file__, "--case", f"{model}|{precision}|{arch}",
                                     "--batch-size", str(args.batch_size), "--preset", args.preset],
                              args.timeout, env, precision=precision, peer=False, arch=arch, onednn=onednn))
    for round_index in range(args.rounds):
        shift = round_index % len(cases)
        for case in cases[shift:] + cases[:shift]:
            if case.alive:
                case.time_once()
    for case in cases:
        case.close()
    report(cases, best_ceiling, args.batch_size)


def report(cases, best_ceiling, batch_size):
    """One line per peer, ``torch-default`` / ``torch-tuned``, then one per EmojiGAN case with
    its ratios to them and its share of its precision's matmul ceiling."""
    peers = {}  # name -> (best img/s, median img/s, precision)
    for case in (c for c in cases if c.info["peer"]):
        line = {"case": case.name, **{k: v for k, v in case.ready.items() if k != "ready"}}
        if case.rounds:
            best, median = case.rates()
            peers[case.name] = (best, median, case.info["precision"])
            line.update(images_per_s_best=round(best, 2), images_per_s_median=round(median, 2), rounds=len(case.rounds))
        print(json.dumps(line), flush=True)
    references = {}
    if "torch-fp32" in peers:
        references["torch-default"] = peers["torch-fp32"]
        print(json.dumps({"case": "torch-default", "is": "torch-fp32", "images_per_s_best": peers["torch-fp32"][0]}))
    if peers:
        tuned = max(peers, key=lambda name: peers[name][0])
        references["torch-tuned"] = peers[tuned]
        print(json.dumps({"case": "torch-tuned", "is": tuned, "images_per_s_best": peers[tuned][0]}), flush=True)
    for case in (c for c in cases if not c.info["peer"]):
        precision = case.info["precision"]
        line = {"case": case.name, "arch": case.ready.get("arch", case.info["arch"]), "onednn": case.info["onednn"],
                "batch": batch_size}
        if not case.rounds:
            print(json.dumps({**line, "error": case.ready.get("error", "not timed")}), flush=True)
            continue
        rate, median = case.rates()
        line.update(img_per_s=round(rate, 1), img_per_s_median=round(median, 1), rounds=len(case.rounds),
                    step_gflop=case.ready["step_gflop"])
        for peer, key in (("torch-default", "x_default_peer"), ("torch-tuned", "x_tuned_peer")):
            if references.get(peer):
                line[key] = round(rate / references[peer][0], 2)
        same = [(best, middle) for best, middle, p in peers.values() if p == precision]
        if same:  # against the fastest peer of the precision: best to best, median to median
            line["x_same_precision_peer"] = round(rate / max(best for best, _ in same), 2)
            line["x_same_precision_peer_median"] = round(median / max(middle for _, middle in same), 2)
        key = "matmul_gflops_bf16" if precision == "mixed_bfloat16" else "matmul_gflops"
        ceiling = max(filter(None, [best_ceiling.get(precision), case.ready.get(key)]), default=None)
        best_ceiling[precision] = ceiling
        if ceiling:  # each precision against its own matmul ceiling
            achieved = line["step_gflop"] * rate / batch_size
            line.update(gflops=round(achieved, 1), of_matmul_ceiling=round(achieved / ceiling, 2),
                        ceiling="bfloat16 matmul" if key.endswith("bf16") else "float32 matmul")
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
