#!/usr/bin/env python3
"""Time EmojiGAN's training step on the real pipeline; one JSON line per case.

Our side only so far (issue 7 adds the PyTorch reference peer in the same run):

    python scripts/bench_train.py --models dcgan,deligan,proposed --precisions float32 --epochs 3

img/s is the median over timed epochs after the first (tracing) epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_emojigan.config import make_config  # noqa: E402
from keras_emojigan.data.pipeline import training_stream  # noqa: E402
from keras_emojigan.data.sources import load_images  # noqa: E402
from keras_emojigan.training.fit import build_from_config  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


def bench(model: str, precision: str, epochs: int, batch_size: int, preset: str) -> dict:
    config = make_config(preset, model=model, precision=precision, batch_size=batch_size)
    gan = build_from_config(config)
    images = load_images(config.data, config.resolution).images
    steps = len(images) // batch_size
    timer = EpochTimer()
    gan.fit(training_stream(images, batch_size, seed=0, first_epoch=0, epochs=epochs), epochs=epochs,
            steps_per_epoch=steps, verbose=0, callbacks=[timer], shuffle=False)
    rates = [steps * batch_size / s for s in timer.seconds[1:]]
    keras.mixed_precision.set_global_policy("float32")
    return {"case": f"emojigan-{model}-{precision}", "batch": batch_size, "steps_per_epoch": steps,
            "img_per_s": round(statistics.median(rates), 1), "epoch_seconds": [round(s, 2) for s in timer.seconds]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="dcgan,deligan,proposed")
    parser.add_argument("--precisions", default="float32,mixed_bfloat16")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs + 1 warm-up")
    parser.add_argument("--batch-size", type=int, default=35)
    parser.add_argument("--preset", default="default")
    args = parser.parse_args()
    for model in args.models.split(","):
        for precision in args.precisions.split(","):
            print(json.dumps(bench(model, precision, args.epochs, args.batch_size, args.preset)), flush=True)


if __name__ == "__main__":
    main()
