"""Short fits of every preset, latent and optional training part, whose history.csv and sample
grid were recorded before the model became parts (tests/data/reference_fits/): a change that
is meant to keep training the same must reproduce them to the last digit.

Run as a script to record them again (only when a change is *meant* to change training):
``python tests/reference_fits.py``. Each fit: 105 embedded images (3 steps of 35), 2 epochs,
tiny widths, 32x32, float32, no evaluation.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

REFERENCE_DIR = Path(__file__).parent / "data" / "reference_fits"
IGNORED_COLUMNS = ("seconds",)  # wall-clock time: the one column that is not a result
TINY = {"ngf": 8, "ndf": 8, "latent_dim": 16, "components": 8, "resolution": 32, "epochs": 2, "eval_every": 0,
        "sample_count": 16, "precision": "float32"}
# name -> (preset, overrides): each preset, each latent, and every optional part of the step.
CASES = {
    "paper": ("paper", {}),
    "default": ("default", {}),
    "modern": ("modern", {}),
    "quality": ("quality", {}),
    "lite": ("lite", {}),
    "latent-dcgan": ("default", {"model": "dcgan"}),
    "latent-deligan": ("default", {"model": "deligan"}),
    "latent-proposed-n3": ("default", {"model": "proposed", "latent_n": 3}),
    "r1-ada": ("modern", {"r1_gamma": 1.0, "ada_target": 0.6, "ada_kimg": 0.1}),
    "lite-bce-r1": ("lite", {"loss": "bce", "r1_gamma": 0.5, "lecam_weight": 0.0, "recon_weight": 0.5}),
    "conditional-acgan": ("modern", {"conditional": True, "class_batch_norm": True, "class_loss_weight": 1.0,
                                     "class_mismatch_weight": 0.5}),
    "conditional-guide": ("default", {"model": "deligan", "conditional": True, "class_guide_weight": 1.0,
                                      "class_guide_augment": "color,translation"}),
}
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_signature() -> list[str]:
    """The instruction sets that choose oneDNN's kernels (and so the last bits of float32 sums)."""
    try:
        flags = set(Path("/proc/cpuinfo").read_text().split())
    except OSError:
        return []
    return [flag for flag in CPU_FLAGS if flag in flags]


def write_data(path: Path) -> Path:
    """The fits' data: 105 embedded images (52 Negative, 53 Positive) at 32x32, with labels."""
    from keras_emojigan.data.sources import load_images

    image_set = load_images("emoji-faces", 32)
    labels = np.asarray(image_set.labels)
    chosen = np.sort(np.concatenate([np.nonzero(labels == 0)[0][:52], np.nonzero(labels == 1)[0][:53]]))
    np.savez(path, images=image_set.images[chosen], labels=labels[chosen],
             class_names=np.array(image_set.class_names))
    return path


def run_case(name: str, data: Path, run_dir: Path) -> dict:
    """Fit one case; return its history rows (strings, as written) and its last sample grid's hash."""
    from PIL import Image

    from keras_emojigan.config import make_config
    from keras_emojigan.training.fit import fit

    preset, overrides = CASES[name]
    config = make_config(preset, **{**TINY, **overrides, "data": str(data)})
    fit(config, run_dir, verbose=0, log=lambda *_: None)
    with open(run_dir / "history.csv", newline="") as fh:
        rows = [{k: v for k, v in row.items() if k not in IGNORED_COLUMNS} for row in csv.DictReader(fh)]
    with Image.open(run_dir / "samples" / f"epoch_{TINY['epochs'] - 1:04d}.png") as grid:
        pixels = np.asarray(grid.convert("RGB"))
    return {"history": rows, "samples_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}


def record(names=None) -> None:
    import tempfile

    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = write_data(Path(tmp) / "data.npz")
        for name in names or CASES:
            result = run_case(name, data, Path(tmp) / name)
            result["cpu"] = cpu_signature()
            (REFERENCE_DIR / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
            print(name, result["history"][-1])


if __name__ == "__main__":
    record(sys.argv[1:] or None)
